"""Errors of the domain: problems a user can act on, one class each.

    EsExchangeError               anything esExchange reports to a user
    ├── InvalidOption             an option or setting value that cannot be used
    ├── ItemRejected              one item cannot be synchronized (names item, mailbox, field)
    ├── RecurrenceInvalid         a recurrence rule that is not valid RFC 5545 text
    └── RecurrenceRefused         a valid rule Outlook cannot show (names the rule part)

Internal bugs are ordinary exceptions (AssertionError, TypeError...) and are never
caught as user errors.
"""

from __future__ import annotations


class EsExchangeError(Exception):
    """A problem a user can act on; the message says what to fix."""


class InvalidOption(EsExchangeError):
    """An option or setting value that cannot be used."""


class ItemRejected(EsExchangeError):
    """One item cannot be synchronized; the others go on (the engine names the mailbox
    when it reports it)."""

    def __init__(self, message: str, *, item: str = "", field: str = ""):
        super().__init__(message)
        self.item = item
        self.field = field

    def __str__(self) -> str:
        where = ", ".join(
            f"{k} {v}" for k, v in (("item", self.item), ("field", self.field)) if v
        )
        return f"{self.args[0]} ({where})" if where else str(self.args[0])


class RecurrenceInvalid(EsExchangeError):
    """A recurrence rule that is not valid RFC 5545 ``RRULE`` text."""


class RecurrenceRefused(EsExchangeError):
    """A valid recurrence that Outlook cannot show; it is refused, never approximated."""

    MESSAGE = "this series repeats in a way Outlook cannot show"

    def __init__(self, detail: str, *, part: str):
        super().__init__(detail)
        self.detail = detail
        self.part = part

    def __str__(self) -> str:
        return f"{self.MESSAGE}: {self.detail} ({self.part})"
