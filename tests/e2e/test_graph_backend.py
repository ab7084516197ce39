"""A Graph connection end to end: the service runner, the Graph adapter, the Graph sandbox
over HTTPS, and the ERP on SQLite and PostgreSQL: what only Graph has (delta tokens,
``$batch``, app tokens). The sync rules run on both backends in the other modules. The
user's side is plain Graph calls with an app token (what any Graph client would send),
not the adapter.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from esexchange import config
from esexchange.service.adapter import open_connection
from esexchange.service.checks import check_assignment, check_connection
from esexchange.service.token import request_token
from tests.e2e.conftest import (
    GraphWorld,
    World,
    graph_events,
    graph_tasks,
    new_graph_world,
    soon,
    tomorrow_at,
)


def test_erp_items_reach_the_mailbox_and_edits_come_back(
    graph_world: tuple[World, GraphWorld],
) -> None:
    world, online = graph_world
    anna = world.employee()
    meeting = world.add_appointment("Kick-off", anna, location="Room 4", activity_type_no=10)
    world.option("priority_high", "3")
    todo = world.add_task("Send the offer", anna, priority_id=3)
    world.sync_ok()
    [event] = graph_events(online, anna.email)
    assert event["subject"] == "Kick-off" and event["location"]["displayName"] == "Room 4"
    assert "ES_10_Besuch" in event["categories"]
    assert event.get("attendees") in (None, [])
    [task] = graph_tasks(online, anna.email)
    assert task["title"] == "Send the offer" and task["importance"] == "high"
    colours = {
        c.data["displayName"]: c.data["color"]
        for c in online.sandbox.backend.categories(anna.email)
    }
    assert colours["ES_10_Besuch"] == "preset4"
    assert "Red category" in colours  # the user's own list is kept
    with online.user() as user:
        user.patch(f"/users/{anna.email}/events/{event['id']}", json={"subject": "Kick-off v2"})
        lists = user.get(f"/users/{anna.email}/todo/lists").json()["value"]
        user.patch(
            f"/users/{anna.email}/todo/lists/{lists[0]['id']}/tasks/{task['id']}",
            json={"status": "completed"},
        )
        start = soon()
        user.post(
            f"/users/{anna.email}/events",
            json={
                "subject": "From Outlook",
                "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
                "end": {
                    "dateTime": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"),
                    "timeZone": "UTC",
                },
            },
        )
    world.sync_ok()
    assert world.activity(meeting)["subject"] == "Kick-off v2"  # type: ignore[index]
    assert world.activity(todo)["status"] == "completed"  # type: ignore[index]
    assert "From Outlook" in world.subjects(anna, "appointment")
    world.sync_ok()  # nothing ping-pongs
    assert len(graph_events(online, anna.email)) == 2
    assert online.sandbox.backend.mailbox(anna.email).sent == []


def test_deletions_travel_both_ways(graph_world: tuple[World, GraphWorld]) -> None:
    world, online = graph_world
    ben = world.employee()
    gone_in_erp = world.add_appointment("Cancelled in the ERP", ben)
    gone_in_exchange = world.add_appointment("Deleted in Outlook", ben, start_at=tomorrow_at(14))
    world.sync_ok()
    world.delete_activity(gone_in_erp)
    deleted = next(
        e for e in graph_events(online, ben.email) if e["subject"] == "Deleted in Outlook"
    )
    with online.user() as user:
        assert user.delete(f"/users/{ben.email}/events/{deleted['id']}").status_code == 204
    world.sync_ok()
    assert graph_events(online, ben.email) == []
    assert world.activity(gone_in_exchange) is None


def test_check_and_token_work_on_a_graph_connection(
    graph_world: tuple[World, GraphWorld],
) -> None:
    world, _ = graph_world
    world.employee()
    assert all(r.ok for r in check_connection(world.engine, world.connection))
    assignment = check_assignment(world.engine, world.connection)
    assert all(r.ok for r in assignment), assignment
    token = request_token(world.engine, world.connection)
    assert token.missing_roles == ()


def test_a_stale_delta_token_is_answered_by_a_full_read_without_duplicates(
    graph_world: tuple[World, GraphWorld],
) -> None:
    world, online = graph_world
    dora = world.employee()
    kept = world.add_appointment("Kept", dora)
    world.sync_ok()
    online.sandbox.backend.reset_sync_states(dora.email)  # Exchange dropped its sync state
    [event] = graph_events(online, dora.email)
    with online.user() as user:
        user.patch(f"/users/{dora.email}/events/{event['id']}", json={"subject": "Kept, renamed"})
    world.sync_ok()
    assert world.activity(kept)["subject"] == "Kept, renamed"  # type: ignore[index]
    assert world.subjects(dora, "appointment") == ["Kept, renamed"]
    assert [e["subject"] for e in graph_events(online, dora.email)] == ["Kept, renamed"]


def test_throttled_batches_still_write_everything_exactly_once(
    graph_world: tuple[World, GraphWorld],
) -> None:
    from esexchange.sandbox.graph.knobs import GraphKnobs

    world, online = graph_world
    emil = world.employee()
    for number in range(30):
        world.add_appointment(
            f"Busy {number}", emil, start_at=tomorrow_at(8) + timedelta(minutes=10 * number)
        )
    online.sandbox.injector.knobs = GraphKnobs(throttle_rate=0.3, retry_after_s=0, seed=7)
    try:
        world.sync_ok()
    finally:
        online.sandbox.injector.knobs = GraphKnobs()
    assert online.sandbox.injector.counters.throttled > 0
    subjects = sorted(e["subject"] for e in graph_events(online, emil.email))
    assert subjects == sorted(f"Busy {n}" for n in range(30))


def test_a_configured_graph_url_is_where_the_connection_talks_to_graph(
    erp: Engine, online: GraphWorld
) -> None:
    """--graph-url wins over the root the token URL implies (a national cloud, a proxy)."""
    world = new_graph_world(erp, online, graph_url=online.base_url)
    anna = world.employee()
    world.add_appointment("Through the configured root", anna)
    before = len(online.sandbox.requests)

    world.sync_ok()

    assert [e["subject"] for e in graph_events(online, anna.email)] == [
        "Through the configured root"
    ]
    assert len(online.sandbox.requests) > before
    exchange = open_connection(erp, config.get_connection(erp, world.connection))
    assert exchange.endpoint == f"{online.base_url}/v1.0"
    exchange.close()
