"""The one error of the mailbox store: Exchange's own code for what went wrong.

Exchange's store reports failures by codes such as ``ErrorItemNotFound``; EWS returns
them as the ResponseCode and Microsoft Graph as ``error.code`` of its JSON body, so the
store raises them by that name and each protocol's wire layer renders them its own way.
"""

from __future__ import annotations


class StoreError(Exception):
    """A failure Exchange reports by a code (e.g. ``ErrorItemNotFound``) and a message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
