"""EWS errors the sandbox answers with: one exception carrying Exchange's ResponseCode."""

from __future__ import annotations


class EwsError(Exception):
    """A request failed with an EWS ResponseCode (for example ErrorImpersonateUserDenied)."""

    def __init__(self, response_code: str, message: str) -> None:
        super().__init__(f"{response_code}: {message}")
        self.code = response_code
        self.message = message
