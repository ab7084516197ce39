"""Recurring series in the Graph sandbox: calendarView, instances and delta list a
master's occurrences (never the master) at the starts python-dateutil gives, in Berlin and
New York across DST; an edited occurrence becomes an exception, a deleted one is
cancelled; a new pattern regenerates; a completed recurring To Do task comes back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from esexchange.domain.recurrence import occurrences_utc, parse_rrule, to_graph
from tests.domain.recurrence_support import oracle
from tests.exchange.test_ews_recurrence import SERIES
from tests.sandbox_graph.conftest import ANNA
from tests.sandbox_graph.test_delta import a_round

EVENTS = f"/users/{ANNA}/events"
MAX_PAGE = {"Prefer": "odata.maxpagesize=1000"}


def a_series(rule: str, start: datetime, zone: str, subject: str = "Jour fixe",
             hours: int = 1) -> dict[str, Any]:
    return {
        "subject": subject,
        "start": {"dateTime": start.isoformat(), "timeZone": zone},
        "end": {"dateTime": (start + timedelta(hours=hours)).isoformat(), "timeZone": zone},
        "recurrence": to_graph(parse_rrule(rule, start=start, time_zone=zone)),
    }


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def listed(client: httpx.Client, url: str, **params: str) -> list[Any]:
    """Every entry of a paged collection."""
    page = client.get(url, params=params, headers=MAX_PAGE)
    found: list[Any] = []
    while True:
        assert page.status_code == 200, page.text
        found += page.json()["value"]
        link = page.json().get("@odata.nextLink")
        if not link:
            return found
        page = client.get(link, headers=MAX_PAGE)


def starts(entries: list[Any]) -> list[datetime]:
    return sorted(datetime.fromisoformat(e["start"]["dateTime"][:19]).replace(tzinfo=UTC)
                  for e in entries)


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York"])
@pytest.mark.parametrize(("rule", "start"), SERIES)
def test_calendar_view_instances_and_delta_have_the_oracles_occurrences(
    client: httpx.Client, rule: str, start: datetime, zone: str
) -> None:
    master = client.post(EVENTS, json=a_series(rule, start, zone)).json()
    assert master["type"] == "seriesMaster"
    end = start + timedelta(days=731)
    window = {"startDateTime": _utc(start.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)),
              "endDateTime": _utc(end.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC))}
    expected = occurrences_utc(parse_rrule(rule, start=start, time_zone=zone), before=end)
    assert expected == [d.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
                        for d in oracle(rule, start, before=end)]

    view = listed(client, f"/users/{ANNA}/calendarView", **window)
    assert starts(view) == expected
    assert {e["type"] for e in view} == {"occurrence"}
    assert {e["seriesMasterId"] for e in view} == {master["id"]}
    assert [e["originalStart"] for e in view] == [_utc(d) for d in expected]
    assert starts(listed(client, f"{EVENTS}/{master['id']}/instances", **window)) == expected
    entries, _, _ = a_round(client, f"/users/{ANNA}/calendarView/delta", **window)
    assert starts(entries) == expected
    assert master["id"] not in {e["id"] for e in entries}


BERLIN = "Europe/Berlin"
WINDOW = {"startDateTime": "2026-03-01T00:00:00Z", "endDateTime": "2026-07-01T00:00:00Z"}
DELTA = f"/users/{ANNA}/calendarView/delta"


def weekly_on_mondays(client: httpx.Client, count: int = 10) -> dict[str, Any]:
    body = a_series(f"FREQ=WEEKLY;BYDAY=MO;COUNT={count}", datetime(2026, 3, 23, 9), BERLIN)
    created = client.post(EVENTS, json=body)
    assert created.status_code == 201, created.text
    return dict(created.json())


def instances(client: httpx.Client, master_id: str) -> list[Any]:
    found = listed(client, f"{EVENTS}/{master_id}/instances", **WINDOW)
    return sorted(found, key=lambda e: e["originalStart"])


def test_an_edited_occurrence_becomes_an_exception_and_a_deleted_one_is_cancelled(
    client: httpx.Client,
) -> None:
    master = weekly_on_mondays(client)
    first, delta_link, _ = a_round(client, DELTA, **WINDOW)
    assert len(first) == 10
    occurrences = instances(client, master["id"])
    # 30 March, the first Monday of summer time, still at 09:00 in Berlin (07:00 UTC)
    moved, dropped = occurrences[1], occurrences[3]
    assert moved["start"]["dateTime"].startswith("2026-03-30T07:00:00")
    assert occurrences[0]["start"]["dateTime"].startswith("2026-03-23T08:00:00")
    changed = client.patch(f"{EVENTS}/{moved['id']}", json={
        "subject": "Jour fixe (moved)",
        "start": {"dateTime": "2026-03-31T14:00:00", "timeZone": BERLIN},
        "end": {"dateTime": "2026-03-31T15:00:00", "timeZone": BERLIN}})  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert changed.json()["type"] == "exception" and changed.json()["id"] == moved["id"]
    assert client.delete(f"{EVENTS}/{dropped['id']}").status_code == 204

    entries, _, _ = a_round(client, delta_link)
    # the master changed too (it keeps its exceptions): its other occurrences come again
    reported = {e["id"]: e.get("type", e.get("@removed")) for e in entries}
    assert reported == {o["id"]: "occurrence" for o in occurrences} | {
        moved["id"]: "exception", dropped["id"]: {"reason": "deleted"}}  # fmt: skip
    now = instances(client, master["id"])
    assert len(now) == 9 and dropped["id"] not in {e["id"] for e in now}
    assert [e["type"] for e in now].count("exception") == 1
    assert client.get(f"{EVENTS}/{dropped['id']}").status_code == 404
    read = client.get(f"{EVENTS}/{master['id']}", params={
        "$select": "subject,recurrence,cancelledOccurrences",
        "$expand": "exceptionOccurrences"}).json()  # fmt: skip
    assert read["cancelledOccurrences"] == [f"OID.{master['id']}.2026-04-13"]
    assert [(e["originalStart"], e["subject"]) for e in read["exceptionOccurrences"]] == [
        ("2026-03-30T07:00:00Z", "Jour fixe (moved)")]
    assert "start" not in read  # not selected
    assert [e["id"] for e in listed(client, EVENTS)] == [master["id"]]  # no instances there


def test_a_new_pattern_regenerates_the_series(client: httpx.Client) -> None:
    master = weekly_on_mondays(client)
    occurrences = instances(client, master["id"])
    client.patch(f"{EVENTS}/{occurrences[1]['id']}", json={"subject": "moved"})
    _, delta_link, _ = a_round(client, DELTA, **WINDOW)
    shorter = a_series("FREQ=WEEKLY;BYDAY=MO;COUNT=4", datetime(2026, 3, 23, 9), BERLIN)
    changed = client.patch(f"{EVENTS}/{master['id']}", json={"recurrence": shorter["recurrence"]})
    assert changed.status_code == 200, changed.text

    now = instances(client, master["id"])
    assert [e["type"] for e in now] == ["occurrence"] * 4  # the exception is gone
    entries, _, _ = a_round(client, delta_link)
    removed = {e["id"] for e in entries if "@removed" in e}
    assert removed == {e["id"] for e in occurrences[4:]}
    assert {e["id"] for e in entries if "@removed" not in e} == {e["id"] for e in now}


def test_a_deleted_master_takes_its_instances_along(client: httpx.Client) -> None:
    master = weekly_on_mondays(client, count=3)
    occurrences = instances(client, master["id"])
    client.patch(f"{EVENTS}/{occurrences[0]['id']}", json={"subject": "moved"})
    _, delta_link, _ = a_round(client, DELTA, **WINDOW)
    assert client.delete(f"{EVENTS}/{master['id']}").status_code == 204
    entries, _, _ = a_round(client, delta_link)
    assert entries and all("@removed" in e for e in entries)
    assert {e["id"] for e in entries} == {e["id"] for e in occurrences}
    assert client.get(f"{EVENTS}/{occurrences[1]['id']}").status_code == 404


def test_an_all_day_series_keeps_its_dates(client: httpx.Client) -> None:
    body = {
        "subject": "Inventur", "isAllDay": True,
        "start": {"dateTime": "2026-03-27T00:00:00", "timeZone": BERLIN},
        "end": {"dateTime": "2026-03-28T00:00:00", "timeZone": BERLIN},
        "recurrence": to_graph(parse_rrule("FREQ=DAILY;COUNT=3", start=datetime(2026, 3, 27),
                                           time_zone=BERLIN)),
    }  # fmt: skip
    master = client.post(EVENTS, json=body).json()
    found = instances(client, master["id"])
    assert [(e["start"]["dateTime"][:10], e["end"]["dateTime"][:10], e["isAllDay"])
            for e in found] == [("2026-03-27", "2026-03-28", True),
                                ("2026-03-28", "2026-03-29", True),
                                ("2026-03-29", "2026-03-30", True)]  # fmt: skip


def test_a_recurrence_that_cannot_be_expanded_is_refused(graph: Any, client: httpx.Client
                                                         ) -> None:
    body = a_series("FREQ=DAILY;COUNT=3", datetime(2026, 3, 23, 9), BERLIN)
    body["recurrence"]["pattern"]["type"] = "hourly"
    graph.checked.allow_invalid_requests = True
    refused = client.post(EVENTS, json=body)
    assert refused.status_code == 400
    assert "recurrence" in refused.json()["error"]["message"]
    master = weekly_on_mondays(client)
    setting = client.patch(f"{EVENTS}/{instances(client, master['id'])[0]['id']}",
                           json={"recurrence": master["recurrence"]})
    assert setting.status_code == 400


def _thursday_task(client: httpx.Client, title: str, range_: dict[str, Any]
                   ) -> tuple[str, dict[str, Any]]:
    """A To Do task repeating on Thursdays from 3 December 2026: the list's tasks URL
    and the task."""
    lists = client.get(f"/users/{ANNA}/todo/lists").json()["value"]
    tasks = f"/users/{ANNA}/todo/lists/{lists[0]['id']}/tasks"
    recurrence = {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["thursday"],
                    "firstDayOfWeek": "monday"},
        "range": {"startDate": "2026-12-03", **range_}}  # fmt: skip
    created = client.post(tasks, json={
        "title": title, "recurrence": recurrence,
        "dueDateTime": {"dateTime": "2026-12-03T00:00:00", "timeZone": "UTC"}}).json()  # fmt: skip
    return tasks, created


def test_a_completed_recurring_task_comes_back_on_its_next_date(client: httpx.Client) -> None:
    tasks, created = _thursday_task(client, "Wochenbericht", {"type": "noEnd"})
    _, delta_link, _ = a_round(client, f"{tasks}/delta")
    done = client.patch(f"{tasks}/{created['id']}", json={"status": "completed"})
    assert done.status_code == 200 and "recurrence" not in done.json()

    entries, _, _ = a_round(client, delta_link)
    [following] = [e for e in entries if e["id"] != created["id"]]
    assert following["title"] == "Wochenbericht" and following["status"] == "notStarted"
    assert following["dueDateTime"]["dateTime"].startswith("2026-12-10")
    assert following["recurrence"]["pattern"]["daysOfWeek"] == ["thursday"]


def test_a_numbered_recurring_task_ends_after_its_last_occurrence(client: httpx.Client) -> None:
    tasks, first = _thursday_task(client, "Zählerstand",
                                  {"type": "numbered", "numberOfOccurrences": 2})
    client.patch(f"{tasks}/{first['id']}", json={"status": "completed"})
    [second] = [t for t in client.get(tasks).json()["value"] if t["id"] != first["id"]]
    assert second["dueDateTime"]["dateTime"].startswith("2026-12-10")
    kept = second["recurrence"]["range"]  # the range as it began: start day and count
    assert (kept["startDate"], kept["numberOfOccurrences"]) == ("2026-12-03", 2)

    last = client.patch(f"{tasks}/{second['id']}", json={"status": "completed"})

    assert "recurrence" not in last.json()
    assert len(client.get(tasks).json()["value"]) == 2  # no task after the last one


def test_a_series_with_its_exceptions_and_cancellations_survives_a_restart(
    graph: Any, client: httpx.Client
) -> None:
    master = weekly_on_mondays(client)
    occurrences = instances(client, master["id"])
    client.patch(f"{EVENTS}/{occurrences[1]['id']}", json={"subject": "moved"})
    client.delete(f"{EVENTS}/{occurrences[2]['id']}")
    client.delete(f"{EVENTS}/{weekly_on_mondays(client, count=2)['id']}")  # a removed series
    backend = graph.sandbox.backend
    before = instances(client, master["id"])

    restored = type(backend)(backend.directory)
    restored.restore(json.loads(json.dumps(backend.snapshot())))
    graph.sandbox.backend.mailboxes = restored.mailboxes
    assert instances(client, master["id"]) == before
    assert [e["subject"] for e in before].count("moved") == 1 and len(before) == 9
