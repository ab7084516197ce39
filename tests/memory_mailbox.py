"""An in-memory ``Mailbox`` that keeps the port's promises and nothing more, for tests.

It models no backend: the contract tests (``tests/contract``) run the same cases on it,
on the EWS adapter against the EWS sandbox and on the Graph adapter against the Graph
sandbox, so it cannot drift from them. What a backend adds on top of the port (EWS's
sync state that hides the deletion of an item created after it, Graph's calendar
window) is the adapter's business and tested there; ``window`` below lets engine tests
play a windowed backend.

- Item ids are opaque and random-looking; every write gives a new version, even a
  write that changes nothing. ``LastModifiedTime`` comes from the injected clock.
- A sync state is an opaque string. Reading from ``None`` lists every item of the folder
  (``complete=WHOLE_FOLDER``); reading from a state returns the items created or changed
  after it (their current content) and the deletions after it, each once (an item
  created and deleted since may be reported deleted without ever having been listed).
  Reading again from the same state returns the same changes. Pages of ``page_size``
  changes say ``more`` while changes are left. A state hides nothing, so
  ``state_after_writes`` keeps the state the read ended with.
- With ``window`` set, a read from ``None`` lists only the items inside it and says it
  is complete only there (``complete=window``).
- ``cannot_hold`` names ``Item`` fields the folders have no place for (``capabilities``);
  they read back as their defaults.
- Updates write only the named fields and are guarded by the version: a stale version
  fails that element with ``ItemFailed``. Deleting an item that is already gone counts
  as deleted.
- Nothing ever sends an invitation or a cancellation (``invitations_sent`` stays 0;
  the counter is there so tests can say so).

Fault injection for tests: ``invalidate_sync_states()``, ``fail_next_listing()``,
``fail_on_write(k)`` (the k-th element written from now fails), ``crash_after_writes(k,
error)`` (the call that would make write k+1 raises ``error`` instead), and
``unreachable`` (every call raises ``MailboxUnreachable``).
"""
from __future__ import annotations

import base64
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime

from esexchange.domain.claims import MailboxClaim
from esexchange.domain.mapping import exchange_carriers, keep_user_categories
from esexchange.domain.model import Category, ExchangeItem, ItemRef, Kind, RemoteItem
from esexchange.domain.state import WHOLE_FOLDER, Capabilities, CompleteWindow, MailboxChange
from esexchange.exchange.errors import (
    InvalidSyncState,
    ItemFailed,
    MailboxError,
    MailboxUnreachable,
)
from esexchange.exchange.port import BatchResult, ChangePage, ExchangeUpdate, OwnWrites

_ITEM_FIELDS = frozenset(f.name for f in fields(ExchangeItem)) - {"kind"}


@dataclass(frozen=True)
class _Stored:
    item: ExchangeItem
    version: str
    modified_at: datetime
    created_seq: int
    changed_seq: int


