"""Where each mailbox stands: the last pass, what it moved, the conflicts recorded, and
the items waiting to be retried.

A read model over ``esx_pass`` (one row per pass over one mailbox, with a JSON summary
written by ``service.runner``), ``esx_cursor`` (how far the durable work got),
``esx_conflict`` (fields changed on both sides and who won) and ``esx_retry`` (parked
pairs: the item, the last error, the next try). ``esexchange status`` and the console
show it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, and_, case, func, select

from esexchange import config
from esexchange.domain.model import Employee, Kind
from esexchange.domain.state import Parked
from esexchange.erp.schema import employee, esx_conflict, esx_cursor, esx_pass, esx_retry


@dataclass(frozen=True)
class LastPass:
    """The newest pass over one mailbox, as ``esx_pass`` recorded it.

    ``outcome`` is ok, partial (some items failed), skipped or failed; ``problem`` says
    why when it was not ok: what stopped the pass, or the first item that failed (with
    the mailbox, the item and the reason) and how many more did.
    """

    started_at: datetime
    finished_at: datetime | None
    outcome: str
    to_exchange: int
    to_erp: int
    failures: int
    problem: str
    held: int = 0
    """Deletions the circuit breaker held for approval."""
    skipped: tuple[str, ...] = ()
    """Each item the pass left alone, with the mailbox, the item and why."""
    claimed_by: str = ""
    """The other installation whose claim refused the pass (``domain.claims``), if any."""


@dataclass(frozen=True)
class MailboxStatus:
    """One employee of one connection."""

    connection: str
    employee: Employee
    last_pass: LastPass | None
    synced_up_to: datetime | None
    conflicts: int
    last_conflict_at: datetime | None
    parked: tuple[Parked, ...] = ()
    """Items whose synchronization failed, waiting to be retried (oldest key first)."""


def mailbox_status(engine: Engine, connection: str | None = None) -> list[MailboxStatus]:
    """Every listed employee of every connection (or of one), by connection and name."""
    connections = (
        [config.get_connection(engine, connection)] if connection
        else config.list_connections(engine)
    )
    result = []
    for conn in connections:
        name, connection_id = conn.name, conn.id
        assert connection_id is not None
        with engine.connect() as db:
            passes = _last_passes(db, connection_id)
            # Both kinds are synchronized up to the older of their cursors.
            cursors = {row.employee_id: row.at for row in db.execute(
                select(esx_cursor.c.employee_id, func.min(esx_cursor.c.updated_at).label("at"))
                .where(esx_cursor.c.connection_id == connection_id)
                .group_by(esx_cursor.c.employee_id)
            )}
            conflicts = {row.employee_id: (row.n, row.last) for row in db.execute(
                select(esx_conflict.c.employee_id, func.count().label("n"),
                       func.max(esx_conflict.c.at).label("last"))
                .where(esx_conflict.c.connection_id == connection_id)
                .group_by(esx_conflict.c.employee_id)
            )}
            parked: dict[int, list[Parked]] = {}
            for row in db.execute(select(esx_retry)
                                  .where(esx_retry.c.connection_id == connection_id)
                                  .order_by(esx_retry.c.kind, esx_retry.c.pair_key)):
                parked.setdefault(row.employee_id, []).append(Parked(
                    Kind(row.kind), row.erp_id, row.exchange_id, row.label, row.attempts,
                    row.last_error, row.next_try_at))
        for person, _settings in config.personnel(engine, name):
            count, last = conflicts.get(person.id, (0, None))
            result.append(MailboxStatus(
                name, person, passes.get(person.id), cursors.get(person.id), count, last,
                tuple(parked.get(person.id, ())),
            ))
    return result


def _last_passes(db: Connection, connection_id: int) -> dict[int, LastPass]:
    newest = (
        select(esx_pass.c.employee_id, func.max(esx_pass.c.id).label("id"))
        .where(esx_pass.c.connection_id == connection_id)
        .group_by(esx_pass.c.employee_id)
        .subquery()
    )
    rows = db.execute(select(esx_pass).join(newest, newest.c.id == esx_pass.c.id))
    return {row.employee_id: _last_pass(row.started_at, row.finished_at, row.outcome,
                                        row.summary_json) for row in rows}


def _last_pass(started_at: datetime, finished_at: datetime | None, outcome: str,
               summary_json: str) -> LastPass:
    summary = json.loads(summary_json or "{}")
    failures = list(summary.get("failures") or ())
    return LastPass(
        started_at=started_at,
        finished_at=finished_at,
        outcome=outcome,
        to_exchange=_moved(summary.get("to_exchange")),
        to_erp=_moved(summary.get("to_erp")),
        failures=len(failures),
        held=int(summary.get("held") or 0),
        problem=str(summary.get("problem") or "") or _first_of(failures),
        skipped=tuple(str(s) for s in summary.get("skipped") or ()),
        claimed_by=str(summary.get("claimed_by") or ""),
    )


def _first_of(items: Sequence[object]) -> str:
    """A note on a list: the first failing (or skipped) item and why, and how many more."""
    if not items:
        return ""
    more = f" (and {len(items) - 1} more)" if len(items) > 1 else ""
    return f"{items[0]}{more}"


def skipped_note(last: LastPass) -> str:
    """What ``status`` says about the items a pass left alone."""
    return f"skipped {_first_of(last.skipped)}" if last.skipped else ""


def _moved(counts: object) -> int:
    """Items written to one side: the sum of created/updated/deleted/detached."""
    if isinstance(counts, dict):
        return sum(int(n) for n in counts.values())
    return int(counts) if isinstance(counts, int) else 0



@dataclass(frozen=True)
class ConflictEntry:
    """A field changed on both sides: both values, and the side whose value was kept;
    resolved once an administrator applied the other side
    (``service.conflicts.apply_other_side``)."""

    id: int
    at: datetime
    email: str
    erp_id: int
    field: str
    erp_value: str
    exchange_value: str
    winner: str
    resolved_at: datetime | None = None
    resolved_by: str = ""


def conflicts(engine: Engine, connection: str, limit: int = 100) -> list[ConflictEntry]:
    """The newest conflicts recorded over ``connection``."""
    connection_id = config.get_connection(engine, connection).id
    with engine.connect() as db:
        rows = db.execute(
            select(esx_conflict, employee.c.email)
            .outerjoin(employee, employee.c.id == esx_conflict.c.employee_id)
            .where(esx_conflict.c.connection_id == connection_id)
            .order_by(esx_conflict.c.id.desc()).limit(limit)).all()
    return [ConflictEntry(r.id, r.at, r.email or "", r.erp_id, r.field, r.erp_value,
                          r.exchange_value, r.winner, r.resolved_at, r.resolved_by or "")
            for r in rows]


def pass_history(engine: Engine, connection_id: int) -> dict[int, tuple[datetime, int]]:
    """Per employee: when the newest pass started, and how many passes failed since the
    last one that did not fail (the service's back-off reads it)."""
    p = esx_pass.c
    last = (
        select(p.employee_id, func.max(p.id).label("newest"),
               func.max(case((p.outcome != "failed", p.id), else_=0)).label("good"))
        .where(p.connection_id == connection_id)
        .group_by(p.employee_id)
        .subquery()
    )
    newest = (select(last.c.employee_id, p.started_at)
              .join(esx_pass, p.id == last.c.newest))
    failures = (select(last.c.employee_id, func.count().label("n"))
                .join(esx_pass, and_(p.employee_id == last.c.employee_id,
                                     p.connection_id == connection_id, p.id > last.c.good))
                .group_by(last.c.employee_id))
    with engine.connect() as db:
        failed = {row.employee_id: int(row.n) for row in db.execute(failures)}
        return {row.employee_id: (row.started_at, failed.get(row.employee_id, 0))
                for row in db.execute(newest)}
