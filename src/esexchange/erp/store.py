"""``SqlErpStore``: the ``ErpStore`` port (``erp/port.py``) on SQLAlchemy Core.

Runs on SQLite and PostgreSQL against the reference schema (``erp/schema.py``) with the
database script installed (``erp/script.py``).

Reading changes. The journal ``esx_change`` is read after the scope's cursor with a few
set-based queries: which activities the employee is or was involved in were touched,
then their rows, participants and equipment in bulk. An activity is reported for kind
``K`` when it is now one of the employee's ``K`` activities (with its row), or when it
was one and no longer is: deleted, the employee removed as a participant, or its kind
changed (without a row: gone for this employee).

The cursor never passes a change still being written. On PostgreSQL, sequence numbers
are handed out before commit, so a transaction still running can hold a number below
ones already visible; skipping past it would lose its change. A hole in the journal
followed by a row younger than ``GAP_GRACE`` therefore holds the cursor below the hole
(the rows after it are reported again next time, which content hashes make harmless);
an older hole is a rolled-back transaction and is passed. SQLite serialises writers and
never has such holes.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    bindparam,
    case,
    func,
    select,
    type_coerce,
    union,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RootTransaction
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.types import NullType

from esexchange.domain.errors import ItemRejected
from esexchange.domain.model import (
    ActivityType,
    Employee,
    ErpActivity,
    Kind,
    Priority,
    Reference,
    Side,
    TaskStatus,
    item_from_json,
    item_to_json,
)
from esexchange.domain.recurrence.series import ErpSeries, erp_series
from esexchange.domain.state import ErpChange, Link, Parked
from esexchange.erp.db import write_connection
from esexchange.erp.errors import ActivityNotFound, ErpError, PairWriteFailed
from esexchange.erp.port import Cursor, Scope
from esexchange.erp.rows import activity_from_row
from esexchange.erp.schema import (
    UtcDateTime,
    activity,
    activity_equipment,
    activity_exdate,
    activity_participant,
    activity_type,
    employee,
    equipment,
    esx_activity_type_color,
    esx_archive,
    esx_audit,
    esx_change,
    esx_conflict,
    esx_cursor,
    esx_link,
    esx_pass,
    esx_retry,
    priority,
)

GAP_GRACE = timedelta(minutes=10)
"""How long a hole in the journal may be a transaction still running (see above)."""

WRITABLE_FIELDS: frozenset[str] = frozenset({
    "subject", "text", "start_at", "end_at", "all_day", "location", "due_at", "status",
    "percent_complete", "completed_at", "private", "priority_id", "activity_type_no",
    "reminder_minutes", "recurrence",
})
"""``ErpActivity`` fields that are ``activity`` columns the sync may write; besides
them ``exdates`` (rows of ``activity_exdate``) and, on create, a modified occurrence's
``series_id`` and ``original_start``."""

_CHUNK = 500  # ids per IN (...) list


@dataclass(frozen=True)
class ArchivedActivity:
    """One entry of ``esx_archive``: an activity the sync deleted, restorable by id."""

    archive_id: int
    archived_at: datetime
    activity_id: int
    subject: str
    start_at: datetime | None


class SqlErpStore:
    """The ERP database with esExchange's sync tables, through one SQLAlchemy engine."""

    def __init__(self, engine: Engine, *, gap_grace: timedelta = GAP_GRACE) -> None:
        self.engine = engine
        self._gap_grace = gap_grace

    # --- reading ---------------------------------------------------------------------

    def reference(self) -> Reference:
        """Activity types (with colours, -1 where none is set) and priorities by rank."""
        with self.engine.connect() as conn:
            return Reference(
                activity_types=tuple(read_activity_types(conn)),
                priorities=tuple(read_priorities(conn)),
            )

    def changes(self, employee_id: int, kind: Kind, after_seq: int) -> tuple[list[ErpChange], int]:
        """Changes of the employee's ``kind`` activities after ``after_seq`` (see module doc)."""
        with self._reading() as conn:
            count, last = conn.execute(_JOURNAL_AFTER, {"after_seq": after_seq}).one()
            if count == 0 and after_seq:
                return [], after_seq  # nothing journaled since (an idle pass)
            horizon = self._safe_horizon(conn, after_seq, count, last or after_seq)
            if after_seq == 0:
                return self._everything(conn, employee_id, kind, horizon), horizon
            touched = conn.execute(_touched(kind), {"employee_id": employee_id,
                                                    "after_seq": after_seq}).all()
            loaded = self._load(conn, [row.activity_id for row in touched])
        found: list[ErpChange] = []
        for row in touched:
            current = loaded.get(row.activity_id)
            mine = (current is not None and current.kind is kind
                    and employee_id in current.participant_ids)
            # Not one of the employee's ``kind`` activities now: gone for this employee,
            # if a journal row saw it as ``kind`` (otherwise it concerns the other kind).
            if mine or row.was_kind:
                found.append(ErpChange(
                    erp_id=row.activity_id, kind=kind, activity=current if mine else None,
                    seq=row.seq, modified_at=_as_utc(row.changed_at),
                ))
        return found, horizon

    def activities(self, erp_ids: Sequence[int]) -> dict[int, ErpActivity]:
        """The current rows of these activities; absent ids are deleted."""
        with self._reading() as conn:
            return self._load(conn, erp_ids)

    def last_changed(self, erp_ids: Sequence[int]) -> dict[int, datetime]:
        """When the change journal last saw each of these activities (UTC)."""
        with self._reading() as conn:
            return {erp_id: at for erp_id, at in _last_changed(conn, erp_ids).items()
                    if at is not None}

    def series(self, master_ids: Sequence[int], *, time_zone: str
               ) -> dict[int, ErpSeries | ItemRejected]:
        """Series masters with their exceptions and deleted occurrences, by master id.

        ``time_zone`` is the connection's ERP zone. A series whose rows do not fit
        together (or whose rule Outlook cannot show) is an ``ItemRejected`` naming the row
        and field; ids that are not series masters are left out.
        """
        with self._reading() as conn:
            masters = self._load(conn, master_ids)
            wanted = sorted(i for i, m in masters.items() if m.recurrence is not None)
            exception_ids = [
                erp_id for chunk in _chunks(wanted) for erp_id in conn.scalars(
                    select(activity.c.id).where(activity.c.series_id.in_(chunk)))
            ]
            exceptions = self._load(conn, exception_ids)
        by_master: dict[int, list[ErpActivity]] = defaultdict(list)
        for exception in exceptions.values():
            assert exception.series_id is not None
            by_master[exception.series_id].append(exception)
        found: dict[int, ErpSeries | ItemRejected] = {}
        for erp_id in wanted:
            unreadable = [a for a in (masters[erp_id], *by_master[erp_id]) if a.unreadable]
            if unreadable:  # a row of the series cannot be read as stored
                found[erp_id] = ItemRejected(unreadable[0].unreadable,
                                             item=f"ERP activity {unreadable[0].id}")
                continue
            try:
                found[erp_id] = erp_series(masters[erp_id], by_master[erp_id],
                                           time_zone=time_zone)
            except ItemRejected as rejected:
                found[erp_id] = rejected
        return found

    def links(self, scope: Scope, kind: Kind) -> list[Link]:
        """Every link and detached tombstone of the scope for ``kind``."""
        with self.engine.connect() as conn:
            rows = conn.execute(_LINKS, _scope_kind(scope, kind)).all()
        return [
            Link(
                kind=kind, erp_id=row.erp_id, exchange_id=row.exchange_id,
                version=row.version, erp_seq=row.erp_seq, erp_hash=row.erp_hash,
                exchange_hash=row.exchange_hash,
                synced=item_from_json(json.loads(row.synced_json)),
                detached=Side(row.detached) if row.detached else None,
            )
            for row in rows
        ]

    def cursor(self, scope: Scope, kind: Kind) -> Cursor:
        """Where the scope's last durable pass for ``kind`` ended (zero when none ran)."""
        with self.engine.connect() as conn:
            row = conn.execute(_CURSOR, _scope_kind(scope, kind)).first()
        return Cursor(erp_seq=row.erp_seq, sync_state=row.sync_state) if row else Cursor()

    def parked(self, scope: Scope, kind: Kind) -> list[Parked]:
        """The scope's parked pairs of ``kind``, by key."""
        with self.engine.connect() as conn:
            rows = conn.execute(_PARKED, _scope_kind(scope, kind))
            return [Parked(kind, row.erp_id, row.exchange_id, row.label, row.attempts,
                           row.last_error, row.next_try_at) for row in rows]

    def employees(self, ids: Iterable[int] | None = None) -> list[Employee]:
        """Employees by id (all of them when ``ids`` is None), ordered by id."""
        query = select(employee).order_by(employee.c.id)
        with self.engine.connect() as conn:
            if ids is None:
                return [employee_from_row(row) for row in conn.execute(query)]
            wanted = sorted(set(ids))
            return [
                employee_from_row(row)
                for chunk in _chunks(wanted)
                for row in conn.execute(query.where(employee.c.id.in_(chunk)))
            ]

    # --- writing ---------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[SqlErpTransaction]:
        """One database transaction; rolled back unless ``commit()`` was called."""
        with write_connection(self.engine) as conn:
            trans = conn.begin()
            tx = SqlErpTransaction(conn, trans)
            try:
                yield tx
            finally:
                tx.closed = True
                if trans.is_active:
                    trans.rollback()

    def record_pass(
        self, scope: Scope, *, started_at: datetime, finished_at: datetime | None,
        outcome: str, summary: Mapping[str, object], conn: Connection | None = None,
    ) -> int:
        """Store one pass over a mailbox (``esx_pass``); returns its id. With ``conn``,
        in that connection's transaction; otherwise in one of its own."""
        row = esx_pass.insert().returning(esx_pass.c.id).values(
            connection_id=scope.connection_id, employee_id=scope.employee_id,
            started_at=started_at, finished_at=finished_at, outcome=outcome,
            summary_json=json.dumps(summary, sort_keys=True, ensure_ascii=False, default=str),
        )
        if conn is not None:
            return int(conn.execute(row).scalar_one())
        with write_connection(self.engine) as own, own.begin():
            return int(own.execute(row).scalar_one())

    def archived(self, limit: int = 50) -> list[ArchivedActivity]:
        """The newest entries of the archive of activities the sync deleted."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(esx_archive.c.id, esx_archive.c.archived_at, esx_archive.c.activity_id,
                       esx_archive.c.row_json)
                .order_by(esx_archive.c.id.desc()).limit(limit)
            ).all()
        return [
            ArchivedActivity(
                archive_id=row.id, archived_at=row.archived_at, activity_id=row.activity_id,
                subject=str(json.loads(row.row_json)["activity"].get("subject", "")),
                start_at=_from_jsonable(
                    datetime, json.loads(row.row_json)["activity"].get("start_at")),
            )
            for row in rows
        ]

    def restore_activity(self, archive_id: int) -> int:
        """Put an archived activity back, with its id, participants and equipment.

        Participants and equipment that no longer exist are left out. Returns the id.
        """
        with write_connection(self.engine) as conn, conn.begin():
            row_json = conn.scalar(
                select(esx_archive.c.row_json).where(esx_archive.c.id == archive_id)
            )
            if row_json is None:
                raise ErpError(f"there is no archive entry {archive_id}; "
                               "'esexchange db archive' lists them")
            saved = json.loads(row_json)
            taken = conn.scalar(select(activity.c.id).where(
                activity.c.id == saved["activity"]["id"]))
            if taken is not None:
                raise ErpError(f"activity {taken} exists already; archive entry "
                               f"{archive_id} was restored before")
            values = {
                name: _from_jsonable(activity.c[name].type.python_type, value)
                for name, value in saved["activity"].items()
                if name in activity.c
            }
            conn.execute(activity.insert().values(**values))
            erp_id = int(values["id"])
            people = {e for (e,) in conn.execute(
                select(employee.c.id).where(employee.c.id.in_(saved["participants"])))}
            for employee_id in sorted(people):
                conn.execute(activity_participant.insert().values(
                    activity_id=erp_id, employee_id=employee_id))
            kept = {e for (e,) in conn.execute(select(equipment.c.id).where(
                equipment.c.id.in_([item["id"] for item in saved["equipment"]])))}
            for equipment_id in sorted(kept):
                conn.execute(activity_equipment.insert().values(
                    activity_id=erp_id, equipment_id=equipment_id))
            for original in saved.get("exdates", []):
                conn.execute(activity_exdate.insert().values(
                    activity_id=erp_id, original_start=datetime.fromisoformat(original)))
            conn.execute(esx_archive.delete().where(esx_archive.c.id == archive_id))
        return erp_id

    # --- internals -------------------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A read transaction that sees one snapshot for all its queries."""
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    def _safe_horizon(self, conn: Connection, after_seq: int, count: int, last: int) -> int:
        """The newest sequence number the cursor may advance to (see the module doc), of
        the ``count`` journal rows after ``after_seq``, ``last`` the newest of them."""
        c = esx_change.c
        if count == last - after_seq:
            return int(last)  # no holes
        now = conn.scalar(select(type_coerce(func.current_timestamp(), UtcDateTime)))
        assert now is not None
        before = esx_change.alias("before")
        first_young_after_hole = conn.scalar(
            select(func.min(c.seq)).where(
                c.seq > after_seq + 1,
                c.changed_at > now - self._gap_grace,
                ~select(before.c.seq).where(before.c.seq == c.seq - 1).exists(),
            )
        )
        if first_young_after_hole is None:
            return int(last)
        held = conn.scalar(select(func.max(c.seq)).where(
            c.seq > after_seq, c.seq < first_young_after_hole))
        return int(held if held is not None else after_seq)

    def _everything(
        self, conn: Connection, employee_id: int, kind: Kind, horizon: int
    ) -> list[ErpChange]:
        """First pass: every current activity of the employee, as of ``horizon``."""
        ids = list(conn.scalars(
            select(activity.c.id)
            .join(activity_participant, activity_participant.c.activity_id == activity.c.id)
            .where(activity_participant.c.employee_id == employee_id,
                   activity.c.kind == kind.value)
            .order_by(activity.c.id)
        ))
        loaded = self._load(conn, ids)
        newest = _last_changed(conn, ids)
        return [
            ErpChange(erp_id=erp_id, kind=kind, activity=loaded[erp_id], seq=horizon,
                      modified_at=newest.get(erp_id))
            for erp_id in ids
        ]

    def _load(self, conn: Connection, erp_ids: Sequence[int]) -> dict[int, ErpActivity]:
        """Activities with participants, equipment and deleted occurrences, four queries
        per chunk of ids."""
        # Read raw: a value the column type cannot convert (a SQLite TEXT where a time
        # should be) fails its own activity in ``activity_from_row``, not the query.
        columns = [type_coerce(c, NullType()).label(c.name) for c in activity.c]
        loaded: dict[int, ErpActivity] = {}
        for chunk in _chunks(sorted(set(erp_ids))):
            people: dict[int, list[int]] = defaultdict(list)
            for activity_id, employee_id in conn.execute(
                select(activity_participant.c.activity_id, activity_participant.c.employee_id)
                .where(activity_participant.c.activity_id.in_(chunk))
                .order_by(activity_participant.c.employee_id)
            ):
                people[activity_id].append(employee_id)
            things: dict[int, list[str]] = defaultdict(list)
            for activity_id, name in conn.execute(
                select(activity_equipment.c.activity_id, equipment.c.name)
                .join(equipment, equipment.c.id == activity_equipment.c.equipment_id)
                .where(activity_equipment.c.activity_id.in_(chunk))
                .order_by(equipment.c.name)
            ):
                things[activity_id].append(name)
            deleted: dict[int, list[datetime]] = defaultdict(list)
            for activity_id, original in conn.execute(
                select(activity_exdate.c.activity_id, activity_exdate.c.original_start)
                .where(activity_exdate.c.activity_id.in_(chunk))
                .order_by(activity_exdate.c.original_start)
            ):
                deleted[activity_id].append(original)
            for row in conn.execute(select(*columns).where(activity.c.id.in_(chunk))):
                read = activity_from_row(row, people[row.id], things[row.id], deleted[row.id])
                if read is not None:
                    loaded[read.id or row.id] = read
        return loaded


