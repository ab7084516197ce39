"""The one error of the Graph sandbox: an exception carrying Graph's HTTP status and code.

Models raise it for anything a client did wrong; ``wire.error_body`` renders it as Graph's
``{"error": {"code", "message", "innerError"}}`` JSON (``ODataErrors.ODataError``), in
one place, for plain requests and for the sub-requests of a ``$batch`` alike.
"""

from __future__ import annotations

from collections.abc import Mapping


class GraphError(Exception):
    """A failure Graph reports with a status and an error code (e.g. 404 ErrorItemNotFound)."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def not_found(what: str = "The specified object was not found in the store.") -> GraphError:
    return GraphError(404, "ErrorItemNotFound", what)


def invalid(message: str) -> GraphError:
    return GraphError(400, "ErrorInvalidRequest", message)
