"""calendarView delta and To Do delta: paging, deltaLink rounds, @removed, stale tokens."""

from __future__ import annotations

from typing import Any

import httpx

from tests.sandbox_graph.conftest import ANNA, Graph
from tests.sandbox_graph.test_events import an_event

WINDOW = {"startDateTime": "2026-11-01T00:00:00Z", "endDateTime": "2027-01-01T00:00:00Z"}
DELTA = f"/users/{ANNA}/calendarView/delta"


def a_round(client: httpx.Client, first: str, **params: str) -> tuple[list[Any], str, int]:
    """Follow nextLinks to the deltaLink: (entries, deltaLink, pages)."""
    entries: list[Any] = []
    page = client.get(first, params=params or None, headers={"Prefer": "odata.maxpagesize=2"})
    pages = 1
    while True:
        assert page.status_code == 200, page.text
        body = page.json()
        assert not ("@odata.nextLink" in body and "@odata.deltaLink" in body)
        entries += body["value"]
        if "@odata.deltaLink" in body:
            return entries, body["@odata.deltaLink"], pages
        page = client.get(body["@odata.nextLink"], headers={"Prefer": "odata.maxpagesize=2"})
        pages += 1


def test_the_first_round_pages_through_the_window_and_then_reports_only_changes(
    client: httpx.Client,
) -> None:
    ids = [client.post(f"/users/{ANNA}/events", json=an_event(f"E{n}")).json()["id"]
           for n in range(5)]  # fmt: skip
    outside = an_event("next year", start={"dateTime": "2027-06-01T09:00:00", "timeZone": "UTC"},
                       end={"dateTime": "2027-06-01T10:00:00", "timeZone": "UTC"})  # fmt: skip
    client.post(f"/users/{ANNA}/events", json=outside)
    entries, delta_link, pages = a_round(client, DELTA, **WINDOW)
    assert sorted(e["subject"] for e in entries) == [f"E{n}" for n in range(5)]
    assert pages == 3
    client.patch(f"/users/{ANNA}/events/{ids[0]}", json={"subject": "E0 changed"})
    client.delete(f"/users/{ANNA}/events/{ids[1]}")
    entries, delta_link, _ = a_round(client, delta_link)
    assert {e["id"]: e.get("subject", e.get("@removed")) for e in entries} == {
        ids[0]: "E0 changed", ids[1]: {"reason": "deleted"}}  # fmt: skip
    entries, _, _ = a_round(client, delta_link)
    assert entries == []


def test_an_event_moved_out_of_the_window_is_reported_removed(client: httpx.Client) -> None:
    event_id = client.post(f"/users/{ANNA}/events", json=an_event()).json()["id"]
    _, delta_link, _ = a_round(client, DELTA, **WINDOW)
    client.patch(f"/users/{ANNA}/events/{event_id}", json={
        "start": {"dateTime": "2027-03-01T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2027-03-01T10:00:00", "timeZone": "UTC"}})  # fmt: skip
    entries, _, _ = a_round(client, delta_link)
    assert entries == [{"id": event_id, "@removed": {"reason": "deleted"}}]
    assert client.get(f"/users/{ANNA}/events/{event_id}").status_code == 200  # still there


def test_a_stale_token_is_gone_and_a_corrupt_one_is_refused(
    graph: Graph, client: httpx.Client
) -> None:
    _, delta_link, _ = a_round(client, DELTA, **WINDOW)
    graph.sandbox.backend.reset_sync_states(ANNA)
    stale = client.get(delta_link)
    assert stale.status_code == 410
    assert stale.json()["error"]["code"] == "syncStateNotFound"
    assert stale.headers["Location"].endswith(
        "startDateTime=2026-11-01T00:00:00Z&endDateTime=2027-01-01T00:00:00Z"
    )
    corrupt = client.get(DELTA, params={"$deltatoken": "bm90IGEgdG9rZW4"})
    assert corrupt.status_code == 400


def test_the_window_is_required_on_the_first_call(client: httpx.Client) -> None:
    refused = client.get(DELTA)
    assert refused.status_code == 400


def test_to_do_tasks_have_their_own_delta(client: httpx.Client) -> None:
    lists = client.get(f"/users/{ANNA}/todo/lists").json()["value"]
    default = next(t for t in lists if t["wellknownListName"] == "defaultList")
    tasks = f"/users/{ANNA}/todo/lists/{default['id']}/tasks"
    created = client.post(tasks, json={
        "title": "Call back", "importance": "high",
        "dueDateTime": {"dateTime": "2026-12-03T00:00:00", "timeZone": "UTC"},
        "linkedResources": [{"applicationName": "esExchange", "externalId": "7",
                             "displayName": "ERP activity 7"}]})  # fmt: skip
    assert created.status_code == 201
    task_id = created.json()["id"]
    entries, delta_link, _ = a_round(client, f"{tasks}/delta")
    assert [e["title"] for e in entries] == ["Call back"]
    expanded = client.get(f"{tasks}/{task_id}", params={"$expand": "linkedResources"}).json()
    assert expanded["linkedResources"][0]["externalId"] == "7"
    client.patch(f"{tasks}/{task_id}", json={"status": "completed"})
    entries, delta_link, _ = a_round(client, delta_link)
    assert [e["status"] for e in entries] == ["completed"]
    client.delete(f"{tasks}/{task_id}")
    entries, _, _ = a_round(client, delta_link)
    assert entries == [{"id": task_id, "@removed": {"reason": "deleted"}}]