class SqlErpTransaction:
    """The ``ErpTransaction`` of ``SqlErpStore``: one database transaction."""

    def __init__(self, conn: Connection, trans: RootTransaction) -> None:
        self._conn = conn
        self._trans = trans
        self.closed = False
        self._savepoints = 0
        self._pending: dict[str, list[tuple[str, dict[str, Any]]]] = {"link": [], "audit": []}
        """Link and audit writes made inside a savepoint, per table in order, sent at its
        end (no write of one table depends on the other's)."""

    @property
    def connection(self) -> Connection:
        """The open connection (for writes that belong to the same unit of work)."""
        if self.closed:
            raise RuntimeError("this ERP transaction has ended; open a new one")
        return self._conn

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A SAVEPOINT: a database error inside rolls back only it (``PairWriteFailed``).

        The link and audit writes inside are sent at its end, per table one
        ``executemany`` per run of the same statement (a savepoint over many pairs writes
        all their links in one, all their audit lines in another); a refusal then still
        undoes exactly the savepoint's writes.
        """
        nested = self.connection.begin_nested()
        marks = {table: len(writes) for table, writes in self._pending.items()}
        self._savepoints += 1
        try:
            yield
            self._send_pending()
        except SQLAlchemyError as error:
            self._forget_pending(marks)
            nested.rollback()
            raise PairWriteFailed(
                f"the database refused the write: {getattr(error, 'orig', None) or error}"
            ) from error
        except BaseException:
            self._forget_pending(marks)
            nested.rollback()
            raise
        finally:
            self._savepoints -= 1
        nested.commit()

    def _write(self, table: str, statement: str, values: dict[str, Any]) -> None:
        """Send a link or audit write now, or at the end of the savepoint it is made in."""
        self._pending[table].append((statement, values))
        if not self._savepoints:
            self._send_pending()

    def _send_pending(self) -> None:
        conn = self.connection
        for writes in self._pending.values():
            pending, writes[:] = list(writes), []
            for name, run in itertools.groupby(pending, key=lambda write: write[0]):
                conn.execute(_batched_statement(conn.dialect.name, name), [v for _, v in run])

    def _forget_pending(self, marks: dict[str, int]) -> None:
        for table, mark in marks.items():
            del self._pending[table][mark:]

    def create_activity(self, activity_: ErpActivity, owner_employee_id: int) -> int:
        """Insert an activity with the owner as its only participant; returns its id.

        A series master gets its deleted occurrences (``exdates``); a modified occurrence
        (``series_id`` set) gets its series and original start and no participants (the
        series' are the master's).
        """
        values = _column_values(activity_, WRITABLE_FIELDS, erp_id=None)
        values["kind"] = activity_.kind.value
        if activity_.series_id is not None:
            values |= {"series_id": activity_.series_id,
                       "original_start": activity_.original_start}
        conn = self.connection
        erp_id = int(conn.execute(
            activity.insert().returning(activity.c.id).values(**values)).scalar_one())
        if activity_.series_id is None:
            conn.execute(activity_participant.insert().values(
                activity_id=erp_id, employee_id=owner_employee_id))
        self._write_exdates(erp_id, activity_.exdates)
        return erp_id

    def resolve_conflict(self, conflict_id: int, *, by: str, at: datetime) -> None:
        """Mark a recorded conflict resolved: ``by`` applied the side that lost."""
        self.connection.execute(esx_conflict.update().where(esx_conflict.c.id == conflict_id)
                                .values(resolved_at=at, resolved_by=by))

    def _write_exdates(self, erp_id: int, exdates: Sequence[datetime]) -> None:
        """The series' deleted occurrences are exactly ``exdates`` from now on."""
        conn = self.connection
        current = set(conn.scalars(select(activity_exdate.c.original_start)
                                   .where(activity_exdate.c.activity_id == erp_id)))
        wanted = set(exdates)
        for gone in current - wanted:
            conn.execute(activity_exdate.delete().where(
                activity_exdate.c.activity_id == erp_id,
                activity_exdate.c.original_start == gone))
        for original in sorted(wanted - current):
            conn.execute(activity_exdate.insert().values(activity_id=erp_id,
                                                         original_start=original))

    def update_activity(self, erp_id: int, activity_: ErpActivity, fields: frozenset[str]) -> None:
        """Write the named fields; all others (participants, equipment too) are kept."""
        unknown = fields - WRITABLE_FIELDS - {"exdates"}
        if unknown:
            raise ValueError(f"not writable activity fields: {', '.join(sorted(unknown))}")
        if "exdates" in fields:
            self._write_exdates(erp_id, activity_.exdates)
        values: dict[str, Any] = _column_values(activity_, fields - {"exdates"}, erp_id=erp_id)
        values["modified_at"] = func.current_timestamp()
        updated = self.connection.execute(
            activity.update().where(activity.c.id == erp_id).values(**values)
        ).rowcount
        if not updated:
            raise ActivityNotFound(erp_id)

    def delete_activity(self, erp_id: int, *, employee_id: int) -> None:
        """Archive the activity with participants and equipment, then delete it; a
        series master's modified occurrences are archived and deleted with it.

        An activity that is already gone is left alone (a retried pass deletes twice).
        """
        conn = self.connection
        row = conn.execute(select(activity).where(activity.c.id == erp_id)).first()
        if row is None:
            return
        for occurrence_id in list(conn.scalars(
                select(activity.c.id).where(activity.c.series_id == erp_id))):
            self.delete_activity(occurrence_id, employee_id=employee_id)
        participants = list(conn.scalars(
            select(activity_participant.c.employee_id)
            .where(activity_participant.c.activity_id == erp_id)
            .order_by(activity_participant.c.employee_id)))
        things = [
            {"id": equipment_id, "name": name}
            for equipment_id, name in conn.execute(
                select(equipment.c.id, equipment.c.name)
                .join(activity_equipment, activity_equipment.c.equipment_id == equipment.c.id)
                .where(activity_equipment.c.activity_id == erp_id)
                .order_by(equipment.c.id))
        ]
        exdates = [_jsonable(original) for original in conn.scalars(
            select(activity_exdate.c.original_start)
            .where(activity_exdate.c.activity_id == erp_id)
            .order_by(activity_exdate.c.original_start))]
        archived = {
            "activity": {name: _jsonable(value) for name, value in row._mapping.items()},
            "participants": participants,
            "equipment": things,
            "exdates": exdates,
            "deleted_for_employee_id": employee_id,
        }
        conn.execute(esx_archive.insert().values(
            archived_at=_now(), activity_id=erp_id,
            row_json=json.dumps(archived, sort_keys=True, ensure_ascii=False)))
        # Explicit deletes: an existing ERP's tables may lack ON DELETE CASCADE.
        conn.execute(activity_equipment.delete().where(activity_equipment.c.activity_id == erp_id))
        conn.execute(activity_exdate.delete().where(activity_exdate.c.activity_id == erp_id))
        conn.execute(
            activity_participant.delete().where(activity_participant.c.activity_id == erp_id))
        conn.execute(activity.delete().where(activity.c.id == erp_id))

    def save_link(self, scope: Scope, link: Link) -> None:
        """Insert or replace the link of ``(scope, link.kind, link.erp_id)``."""
        self._write("link", "save_link", {
            "connection_id": scope.connection_id, "employee_id": scope.employee_id,
            "kind": link.kind.value, "erp_id": link.erp_id, "exchange_id": link.exchange_id,
            "version": link.version, "erp_seq": link.erp_seq, "erp_hash": link.erp_hash,
            "exchange_hash": link.exchange_hash,
            "synced_json": json.dumps(item_to_json(link.synced), sort_keys=True,
                                      ensure_ascii=False),
            "detached": link.detached.value if link.detached else None,
            "updated_at": _now(),
        })

    def park(self, scope: Scope, parked: Parked) -> None:
        """Insert or replace the retry record of ``parked``'s pair."""
        _upsert(self.connection, esx_retry, {
            "connection_id": scope.connection_id, "employee_id": scope.employee_id,
            "kind": parked.kind.value, "pair_key": parked.key, "erp_id": parked.erp_id,
            "exchange_id": parked.exchange_id, "label": parked.label[:600],
            "attempts": parked.attempts, "last_error": parked.last_error,
            "next_try_at": parked.next_try_at, "updated_at": _now(),
        }, keys=("connection_id", "employee_id", "kind", "pair_key"))

    def unpark(self, scope: Scope, kind: Kind, key: str) -> None:
        """Forget the retry record of a pair (it succeeded, or it no longer exists)."""
        self.connection.execute(esx_retry.delete().where(
            *_scope_is(esx_retry, scope), esx_retry.c.kind == kind.value,
            esx_retry.c.pair_key == key))

    def drop_link(self, scope: Scope, kind: Kind, erp_id: int) -> None:
        """Forget a link (both copies are gone)."""
        self._write("link", "drop_link", {
            "connection_id": scope.connection_id, "employee_id": scope.employee_id,
            "kind": kind.value, "erp_id": erp_id,
        })

    def reset_cursors(self, scope: Scope) -> None:
        """Read everything again at the scope's next pass (see ``reset_cursors``)."""
        reset_cursors(self.connection, scope)

    def save_cursor(self, scope: Scope, kind: Kind, cursor: Cursor) -> None:
        """Store where the pass ended for this kind."""
        _upsert(self.connection, esx_cursor, {
            "connection_id": scope.connection_id, "employee_id": scope.employee_id,
            "kind": kind.value, "erp_seq": cursor.erp_seq, "sync_state": cursor.sync_state,
            "updated_at": _now(),
        }, keys=("connection_id", "employee_id", "kind"))

    def record_conflict(
        self, scope: Scope, erp_id: int, field: str, erp_value: str, exchange_value: str,
        winner: Side,
    ) -> None:
        """Record a field changed on both sides and who won."""
        self.connection.execute(esx_conflict.insert().values(
            at=_now(), connection_id=scope.connection_id, employee_id=scope.employee_id,
            erp_id=erp_id, field=field, erp_value=erp_value, exchange_value=exchange_value,
            winner=winner.value))

    def audit(self, scope: Scope, action: str, erp_id: int | None, exchange_id: str | None,
              detail: str) -> None:
        """Append one line to the audit log."""
        self._write("audit", "audit", {
            "at": _now(), "connection_id": scope.connection_id,
            "employee_id": scope.employee_id, "action": action, "erp_id": erp_id,
            "exchange_id": exchange_id, "detail": detail,
        })

    def commit(self) -> None:
        """Make everything written so far durable at once; the transaction then ends."""
        if self.closed:
            raise RuntimeError("this ERP transaction has ended; open a new one")
        self._send_pending()
        self._trans.commit()
        self.closed = True