class MemoryMailbox:
    """One mailbox with a calendar and a task folder, kept in memory."""

    def __init__(
        self,
        address: str,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        seed: int = 0,
        page_size: int = 512,
        window: CompleteWindow | None = None,
        cannot_hold: frozenset[str] = frozenset(),
    ) -> None:
        self._address = address
        self.page_size = page_size
        self._window = window
        self._capabilities = Capabilities(cannot_hold)
        self._clock = clock
        self._random = random.Random(seed)
        self._epoch = self._token(4)
        self._seq = 0
        self._items: dict[Kind, dict[str, _Stored]] = {kind: {} for kind in Kind}
        self._deleted_at: dict[Kind, dict[str, int]] = {kind: {} for kind in Kind}
        self.categories: dict[str, Category] = {}
        self.claim: MailboxClaim | None = None
        self.unreachable = False
        self.invitations_sent = 0
        self.writes = 0
        """Items created, updated or deleted so far (each element of a batch counts)."""
        self._failing_listing: MailboxError | None = None
        self._failing_writes: set[int] = set()
        self._crash_after: tuple[int, BaseException] | None = None

    # -- the Mailbox port ----------------------------------------------------------------

    @property
    def address(self) -> str:
        return self._address

    def capabilities(self, kind: Kind) -> Capabilities:
        return self._capabilities

    def check(self) -> None:
        self._reachable()

    def changes(self, kind: Kind, state: str | None) -> ChangePage:
        self._reachable()
        if self._failing_listing is not None:
            error, self._failing_listing = self._failing_listing, None
            raise error
        after = 0 if state is None else self._read_state(kind, state)
        window = self._window if state is None else None
        events: list[tuple[int, MailboxChange]] = []
        for item_id, stored in self._items[kind].items():
            if window is not None and not window.contains(stored.item):
                continue
            if stored.changed_seq > after:
                remote = RemoteItem(
                    ItemRef(item_id, stored.version), stored.item, stored.modified_at
                )
                events.append((stored.changed_seq, MailboxChange(item_id, kind, remote)))
        for item_id, deleted_seq in self._deleted_at[kind].items():
            if state is not None and deleted_seq > after:
                events.append((deleted_seq, MailboxChange(item_id, kind, None)))
        events.sort(key=lambda event: event[0])
        page_size = self.page_size
        page = events[:page_size]
        end = page[-1][0] if len(events) > page_size else max([after, self._seq])
        complete = None if state is not None else window or WHOLE_FOLDER
        return ChangePage(
            changes=tuple(change for _, change in page),
            state=self._make_state(kind, end),
            more=len(events) > page_size,
            complete=complete,
        )

    def state_after_writes(self, kind: Kind, state: str, writes: OwnWrites) -> str | None:
        return state

    def read(self, kind: Kind, ids: Sequence[str]) -> dict[str, RemoteItem]:
        self._reachable()
        found: dict[str, RemoteItem] = {}
        for item_id in ids:
            stored = self._items[kind].get(item_id)
            if stored is not None:
                found[item_id] = RemoteItem(
                    ItemRef(item_id, stored.version), stored.item, stored.modified_at
                )
        return found

    def find_by_erp_id(self, kind: Kind, erp_ids: Sequence[int]) -> dict[int, RemoteItem]:
        self._reachable()
        wanted = set(erp_ids)
        found: dict[int, RemoteItem] = {}
        # The oldest stamped item wins (a copy made in Outlook keeps the stamp).
        for item_id, stored in sorted(self._items[kind].items(), key=lambda i: i[1].created_seq):
            erp_id = stored.item.erp_id
            if erp_id in wanted and erp_id not in found:
                found[erp_id] = RemoteItem(
                    ItemRef(item_id, stored.version), stored.item, stored.modified_at
                )
        return found

    def create(self, items: Sequence[ExchangeItem]) -> list[BatchResult[ItemRef]]:
        self._reachable()
        results: list[BatchResult[ItemRef]] = []
        for item in items:
            if self._write_fails():
                results.append(BatchResult(error=ItemFailed(f"creating {item.subject!r} failed")))
                continue
            results.append(
                BatchResult(self._store(item.kind, self._token(24), self._held(item), None))
            )
        return results

    def update(self, updates: Sequence[ExchangeUpdate]) -> list[BatchResult[ItemRef]]:
        self._reachable()
        results: list[BatchResult[ItemRef]] = []
        for update in updates:
            unknown = update.fields - _ITEM_FIELDS
            if unknown:
                raise ValueError(f"not fields of ExchangeItem: {sorted(unknown)}")
            kind = update.item.kind
            stored = self._items[kind].get(update.ref.id)
            if stored is None:
                results.append(BatchResult(error=ItemFailed(f"item {update.ref.id} not found")))
            elif stored.version != update.ref.version:
                results.append(
                    BatchResult(error=ItemFailed(f"item {update.ref.id} changed meanwhile"))
                )
            elif self._write_fails():
                results.append(BatchResult(error=ItemFailed(f"updating {update.ref.id} failed")))
            else:
                values = {name: getattr(update.item, name) for name in update.fields}
                if "categories" in values:
                    values["categories"] = keep_user_categories(
                        stored.item.categories, update.item.categories
                    )
                written = self._held(replace(stored.item, **values))
                results.append(
                    BatchResult(self._store(kind, update.ref.id, written, stored.created_seq))
                )
        return results

    def delete(self, refs: Sequence[ItemRef]) -> list[BatchResult[None]]:
        self._reachable()
        results: list[BatchResult[None]] = []
        for ref in refs:
            kind = self._kind_of(ref.id)
            if kind is None:
                results.append(BatchResult())  # already gone: deleted, as the port says
            elif self._write_fails():
                results.append(BatchResult(error=ItemFailed(f"deleting {ref.id} failed")))
            else:
                self._remove(kind, ref.id)
                results.append(BatchResult())
        return results

    def ensure_categories(self, categories: Sequence[Category]) -> None:
        self._reachable()
        for category in categories:
            self.categories[category.name] = category

    def read_claim(self) -> MailboxClaim | None:
        self._reachable()
        return self.claim

    def write_claim(self, claim: MailboxClaim) -> None:
        self._reachable()
        self.claim = claim

    # -- what a user does in Outlook (tests) ---------------------------------------------

    def user_create(self, item: ExchangeItem) -> str:
        """Create an item as a user would; returns its id."""
        return self._store(item.kind, self._token(24), item, None).id

    def user_update(self, kind: Kind, item_id: str, **values: object) -> None:
        """Change an item's fields as a user would."""
        stored = self._items[kind][item_id]
        self._store(kind, item_id, replace(stored.item, **values), stored.created_seq)  # type: ignore[arg-type]

    def user_touch(self, kind: Kind, item_id: str) -> None:
        """A write that changes nothing but the version (a client saving unchanged)."""
        stored = self._items[kind][item_id]
        self._store(kind, item_id, stored.item, stored.created_seq)

    def user_delete(self, kind: Kind, item_id: str) -> None:
        self._remove(kind, item_id)

    def items(self, kind: Kind) -> dict[str, ExchangeItem]:
        """Every item of the folder by id."""
        return {item_id: stored.item for item_id, stored in self._items[kind].items()}

    def ref(self, kind: Kind, item_id: str) -> ItemRef:
        return ItemRef(item_id, self._items[kind][item_id].version)

    # -- fault injection -----------------------------------------------------------------

    def invalidate_sync_states(self) -> None:
        """Every sync state handed out so far is refused from now on."""
        self._epoch = self._token(4)

    def fail_next_listing(self, error: MailboxError | None = None) -> None:
        """The next ``changes`` call raises ``error`` (default ``MailboxUnreachable``)."""
        self._failing_listing = error or MailboxUnreachable(f"{self._address}: listing failed")

    def fail_on_write(self, k: int) -> None:
        """The k-th element written from now (1 = the next) fails with ``ItemFailed``."""
        self._failing_writes.add(self.writes + k)

    def crash_after_writes(self, k: int, error: BaseException) -> None:
        """After ``k`` more writes, the next write call raises ``error`` (a crash)."""
        self._crash_after = (self.writes + k, error)

    # -- internals -----------------------------------------------------------------------

    def clear_faults(self) -> None:
        """Forget injected failures and crashes that did not happen yet."""
        self._failing_listing = None
        self._failing_writes.clear()
        self._crash_after = None

    def _held(self, item: ExchangeItem) -> ExchangeItem:
        """``item`` as the folder keeps it: fields it cannot hold read back as defaults."""
        dropped = exchange_carriers(self._capabilities.cannot_hold)
        defaults = ExchangeItem(kind=item.kind, subject="")
        return replace(item, **{name: getattr(defaults, name) for name in dropped})

    def _reachable(self) -> None:
        if self.unreachable:
            raise MailboxUnreachable(f"mailbox {self._address} cannot be reached")

    def _write_fails(self) -> bool:
        """Count one write; say whether it is an injected failure; raise a crash."""
        if self._crash_after is not None and self.writes >= self._crash_after[0]:
            error = self._crash_after[1]
            self._crash_after = None
            raise error
        self.writes += 1
        if self.writes in self._failing_writes:
            self._failing_writes.discard(self.writes)
            return True
        return False

    def _store(
        self, kind: Kind, item_id: str, item: ExchangeItem, created_seq: int | None
    ) -> ItemRef:
        """Write an item (a new one when ``created_seq`` is None) with a new version."""
        self._seq += 1
        stored = _Stored(
            item=item,
            version=self._token(12),
            modified_at=self._clock(),
            created_seq=self._seq if created_seq is None else created_seq,
            changed_seq=self._seq,
        )
        self._items[kind][item_id] = stored
        return ItemRef(item_id, stored.version)

    def _remove(self, kind: Kind, item_id: str) -> None:
        del self._items[kind][item_id]
        self._seq += 1
        self._deleted_at[kind][item_id] = self._seq

    def _kind_of(self, item_id: str) -> Kind | None:
        return next((kind for kind in Kind if item_id in self._items[kind]), None)

    def _make_state(self, kind: Kind, seq: int) -> str:
        return base64.urlsafe_b64encode(f"{self._epoch}|{kind}|{seq}".encode()).decode()

    def _read_state(self, kind: Kind, state: str) -> int:
        try:
            epoch, state_kind, seq = base64.urlsafe_b64decode(state.encode()).decode().split("|")
            if epoch != self._epoch or state_kind != kind:
                raise ValueError(state)
            return int(seq)
        except ValueError:
            raise InvalidSyncState(
                f"mailbox {self._address}: the {kind} folder refused the sync state"
            ) from None

    def _token(self, size: int) -> str:
        raw = self._random.getrandbits(size * 8).to_bytes(size, "big")
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")
