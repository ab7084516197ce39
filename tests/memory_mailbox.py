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
  is complete only there (``complete=window``). A series is listed while any of its
  occurrences overlaps the window, as Graph's calendarView lists its instances; a test
  moves the window with its clock by setting ``window``.
- ``cannot_hold`` names ``Item`` fields the folders have no place for (``capabilities``);
  they read back as their defaults. ``series`` says whether series are written whole.
- Updates write only the named fields and are guarded by the version: a stale version
  fails that element with ``ItemFailed``. Deleting an item that is already gone counts
  as deleted.
- A series master (an item with ``recurrence``) keeps its modified occurrences, each
  with its own id and version, and its deleted ones; a read of the master carries
  both (``RemoteItem.exceptions``, ``recurrence.modified``/``deleted``). Writing an
  occurrence gives the master a new version too (EWS keeps exceptions inside the
  master). Writing a different pattern, range, zone or first day drops every modified
  and deleted occurrence, as Exchange does.
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
from datetime import UTC, datetime, timedelta

from esexchange.domain.claims import MailboxClaim
from esexchange.domain.mapping import exchange_carriers, keep_user_categories
from esexchange.domain.mapping.times import erp_to_utc, utc_to_erp
from esexchange.domain.model import (
    Category,
    ExchangeItem,
    ItemRef,
    Kind,
    OccurrenceKey,
    RemoteItem,
    RemoteOccurrence,
    instant,
)
from esexchange.domain.recurrence import Recurrence, deletions_to_add, is_generated, occurrences
from esexchange.domain.state import WHOLE_FOLDER, Capabilities, CompleteWindow, MailboxChange
from esexchange.exchange.errors import (
    InvalidSyncState,
    ItemFailed,
    MailboxError,
    MailboxUnreachable,
)
from esexchange.exchange.port import (
    BatchResult,
    ChangePage,
    ExchangeUpdate,
    OccurrenceUpdate,
    OwnWrites,
)

_ITEM_FIELDS = frozenset(f.name for f in fields(ExchangeItem)) - {"kind"}


@dataclass(frozen=True)
class _StoredOccurrence:
    """A modified occurrence of a series (an exception) with its own id and version."""

    id: str
    item: ExchangeItem
    version: str
    modified_at: datetime


