"""Fixtures of the configuration tests: an installed ERP database with a few employees,
activity types and priorities, on SQLite and on PostgreSQL, and a throwaway key file.

- ``key_file``: ``ESEXCHANGE_KEY_FILE`` points into the test's temporary directory, so
  no test touches the real ``~/.config/esexchange/secret.key``.
- ``config_db_url``: URL of a database with the esExchange script installed and the
  reference rows below; parametrized over ``sqlite`` and ``postgres``.
- ``config_sqlite_url``: the same on SQLite only (for the many command-line cases).
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, insert

from esexchange.erp.db import open_engine
from esexchange.erp.schema import activity_type, employee, esx_pass, priority
from esexchange.erp.script import install

if TYPE_CHECKING:  # imported at run time it would precede its registration as a plugin
    from tests.support.postgres import Cluster

_copies = itertools.count(1)

EMPLOYEES = [
    {"id": 1, "number": "1001", "name": "Anna Berg", "email": "anna.berg@example.com",
     "employment_status": "active", "may_create_appointments": True},
    {"id": 2, "number": "1002", "name": "Bernd Lang", "email": "bernd.lang@example.com",
     "employment_status": "left", "may_create_appointments": True},
    {"id": 3, "number": "1003", "name": "Clara Weiss", "email": "clara.weiss@example.com",
     "employment_status": "active", "may_create_appointments": False},
    {"id": 4, "number": "1004", "name": "Dora Exner", "email": "Dora.Exner@Example.com",
     "employment_status": "active", "may_create_appointments": True},
]
ACTIVITY_TYPES = [
    {"no": 1, "description": "Besprechung"},
    {"no": 5, "description": "Task"},
    {"no": 7, "description": "Kundentermin"},
]
PRIORITIES = [
    {"id": 1, "name": "Niedrig", "rank": 10},
    {"id": 2, "name": "Mittel", "rank": 20},
    {"id": 3, "name": "Hoch", "rank": 30},
]


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The encryption key file of this test (created on first use)."""
    path = tmp_path / "keys" / "secret.key"
    monkeypatch.delenv("ESEXCHANGE_SECRET_KEY", raising=False)
    monkeypatch.setenv("ESEXCHANGE_KEY_FILE", str(path))
    return path


@pytest.fixture(scope="session")
def _config_postgres_template(postgres_cluster: Cluster) -> str:
    """A PostgreSQL database prepared once; each test gets a copy (much faster than DDL)."""
    name = f"esx_config_template_{os.getpid()}"
    postgres_cluster.execute(f"CREATE DATABASE {name} TEMPLATE template0")
    _prepare(postgres_cluster.url(name))
    return name


@pytest.fixture(params=["sqlite", "postgres"])
def config_db_url(request: pytest.FixtureRequest, key_file: Path) -> Iterator[str]:
    """An installed database with the reference rows above."""
    if request.param == "sqlite":
        url = request.getfixturevalue("sqlite_url")
        _prepare(url)
        yield url
        return
    request.applymarker(pytest.mark.postgres)
    cluster: Cluster = request.getfixturevalue("postgres_cluster")
    template = request.getfixturevalue("_config_postgres_template")
    name = f"config_{os.getpid()}_{next(_copies)}"
    cluster.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    yield cluster.url(name)
    cluster.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def config_sqlite_url(sqlite_url: str, key_file: Path) -> str:
    """An installed SQLite database with the reference rows above."""
    _prepare(sqlite_url)
    return sqlite_url


def _prepare(url: str) -> None:
    engine = open_engine(url)
    try:
        install(engine)
        with engine.begin() as db:
            db.execute(insert(employee), EMPLOYEES)
            db.execute(insert(activity_type), ACTIVITY_TYPES)
            db.execute(insert(priority), PRIORITIES)
    finally:
        engine.dispose()


def record_pass(engine: Engine, employee_id: int, started_at: datetime, outcome: str,
                summary: dict[str, object]) -> None:
    """As ``service.runner`` records a pass over one mailbox."""
    with engine.begin() as db:
        db.execute(insert(esx_pass).values(
            connection_id=1, employee_id=employee_id, started_at=started_at,
            finished_at=started_at + timedelta(seconds=3), outcome=outcome,
            summary_json=json.dumps(summary),
        ))
