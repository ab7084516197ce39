"""Errors of the Exchange adapters (see the tree in ``esexchange.exchange.port``)."""

from __future__ import annotations

from collections.abc import Iterator

from esexchange.domain.errors import EsExchangeError


class MailboxError(EsExchangeError):
    """Anything a mailbox operation reports; the message says what to fix."""


class MailboxUnreachable(MailboxError):
    """The mailbox cannot be reached now; the pass for it stops, the others go on."""


class AccessDenied(MailboxError):
    """Wrong credentials, or the account may not impersonate this mailbox."""


class MailboxNotFound(MailboxError):
    """No mailbox has this address."""


class InvalidSyncState(MailboxError):
    """The server refused the stored sync state; read again from the start."""


class ItemFailed(MailboxError):
    """One item of a batch failed; the other items of the batch are unaffected."""


def in_mailbox(address: str, error: BaseException | str) -> str:
    """``error`` in words, prefixed with the mailbox unless its message names it already."""
    text = str(error)
    return text if address and address in text else f"mailbox {address}: {text}"


def causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and what caused it, innermost last (each once)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
