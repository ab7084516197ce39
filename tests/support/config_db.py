"""Fixtures of the configuration tests: an installed ERP database with a few employees,
activity types and priorities, on SQLite and on PostgreSQL, and a throwaway key file.

- ``key_file``: ``ESEXCHANGE_KEY_FILE`` points into the test's temporary directory, so
  no test touches the real ``~/.config/esexchange/secret.key``.
- ``config_db_url``: URL of a database with the esExchange script installed and the
  reference rows below; parametrized over ``sqlite`` and ``postgres``.
- ``config_sqlite_url``: the same on SQLite only (for the many command-line cases).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from esexchange.erp.db import open_engine
from esexchange.erp.schema import activity_type, employee, esx_pass, priority
from esexchange.erp.script import install

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


@pytest.fixture(params=["sqlite", "postgres"])
def config_db_url(request: pytest.FixtureRequest, key_file: Path) -> str:
    """An installed database with the reference rows above."""
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
        url = request.getfixturevalue("fresh_postgres_url")
    else:
        url = request.getfixturevalue("sqlite_url")
    _prepare(url)
    return url


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
