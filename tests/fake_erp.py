"""An in-memory ``ErpStore`` that keeps the port's promises, for tests of the engine.

Like the SQL store: every activity write appends to a change journal with increasing
sequence numbers (the triggers' job; a modified occurrence's row is journaled as a
change of its series, and deleting a master deletes its occurrence rows);
``changes(after_seq=0)`` returns every current activity of the employee; a transaction
applies at ``commit()`` and not at all otherwise (it works on a copy, swapped in at
commit). ``crash_on_commit`` makes the next commit raise, as a process dying before its
commit would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from esexchange.domain.errors import ItemRejected
from esexchange.domain.model import ErpActivity, Kind, Reference, Side
from esexchange.domain.recurrence.series import ErpSeries, erp_series
from esexchange.domain.state import ErpChange, Link, Parked
from esexchange.erp.errors import PairWriteFailed
from esexchange.erp.port import Cursor, Scope


@dataclass(frozen=True)
class Journal:
    seq: int
    erp_id: int
    kind: Kind
    employee_ids: frozenset[int]


@dataclass(frozen=True)
class ConflictRecord:
    scope: Scope
    erp_id: int
    field: str
    erp_value: str
    exchange_value: str
    winner: Side


@dataclass
class _State:
    activities: dict[int, ErpActivity] = field(default_factory=dict)
    modified: dict[int, datetime] = field(default_factory=dict)
    journal: list[Journal] = field(default_factory=list)
    archive: dict[int, ErpActivity] = field(default_factory=dict)
    links: dict[tuple[Scope, Kind, int], Link] = field(default_factory=dict)
    cursors: dict[tuple[Scope, Kind], Cursor] = field(default_factory=dict)
    parked: dict[tuple[Scope, Kind, str], Parked] = field(default_factory=dict)
    conflicts: list[ConflictRecord] = field(default_factory=list)
    audit: list[str] = field(default_factory=list)
    next_id: int = 1
    seq: int = 0

    def copy(self) -> _State:
        """A copy to write on: the containers are new, the frozen values shared."""
        return _State(
            dict(self.activities), dict(self.modified), list(self.journal), dict(self.archive),
            dict(self.links), dict(self.cursors), dict(self.parked), list(self.conflicts),
            list(self.audit), self.next_id, self.seq,
        )


class FakeErp:
    """The ERP database with esExchange's sync tables, in memory."""

    def __init__(
        self,
        reference: Reference | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._reference = reference or Reference()
        self._clock = clock or (lambda: datetime.now(UTC))
        self.state = _State()
        self.crash_on_commit: BaseException | None = None
        self.failing_links: set[int] = set()
        """ERP ids whose link writes the database refuses (an injected error per pair)."""
        self.writes = 0
        """Activities created, updated or deleted by the sync (committed)."""

    # -- what ERP users do (tests) -------------------------------------------------------

    def user_create(self, activity: ErpActivity) -> int:
        return _write_create(self.state, activity, self._clock())

    def user_update(self, erp_id: int, **values: object) -> None:
        current = self.state.activities[erp_id]
        _write_update(self.state, erp_id, replace(current, **values), self._clock())  # type: ignore[arg-type]

    def user_delete(self, erp_id: int) -> None:
        _write_delete(self.state, erp_id)

    def activity_ids(self, employee_id: int, kind: Kind) -> set[int]:
        return {
            i for i, a in self.state.activities.items()
            if a.kind is kind and employee_id in a.participant_ids
        }

    # -- the ErpStore port ---------------------------------------------------------------

    def reference(self) -> Reference:
        return self._reference

    def changes(self, employee_id: int, kind: Kind, after_seq: int) -> tuple[list[ErpChange], int]:
        state = self.state
        newest: dict[int, int] = {}
        for row in state.journal:
            if row.seq > after_seq and row.kind is kind and employee_id in row.employee_ids:
                newest[row.erp_id] = row.seq
        if after_seq == 0:  # the first pass: what exists now, as the SQL store reads it
            newest = {i: newest.get(i, 0) for i in self.activity_ids(employee_id, kind)}
        result = []
        for erp_id, seq in sorted(newest.items()):
            activity = state.activities.get(erp_id)
            if activity is not None and employee_id not in activity.participant_ids:
                activity = None
            result.append(ErpChange(erp_id, kind, activity, seq, state.modified.get(erp_id)))
        top = max([after_seq, *(row.seq for row in state.journal if row.seq > after_seq)])
        return result, top

    def activities(self, erp_ids: Sequence[int]) -> dict[int, ErpActivity]:
        return {i: self.state.activities[i] for i in erp_ids if i in self.state.activities}

    def last_changed(self, erp_ids: Sequence[int]) -> dict[int, datetime]:
        return {i: self.state.modified[i] for i in erp_ids if i in self.state.modified}

    def series(self, master_ids: Sequence[int], *, time_zone: str
               ) -> dict[int, ErpSeries | ItemRejected]:
        found: dict[int, ErpSeries | ItemRejected] = {}
        for erp_id in master_ids:
            master = self.state.activities.get(erp_id)
            if master is None or master.recurrence is None:
                continue
            rows = [a for a in self.state.activities.values() if a.series_id == erp_id]
            try:
                found[erp_id] = erp_series(master, rows, time_zone=time_zone)
            except ItemRejected as rejected:
                found[erp_id] = rejected
        return found

    def links(self, scope: Scope, kind: Kind) -> list[Link]:
        return [
            link for (s, k, _), link in sorted(self.state.links.items(), key=lambda i: i[0][2])
            if s == scope and k is kind
        ]

    def cursor(self, scope: Scope, kind: Kind) -> Cursor:
        return self.state.cursors.get((scope, kind), Cursor())

    def parked(self, scope: Scope, kind: Kind) -> list[Parked]:
        return [p for (s, k, key), p in sorted(self.state.parked.items(), key=lambda i: i[0][2])
                if s == scope and k is kind]

    @contextmanager
    def transaction(self) -> Iterator[FakeTransaction]:
        tx = FakeTransaction(self, self.state.copy())
        yield tx
        # Leaving without commit (or by an exception) drops the copy: a rollback.


class FakeTransaction:
    """Writes to a copy of the store's state; ``commit`` swaps the copy in."""

    def __init__(self, store: FakeErp, state: _State) -> None:
        self._store = store
        self._state = state
        self._writes = 0

    def create_activity(self, activity: ErpActivity, owner_employee_id: int) -> int:
        self._writes += 1
        # A modified occurrence has no participants of its own: its series' are its.
        owners = () if activity.series_id is not None else (owner_employee_id,)
        return _write_create(
            self._state, replace(activity, participant_ids=owners), self._store._clock(),
        )

    def update_activity(self, erp_id: int, activity: ErpActivity, fields: frozenset[str]) -> None:
        current = self._state.activities[erp_id]
        kept = {"participant_ids", "equipment", "id"} & fields
        assert not kept, f"the sync may not write {sorted(kept)}"
        self._writes += 1
        values = {name: getattr(activity, name) for name in fields}
        _write_update(self._state, erp_id, replace(current, **values), self._store._clock())

    def delete_activity(self, erp_id: int, *, employee_id: int) -> None:
        self._writes += 1
        self._state.archive[erp_id] = self._state.activities[erp_id]
        _write_delete(self._state, erp_id)

    def save_link(self, scope: Scope, link: Link) -> None:
        if link.erp_id in self._store.failing_links:
            raise PairWriteFailed(f"injected: the database refused the link of {link.erp_id}")
        self._state.links[(scope, link.kind, link.erp_id)] = link

    def drop_link(self, scope: Scope, kind: Kind, erp_id: int) -> None:
        self._state.links.pop((scope, kind, erp_id), None)

    def save_cursor(self, scope: Scope, kind: Kind, cursor: Cursor) -> None:
        self._state.cursors[(scope, kind)] = cursor

    def reset_cursors(self, scope: Scope) -> None:
        for key in [k for k in self._state.cursors if k[0] == scope]:
            del self._state.cursors[key]

    def park(self, scope: Scope, parked: Parked) -> None:
        self._state.parked[(scope, parked.kind, parked.key)] = parked

    def unpark(self, scope: Scope, kind: Kind, key: str) -> None:
        self._state.parked.pop((scope, kind, key), None)

    def record_conflict(
        self, scope: Scope, erp_id: int, field: str, erp_value: str, exchange_value: str,
        winner: Side,
    ) -> None:
        self._state.conflicts.append(
            ConflictRecord(scope, erp_id, field, erp_value, exchange_value, winner)
        )

    def audit(self, scope: Scope, action: str, erp_id: int | None, exchange_id: str | None,
              detail: str) -> None:
        self._state.audit.append(f"{action} erp={erp_id} exchange={exchange_id}: {detail}")

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        before, writes = self._state.copy(), self._writes
        try:
            yield
        except BaseException:
            self._state, self._writes = before, writes
            raise

    def commit(self) -> None:
        if self._store.crash_on_commit is not None:
            error, self._store.crash_on_commit = self._store.crash_on_commit, None
            raise error
        self._store.state = self._state
        self._store.writes += self._writes
        self._state = self._state.copy()
        self._writes = 0


def _journal(state: _State, erp_id: int, activity: ErpActivity) -> None:
    if activity.series_id is not None:  # an occurrence row: a change of its series
        master = state.activities.get(activity.series_id)
        if master is not None:
            state.seq += 1
            state.journal.append(Journal(state.seq, activity.series_id, master.kind,
                                         frozenset(master.participant_ids)))
        return
    state.seq += 1
    state.journal.append(
        Journal(state.seq, erp_id, activity.kind, frozenset(activity.participant_ids))
    )


def _write_create(state: _State, activity: ErpActivity, now: datetime) -> int:
    erp_id = state.next_id
    state.next_id += 1
    state.activities[erp_id] = replace(activity, id=erp_id)
    state.modified[erp_id] = now
    _journal(state, erp_id, activity)
    return erp_id


def _write_update(state: _State, erp_id: int, activity: ErpActivity, now: datetime) -> None:
    before = state.activities[erp_id]
    state.activities[erp_id] = activity
    state.modified[erp_id] = now
    if activity.series_id is not None:
        _journal(state, erp_id, activity)
        return
    # Like the triggers: former participants hear of it too (it is gone for them).
    state.seq += 1
    state.journal.append(
        Journal(
            state.seq, erp_id, activity.kind,
            frozenset(before.participant_ids) | frozenset(activity.participant_ids),
        )
    )


def _write_delete(state: _State, erp_id: int) -> None:
    activity = state.activities.pop(erp_id)
    state.modified.pop(erp_id, None)
    _journal(state, erp_id, activity)
    for occurrence_id in [i for i, a in state.activities.items() if a.series_id == erp_id]:
        state.activities.pop(occurrence_id)
        state.modified.pop(occurrence_id, None)