# --- helpers --------------------------------------------------------------------------


# The queries of every pass, built once (building a statement cost more than running it
# on an idle pass); their values come as parameters.

def _by_scope_and_kind(table: Any) -> tuple[Any, ...]:
    return (table.c.connection_id == bindparam("connection_id"),
            table.c.employee_id == bindparam("employee_id"),
            table.c.kind == bindparam("kind"))


def _scope_kind(scope: Scope, kind: Kind) -> dict[str, Any]:
    return {"connection_id": scope.connection_id, "employee_id": scope.employee_id,
            "kind": kind.value}


_CURSOR = select(esx_cursor.c.erp_seq, esx_cursor.c.sync_state).where(
    *_by_scope_and_kind(esx_cursor))
_LINKS = select(esx_link).where(*_by_scope_and_kind(esx_link)).order_by(esx_link.c.erp_id)
_PARKED = select(esx_retry).where(*_by_scope_and_kind(esx_retry)).order_by(
    esx_retry.c.pair_key)
_JOURNAL_AFTER = select(func.count(), func.max(esx_change.c.seq)).where(
    esx_change.c.seq > bindparam("after_seq"))
"""How many journal rows come after ``after_seq``, and the newest (NULL when none)."""


@functools.cache
def _touched(kind: Kind) -> Select[Any]:
    """Per activity the employee (``employee_id``) is or was in, touched after
    ``after_seq``: newest seq, newest change time, and whether a journal row saw it as
    ``kind``."""
    c = esx_change.c
    employee_id: Any = bindparam("employee_id")
    after_seq: Any = bindparam("after_seq")
    involved = union(
        select(activity_participant.c.activity_id)
        .where(activity_participant.c.employee_id == employee_id),
        select(c.activity_id).where(
            c.seq > after_seq, c.employee_id == employee_id,
            c.table_name == activity_participant.name),
    )
    return (
        select(
            c.activity_id,
            func.max(c.seq).label("seq"),
            func.max(c.changed_at).label("changed_at"),
            func.max(case((c.kind == kind.value, 1), else_=0)).label("was_kind"),
        )
        .where(c.seq > after_seq, c.activity_id.in_(involved))
        .group_by(c.activity_id)
        .order_by(c.activity_id)
    )


