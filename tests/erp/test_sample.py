"""Sample data: realistic, deterministic with a seed, only into an empty ERP."""

from __future__ import annotations

from datetime import date, time, timedelta
from itertools import islice
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from esexchange.domain.model import Kind
from esexchange.domain.recurrence import generated
from esexchange.domain.recurrence.series import ErpSeries
from esexchange.erp.db import open_engine
from esexchange.erp.errors import ErpNotEmpty
from esexchange.erp.sample import SERIES_RULES, fill_sample
from esexchange.erp.script import install
from esexchange.erp.store import SqlErpStore

START = date(2026, 11, 30)


def rows(engine: Engine, query: str) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(query))]


CONTENT = ("SELECT a.kind, a.subject, a.text, a.start_at, a.end_at, a.all_day, a.location, "
           "a.due_at, a.status, a.percent_complete, a.private, a.reminder_minutes, "
           "a.recurrence, e.email FROM activity a "
           "JOIN activity_participant p ON p.activity_id = a.id "
           "JOIN employee e ON e.id = p.employee_id ORDER BY a.id, e.id")


def test_the_same_seed_gives_the_same_data(tmp_path: Path) -> None:
    engines = [open_engine(f"sqlite:///{tmp_path / f'{n}.db'}") for n in range(3)]
    for engine, seed in zip(engines, (7, 7, 8), strict=True):
        install(engine)
        fill_sample(engine, employees=12, activities=150, seed=seed, start=START)

    same, other = rows(engines[0], CONTENT), rows(engines[2], CONTENT)
    assert same == rows(engines[1], CONTENT)
    assert same != other


def test_the_sample_is_varied_and_syncable(engine: Engine) -> None:
    report = fill_sample(engine, employees=15, activities=400, seed=3, start=START)

    assert (report.employees, report.appointments + report.tasks) == (15, 400)
    for count in (report.tasks, report.all_day, report.private, report.conference,
                  report.with_equipment, report.recurring):
        assert count > 0
    emails = [e for (e,) in rows(engine, "SELECT email FROM employee")]
    assert len(set(emails)) == 15
    assert all(e.endswith("@example.test") and e.isascii() and "." in e.split("@")[0]
               for e in emails)
    subjects = {s for (s,) in rows(engine, "SELECT subject FROM activity")}
    assert any("besprechung" in s.lower() or "Kundenbesuch" in s for s in subjects)
    assert any(s.startswith(("Call with", "Customer visit", "Project review")) for s in subjects)
    statuses = {s for (s,) in rows(engine, "SELECT status FROM activity WHERE kind = 'task'")}
    assert statuses == {"not_started", "in_progress", "completed", "waiting", "deferred"}
    assert rows(engine, "SELECT count(*) FROM activity WHERE kind = 'task' AND "
                        "status = 'completed' AND (percent_complete <> 100 "
                        "OR completed_at IS NULL)") == [(0,)]
    # The store reads every employee's sample back; a conference appointment once per
    # participant.
    store = SqlErpStore(engine)
    seen = [c for e in store.employees() for c in store.changes(e.id, Kind.APPOINTMENT, 0)[0]]
    appointments = {c.erp_id: c.activity for c in seen if c.activity}
    assert len(appointments) == report.appointments
    assert len(seen) == sum(len(a.participant_ids) for a in appointments.values())
    # Appointments fall in the four weeks from the start day; a series starts on its
    # rule's first day from then (the first Wednesday of a month may be a month later).
    days = sorted(a.start_at.date() for a in appointments.values()
                  if a.start_at and not a.recurring)
    assert days[0] >= START and days[-1] <= START + timedelta(days=31)
    firsts = sorted(a.start_at.date() for a in appointments.values()
                    if a.start_at and a.recurring)
    assert firsts[0] >= START and firsts[-1] <= START + timedelta(days=62)
    # All-day items run from midnight to a later midnight (exclusive end).
    all_day = [a for a in appointments.values() if a.all_day]
    assert len(all_day) == report.all_day
    assert all(a.start_at and a.end_at and a.start_at.time() == a.end_at.time() == time()
               and a.end_at > a.start_at for a in all_day)


def test_the_sample_has_series_with_moved_and_deleted_occurrences(engine: Engine) -> None:
    report = fill_sample(engine, employees=10, activities=300, seed=5, start=START)

    assert report.modified_occurrences > 0 and report.deleted_occurrences > 0
    masters = [i for (i,) in rows(engine, "SELECT id FROM activity WHERE recurrence IS NOT NULL")]
    assert len(masters) == report.recurring
    found = SqlErpStore(engine).series(masters, time_zone="Europe/Berlin")
    assert all(isinstance(s, ErpSeries) for s in found.values()), [
        str(s) for s in found.values() if not isinstance(s, ErpSeries)]
    series = [s for s in found.values() if isinstance(s, ErpSeries)]
    assert sum(len(s.exceptions) for s in series) == report.modified_occurrences
    assert sum(len(s.recurrence.deleted) for s in series) == report.deleted_occurrences
    assert {s.master.kind for s in series} == {Kind.APPOINTMENT, Kind.TASK}
    assert any(s.recurrence.regenerating for s in series)
    # An exception has no participants of its own: the series' are the master's.
    assert rows(engine, "SELECT count(*) FROM activity a JOIN activity_participant p "
                        "ON p.activity_id = a.id WHERE a.series_id IS NOT NULL") == [(0,)]


def test_asked_for_series_the_sample_has_one_of_each_rule_moved_within_its_neighbours(
    engine: Engine,
) -> None:
    report = fill_sample(engine, employees=3, activities=10, seed=2, start=START,
                         series=len(SERIES_RULES))

    assert report.recurring - report.recurring_tasks >= len(SERIES_RULES)
    rules = {r for (r,) in rows(engine, "SELECT recurrence FROM activity WHERE kind = "
                                        "'appointment' AND recurrence IS NOT NULL")}
    assert rules == set(SERIES_RULES)
    assert report.modified_occurrences >= 3 and report.deleted_occurrences >= 3
    assert f"series with {report.modified_occurrences} moved" in report.summary()
    masters = [i for (i,) in rows(engine, "SELECT id FROM activity WHERE kind = 'appointment' "
                                          "AND recurrence IS NOT NULL")]
    for series in SqlErpStore(engine).series(masters, time_zone="Europe/Berlin").values():
        assert isinstance(series, ErpSeries), str(series)
        starts = list(islice(generated(series.recurrence), 4))
        for moved in series.exceptions:
            # Exchange refuses an occurrence moved onto or past a neighbour's day.
            assert moved.original_start is not None
            after = min(s for s in starts if s > moved.original_start)
            assert moved.start_at is not None and moved.start_at.date() < after.date()


def test_a_filled_erp_is_refused_unless_forced(engine: Engine) -> None:
    fill_sample(engine, employees=3, activities=10, seed=1, start=START)

    with pytest.raises(ErpNotEmpty, match="--force"):
        fill_sample(engine, employees=3, activities=10, seed=1, start=START)
    fill_sample(engine, employees=3, activities=10, seed=1, start=START, force=True)

    assert rows(engine, "SELECT count(*), count(DISTINCT email), count(DISTINCT number) "
                        "FROM employee") == [(6, 6, 6)]
    assert rows(engine, "SELECT count(*) FROM activity_type") == [(5,)]
    # A moved occurrence of a series is a row of its own, beside its series.
    assert rows(engine, "SELECT count(*) FROM activity WHERE series_id IS NULL") == [(20,)]
