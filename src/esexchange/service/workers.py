"""The running ``esexchange run`` processes of an installation, in ``esx_worker``.

Each worker writes its row when it starts, touches ``seen_at`` while it runs and removes
the row when it stops; one that has not been seen for a while is shown as gone. With the
leases of ``esx_lease`` this tells the console which worker holds which mailbox.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update

from esexchange.config.connections import list_connections
from esexchange.erp.db import write_connection
from esexchange.erp.schema import employee, esx_connection, esx_lease, esx_worker

GONE_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class HeldMailbox:
    connection: str
    email: str
    expires_at: datetime


@dataclass(frozen=True)
class Worker:
    """One service process, and the mailboxes it is working on right now."""

    holder: str
    host: str
    pid: int
    address: str
    started_at: datetime
    seen_at: datetime
    alive: bool
    mailboxes: tuple[HeldMailbox, ...]


def register(engine: Engine, holder: str, address: str, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    with write_connection(engine) as db, db.begin():
        db.execute(delete(esx_worker).where(esx_worker.c.holder == holder))
        db.execute(insert(esx_worker).values(
            holder=holder, host=socket.gethostname(), pid=os.getpid(), address=address,
            started_at=now, seen_at=now))


def heartbeat(engine: Engine, holder: str, now: datetime | None = None) -> None:
    with write_connection(engine) as db, db.begin():
        db.execute(update(esx_worker).where(esx_worker.c.holder == holder)
                   .values(seen_at=now or datetime.now(UTC)))


def unregister(engine: Engine, holder: str) -> None:
    with write_connection(engine) as db, db.begin():
        db.execute(delete(esx_worker).where(esx_worker.c.holder == holder))


def workers(engine: Engine, now: datetime | None = None) -> list[Worker]:
    """Every registered worker (newest first) with the mailboxes it holds."""
    now = now or datetime.now(UTC)
    names = {c.id: c.name for c in list_connections(engine)}
    with engine.connect() as db:
        rows = db.execute(select(esx_worker).order_by(esx_worker.c.started_at.desc())).all()
        leases = db.execute(
            select(esx_lease.c.holder, esx_lease.c.connection_id, esx_lease.c.expires_at,
                   employee.c.email)
            .join(employee, employee.c.id == esx_lease.c.employee_id)
            .join(esx_connection, esx_connection.c.id == esx_lease.c.connection_id)
            .order_by(employee.c.email)
        ).all()
    held: dict[str, list[HeldMailbox]] = {}
    for lease in leases:
        held.setdefault(lease.holder, []).append(
            HeldMailbox(names.get(lease.connection_id, "?"), lease.email, lease.expires_at))
    return [Worker(row.holder, row.host, row.pid, row.address, row.started_at, row.seen_at,
                   now - row.seen_at < GONE_AFTER, tuple(held.get(row.holder, ())))
            for row in rows]
