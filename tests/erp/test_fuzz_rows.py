"""Fuzz: random ERP rows, of every column type and beyond, never stop a pass (issue 10).

Rows hold what an ERP's own tables may hold: NULLs, empty and huge texts, times at and
past the limits, numbers where texts belong and texts where numbers belong. Each goes
through reading (``erp/rows.py``, and the real store on SQLite, which keeps any value
in any column) and the mapping to both sides. The only exception allowed is the typed
per-item ``ItemRejected``, and it names the activity.
"""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from esexchange.domain.errors import ItemRejected
from esexchange.domain.mapping import erp_to_item, item_to_erp, item_to_exchange
from esexchange.domain.model import ErpActivity, Kind
from esexchange.erp.rows import activity_from_row
from esexchange.erp.store import SqlErpStore
from tests.domain.mapping_support import CALL, HIGH, context

COLUMNS = ("subject", "text", "location", "start_at", "end_at", "due_at", "completed_at",
           "all_day", "private", "status", "percent_complete", "priority_id",
           "activity_type_no", "reminder_minutes")

anything = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "0", "1", "true", "not_started", "completed", "someday",
                     "2026-12-01 09:00:00", "2026-12-01", "9999-12-31 23:59:59",
                     "0001-01-01 00:00:00", "next tuesday", "x" * 300]),
    st.text(max_size=40),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.binary(max_size=20),
    st.datetimes(datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59)),
    st.dates(date(1, 1, 1), date(9999, 12, 31)),
)
"""A value of any type a column may hold (on SQLite, every column may hold any)."""

raw_rows = st.fixed_dictionaries(
    {"kind": st.sampled_from(["appointment", "task", "note", "", None, 7])}
    | {column: anything for column in COLUMNS}
    | {"recurrence": st.sampled_from([None, "", "FREQ=DAILY"]),
       "series_id": st.one_of(st.none(), st.none(), anything), "original_start": anything}
)

CONTEXTS = [context(), context("America/New_York"), context("Pacific/Kiritimati",
                                                            priority_as_text=True)]


def _through_the_mapping(activity: ErpActivity) -> None:
    """Both directions, the way the planner uses them; only ``ItemRejected`` may leave."""
    for ctx in CONTEXTS:
        try:
            item = erp_to_item(activity, ctx)
            item_to_exchange(item, ctx, erp_id=activity.id)
            item_to_erp(item, ctx, current=activity)
        except ItemRejected as rejected:
            assert f"ERP activity {activity.id}" in str(rejected), rejected
            assert activity.unreadable or rejected.field, rejected


@settings(max_examples=300, deadline=None)
@given(values=raw_rows)
def test_any_raw_row_maps_or_is_rejected_by_name(values: dict[str, Any]) -> None:
    row = SimpleNamespace(id=42, **values)

    activity = activity_from_row(row, [1, 2] if values["private"] else [1], ["Beamer"], [])

    if activity is None:  # a kind the sync does not know: not synchronized
        assert values["kind"] not in ("appointment", "task")
        return
    assert activity.id == 42 and isinstance(activity.subject, str)
    _through_the_mapping(activity)


@pytest.fixture
def loose_sqlite(engine: Engine) -> Engine:
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL refuses values of the wrong type when they are written")
    with engine.begin() as db:
        db.execute(text("INSERT INTO employee (id, number, name, email, employment_status, "
                        "may_create_appointments) VALUES (1, 'E1', 'Anna', 'a@x.test', "
                        "'active', 1)"))
        db.execute(text(f"INSERT INTO priority (id, name, rank) VALUES ({HIGH}, 'High', 3)"))
        db.execute(text(f"INSERT INTO activity_type (no, description) VALUES ({CALL}, 'C')"))
    return engine


_inserted = 0
_NOT_NULL = {"kind", "subject", "all_day", "private", "percent_complete"}


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=st.lists(raw_rows, min_size=1, max_size=4))
def test_any_row_the_database_keeps_costs_only_itself(
    loose_sqlite: Engine, rows: list[dict[str, Any]]
) -> None:
    global _inserted
    store = SqlErpStore(loose_sqlite)
    ids = []
    raw = loose_sqlite.raw_connection()  # PRAGMAs only act outside a transaction
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA foreign_keys = OFF")
        cursor.execute("PRAGMA ignore_check_constraints = ON")
        cursor.execute("BEGIN")
        for values in rows:
            # SQLite enforces NOT NULL (and nothing else): a NULL there takes the default.
            stored = {k: _storable(v) for k, v in values.items()
                      if v is not None or k not in _NOT_NULL}
            stored.setdefault("kind", "appointment")
            stored.setdefault("subject", "")
            names = ", ".join(stored)
            marks = ", ".join("?" for _ in stored)
            cursor.execute(f"INSERT INTO activity ({names}) VALUES ({marks})",
                           list(stored.values()))
            erp_id = int(cursor.lastrowid or 0)
            cursor.execute("INSERT INTO activity_participant VALUES (?, 1)", (erp_id,))
            ids.append(erp_id)
        cursor.execute("COMMIT")
        cursor.execute("PRAGMA ignore_check_constraints = OFF")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        raw.close()
    _inserted += len(rows)

    for kind in Kind:
        changes, _ = store.changes(1, kind, 0)
        for change in changes:
            assert change.activity is not None
            _through_the_mapping(change.activity)
    loaded = store.activities(ids)
    for activity in loaded.values():
        _through_the_mapping(activity)


def _storable(value: Any) -> Any:
    """What the SQLite driver can bind: floats that are not numbers become text."""
    if isinstance(value, float) and value != value:
        return "NaN"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
        return str(value)
    return value
