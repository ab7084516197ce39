"""The ``Mailbox`` port: what the engine needs from one Exchange mailbox.

Adapters (the ``ews`` package on exchangelib, ``memory.py`` for unit and property tests)
translate ``ExchangeItem`` to and from the wire and nothing more: every sync rule lives
in ``esexchange.domain``.

Errors (all in ``esexchange.exchange.errors``)::

    MailboxError                 anything a mailbox operation reports
    ├── MailboxUnreachable       the mailbox cannot be reached now (network, 5xx, busy
    │                            past the retry budget); the pass for it stops, others go on
    ├── AccessDenied             wrong credentials, or impersonation not allowed
    ├── MailboxNotFound          no mailbox with that address
    ├── InvalidSyncState         the stored sync state was refused; start again from None
    └── ItemFailed               one item of a batch failed (carried in BatchResult)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from esexchange.domain.model import Category, ExchangeItem, ItemRef, Kind, RemoteItem
from esexchange.domain.state import MailboxChange


@dataclass(frozen=True)
class ChangePage:
    """One read of a folder's changes.

    ``state`` is the opaque sync state to store once the changes are durable;
    ``more`` says another read from ``state`` has further changes. ``full`` is true
    when the read started from no state: the changes then list every item of the folder,
    so a linked item missing from a complete full read was deleted.
    """

    changes: tuple[MailboxChange, ...]
    state: str
    more: bool
    full: bool


T = TypeVar("T")


@dataclass(frozen=True)
class BatchResult(Generic[T]):
    """The outcome of one element of a batch: a value, or the error for that element."""

    value: T | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class ExchangeUpdate:
    """Write ``fields`` (names of ``ExchangeItem`` fields) of ``item`` to ``ref``."""

    ref: ItemRef
    item: ExchangeItem
    fields: frozenset[str]


class Mailbox(Protocol):
    """One Exchange mailbox, reached by impersonation or app permissions."""

    @property
    def address(self) -> str:
        """The mailbox's primary SMTP address."""
        ...

    def check(self) -> None:
        """Raise a ``MailboxError`` subclass unless the mailbox can be read and written."""
        ...

    def changes(self, kind: Kind, state: str | None, *, page_size: int = 512) -> ChangePage:
        """Changes of the folder for ``kind`` after ``state`` (``None`` = from the start).

        Creates and updates come with their full content; deletes by id, once.
        Raises ``InvalidSyncState`` when the server refuses ``state``.
        """
        ...

    def find_by_erp_id(self, kind: Kind, erp_ids: Sequence[int]) -> dict[int, RemoteItem]:
        """Items of the folder stamped with one of ``erp_ids`` (crash recovery: adopt)."""
        ...

    def create(self, items: Sequence[ExchangeItem]) -> list[BatchResult[ItemRef]]:
        """Create items (in batches, never one request per item); never sends invitations."""
        ...

    def update(self, updates: Sequence[ExchangeUpdate]) -> list[BatchResult[ItemRef]]:
        """Set the named fields of items, guarded by their change keys.

        Only ``update.fields`` are written; every other property of the item stays as it
        is in Exchange. Writing ``categories`` replaces only the ``ES_<no>_`` categories:
        the user's own ones are kept as the item has them at the time of writing
        (``domain.mapping.keep_user_categories``). A change key that no longer matches
        fails that element with ``ItemFailed`` (the item changed meanwhile; the next pass
        merges it).
        """
        ...

    def delete(self, refs: Sequence[ItemRef]) -> list[BatchResult[None]]:
        """Move items to Deleted Items; never sends cancellations. An item that is
        already gone counts as deleted."""
        ...

    def ensure_categories(self, categories: Sequence[Category]) -> None:
        """Add or recolour these entries of the master category list, keeping all others."""
        ...
