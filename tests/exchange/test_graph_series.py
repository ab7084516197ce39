"""The Graph adapter reads a series as the EWS adapter does: the same series, with one
occurrence moved and one deleted, made in the EWS sandbox through exchangelib and in the
Graph sandbox through Graph's own requests, is read by both adapters as the same
``ExchangeItem`` and ``Recurrence``. The Graph adapter groups the instances a delta lists
into their master, follows a series while any occurrence is in its window and notices a
deleted series."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from dateutil.rrule import rrulestr
from exchangelib import EWSDate, EWSDateTime, EWSTimeZone
from exchangelib.items import SEND_TO_NONE, CalendarItem

from esexchange.domain.model import ExchangeItem, Kind, RemoteItem
from esexchange.domain.recurrence import occurrences, parse_rrule, to_graph
from esexchange.exchange.ews.recurrence import to_ews
from esexchange.exchange.graph import GraphConnection
from esexchange.exchange.graph.items import ERP_ID_PROPERTY
from esexchange.exchange.graph.mailbox import GraphMailbox
from esexchange.exchange.port import ChangePage
from tests.exchange.ews_helpers import connected, user_settings
from tests.support.graph_sandbox import ANNA, GraphHarness
from tests.support.sandbox import RunningSandbox

TODAY = datetime.now(UTC).date()
RULES = [
    ("FREQ=WEEKLY;BYDAY=MO;COUNT=30", "Europe/Berlin", False),  # crosses March 2027's switch
    ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;WKST=SU;COUNT=40", "America/New_York", False),
    ("FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20271231", "Europe/Berlin", False),
    ("FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=14", "America/New_York", False),
    ("FREQ=YEARLY;BYMONTH=11;BYDAY=4TH", "Europe/Berlin", False),
    ("FREQ=DAILY;INTERVAL=3;COUNT=30", "America/New_York", False),
    ("FREQ=DAILY;COUNT=5", "Europe/Berlin", True),
]


def first_start(rule: str, all_day: bool) -> datetime:
    """The rule's first day on or after three weeks ago, at 09:00 (midnight all day)."""
    since = datetime.combine(TODAY - timedelta(days=21), datetime.min.time())
    anchor = since if all_day else since.replace(hour=9)
    return rrulestr(f"RRULE:{rule}", dtstart=anchor)[0]  # type: ignore[no-any-return]


def _bound(moment: datetime, zone: str) -> dict[str, str]:
    return {"dateTime": moment.isoformat(), "timeZone": zone}


