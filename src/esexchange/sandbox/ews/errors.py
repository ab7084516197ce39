"""The error of the EWS wire layer: a store error plus what only a SOAP fault carries.

The store raises :class:`~esexchange.sandbox.models.errors.StoreError` for anything a
client did wrong; the wire layer turns any store error into either a SOAP fault (when the
whole request fails: schema, version, impersonation, throttling) or a
``ResponseClass="Error"`` response message (when one item of a batch fails). Both forms
are rendered in ``soap.py`` and nowhere else.
"""

from __future__ import annotations

from esexchange.sandbox.models.errors import StoreError


class EwsError(StoreError):
    """A failure Exchange reports with a ResponseCode, with the details of a SOAP fault."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        back_off_ms: int | None = None,
        violation: tuple[int, int, str] | None = None,
    ) -> None:
        super().__init__(code, message)
        self.back_off_ms = back_off_ms  # ErrorServerBusy: how long the client must wait
        self.violation = violation  # ErrorSchemaValidation: (line, position, violation)
