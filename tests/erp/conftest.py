"""ERP tests run on real SQLite and real PostgreSQL: ``erp_url`` is parametrized over both."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, text

from esexchange.erp.db import open_engine
from esexchange.erp.script import install
from esexchange.erp.store import SqlErpStore


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def erp_url(request: pytest.FixtureRequest) -> str:
    """An empty database on each dialect."""
    fixture = "sqlite_url" if request.param == "sqlite" else "fresh_postgres_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def engine(erp_url: str) -> Iterator[Engine]:
    """An engine on a database with the script installed."""
    engine = open_engine(erp_url)
    install(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> SqlErpStore:
    return SqlErpStore(engine)


class Erp:
    """Writes the reference tables with plain SQL, as an ERP or another tool would."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def sql(self, statement: str, **params: Any) -> Any:
        with self.engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return result.scalar() if result.returns_rows else None

    def employee(self, name: str, email: str | None = None, **extra: Any) -> int:
        number = f"E{abs(hash(name)) % 10**8}"
        email = email or f"{name.lower().replace(' ', '.')}@example.test"
        return int(self.sql(
            "INSERT INTO employee (number, name, email, employment_status, "
            "may_create_appointments) VALUES (:number, :name, :email, :status, :may) "
            "RETURNING id",
            number=number, name=name, email=email, status=extra.get("status", "active"),
            may=extra.get("may_create_appointments", True),
        ))

    def appointment(self, subject: str, *participants: int, **columns: Any) -> int:
        values = {
            "kind": "appointment", "subject": subject,
            "start_at": datetime(2026, 12, 1, 9, 0), "end_at": datetime(2026, 12, 1, 10, 0),
            **columns,
        }
        return self._activity(values, participants)

    def task(self, subject: str, *participants: int, **columns: Any) -> int:
        values = {"kind": "task", "subject": subject, "status": "not_started", **columns}
        return self._activity(values, participants)

    def _activity(self, values: dict[str, Any], participants: tuple[int, ...]) -> int:
        names = ", ".join(values)
        marks = ", ".join(f":{name}" for name in values)
        with self.engine.begin() as conn:
            erp_id = int(conn.execute(
                text(f"INSERT INTO activity ({names}) VALUES ({marks}) RETURNING id"), values
            ).scalar_one())
            for employee_id in participants:
                conn.execute(text(
                    "INSERT INTO activity_participant (activity_id, employee_id) VALUES (:a, :e)"
                ), {"a": erp_id, "e": employee_id})
        return erp_id


@pytest.fixture
def erp(engine: Engine) -> Erp:
    return Erp(engine)
