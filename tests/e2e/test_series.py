"""Recurring series end to end (issue 12): the ERP's tables by SQL, the real engine and
store, real exchangelib against the EWS sandbox. An ERP series shows every occurrence
over two years in Outlook exactly where python-dateutil puts them (wall time kept across
DST, in Berlin and New York), with its moved and deleted occurrences; Outlook's moved
and deleted occurrences reach the ERP as an exception row and an exdate; an exception
edited on both sides is a recorded conflict; an all-day series."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from exchangelib import CalendarItem, EWSDateTime, EWSTimeZone
from exchangelib.fields import MONDAY, WEDNESDAY
from exchangelib.items import SEND_TO_NONE
from exchangelib.recurrence import NumberedPattern, Recurrence, WeeklyPattern
from sqlalchemy import text

from tests.domain.recurrence_support import oracle
from tests.e2e.conftest import Person, World, assert_refused_and_parked, utc

TWO_YEARS = timedelta(days=731)
# EWS only: tests/e2e/test_graph_series.py has the same cases on Graph.
pytestmark = pytest.mark.backends("ews")


def _first_wednesday(hour: int) -> datetime:
    day = date.today() + timedelta(days=2)
    while day.weekday() != 2:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour)


def _view(person: Person, zone: str, start: datetime, end: datetime) -> list[Any]:
    tz = EWSTimeZone(zone)
    return sorted(person.outlook.account.calendar.view(
        start=EWSDateTime.from_datetime(start.replace(tzinfo=tz)),
        end=EWSDateTime.from_datetime(end.replace(tzinfo=tz))),
        key=lambda item: item.start)


def _utc(moment: Any) -> datetime:
    return datetime.fromtimestamp(moment.timestamp(), UTC)


def _exdates(world: World, erp_id: int) -> list[datetime]:
    rows = world.query("SELECT original_start FROM activity_exdate WHERE activity_id = :i "
                       "ORDER BY original_start", i=erp_id)
    return [_naive(r["original_start"]) for r in rows]


def _naive(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _exceptions(world: World, erp_id: int) -> list[dict[str, Any]]:
    return world.query("SELECT * FROM activity WHERE series_id = :i ORDER BY original_start",
                       i=erp_id)


def _add_exception(world: World, series_id: int, original: datetime, **columns: Any) -> int:
    values = {"kind": "appointment", "text": "", "series_id": series_id,
              "original_start": original, **columns}
    names = ", ".join(values)
    marks = ", ".join(f":{name}" for name in values)
    with world.engine.begin() as db:
        return int(db.execute(text(f"INSERT INTO activity ({names}) VALUES ({marks}) "
                                   "RETURNING id"), values).scalar_one())


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York"])
def test_an_erp_series_shows_every_occurrence_over_two_years_as_dateutil_does(
    world: World, zone: str
) -> None:
    world.option("erp_time_zone", zone)
    anna = world.employee()
    first = _first_wednesday(9)
    rule = f"FREQ=WEEKLY;BYDAY=WE;UNTIL={(first + TWO_YEARS):%Y%m%d}"
    series_id = world.add("appointment", "Jour fixe", anna, start_at=first,
                          end_at=first + timedelta(hours=1), recurrence=rule)
    expected = oracle(rule, first, before=first + TWO_YEARS + timedelta(days=1))
    moved, deleted = expected[3], expected[5]
    _add_exception(world, series_id, moved, subject="Jour fixe (verlegt)",
                   start_at=moved + timedelta(hours=5), end_at=moved + timedelta(hours=6))
    with world.engine.begin() as db:
        db.execute(text("INSERT INTO activity_exdate (activity_id, original_start) "
                        "VALUES (:a, :o)"), {"a": series_id, "o": deleted})

    world.sync_ok()

    shown = _view(anna, zone, first, first + TWO_YEARS + timedelta(days=1))
    tz = ZoneInfo(zone)
    wanted = sorted([start.replace(tzinfo=tz).astimezone(UTC) for start in expected
                     if start not in (moved, deleted)]
                    + [(moved + timedelta(hours=5)).replace(tzinfo=tz).astimezone(UTC)])
    assert [_utc(item.start) for item in shown] == wanted
    assert len(wanted) > 100  # two years, across four DST switches
    assert {item.subject for item in shown} == {"Jour fixe", "Jour fixe (verlegt)"}
    # The wall time stays at 09:00 in the ERP's zone, summer and winter.
    assert {_utc(i.start).astimezone(tz).hour for i in shown if i.subject == "Jour fixe"} == {9}

    world.sync_ok()  # nothing left to do: the second pass finds both sides equal
    assert len(_view(anna, zone, first, first + TWO_YEARS + timedelta(days=1))) == len(wanted)


def _synced_series(world: World, anna: Person) -> tuple[int, Any, list[datetime]]:
    first = _first_wednesday(10)
    rule = "FREQ=WEEKLY;BYDAY=WE;COUNT=8"
    series_id = world.add("appointment", "Teamrunde", anna, start_at=first,
                          end_at=first + timedelta(hours=1), recurrence=rule)
    world.sync_ok()
    master = anna.outlook.appointment("Teamrunde")
    return series_id, master, oracle(rule, first, before=first + timedelta(days=60))


def test_outlook_moves_and_deletes_occurrences_and_the_erp_follows(world: World) -> None:
    anna = world.employee()
    series_id, master, starts = _synced_series(world, anna)
    zone = ZoneInfo("Europe/Berlin")
    occurrence = master.occurrence(index=2)
    occurrence.refresh()
    new_start = (starts[1] + timedelta(days=1, hours=3)).replace(tzinfo=zone)
    occurrence.subject = "Teamrunde (Donnerstag)"
    occurrence.start = EWSDateTime.from_datetime(new_start.astimezone(UTC))
    occurrence.end = occurrence.start + timedelta(hours=1)
    occurrence.save(update_fields=["subject", "start", "end"],
                    send_meeting_invitations=SEND_TO_NONE)
    gone = master.occurrence(index=4)
    gone.refresh()
    gone.delete(send_meeting_cancellations=SEND_TO_NONE)

    world.sync_ok()

    assert _exdates(world, series_id) == [starts[3]]
    [row] = _exceptions(world, series_id)
    assert row["subject"] == "Teamrunde (Donnerstag)"
    assert _naive(row["original_start"]) == starts[1]
    assert _naive(row["start_at"]) == starts[1] + timedelta(days=1, hours=3)
    assert world.query("SELECT * FROM activity_participant WHERE activity_id = :i",
                       i=row["id"]) == []  # the series' participants are the master's
    world.sync_ok()
    assert len(_exceptions(world, series_id)) == 1


def assert_only_the_first_occurrence_is_deleted(world: World, series_id: int,
                                                starts: list[datetime]) -> None:
    """The series still starts where it did: its first occurrence is a deleted one, not a
    later start, and neither the series nor its row is gone."""
    row = world.activity(series_id)
    assert row is not None
    assert (_naive(row["start_at"]), row["recurrence"]) == (
        starts[0], "FREQ=WEEKLY;BYDAY=WE;COUNT=8")
    assert _exdates(world, series_id) == [starts[0]]
    assert _exceptions(world, series_id) == []


def test_outlook_cancelling_the_first_occurrence_deletes_only_that_occurrence(
    world: World,
) -> None:
    anna = world.employee()
    series_id, master, starts = _synced_series(world, anna)
    first = master.occurrence(index=1)
    first.refresh()
    first.delete(send_meeting_cancellations=SEND_TO_NONE)

    world.sync_ok()

    assert_only_the_first_occurrence_is_deleted(world, series_id, starts)
    shown = _view(anna, "Europe/Berlin", starts[0] - timedelta(days=1),
                  starts[-1] + timedelta(days=1))
    assert [_utc(i.start) for i in shown] == [utc(s) for s in starts[1:]]
    world.sync_ok()  # and it stays so
    assert _exdates(world, series_id) == [starts[0]]


def assert_imported_with_its_first_occurrence_deleted(world: World, person: Person,
                                                      starts: list[datetime]) -> None:
    """Outlook's "Sprechstunde" (weekly on Wednesdays, six times) is an ERP series from
    its start, not from the next occurrence, with its first occurrence deleted."""
    [row] = [r for r in world.activities(person, "appointment")
             if r["subject"] == "Sprechstunde"]
    assert _naive(row["start_at"]) == starts[0]
    assert row["recurrence"] == "FREQ=WEEKLY;BYDAY=WE;COUNT=6"
    assert _exdates(world, row["id"]) == [starts[0]]


def test_an_outlook_series_whose_first_occurrence_is_cancelled_is_imported_from_its_start(
    world: World,
) -> None:
    anna = world.employee()
    first = _first_wednesday(11)
    berlin = EWSTimeZone("Europe/Berlin")  # as an Outlook in Berlin makes it
    made = CalendarItem(
        folder=anna.outlook.account.calendar, subject="Sprechstunde",
        start=EWSDateTime.from_datetime(first.replace(tzinfo=berlin)),
        end=EWSDateTime.from_datetime((first + timedelta(hours=1)).replace(tzinfo=berlin)),
        recurrence=Recurrence(pattern=WeeklyPattern(interval=1, weekdays=[WEDNESDAY],
                                                    first_day_of_week=MONDAY),
                              boundary=NumberedPattern(start=first.date(), number=6)))
    made.save(send_meeting_invitations=SEND_TO_NONE)
    opening = made.occurrence(index=1)
    opening.refresh()
    opening.delete(send_meeting_cancellations=SEND_TO_NONE)
    starts = oracle("FREQ=WEEKLY;BYDAY=WE;COUNT=6", first, before=first + timedelta(days=60))

    world.sync_ok()

    assert_imported_with_its_first_occurrence_deleted(world, anna, starts)
    world.sync_ok()
    shown = _view(anna, "Europe/Berlin", starts[0] - timedelta(days=1),
                  starts[-1] + timedelta(days=1))
    assert [_utc(i.start) for i in shown] == [utc(s) for s in starts[1:]]


def test_an_exception_edited_on_both_sides_is_a_recorded_conflict(world: World) -> None:
    world.option("conflict_policy", "erp_wins")
    anna = world.employee()
    series_id, master, starts = _synced_series(world, anna)
    row_id = _add_exception(world, series_id, starts[2], subject="Teamrunde",
                            start_at=starts[2], end_at=starts[2] + timedelta(hours=1),
                            location="Raum 1")
    world.sync_ok()
    world.update_activity(row_id, location="Raum ERP")
    occurrence = master.occurrence(index=3)
    occurrence.refresh()
    occurrence.location = "Raum Outlook"
    occurrence.save(update_fields=["location"], send_meeting_invitations=SEND_TO_NONE)

    world.sync_ok()

    rows = world.query("SELECT erp_id, field, winner FROM esx_conflict WHERE erp_id = :i",
                       i=row_id)
    assert [(r["field"], r["winner"]) for r in rows] == [("location", "erp")]
    occurrence.refresh()
    assert occurrence.location == "Raum ERP"


def test_an_all_day_series_keeps_its_days(world: World) -> None:
    anna = world.employee()
    first = _first_wednesday(0)
    while first.day > 7:  # the first Wednesday of a month
        first += timedelta(days=7)
    world.add("appointment", "Inventur", anna, start_at=first, end_at=first,
              all_day=True, recurrence="FREQ=MONTHLY;BYDAY=1WE;COUNT=6")

    world.sync_ok()

    shown = _view(anna, "Europe/Berlin", first - timedelta(days=1), first + timedelta(days=200))
    days = [item.start if not isinstance(item.start, datetime)
            else _utc(item.start).astimezone(ZoneInfo("Europe/Berlin")).date() for item in shown]
    expected = [d.date() for d in oracle("FREQ=MONTHLY;BYDAY=1WE;COUNT=6", first,
                                         before=first + timedelta(days=200))]
    assert days == expected
    assert all(item.is_all_day for item in shown)


def test_a_regenerating_task_reaches_outlook_with_its_task_recurrence(world: World) -> None:
    anna = world.employee()
    due = _first_wednesday(0)
    world.add("task", "Reisekosten", anna, start_at=due, due_at=due,
              recurrence="FREQ=WEEKLY;INTERVAL=2;X-REGENERATE=1")

    world.sync_ok()

    task = anna.outlook.task("Reisekosten")
    assert type(task.recurrence.pattern).__name__ == "WeeklyRegeneration"
    assert task.recurrence.pattern.interval == 2
    world.sync_ok()
    assert anna.outlook.subjects("task") == ["Reisekosten"]


def test_a_yearly_series_with_an_interval_is_refused_before_anything_is_sent(
    world: World,
) -> None:
    anna = world.employee()
    first = _first_wednesday(9)
    series_id = world.add("appointment", "Strategietag", anna, start_at=first,
                          end_at=first + timedelta(hours=8),
                          recurrence=f"FREQ=YEARLY;INTERVAL=2;BYMONTH={first.month};"
                                     f"BYMONTHDAY={first.day}")
    world.add("appointment", "Planung", anna, start_at=first + timedelta(days=1),
              end_at=first + timedelta(days=1, hours=1))

    refusal = ("this series repeats in a way Outlook cannot show: every 2 years (Exchange "
               "Web Services repeats yearly patterns every year only) (INTERVAL) "
               f"(item activity {series_id}, field recurrence)")

    [outcome] = world.sync()

    assert_refused_and_parked(outcome, anna, series_id, refusal)
    # Only the other appointment was written; the series never reached the wire.
    assert outcome.requests.get(("ews", "CreateItem"), 0) == 1
    assert anna.outlook.subjects("appointment") == ["Planung"]

    [again] = world.sync()  # waits to be retried; nothing is sent meanwhile

    assert again.requests.get(("ews", "CreateItem"), 0) == 0
    assert again.report is not None and [p.erp_id for p in again.report.parked] == [series_id]
