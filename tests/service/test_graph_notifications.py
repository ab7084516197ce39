"""``esexchange run`` on a Graph connection with ``graph_notification_url``: the Graph
sandbox delivers change notifications to the service's /graph/notifications (HTTPS, a
certificate of the sandbox's CA), and an Outlook change reaches the ERP in seconds with
the delta poll and the interval both an hour away."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from tests.e2e.conftest import GRAPH_APP_ID, GraphWorld, World
from tests.support.ports import free_port
from tests.support.service import ServiceProcess, wait_for

HOUR = "3600"
APP = {"appid": GRAPH_APP_ID}


def _passes(world: World) -> int:
    return int(world.query("SELECT count(*) AS n FROM esx_pass")[0]["n"])


def _subscriptions(online: GraphWorld, email: str) -> list[Any]:
    return [s for s in online.sandbox.backend.subscriptions.list(APP)
            if s.mailbox == email.casefold()]


def _metric(service: ServiceProcess, outcome: str) -> float:
    found = re.search(rf'esexchange_graph_notifications_total{{outcome="{outcome}"}} (\S+)',
                      service.get("/metrics").text)
    return float(found.group(1)) if found else 0.0


def _start(world: World, online: GraphWorld, start_service: Callable[..., ServiceProcess],
           *args: str) -> ServiceProcess:
    port = free_port()
    world.option("graph_notification_url", f"https://127.0.0.1:{port}/graph/notifications")
    return start_service(world.engine, "--interval-seconds", HOUR, "--graph-poll-seconds",
                         HOUR, *args, port=port, tls=online.tls)


def test_outlook_changes_arrive_by_notification_and_only_from_graph(
    graph_world: tuple[World, GraphWorld], start_service: Callable[..., ServiceProcess]
) -> None:
    world, online = graph_world
    anna = world.employee()
    world.add("appointment", "Before the start", anna)
    service = _start(world, online, start_service)
    wait_for(lambda: "Graph change notifications on" in service.output(), 60, "subscriptions")
    wait_for(lambda: anna.outlook.subjects("appointment") == ["Before the start"], 60,
             "the first pass")
    made = _subscriptions(online, anna.email)
    assert sorted(s.kind for s in made) == ["events", "tasks"]
    assert all(s.lifecycle_url == s.notification_url for s in made)
    assert not any(s.client_state and s.client_state in service.output() for s in made)

    for kind, subject in (("appointment", "From Outlook"), ("task", "Call from Outlook")):
        started = time.monotonic()
        anna.outlook.add(kind, subject)
        wait_for(lambda k=kind, s=subject: s in world.subjects(anna, k), 10,
                 f"the Outlook {kind} in the ERP")
        assert time.monotonic() - started < 10
    started = time.monotonic()
    anna.outlook.edit(anna.outlook.item("task", "Call from Outlook"), subject="Edited")
    wait_for(lambda: world.subjects(anna, "task") == ["Edited"], 10, "the edit in the ERP")

    # A notification that does not carry the subscription's clientState starts nothing.
    time.sleep(3)  # the passes woken by the passes' own writes are over
    before = _passes(world)
    forged = service.post("/graph/notifications", json={"value": [{
        "subscriptionId": made[0].id, "clientState": "guessed",
        "subscriptionExpirationDateTime": "2026-12-09T00:00:00Z", "changeType": "updated",
        "resource": f"Users/{anna.email}/Events/x", "tenantId": "t",
        "resourceData": {"@odata.type": "#Microsoft.Graph.Event", "@odata.id": "x",
                         "id": "x"}}]})
    assert forged.status_code == 202
    time.sleep(2)
    assert _passes(world) == before
    assert _metric(service, "bad_client_state") == 1
    assert _metric(service, "accepted") >= 3

    # Lifecycle events: missed -> a pass; subscriptionRemoved -> subscribed again + a pass;
    # reauthorizationRequired -> renewed.
    online.sandbox.send_lifecycle("missed", made[0].id)
    wait_for(lambda: _passes(world) > before, 10, "the pass after 'missed'")
    online.sandbox.send_lifecycle("subscriptionRemoved", made[0].id)
    wait_for(lambda: len(_subscriptions(online, anna.email)) == 2
             and made[0].id not in {s.id for s in _subscriptions(online, anna.email)}, 20,
             "the removed subscription made again")
    renewed_before = service.output().count("renewed until")
    online.sandbox.send_lifecycle("reauthorizationRequired", made[1].id)
    wait_for(lambda: service.output().count("renewed until") > renewed_before, 20,
             "the renewal after reauthorizationRequired")
    anna.outlook.add("appointment", "After the lifecycle events")
    wait_for(lambda: "After the lifecycle events" in world.subjects(anna, "appointment"), 10,
             "an Outlook change after the lifecycle events")

    assert service.stop() == 0
    assert _subscriptions(online, anna.email) == []  # deleted on a clean shutdown


def test_subscriptions_are_renewed_before_they_expire(
    graph_world: tuple[World, GraphWorld], start_service: Callable[..., ServiceProcess]
) -> None:
    world, online = graph_world
    ben = world.employee()
    service = _start(world, online, start_service, "--graph-subscription-minutes", "0.25")
    wait_for(lambda: len(_subscriptions(online, ben.email)) == 2, 60, "subscriptions")
    first = {s.id: s.expires for s in _subscriptions(online, ben.email)}
    wait_for(lambda: service.output().count("renewed until") >= 2, 30, "two renewals")
    later = {s.id: s.expires for s in _subscriptions(online, ben.email)}
    assert set(later) == set(first)  # the same subscriptions, living longer
    assert all(later[i] > first[i] for i in first)
    time.sleep(16)  # longer than one lifetime: only renewals keep them alive
    assert {s.id for s in _subscriptions(online, ben.email)} == set(first)
    ben.outlook.add("task", "Still heard")
    wait_for(lambda: world.subjects(ben, "task") == ["Still heard"], 10, "the task in the ERP")
    assert service.stop() == 0


def test_a_subscription_graph_refuses_leaves_the_mailbox_on_the_poll(
    graph_world: tuple[World, GraphWorld], start_service: Callable[..., ServiceProcess]
) -> None:
    world, online = graph_world
    cleo = world.employee()
    # Graph's handshake reaches nothing at this address: no subscription is made.
    world.option("graph_notification_url",
                 f"https://127.0.0.1:{free_port()}/graph/notifications")
    service = start_service(world.engine, "--interval-seconds", HOUR,
                            "--graph-poll-seconds", "2")
    wait_for(lambda: "Graph change notifications failed" in service.output(), 60,
             "the failed subscription")
    assert "a delta poll every 2 s instead" in service.output()
    assert _subscriptions(online, cleo.email) == []
    cleo.outlook.add("appointment", "Polled")
    wait_for(lambda: world.subjects(cleo, "appointment") == ["Polled"], 10,
             "the polled change in the ERP")
    assert service.stop() == 0