def in_graph(client: httpx.Client, rule: str, start: datetime, zone: str, all_day: bool,
             moved: tuple[datetime, datetime], deleted: datetime) -> None:
    """The series made through Graph: a master, one occurrence moved, one deleted."""
    length = timedelta(days=1) if all_day else timedelta(hours=1)
    events = f"/users/{ANNA}/events"
    created = client.post(events, json={
        "subject": "Jour fixe", "body": {"contentType": "text", "content": "Agenda"},
        "location": {"displayName": "Room 1"}, "isReminderOn": False, "isAllDay": all_day,
        "start": _bound(start, zone), "end": _bound(start + length, zone),
        "recurrence": to_graph(parse_rrule(rule, start=start, time_zone=zone)),
    })  # fmt: skip
    assert created.status_code == 201, created.text
    master = created.json()["id"]
    for original, new_start in ((moved[0], moved[1]), (deleted, None)):
        moment = original.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
        found = client.get(f"{events}/{master}/instances", params={
            "startDateTime": (moment - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "endDateTime": (moment + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")},
        ).json()["value"]  # fmt: skip
        [occurrence] = [o for o in found
                        if o["originalStart"] == moment.strftime("%Y-%m-%dT%H:%M:%SZ")]
        if new_start is None:
            assert client.delete(f"{events}/{occurrence['id']}").status_code == 204
        else:
            answer = client.patch(f"{events}/{occurrence['id']}", json={
                "start": _bound(new_start, zone),
                "end": _bound(new_start + length, zone)})  # fmt: skip
            assert answer.status_code == 200, answer.text


def in_ews(ews: RunningSandbox, rule: str, start: datetime, zone: str, all_day: bool,
           moved: tuple[int, datetime], deleted: int) -> None:
    """The same series made through exchangelib in the EWS sandbox."""
    account = ews.account(ANNA)
    tz = EWSTimeZone(zone)
    length = timedelta(days=1) if all_day else timedelta(hours=1)

    def local(moment: datetime, end: bool = False) -> Any:
        if all_day:  # exchangelib reads an all-day end date as inclusive
            return EWSDate.from_date(moment.date() - (timedelta(days=1) if end else timedelta()))
        return EWSDateTime.from_datetime(moment.replace(tzinfo=tz))

    master = CalendarItem(
        folder=account.calendar, subject="Jour fixe", body="Agenda", location="Room 1",
        reminder_is_set=False, is_all_day=all_day, start=local(start),
        end=local(start + length, end=True),
        recurrence=to_ews(parse_rrule(rule, start=start, time_zone=zone)))
    master.save(send_meeting_invitations=SEND_TO_NONE)
    occurrence = master.occurrence(index=moved[0])
    occurrence.start, occurrence.end = local(moved[1]), local(moved[1] + length, end=True)
    occurrence.save(update_fields=["start", "end"], send_meeting_invitations=SEND_TO_NONE)
    master.occurrence(index=deleted).delete(send_meeting_cancellations=SEND_TO_NONE)


def read_all(mailbox: GraphMailbox, state: str | None = None) -> tuple[list[ChangePage], str]:
    pages = []
    while True:
        page = mailbox.changes(Kind.APPOINTMENT, state)
        pages.append(page)
        state = page.state
        if not page.more:
            return pages, state


def graph_read(online: GraphConnection) -> list[RemoteItem]:
    pages, _ = read_all(online.mailbox(ANNA))
    return [c.remote for p in pages for c in p.changes if c.remote is not None]


def exceptions(remote: RemoteItem) -> list[tuple[datetime, ExchangeItem]]:
    return [(e.key.original_start, e.item) for e in remote.exceptions]


@pytest.mark.parametrize(("rule", "zone", "all_day"), RULES)
def test_both_adapters_read_the_same_series(
    ews: RunningSandbox, graph_http: httpx.Client, online: GraphConnection,
    rule: str, zone: str, all_day: bool,
) -> None:
    start = first_start(rule, all_day)
    series = parse_rrule(rule, start=start, time_zone=zone)
    generated = occurrences(series, before=start + timedelta(days=800))
    moved_from, deleted = generated[1], generated[2]
    moved_to = moved_from + timedelta(days=1, hours=0 if all_day else 5)
    in_ews(ews, rule, start, zone, all_day, (2, moved_to), 3)
    in_graph(graph_http, rule, start, zone, all_day, (moved_from, moved_to), deleted)

    with connected(user_settings(ews.url)) as connection:
        [change] = connection.mailbox(ANNA).changes(Kind.APPOINTMENT, None).changes
    assert change.remote is not None
    from_ews = change.remote.item
    [graph_remote] = graph_read(online)  # the instances grouped into their one master

    assert from_ews.recurrence is not None
    assert from_ews.recurrence.modified == {moved_from}
    assert from_ews.recurrence.deleted == {deleted}
    assert graph_remote.item == from_ews
    assert exceptions(graph_remote) == exceptions(change.remote)
    [(_, moved)] = exceptions(graph_remote)
    assert moved.start == (moved_to.date() if all_day
                           else moved_to.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC))


def test_a_series_is_followed_while_an_occurrence_is_in_the_window_and_its_deletion_seen(
    graph: GraphHarness, graph_http: httpx.Client,
) -> None:
    zone = "Europe/Berlin"
    old = datetime.combine(TODAY - timedelta(days=200), datetime.min.time()).replace(hour=9)
    rule = "FREQ=WEEKLY;BYDAY=" + "MO,TU,WE,TH,FR,SA,SU"[3 * old.weekday():][:2] + ";COUNT=40"
    created = graph_http.post(f"/users/{ANNA}/events", json={
        "subject": "Long ago", "start": _bound(old, zone),
        "end": _bound(old + timedelta(hours=1), zone),
        "recurrence": to_graph(parse_rrule(rule, start=old, time_zone=zone))})  # fmt: skip
    assert created.status_code == 201, created.text
    mailbox = graph.connect(page_size=4).mailbox(ANNA)
    pages, state = read_all(mailbox)
    assert len(pages) > 1  # its instances in the window fill several pages
    changes = [c for p in pages for c in p.changes]
    assert {c.exchange_id for c in changes} == {created.json()["id"]}
    item = changes[0].remote.item if changes[0].remote else None
    assert item is not None and item.recurrence is not None and item.start is not None
    window = pages[0].complete
    assert window is not None and not window.contains(item)  # first occurrence long gone

    coming = graph_http.get(f"/users/{ANNA}/events/{created.json()['id']}/instances", params={
        "startDateTime": f"{TODAY}T00:00:00Z",
        "endDateTime": f"{TODAY + timedelta(days=8)}T00:00:00Z"}).json()["value"]  # fmt: skip
    assert graph_http.delete(f"/users/{ANNA}/events/{coming[0]['id']}").status_code == 204
    pages, state = read_all(mailbox, state)
    [reread] = {c.remote.item for p in pages for c in p.changes if c.remote is not None}
    assert reread.recurrence is not None
    cancelled = datetime.fromisoformat(coming[0]["originalStart"].rstrip("Z")).replace(
        tzinfo=UTC).astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    assert reread.recurrence.deleted == {cancelled}

    assert graph_http.delete(f"/users/{ANNA}/events/{created.json()['id']}").status_code == 204
    pages, _ = read_all(mailbox, state)
    gone = {c.exchange_id for p in pages for c in p.changes if c.remote is None}
    assert created.json()["id"] in gone


def test_a_recurring_to_do_task_is_read_with_its_series(
    graph_http: httpx.Client, online: GraphConnection,
) -> None:
    lists = graph_http.get(f"/users/{ANNA}/todo/lists").json()["value"]
    tasks = f"/users/{ANNA}/todo/lists/{lists[0]['id']}/tasks"
    due = TODAY + timedelta(days=(3 - TODAY.weekday()) % 7)  # the next Thursday
    series = parse_rrule("FREQ=WEEKLY;BYDAY=TH", start=datetime.combine(due, datetime.min.time()),
                         time_zone="Europe/Berlin")
    assert graph_http.post(tasks, json={
        "title": "Wochenbericht", "recurrence": to_graph(series),
        "dueDateTime": {"dateTime": f"{due.isoformat()}T00:00:00", "timeZone": "UTC"},
    }).status_code == 201  # fmt: skip
    [change] = online.mailbox(ANNA).changes(Kind.TASK, None).changes
    assert change.remote is not None and change.remote.item.recurring
    assert change.remote.item.recurrence == series
    assert isinstance(change.remote.item.due, date)


def test_an_adopted_series_is_found_with_its_cancelled_occurrences(
    graph_http: httpx.Client, online: GraphConnection,
) -> None:
    zone = "Europe/Berlin"
    start = first_start("FREQ=DAILY;COUNT=5", False)
    series = parse_rrule("FREQ=DAILY;COUNT=5", start=start, time_zone=zone)
    created = graph_http.post(f"/users/{ANNA}/events", json={
        "subject": "Stamped", "start": _bound(start, zone),
        "end": _bound(start + timedelta(hours=1), zone), "recurrence": to_graph(series),
        "singleValueExtendedProperties": [{"id": ERP_ID_PROPERTY, "value": "77"}]}).json()
    [first] = graph_http.get(f"/users/{ANNA}/events/{created['id']}/instances", params={
        "startDateTime": f"{start.date()}T00:00:00Z",
        "endDateTime": f"{start.date() + timedelta(days=1)}T00:00:00Z"}).json()["value"]
    assert graph_http.delete(f"/users/{ANNA}/events/{first['id']}").status_code == 204

    found = online.mailbox(ANNA).find_by_erp_id(Kind.APPOINTMENT, [77])
    assert found[77].item.recurrence is not None
    assert found[77].item.recurrence.deleted == {start}
