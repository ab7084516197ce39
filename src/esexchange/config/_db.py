"""Transactions of the configuration functions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

from esexchange.erp.db import write_connection


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """One transaction that reads then writes, committed at the end or rolled back.

    On SQLite it takes the write lock up front, so a concurrent writer makes it wait
    (busy timeout) instead of failing half-way on a lock upgrade.
    """
    with write_connection(engine) as db, db.begin():
        yield db