@dataclass(frozen=True)
class _Stored:
    item: ExchangeItem
    version: str
    modified_at: datetime
    created_seq: int
    changed_seq: int
    exceptions: tuple[tuple[datetime, _StoredOccurrence], ...] = ()
    """A series master's modified occurrences by original start, in order."""

    def remote(self, item_id: str) -> RemoteItem:
        exceptions = tuple(
            RemoteOccurrence(OccurrenceKey(item_id, original),
                             ItemRef(occurrence.id, occurrence.version), occurrence.item,
                             occurrence.modified_at)
            for original, occurrence in self.exceptions
        )
        return RemoteItem(ItemRef(item_id, self.version), self.item, self.modified_at,
                          exceptions)


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
        series: bool = True,
    ) -> None:
        self._address = address
        self.page_size = page_size
        self.window = window
        self._capabilities = Capabilities(cannot_hold, series)
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
        window = self.window if state is None else None
        events: list[tuple[int, MailboxChange]] = []
        for item_id, stored in self._items[kind].items():
            if window is not None and not _in_window(stored, window):
                continue
            if stored.changed_seq > after:
                events.append(
                    (stored.changed_seq, MailboxChange(item_id, kind, stored.remote(item_id)))
                )
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
                found[item_id] = stored.remote(item_id)
        return found

    def find_by_erp_id(self, kind: Kind, erp_ids: Sequence[int]) -> dict[int, RemoteItem]:
        self._reachable()
        wanted = set(erp_ids)
        found: dict[int, RemoteItem] = {}
        # The oldest stamped item wins (a copy made in Outlook keeps the stamp).
        for item_id, stored in sorted(self._items[kind].items(), key=lambda i: i[1].created_seq):
            erp_id = stored.item.erp_id
            if erp_id in wanted and erp_id not in found:
                found[erp_id] = stored.remote(item_id)
        return found

    def create(self, items: Sequence[ExchangeItem]) -> list[BatchResult[ItemRef]]:
        self._reachable()
        results: list[BatchResult[ItemRef]] = []
        for item in items:
            if self._write_fails():
                results.append(BatchResult(error=ItemFailed(f"creating {item.subject!r} failed")))
                continue
            results.append(
                BatchResult(self._store(item.kind, self._token(24), self._created(item), None))
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
                exceptions = stored.exceptions
                if "recurrence" in values:
                    written, exceptions = _series_rewritten(stored, written)
                results.append(BatchResult(self._store(
                    kind, update.ref.id, written, stored.created_seq, exceptions)))
        return results

    def update_occurrences(
        self, updates: Sequence[OccurrenceUpdate]
    ) -> list[BatchResult[ItemRef]]:
        self._reachable()
        results: list[BatchResult[ItemRef]] = []
        for update in updates:
            unknown = update.fields - _ITEM_FIELDS
            if unknown:
                raise ValueError(f"not fields of ExchangeItem: {sorted(unknown)}")
            results.append(self._write_occurrence(update))
        return results

    def delete_occurrences(self, keys: Sequence[OccurrenceKey]) -> list[BatchResult[None]]:
        self._reachable()
        results: list[BatchResult[None]] = []
        for key in keys:
            found = self._series(key.series_id)
            if found is None:
                results.append(BatchResult())  # the series is gone: deleted, as the port says
                continue
            kind, _, recurrence = found
            if key.original_start in recurrence.deleted:
                results.append(BatchResult())
            elif not is_generated(recurrence, key.original_start):
                results.append(BatchResult(error=ItemFailed(
                    f"series {key.series_id} has no occurrence at {key.original_start}")))
            elif self._write_fails():
                results.append(BatchResult(error=ItemFailed(f"deleting {key} failed")))
            else:
                self._delete_occurrence(kind, key)
                results.append(BatchResult())
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
        """Change an item's fields as a user would. A new series (pattern, range, zone or
        first day) drops its modified and deleted occurrences, as in ``update``."""
        stored = self._items[kind][item_id]
        written = replace(stored.item, **values)  # type: ignore[arg-type]
        exceptions = None
        if "recurrence" in values:
            written, exceptions = _series_rewritten(stored, written)
        self._store(kind, item_id, written, stored.created_seq, exceptions)

    def user_touch(self, kind: Kind, item_id: str) -> None:
        """A write that changes nothing but the version (a client saving unchanged)."""
        stored = self._items[kind][item_id]
        self._store(kind, item_id, stored.item, stored.created_seq)

    def user_delete(self, kind: Kind, item_id: str) -> None:
        self._remove(kind, item_id)

    def user_update_occurrence(self, key: OccurrenceKey, **values: object) -> None:
        """Change one occurrence of a series as a user would (it becomes an exception)."""
        template = replace(ExchangeItem(Kind.APPOINTMENT, ""), **values)  # type: ignore[arg-type]
        result = self._write_occurrence(
            OccurrenceUpdate(key, template, frozenset(values)), count=False)
        if not result.ok:
            raise KeyError(f"{key}: {result.error}")

    def user_delete_occurrence(self, key: OccurrenceKey) -> None:
        """Delete one occurrence of a series as a user would."""
        kind = self._kind_of(key.series_id)
        assert kind is not None, f"no series {key.series_id}"
        self._delete_occurrence(kind, key)

    def exceptions(self, kind: Kind, series_id: str) -> dict[datetime, ExchangeItem]:
        """The modified occurrences of a series by original start."""
        return {original: occurrence.item
                for original, occurrence in self._items[kind][series_id].exceptions}

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

    def _created(self, item: ExchangeItem) -> ExchangeItem:
        """A new item as stored: a series starts without modified occurrences."""
        held = self._held(item)
        if held.recurrence is not None:
            held = replace(held, recurrence=replace(held.recurrence, modified=frozenset()))
        return held

    def _series(self, series_id: str) -> tuple[Kind, _Stored, Recurrence] | None:
        kind = self._kind_of(series_id)
        if kind is None:
            return None
        stored = self._items[kind][series_id]
        if stored.item.recurrence is None:
            return None
        return kind, stored, stored.item.recurrence

    def _write_occurrence(
        self, update: OccurrenceUpdate, *, count: bool = True
    ) -> BatchResult[ItemRef]:
        key = update.key
        found = self._series(key.series_id)
        if found is None:
            return BatchResult(error=ItemFailed(f"series {key.series_id} not found"))
        kind, stored, recurrence = found
        if key.original_start in recurrence.deleted or not is_generated(
                recurrence, key.original_start):
            return BatchResult(error=ItemFailed(
                f"series {key.series_id} has no occurrence at {key.original_start}"))
        exceptions = dict(stored.exceptions)
        current = exceptions.get(key.original_start)
        if update.ref is not None and (
                current is None or (current.id, current.version) != (update.ref.id,
                                                                     update.ref.version)):
            return BatchResult(error=ItemFailed(f"occurrence {key} changed meanwhile"))
        if count and self._write_fails():
            return BatchResult(error=ItemFailed(f"updating occurrence {key} failed"))
        base = current.item if current is not None else _plain_occurrence(stored, key)
        values = {name: getattr(update.item, name) for name in update.fields}
        if "categories" in values:
            values["categories"] = keep_user_categories(base.categories, update.item.categories)
        values.pop("recurrence", None)
        values.pop("recurring", None)
        occurrence = _StoredOccurrence(
            current.id if current is not None else self._token(24),
            self._held(replace(base, **values)), self._token(12), self._clock())
        exceptions[key.original_start] = occurrence
        master = replace(stored.item, recurrence=replace(
            recurrence, modified=frozenset(exceptions)))
        self._store(kind, key.series_id, master, stored.created_seq,
                    tuple(sorted(exceptions.items())))
        return BatchResult(ItemRef(occurrence.id, occurrence.version))

    def _delete_occurrence(self, kind: Kind, key: OccurrenceKey) -> None:
        stored = self._items[kind][key.series_id]
        recurrence = stored.item.recurrence
        assert recurrence is not None
        exceptions = tuple(e for e in stored.exceptions if e[0] != key.original_start)
        master = replace(stored.item, recurrence=replace(
            recurrence, modified=frozenset(original for original, _ in exceptions),
            deleted=recurrence.deleted | {key.original_start}))
        self._store(kind, key.series_id, master, stored.created_seq, exceptions)

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
        self, kind: Kind, item_id: str, item: ExchangeItem, created_seq: int | None,
        exceptions: tuple[tuple[datetime, _StoredOccurrence], ...] | None = None,
    ) -> ItemRef:
        """Write an item (a new one when ``created_seq`` is None) with a new version;
        a series keeps its exceptions unless ``exceptions`` replaces them."""
        self._seq += 1
        if exceptions is None:
            previous = self._items[kind].get(item_id)
            exceptions = previous.exceptions if previous is not None else ()
        if item.recurrence is None:
            exceptions = ()
        stored = _Stored(
            item=item,
            version=self._token(12),
            modified_at=self._clock(),
            created_seq=self._seq if created_seq is None else created_seq,
            changed_seq=self._seq,
            exceptions=exceptions,
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



def _series_rewritten(
    stored: _Stored, written: ExchangeItem
) -> tuple[ExchangeItem, tuple[tuple[datetime, _StoredOccurrence], ...]]:
    """The master and exceptions after writing ``recurrence``: deletions are added to an
    unchanged series; a changed one (or one that gets deletions back) starts afresh."""
    old, new = stored.item.recurrence, written.recurrence
    if new is None:
        return written, ()
    if deletions_to_add(old, new) is not None:
        kept = tuple(e for e in stored.exceptions if e[0] not in new.deleted)
        modified = frozenset(original for original, _ in kept)
        return replace(written, recurrence=replace(new, modified=modified)), kept
    deleted = frozenset(d for d in new.deleted if is_generated(new, d))
    return replace(written, recurrence=replace(new, modified=frozenset(), deleted=deleted)), ()


def _in_window(stored: _Stored, window: CompleteWindow) -> bool:
    """Whether a windowed read lists the item: a single one lying wholly inside the
    window, a series with an occurrence (as it is now: moved ones where they went)
    overlapping it."""
    recurrence = stored.item.recurrence
    if recurrence is None or window.start is None or window.end is None:
        return window.contains(stored.item)
    start, end = window.start, window.end
    if any(instant(o.item.end or o.item.start) > start and instant(o.item.start) < end
           for _, o in stored.exceptions if o.item.start is not None):
        return True
    first, last = stored.item.start, stored.item.end
    if first is None or last is None:
        return False
    length = instant(last) - instant(first)
    before = utc_to_erp(end, recurrence.zone) + timedelta(days=1)
    return any(
        erp_to_utc(original, recurrence.zone) + length > start
        and erp_to_utc(original, recurrence.zone) < end
        for original in occurrences(recurrence, before=before)
        if original not in recurrence.modified
    )


def _plain_occurrence(stored: _Stored, key: OccurrenceKey) -> ExchangeItem:
    """An occurrence nobody changed yet: the master's content on its own day."""
    recurrence = stored.item.recurrence
    assert recurrence is not None
    single = replace(stored.item, recurrence=None, recurring=False)
    start, end = stored.item.start, stored.item.end
    if start is None or end is None:
        return single
    if isinstance(start, datetime) and isinstance(end, datetime):
        moved = erp_to_utc(key.original_start, recurrence.zone)
        return replace(single, start=moved, end=moved + (end - start))
    day = key.original_start.date()
    return replace(single, start=day, end=day + (end - start))
