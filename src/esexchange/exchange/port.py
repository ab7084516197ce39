"""The ports to Exchange: ``Exchange`` (one connection) and ``Mailbox`` (one mailbox).

Backend-neutral: nothing here is EWS or Graph. An adapter (the ``ews`` package on
exchangelib, the ``graph`` package on httpx and msal) translates ``ExchangeItem`` to
and from the wire and nothing more: every sync rule lives in ``esexchange.domain``.
``service.adapter.open_connection`` is the one factory, keyed by the connection's
backend; everything above it sees these protocols only.

What differs between backends travels as data, not as code in the engine:

- ``ItemRef.version`` is the backend's opaque version token (EWS change key, Graph etag);
- ``ChangePage.complete`` says which part of the folder a read listed completely (the
  whole folder, a time window, or nothing): only there is a missing linked item deleted;
- ``Mailbox.capabilities(kind)`` names the fields a backend cannot hold (ERP-owned for it);
- how big a page is and what a sync state means after the pass's own writes are the
  adapter's business (``changes``, ``state_after_writes``).

Recurring series (docs/recurrence.md) travel through the same calls plus two:

- A read of a series master is the whole series: ``ExchangeItem.recurrence`` holds its
  pattern, range and zone with the original starts of its modified and deleted
  occurrences; ``RemoteItem.exceptions`` the modified occurrences' content, each with
  its own ``ItemRef`` and its ``OccurrenceKey`` (master id + original start). Single
  occurrences are never listed on their own.
- ``create`` of an item with ``recurrence`` makes a series master whose ``start``/``end``
  are the first occurrence; its ``recurrence.deleted`` occurrences are deleted in the
  same call. ``update`` with ``recurrence`` in its fields sets pattern, range and zone
  (see ``Mailbox.update`` for what Exchange then keeps).
- ``update_occurrences`` writes fields of single occurrences, keyed by
  ``OccurrenceKey`` (EWS ``OccurrenceItemId`` by index, or the exception's own id;
  Graph the instance with that ``originalStart``); ``delete_occurrences`` removes
  occurrences from their series (they become deleted occurrences).

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
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from esexchange.domain.claims import MailboxClaim
from esexchange.domain.model import (
    Category,
    ExchangeItem,
    ItemRef,
    Kind,
    OccurrenceKey,
    RemoteItem,
)
from esexchange.domain.state import Capabilities, CompleteWindow, MailboxChange

__all__ = [
    "AppToken", "BatchResult", "Capabilities", "ChangePage", "CompleteWindow", "Exchange",
    "ExchangeUpdate", "Mailbox", "MailboxClaim", "OccurrenceUpdate", "OwnWrites",
]


@dataclass(frozen=True)
class ChangePage:
    """One read of a folder's changes.

    ``state`` is the opaque sync state to store once the changes are durable;
    ``more`` says another read from ``state`` has further changes. ``complete`` (on the
    first page of a read; later pages repeat it) is the part of the folder the whole read
    lists completely: ``WHOLE_FOLDER`` when it started from no state on EWS, a time
    window for a windowed delta, ``None`` for an incremental read. A linked item the
    read does not list is inferred deleted only when it lies inside ``complete``.
    """

    changes: tuple[MailboxChange, ...]
    state: str
    more: bool
    complete: CompleteWindow | None


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


@dataclass(frozen=True)
class OccurrenceUpdate:
    """Write ``fields`` of ``item`` to the occurrence ``key`` of a series.

    ``ref`` is the exception's own identity and version as last read
    (``RemoteOccurrence.ref``), which guards the write; ``None`` for an occurrence that
    is not modified yet (it becomes an exception, written by the key: EWS
    ``OccurrenceItemId`` with the occurrence's index). ``item`` is a single appointment
    (no ``recurrence``); its ``start``/``end`` may move the occurrence anywhere, its key
    stays the original start.
    """

    key: OccurrenceKey
    item: ExchangeItem
    fields: frozenset[str]
    ref: ItemRef | None = None


@dataclass(frozen=True)
class OwnWrites:
    """What one pass wrote to one folder: items created and updated (with the versions
    the writes returned) and the ids it deleted."""

    created: tuple[ItemRef, ...] = ()
    updated: tuple[ItemRef, ...] = ()
    deleted: tuple[str, ...] = ()


@dataclass(frozen=True)
class AppToken:
    """What ``esexchange token`` shows of an app's access token (never the token).

    ``needed_roles`` are the application roles this backend needs to synchronize.
    """

    token_url: str
    expires_at: datetime
    roles: tuple[str, ...]
    needed_roles: tuple[str, ...]

    @property
    def missing_roles(self) -> tuple[str, ...]:
        return tuple(role for role in self.needed_roles if role not in self.roles)


class Mailbox(Protocol):
    """One Exchange mailbox, reached by impersonation or app permissions."""

    @property
    def address(self) -> str:
        """The mailbox's primary SMTP address."""
        ...

    def capabilities(self, kind: Kind) -> Capabilities:
        """Which ``Item`` fields the folder for ``kind`` cannot hold (no request)."""
        ...

    def check(self) -> None:
        """Raise a ``MailboxError`` subclass unless the mailbox can be read and written."""
        ...

    def changes(self, kind: Kind, state: str | None) -> ChangePage:
        """One page of changes of the folder for ``kind`` after ``state`` (``None`` = from
        the start); the adapter picks the page size.

        Creates and updates come with their full content; deletes by id, once.
        Raises ``InvalidSyncState`` when the server refuses ``state``.
        """
        ...

    def state_after_writes(self, kind: Kind, state: str, writes: OwnWrites) -> str | None:
        """The sync state to store after the pass wrote ``writes`` on top of ``state``.

        ``state`` is what the pass's read ended with. The answer must not hide a change
        someone else makes after it (on EWS a state from before a create never reports
        that item's deletion, so the adapter reads on and keeps a state past its own
        writes). ``None`` means: read the whole folder next time. May send requests;
        a ``MailboxError`` is answered with ``None``.
        """
        ...

    def read(self, kind: Kind, ids: Sequence[str]) -> dict[str, RemoteItem]:
        """Current content of the items with these ids in the folder for ``kind`` (a
        parked pair is retried by id); items that are gone are left out."""
        ...

    def find_by_erp_id(self, kind: Kind, erp_ids: Sequence[int]) -> dict[int, RemoteItem]:
        """Items of the folder stamped with one of ``erp_ids`` (crash recovery: adopt)."""
        ...

    def create(self, items: Sequence[ExchangeItem]) -> list[BatchResult[ItemRef]]:
        """Create items (in batches, never one request per item); never sends invitations.

        An item with ``recurrence`` is created as a series master: ``start``/``end`` are
        its first occurrence, the pattern and range repeat it in ``recurrence.time_zone``
        (wall time kept across DST), and the occurrences in ``recurrence.deleted`` are
        deleted before the call returns; ``recurrence.modified`` is not written here (the
        master's id is needed first: ``update_occurrences``). A recurrence the backend
        cannot express fails that element with ``ItemFailed`` naming the rule part.
        """
        ...

    def update(self, updates: Sequence[ExchangeUpdate]) -> list[BatchResult[ItemRef]]:
        """Set the named fields of items, guarded by their versions.

        Only ``update.fields`` are written; every other property of the item stays as it
        is in Exchange. Writing ``categories`` replaces only the ``ES_<no>_`` categories:
        the user's own ones are kept as the item has them at the time of writing
        (``domain.mapping.keep_user_categories``). A version that no longer matches
        fails that element with ``ItemFailed`` (the item changed meanwhile; the next pass
        merges it).

        ``recurrence`` in the fields of a series master: when its pattern, range, zone
        and first day are as the item has them, only the occurrences of
        ``recurrence.deleted`` that are not deleted yet are deleted (the modified ones
        stay). Otherwise the series is written anew, as Exchange does when a pattern
        changes: every modified and deleted occurrence is dropped, then
        ``recurrence.deleted`` are deleted again. Either way the answer's version is the
        master's after all of it.
        """
        ...

    def update_occurrences(
        self, updates: Sequence[OccurrenceUpdate]
    ) -> list[BatchResult[ItemRef]]:
        """Write the named fields of single occurrences (each becomes or stays a modified
        occurrence of its series); answers each occurrence's own new ``ItemRef``.

        An occurrence the series does not have (no such original start, or deleted)
        fails with ``ItemFailed``, and so does a stale ``ref``. Writing an exception
        changes its master as well (EWS keeps exceptions inside the master): the
        master's next read has a new version and the same content.
        """
        ...

    def delete_occurrences(self, keys: Sequence[OccurrenceKey]) -> list[BatchResult[None]]:
        """Remove occurrences from their series (they become deleted occurrences); never
        sends cancellations. An occurrence that is already deleted, or whose series is
        gone, counts as deleted; an original start the pattern does not give fails with
        ``ItemFailed``."""
        ...

    def delete(self, refs: Sequence[ItemRef]) -> list[BatchResult[None]]:
        """Move items to Deleted Items; never sends cancellations. An item that is
        already gone counts as deleted."""
        ...

    def ensure_categories(self, categories: Sequence[Category]) -> None:
        """Add or recolour these entries of the master category list, keeping all others."""
        ...

    def read_claim(self) -> MailboxClaim | None:
        """The installation claim stored in the mailbox (``domain.claims``); ``None`` when
        there is none or it cannot be read as one."""
        ...

    def write_claim(self, claim: MailboxClaim) -> None:
        """Store ``claim`` in the mailbox, replacing the one there (one object, never
        visible to the user as an item)."""
        ...


class Exchange(Protocol):
    """One esExchange connection to an Exchange organisation (one backend, one sign-in);
    its mailboxes share the connection's sessions."""

    @property
    def endpoint(self) -> str:
        """The service address the connection talks to (the EWS URL, the Graph root)."""
        ...

    def mailbox(self, address: str) -> Mailbox:
        """The mailbox ``address`` (no request is sent yet)."""
        ...

    def check(self) -> None:
        """Raise a ``MailboxError`` unless the server answers and accepts the credentials."""
        ...

    def token(self) -> AppToken:
        """Request (or reuse) the app's access token; raises ``MailboxError`` for a
        connection that signs in as a user."""
        ...

    def close(self) -> None:
        """Release the connection's sessions; the connection is not used afterwards."""
        ...