def _column_values(source: ErpActivity, names: Iterable[str], *, erp_id: int | None
                   ) -> dict[str, Any]:
    """Column values of ``names``, refusing what the columns cannot hold."""
    values: dict[str, Any] = {}
    for name in names:
        value = getattr(source, name)
        if isinstance(value, TaskStatus):
            value = value.value
        limit = getattr(activity.c[name].type, "length", None)
        if limit is not None and isinstance(value, str) and len(value) > limit:
            raise ItemRejected(
                f"{name} has {len(value)} characters, the ERP column holds {limit}",
                item=f"activity {erp_id}" if erp_id is not None else source.subject[:60],
                field=name,
            )
        values[name] = value
    if "percent_complete" in values and not 0 <= values["percent_complete"] <= 100:
        raise ItemRejected(
            f"percent complete {values['percent_complete']} is outside 0..100",
            item=f"activity {erp_id}" if erp_id is not None else source.subject[:60],
            field="percent_complete",
        )
    return values


def _upsert(conn: Connection, table: Any, values: dict[str, Any], *, keys: tuple[str, ...]
            ) -> None:
    conn.execute(_upsert_statement(conn.dialect.name, table, tuple(values), keys), values)


@functools.cache
def _upsert_statement(dialect: str, table: Any, names: tuple[str, ...], keys: tuple[str, ...]
                      ) -> Any:
    """INSERT ... ON CONFLICT (keys) DO UPDATE of ``names``, built once per shape (building
    it anew per row cost more than running it); values come as parameters."""
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = dialect_insert(table)
    return statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: statement.excluded[name] for name in names if name not in keys},
    )


