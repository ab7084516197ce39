"""Series in the ERP on real SQLite and PostgreSQL: the columns and table of script step 5,
their journal, and the store reading a master with its exceptions and deleted
occurrences into one value."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import Engine, inspect, text

from esexchange.domain.errors import ItemRejected
from esexchange.domain.model import Kind
from esexchange.domain.recurrence import Weekday, Weekly
from esexchange.domain.recurrence.series import ErpSeries
from esexchange.erp import schema
from esexchange.erp.db import open_engine
from esexchange.erp.script import SCRIPT_VERSION, install
from esexchange.erp.store import SqlErpStore
from tests.erp.conftest import Erp

BERLIN = "Europe/Berlin"
MONDAYS = "FREQ=WEEKLY;BYDAY=MO;COUNT=10"
FIRST = datetime(2026, 11, 30, 9)  # a Monday


def jour_fixe(erp: Erp, *participants: int, rule: str = MONDAYS) -> int:
    return erp.appointment("Jour fixe", *participants, start_at=FIRST,
                           end_at=FIRST.replace(hour=10), recurrence=rule)


def moved(erp: Erp, master: int, original: datetime, start: datetime) -> int:
    """A modified occurrence, as the ERP writes it: its own row, no participants."""
    return erp.appointment("Jour fixe (verschoben)", start_at=start,
                           end_at=start.replace(hour=start.hour + 1), series_id=master,
                           original_start=original)


def exdate(erp: Erp, master: int, original: datetime) -> None:
    erp.sql("INSERT INTO activity_exdate (activity_id, original_start) VALUES (:a, :o)",
            a=master, o=original)


def _columns(engine: Engine, table: str) -> list[str]:
    with engine.connect() as conn:
        return [c["name"] for c in inspect(conn).get_columns(table)]


@pytest.mark.parametrize("start", [0, 1, 4])
def test_every_path_ends_with_the_series_columns_and_table(erp_url: str, start: int) -> None:
    engine = open_engine(erp_url)
    if start:
        install(engine, upto=start)
    install(engine)
    assert _columns(engine, "activity") == [c.name for c in schema.activity.columns]
    assert _columns(engine, "activity_exdate") == ["activity_id", "original_start"]


def test_an_install_before_series_is_upgraded_in_place(erp_url: str) -> None:
    engine = open_engine(erp_url)
    install(engine, upto=4)
    assert "series_id" not in _columns(engine, "activity")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO activity (kind, subject, start_at, end_at, recurrence) "
                          "VALUES ('appointment', 'Jour fixe', :s, :e, :r)"),
                     {"s": FIRST, "e": FIRST.replace(hour=10), "r": MONDAYS})

    report = install(engine)

    assert [step.version for step in report.applied] == list(range(5, SCRIPT_VERSION + 1))
    erp = Erp(engine)
    master = erp.sql("SELECT id FROM activity")
    exdate(erp, master, datetime(2026, 12, 7, 9))
    assert erp.sql("SELECT recurrence FROM activity WHERE id = :m", m=master) == MONDAYS
    assert erp.sql("SELECT count(*) FROM esx_change WHERE table_name = 'activity_exdate' "
                   "AND activity_id = :m AND kind = 'appointment'", m=master) == 1


def test_an_erp_without_the_recurrence_column_gains_it(erp_url: str) -> None:
    engine = open_engine(erp_url)
    with engine.begin() as conn:  # the ERP's own activity table, no series columns
        conn.execute(text(
            "CREATE TABLE activity (id INTEGER PRIMARY KEY, kind VARCHAR(20) NOT NULL, "
            "subject VARCHAR(255) NOT NULL, text TEXT, start_at TIMESTAMP, end_at TIMESTAMP, "
            "all_day BOOLEAN NOT NULL DEFAULT FALSE, location VARCHAR(255), due_at TIMESTAMP, "
            "status VARCHAR(20), percent_complete INTEGER NOT NULL DEFAULT 0, "
            "completed_at TIMESTAMP, private BOOLEAN NOT NULL DEFAULT FALSE, "
            "priority_id INTEGER, activity_type_no INTEGER, reminder_minutes INTEGER, "
            "created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, "
            "modified_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, cost_centre VARCHAR(10))"))
        conn.execute(text("INSERT INTO activity (id, kind, subject, cost_centre) "
                          "VALUES (3, 'task', 'Inventur', 'K100')"))

    install(engine)

    columns = _columns(engine, "activity")
    assert {"recurrence", "series_id", "original_start", "cost_centre"} <= set(columns)
    store = SqlErpStore(engine)
    assert store.activities([3])[3].subject == "Inventur"


def test_changes_to_exceptions_and_deleted_occurrences_are_changes_of_the_series(
    erp: Erp, store: SqlErpStore
) -> None:
    anna = erp.employee("Anna Schmidt")
    master = jour_fixe(erp, anna)
    _, seq = store.changes(anna, Kind.APPOINTMENT, 0)

    exdate(erp, master, datetime(2026, 12, 7, 9))
    changes, seq_after_exdate = store.changes(anna, Kind.APPOINTMENT, seq)
    assert [(c.erp_id, c.activity.exdates if c.activity else None) for c in changes] == [
        (master, (datetime(2026, 12, 7, 9),))]

    exception = moved(erp, master, datetime(2026, 12, 14, 9), datetime(2026, 12, 15, 14))
    changes, seq_after_insert = store.changes(anna, Kind.APPOINTMENT, seq_after_exdate)
    assert [c.erp_id for c in changes] == [master]
    erp.sql("UPDATE activity SET subject = 'Jour fixe, Raum 2' WHERE id = :e", e=exception)
    changes, _ = store.changes(anna, Kind.APPOINTMENT, seq_after_insert)
    assert [c.erp_id for c in changes] == [master]
    # The master and, as before series existed, nothing of it is synchronized yet.
    assert changes[0].activity is not None and changes[0].activity.recurring


def test_a_series_reads_as_one_value(erp: Erp, store: SqlErpStore) -> None:
    anna = erp.employee("Anna Schmidt")
    master = jour_fixe(erp, anna)
    later = moved(erp, master, datetime(2026, 12, 21, 9), datetime(2026, 12, 22, 9))
    earlier = moved(erp, master, datetime(2026, 12, 14, 9), datetime(2026, 12, 14, 11))
    exdate(erp, master, datetime(2026, 12, 28, 9))
    single = erp.appointment("Einmalig", anna)

    found = store.series([master, single, later], time_zone=BERLIN)

    assert list(found) == [master]
    series = found[master]
    assert isinstance(series, ErpSeries)
    assert series.recurrence.pattern == Weekly((Weekday.MONDAY,))
    assert series.recurrence.time_zone == BERLIN
    assert series.recurrence.deleted == {datetime(2026, 12, 28, 9)}
    assert series.recurrence.modified == {datetime(2026, 12, 14, 9), datetime(2026, 12, 21, 9)}
    assert [e.id for e in series.exceptions] == [earlier, later]
    assert series.exceptions[0].start_at == datetime(2026, 12, 14, 11)
    loaded = store.activities([later])[later]
    assert loaded.recurring and loaded.series_id == master


@pytest.mark.parametrize(("rule", "field", "words"), [
    ("FREQ=HOURLY", "recurrence", "this series repeats in a way Outlook cannot show"),
    ("FREQ=MONTHLY;BYMONTHDAY=1,15", "recurrence", "(BYMONTHDAY)"),
    ("every monday", "recurrence", "not an RFC 5545 RRULE"),
    ("FREQ=WEEKLY;BYDAY=TU", "start_at", "is not one the rule"),
])
def test_a_series_that_does_not_fit_is_refused_alone(
    erp: Erp, store: SqlErpStore, rule: str, field: str, words: str
) -> None:
    anna = erp.employee("Anna Schmidt")
    bad = jour_fixe(erp, anna, rule=rule)
    good = jour_fixe(erp, anna)

    found = store.series([bad, good], time_zone=BERLIN)

    rejected = found[bad]
    assert isinstance(rejected, ItemRejected)
    assert (rejected.item, rejected.field) == (f"activity {bad}", field)
    assert words in str(rejected)
    assert isinstance(found[good], ErpSeries)


def test_an_occurrence_the_rule_does_not_have_is_named(erp: Erp, store: SqlErpStore) -> None:
    anna = erp.employee("Anna Schmidt")
    master = jour_fixe(erp, anna)
    stray = moved(erp, master, datetime(2026, 12, 8, 9), datetime(2026, 12, 8, 9))
    other = jour_fixe(erp, anna)
    exdate(erp, other, datetime(2027, 12, 27, 9))  # after COUNT=10

    found = store.series([master, other], time_zone=BERLIN)

    assert isinstance(found[master], ItemRejected)
    assert found[master].field == "original_start"
    assert f"activity {stray}" in found[master].item
    assert "no occurrence at 2026-12-08 09:00" in str(found[master])
    assert isinstance(found[other], ItemRejected)
    assert found[other].field == "activity_exdate"


def test_deleting_a_master_archives_its_deleted_occurrences_and_restores_them(
    erp: Erp, store: SqlErpStore
) -> None:
    anna = erp.employee("Anna Schmidt")
    master = jour_fixe(erp, anna)
    exdate(erp, master, datetime(2026, 12, 7, 9))
    with store.transaction() as tx:
        tx.delete_activity(master, employee_id=anna)
        tx.commit()
    assert erp.sql("SELECT count(*) FROM activity_exdate") == 0
    with erp.engine.connect() as conn:
        archive_id, row_json = conn.execute(text("SELECT id, row_json FROM esx_archive")).one()
    assert json.loads(row_json)["exdates"] == ["2026-12-07T09:00:00"]

    store.restore_activity(archive_id)

    assert store.activities([master])[master].exdates == (datetime(2026, 12, 7, 9),)
