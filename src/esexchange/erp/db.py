"""Opening the ERP database: URLs, engines, dialect settings, write transactions.

Accepted URLs: ``sqlite:///path/to/file.db`` and PostgreSQL as
``postgresql+psycopg://user:password@host:port/db`` (``postgresql://`` and
``postgres://`` are rewritten to use psycopg 3). Without ``--db`` the URL comes from the
``ESEXCHANGE_DB`` environment variable.

SQLite: foreign keys on (``ON DELETE CASCADE`` depends on it), WAL journal (readers do
not block the writer), a busy timeout, and transactions esExchange controls itself: the
Python driver's implicit transactions would commit DDL on its own and begin writes
lazily. ``write_connection`` begins with ``BEGIN IMMEDIATE`` so a unit of work that reads
before it writes cannot fail half-way on a lock upgrade. Its commits wait until they are
on disk (``synchronous = FULL``), except on a ``bookkeeping_connection`` (see there).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, DBAPIError

from esexchange.erp.errors import DatabaseNotConfigured, DatabaseUnreachable

ENV_VAR = "ESEXCHANGE_DB"
SQLITE_BUSY_TIMEOUT_MS = 30_000
_WRITE = "esx_write"  # execution option: begin with BEGIN IMMEDIATE on SQLite
_BOOKKEEPING = "esx_bookkeeping"  # execution option: the commit need not wait for the disk


def resolve_url(url: str | None) -> URL:
    """The database URL from ``url`` or ``ESEXCHANGE_DB``, normalised for our drivers."""
    text = url or os.environ.get(ENV_VAR, "")
    if not text.strip():
        raise DatabaseNotConfigured(
            f"no database given: pass --db URL or set {ENV_VAR} "
            "(e.g. sqlite:///erp.db or postgresql://user@host/dbname)"
        )
    try:
        parsed = make_url(text.strip())
    except ArgumentError:
        raise DatabaseNotConfigured(
            f"{text!r} is not a database URL; expected sqlite:///path or "
            "postgresql://user:password@host:port/dbname"
        ) from None
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseNotConfigured(
            f"unsupported database {parsed.get_backend_name()!r}: esExchange runs on "
            "SQLite and PostgreSQL"
        )
    return parsed


def open_engine(url: str | URL | None = None, **kwargs: Any) -> Engine:
    """An engine for the ERP database; nothing is connected yet."""
    parsed = url if isinstance(url, URL) else resolve_url(url)
    if parsed.get_backend_name() == "postgresql":
        return create_engine(parsed, pool_pre_ping=True, **kwargs)
    engine = create_engine(parsed, **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def end_abandoned_transactions(engine: Engine, after: timedelta) -> None:
    """Have PostgreSQL end a session of ``engine`` that stays idle inside a transaction
    for longer than ``after`` (``idle_in_transaction_session_timeout``).

    A worker that hangs (stopped, swapped out, its host frozen) mid-transaction keeps
    its row locks, and the worker taking over its mailboxes once the lease lapsed would
    wait on them for ever. The service passes its lease duration: a transaction idle
    that long belongs to a holder whose lease is gone. No pass idles inside a
    transaction (Exchange is written before the ERP transaction begins), so a live one
    never meets the limit. Connections already open are replaced. SQLite: nothing (one
    writer at a time by design, and no second host).
    """
    if engine.dialect.name != "postgresql":
        return
    milliseconds = max(1, int(after.total_seconds() * 1000))

    @event.listens_for(engine, "connect")
    def _limit_idle_transactions(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET idle_in_transaction_session_timeout = {milliseconds}")
        dbapi_connection.commit()

    engine.dispose()


def check_reachable(engine: Engine, *, create: bool = False) -> None:
    """Open one connection, or raise ``DatabaseUnreachable`` saying what to fix.

    A SQLite file that does not exist is created only with ``create`` (``db install``):
    every other command refuses it, instead of leaving an empty file behind.
    """
    path = _sqlite_file(engine)
    if path is not None and not create and not path.exists():
        raise DatabaseUnreachable(
            f"no such database file {path}; check --db, or create the database there with "
            "`esexchange db install`"
        )
    try:
        with engine.connect():
            pass
    except DBAPIError as exc:
        raise unreachable(engine, exc) from None


def unreachable(engine: Engine, exc: DBAPIError) -> DatabaseUnreachable:
    """The user-facing error for a database that cannot be opened."""
    where = engine.url.render_as_string(hide_password=True)
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    if engine.dialect.name == "sqlite":
        if "not a database" in reason:
            return DatabaseUnreachable(f"{_sqlite_file(engine) or where} is not a SQLite database")
        hint = "check that the file's directory exists and is writable"
    else:
        hint = "check that the server runs and the URL's host, port, user, password and database"
    return DatabaseUnreachable(f"cannot open the database {where}: {reason}; {hint}")


def _sqlite_file(engine: Engine) -> Path | None:
    """The file of a SQLite database (``None`` for PostgreSQL, memory and URI databases)."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    if url.query.get("uri") or url.database.startswith("file:"):
        return None
    return Path(url.database)


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """A connection whose transactions take the write lock up front (SQLite)."""
    with engine.connect() as conn:
        conn.execution_options(**{_WRITE: True})
        yield conn


@contextmanager
def bookkeeping_connection(engine: Engine) -> Iterator[Connection]:
    """A ``write_connection`` for what only matters while this process runs: the leases
    of the mailboxes it works on, and the record of a pass as its lease is given back.

    On SQLite its commits are atomic and survive the process being killed, but do not
    wait for the disk (``synchronous = NORMAL`` in WAL mode): only losing the machine
    (power, kernel) can roll the last of them back, and then the process holding those
    leases is gone too, which is what a lease stands for. The disk wait was about 4 ms
    per commit, and an idle pass commits twice per mailbox, one after another across
    all mailboxes (SQLite has one writer). Whatever the sync wrote is never committed
    this way. PostgreSQL: an ordinary write connection (its server outlives us).
    """
    with engine.connect() as conn:
        conn.execution_options(**{_WRITE: True, _BOOKKEEPING: True})
        yield conn


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see _sqlite_on_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode")
    if cursor.fetchone()[0] not in ("wal", "memory"):
        cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    options = conn.get_execution_options()
    synchronous = "NORMAL" if options.get(_BOOKKEEPING) else "FULL"
    pooled = conn.connection
    if pooled.info.get(_BOOKKEEPING) != synchronous:  # outside a transaction, as it must be
        driver = pooled.driver_connection
        assert driver is not None, "a connection being begun is open"
        driver.execute(f"PRAGMA synchronous = {synchronous}")
        pooled.info[_BOOKKEEPING] = synchronous
    conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(_WRITE) else "BEGIN")