_LINK_KEY = ("connection_id", "employee_id", "kind", "erp_id")
_LINK_COLUMNS = (*_LINK_KEY, "exchange_id", "version", "erp_seq", "erp_hash", "exchange_hash",
                 "synced_json", "detached", "updated_at")


@functools.cache
def _batched_statement(dialect: str, name: str) -> Any:
    """The statements of ``SqlErpTransaction._write``, built once, run with many rows."""
    if name == "save_link":
        return _upsert_statement(dialect, esx_link, _LINK_COLUMNS, _LINK_KEY)
    if name == "drop_link":
        return esx_link.delete().where(*(esx_link.c[key] == bindparam(key) for key in _LINK_KEY))
    assert name == "audit", name
    return esx_audit.insert()


def reset_cursors(conn: Connection, scope: Scope) -> None:
    """Make the scope's next pass read everything again (every ERP activity, a full
    listing of each folder), in the caller's transaction.

    For a settings change that widens what is synchronized (a "no private" setting
    switched off): items skipped before did not change since, so only a full read finds
    them. Links and stamps make the re-read write nothing for synced pairs.
    """
    conn.execute(esx_cursor.delete().where(*_scope_is(esx_cursor, scope)))


def _scope_is(table: Any, scope: Scope) -> tuple[Any, Any]:
    return (table.c.connection_id == scope.connection_id,
            table.c.employee_id == scope.employee_id)


