"""The one error of the EWS sandbox: an exception carrying Exchange's ResponseCode.

Models raise it for anything a client did wrong; the wire layer turns it into either a
SOAP fault (when the whole request fails: schema, version, impersonation, throttling) or a
``ResponseClass="Error"`` response message (when one item of a batch fails). Both forms
are rendered in ``soap.py`` and nowhere else.
"""

from __future__ import annotations


class EwsError(Exception):
    """A failure Exchange reports with a ResponseCode (e.g. ``ErrorItemNotFound``)."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        back_off_ms: int | None = None,
        violation: tuple[int, int, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.back_off_ms = back_off_ms  # ErrorServerBusy: how long the client must wait
        self.violation = violation  # ErrorSchemaValidation: (line, position, violation)
