"""Recurring series end to end on a Graph connection (issue 12), the cases of
tests/e2e/test_series.py with the same assertions: the ERP's tables by SQL, the real
engine and store, the Graph adapter (httpx, msal) against the Graph sandbox. An ERP
series shows every occurrence over two years where python-dateutil puts them (Berlin and
New York), with its moved and deleted occurrences; occurrences a Graph client moves and
deletes reach the ERP as an exception row and an exdate; an exception edited on both
sides is a recorded conflict; an all-day series keeps its days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from tests.domain.recurrence_support import oracle
from tests.e2e.conftest import GraphWorld, World, utc
from tests.e2e.test_series import (
    _add_exception,
    _exceptions,
    _exdates,
    _first_wednesday,
    _naive,
    assert_imported_with_its_first_occurrence_deleted,
    assert_only_the_first_occurrence_is_deleted,
)

TWO_YEARS = timedelta(days=731)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _view(online: GraphWorld, email: str, zone: str, start: datetime, end: datetime,
          master: str | None = None) -> list[dict[str, Any]]:
    """calendarView (or a master's instances) between two wall times, every page."""
    tz = ZoneInfo(zone)
    url = f"/users/{email}/events/{master}/instances" if master else f"/users/{email}/calendarView"
    params: dict[str, str] | None = {"startDateTime": _iso(start.replace(tzinfo=tz)),
                                     "endDateTime": _iso(end.replace(tzinfo=tz))}
    found: list[dict[str, Any]] = []
    with online.user() as user:
        while url:
            page = user.get(url, params=params, headers={"Prefer": "odata.maxpagesize=500"})
            assert page.status_code == 200, page.text
            found += page.json()["value"]
            url, params = page.json().get("@odata.nextLink"), None
    return sorted(found, key=lambda e: e["start"]["dateTime"])


def _utc(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["start"]["dateTime"][:19]).replace(tzinfo=UTC)


def _master_id(online: GraphWorld, email: str, subject: str) -> str:
    [master] = [e for e in online.sandbox.backend.events(email)
                if e.data.get("recurrence") and e.data.get("subject") == subject]
    return master.id


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York"])
def test_an_erp_series_shows_every_occurrence_over_two_years_as_dateutil_does(
    graph_world: tuple[World, GraphWorld], zone: str
) -> None:
    world, online = graph_world
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

    shown = _view(online, anna.email, zone, first, first + TWO_YEARS + timedelta(days=1))
    tz = ZoneInfo(zone)
    wanted = sorted([start.replace(tzinfo=tz).astimezone(UTC) for start in expected
                     if start not in (moved, deleted)]
                    + [(moved + timedelta(hours=5)).replace(tzinfo=tz).astimezone(UTC)])
    assert [_utc(e) for e in shown] == wanted
    assert len(wanted) > 100  # two years, across four DST switches
    assert {e["subject"] for e in shown} == {"Jour fixe", "Jour fixe (verlegt)"}
    assert {e["type"] for e in shown} == {"occurrence", "exception"}
    assert {_utc(e).astimezone(tz).hour for e in shown if e["subject"] == "Jour fixe"} == {9}

    world.sync_ok()  # nothing left to do: the second pass finds both sides equal
    assert len(_view(online, anna.email, zone, first,
                     first + TWO_YEARS + timedelta(days=1))) == len(wanted)


def _synced_series(world: World, online: GraphWorld, email: str, anna: Any
                   ) -> tuple[int, str, list[datetime]]:
    first = _first_wednesday(10)
    rule = "FREQ=WEEKLY;BYDAY=WE;COUNT=8"
    series_id = world.add("appointment", "Teamrunde", anna, start_at=first,
                          end_at=first + timedelta(hours=1), recurrence=rule)
    world.sync_ok()
    return (series_id, _master_id(online, email, "Teamrunde"),
            oracle(rule, first, before=first + timedelta(days=60)))


def _instances(online: GraphWorld, email: str, master: str, starts: list[datetime]
               ) -> list[dict[str, Any]]:
    return _view(online, email, "Europe/Berlin", starts[0] - timedelta(days=1),
                 starts[-1] + timedelta(days=2), master=master)


def test_a_graph_client_moves_and_deletes_occurrences_and_the_erp_follows(
    graph_world: tuple[World, GraphWorld],
) -> None:
    world, online = graph_world
    anna = world.employee()
    series_id, master, starts = _synced_series(world, online, anna.email, anna)
    occurrences = _instances(online, anna.email, master, starts)
    new_start = starts[1] + timedelta(days=1, hours=3)
    with online.user() as user:
        moved = user.patch(f"/users/{anna.email}/events/{occurrences[1]['id']}", json={
            "subject": "Teamrunde (Donnerstag)",
            "start": {"dateTime": new_start.isoformat(), "timeZone": "Europe/Berlin"},
            "end": {"dateTime": (new_start + timedelta(hours=1)).isoformat(),
                    "timeZone": "Europe/Berlin"}})  # fmt: skip
        assert moved.status_code == 200, moved.text
        gone = user.delete(f"/users/{anna.email}/events/{occurrences[3]['id']}")
        assert gone.status_code == 204

    world.sync_ok()

    assert _exdates(world, series_id) == [starts[3]]
    [row] = _exceptions(world, series_id)
    assert row["subject"] == "Teamrunde (Donnerstag)"
    assert _naive(row["original_start"]) == starts[1]
    assert _naive(row["start_at"]) == new_start
    world.sync_ok()
    assert len(_exceptions(world, series_id)) == 1


def test_an_exception_edited_on_both_sides_is_a_recorded_conflict(
    graph_world: tuple[World, GraphWorld],
) -> None:
    world, online = graph_world
    world.option("conflict_policy", "erp_wins")
    anna = world.employee()
    series_id, master, starts = _synced_series(world, online, anna.email, anna)
    row_id = _add_exception(world, series_id, starts[2], subject="Teamrunde",
                            start_at=starts[2], end_at=starts[2] + timedelta(hours=1),
                            location="Raum 1")
    world.sync_ok()
    world.update_activity(row_id, location="Raum ERP")
    [exception] = [e for e in _instances(online, anna.email, master, starts)
                   if e["type"] == "exception"]
    with online.user() as user:
        edited = user.patch(f"/users/{anna.email}/events/{exception['id']}",
                            json={"location": {"displayName": "Raum Outlook"}})
        assert edited.status_code == 200, edited.text

    world.sync_ok()

    rows = world.query("SELECT erp_id, field, winner FROM esx_conflict WHERE erp_id = :i",
                       i=row_id)
    assert [(r["field"], r["winner"]) for r in rows] == [("location", "erp")]
    [now] = [e for e in _instances(online, anna.email, master, starts)
             if e["type"] == "exception"]
    assert now["location"]["displayName"] == "Raum ERP"


def test_an_all_day_series_keeps_its_days(graph_world: tuple[World, GraphWorld]) -> None:
    world, online = graph_world
    anna = world.employee()
    first = _first_wednesday(0)
    while first.day > 7:  # the first Wednesday of a month
        first += timedelta(days=7)
    world.add("appointment", "Inventur", anna, start_at=first, end_at=first,
              all_day=True, recurrence="FREQ=MONTHLY;BYDAY=1WE;COUNT=6")

    world.sync_ok()

    shown = _view(online, anna.email, "Europe/Berlin", first - timedelta(days=1),
                  first + timedelta(days=200))
    days = [date.fromisoformat(e["start"]["dateTime"][:10]) for e in shown]
    expected = [d.date() for d in oracle("FREQ=MONTHLY;BYDAY=1WE;COUNT=6", first,
                                         before=first + timedelta(days=200))]
    assert days == expected
    assert all(e["isAllDay"] for e in shown)


def test_a_graph_client_cancelling_the_first_occurrence_deletes_only_that_occurrence(
    graph_world: tuple[World, GraphWorld],
) -> None:
    world, online = graph_world
    anna = world.employee()
    series_id, master, starts = _synced_series(world, online, anna.email, anna)
    first = _instances(online, anna.email, master, starts)[0]
    with online.user() as user:
        gone = user.delete(f"/users/{anna.email}/events/{first['id']}")
        assert gone.status_code == 204, gone.text

    world.sync_ok()

    assert_only_the_first_occurrence_is_deleted(world, series_id, starts)
    shown = _instances(online, anna.email, master, starts)
    assert [_utc(e) for e in shown] == [utc(s) for s in starts[1:]]
    world.sync_ok()  # and it stays so
    assert _exdates(world, series_id) == [starts[0]]
    assert len(_instances(online, anna.email, master, starts)) == 7


def test_an_outlook_series_whose_first_occurrence_is_cancelled_is_imported_from_its_start(
    graph_world: tuple[World, GraphWorld],
) -> None:
    world, online = graph_world
    anna = world.employee()
    first = _first_wednesday(11)
    wall = "%Y-%m-%dT%H:%M:%S"
    # An IANA name: Graph takes Windows names too, the sandbox does not (yet).
    zone = "Europe/Berlin"
    with online.user() as user:
        made = user.post(f"/users/{anna.email}/events", json={
            "subject": "Sprechstunde",
            "start": {"dateTime": first.strftime(wall), "timeZone": zone},
            "end": {"dateTime": (first + timedelta(hours=1)).strftime(wall),
                    "timeZone": zone},
            "recurrence": {
                "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["wednesday"],
                            "firstDayOfWeek": "monday"},
                "range": {"type": "numbered", "startDate": first.date().isoformat(),
                          "numberOfOccurrences": 6,
                          "recurrenceTimeZone": zone}}})  # fmt: skip
        assert made.status_code == 201, made.text
        starts = oracle("FREQ=WEEKLY;BYDAY=WE;COUNT=6", first, before=first + timedelta(days=60))
        [opening, *_] = _instances(online, anna.email, made.json()["id"], starts)
        gone = user.delete(f"/users/{anna.email}/events/{opening['id']}")
        assert gone.status_code == 204, gone.text

    world.sync_ok()

    assert_imported_with_its_first_occurrence_deleted(world, anna, starts)
    world.sync_ok()
    assert len(_instances(online, anna.email, made.json()["id"], starts)) == 5