def read_activity_types(conn: Connection) -> list[ActivityType]:
    """Every activity type by number, with its Outlook colour (-1 where none is set)."""
    color = esx_activity_type_color
    rows = conn.execute(
        select(activity_type.c.no, activity_type.c.description,
               func.coalesce(color.c.color, -1))
        .outerjoin(color, color.c.activity_type_no == activity_type.c.no)
        .order_by(activity_type.c.no)
    )
    return [ActivityType(no, desc, col) for no, desc, col in rows]


def read_priorities(conn: Connection) -> list[Priority]:
    """Every ERP priority, least important first."""
    rows = conn.execute(
        select(priority.c.id, priority.c.name, priority.c.rank)
        .order_by(priority.c.rank, priority.c.id)
    )
    return [Priority(id_, name, rank) for id_, name, rank in rows]


def employee_from_row(row: Any) -> Employee:
    """An ``employee`` row (any query selecting its columns) as the sync sees it."""
    return Employee(
        id=row.id, number=row.number, name=row.name, email=row.email or "",
        employment_status=row.employment_status,
        may_create_appointments=bool(row.may_create_appointments),
    )


def _last_changed(conn: Connection, ids: Sequence[int]) -> dict[int, datetime | None]:
    """The newest journal time of each activity (UTC), one query per chunk of ids."""
    newest: dict[int, datetime | None] = {}
    for chunk in _chunks(ids):
        newest.update((erp_id, _as_utc(at)) for erp_id, at in conn.execute(
            select(esx_change.c.activity_id, func.max(esx_change.c.changed_at))
            .where(esx_change.c.activity_id.in_(chunk))
            .group_by(esx_change.c.activity_id)
        ).all())
    return newest


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start:start + _CHUNK])


def _now() -> datetime:
    return datetime.now(UTC)


def _as_utc(value: datetime | None) -> datetime | None:
    """Journal times from an aggregate (which may bypass the column type) as aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _from_jsonable(python_type: type, value: Any) -> Any:
    if value is None:
        return None
    if python_type is datetime:
        return datetime.fromisoformat(value)
    if python_type is bool:
        return bool(value)
    return value


__all__ = ["GAP_GRACE", "WRITABLE_FIELDS", "ArchivedActivity", "SqlErpStore",
           "SqlErpTransaction", "employee_from_row", "read_activity_types", "read_priorities"]
