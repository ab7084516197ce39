"""``esexchange run``: passes at the interval, probes and metrics, SIGTERM mid-pass."""

from __future__ import annotations

import signal
from collections.abc import Callable

from tests.e2e.conftest import GRAPH_APP_ID, GraphWorld, World
from tests.support.service import ServiceProcess, wait_for


def _passes(world: World, outcome: str = "ok") -> int:
    rows = world.query("SELECT count(*) AS n FROM esx_pass p JOIN esx_personnel l "
                       "ON l.employee_id = p.employee_id AND l.connection_id = p.connection_id "
                       "WHERE p.outcome = :o AND p.connection_id = "
                       "(SELECT id FROM esx_connection WHERE name = :c)",
                       o=outcome, c=world.connection)
    return int(rows[0]["n"])


def test_the_service_synchronizes_at_the_interval_and_reports_it(
    world: World, start_service: Callable[..., ServiceProcess]
) -> None:
    anna, ben = world.employee(), world.employee()
    world.add("appointment", "Before the start", anna)
    ben.outlook.add("task", "From Outlook")

    service = start_service(world.engine, "--interval-seconds", "1", "--workers", "2")
    wait_for(lambda: anna.outlook.subjects("appointment") == ["Before the start"], 60,
             "the first pass")
    wait_for(lambda: world.subjects(ben, "task") == ["From Outlook"], 30, "the import")
    world.add("task", "While it runs", anna)
    wait_for(lambda: anna.outlook.subjects("task") == ["While it runs"], 30,
             "a pass after the ERP change")

    assert service.get("/healthz").text == "ok\n"
    assert service.get("/readyz").status_code == 200
    metrics = service.get("/metrics").text
    assert 'esexchange_passes_total{outcome="ok"}' in metrics
    assert 'esexchange_items_total{action="created",direction="to_exchange",kind="appointment"}' \
        in metrics
    assert 'esexchange_requests_total{backend="ews",operation="CreateItem"}' in metrics
    assert "esexchange_pass_duration_seconds_bucket" in metrics
    assert "Sandbox-Passw0rd!" not in metrics + service.output()

    assert service.stop() == 0
    assert "Stopped" in service.output()
    assert world.query("SELECT * FROM esx_worker") == []


def test_sigterm_mid_pass_loses_nothing_and_the_next_start_duplicates_nothing(
    world: World, start_service: Callable[..., ServiceProcess]
) -> None:
    people = [world.employee() for _ in range(3)]
    for person in people:
        for number in range(15):
            world.add("appointment", f"Meeting {number}", person)

    service = start_service(world.engine, "--interval-seconds", "1", "--workers", "2")
    wait_for(lambda: world.query("SELECT * FROM esx_lease"), 60, "a pass to start")
    assert service.stop(signal.SIGTERM) == 0

    # Every pass that started was finished and recorded; no lease is left behind.
    assert world.query("SELECT * FROM esx_lease") == []
    assert all(row["finished_at"] is not None for row in world.query("SELECT * FROM esx_pass"))

    again = start_service(world.engine, "--interval-seconds", "1", "--workers", "2")
    expected = sorted(f"Meeting {n}" for n in range(15))
    for person in people:
        wait_for(lambda p=person: sorted(p.outlook.subjects("appointment")) == expected, 90,
                 f"{person.email} complete")
    again.stop()
    for person in people:
        assert sorted(person.outlook.subjects("appointment")) == expected  # no duplicates
        links = world.query("SELECT count(*) AS n FROM esx_link WHERE employee_id = :e",
                            e=person.id)
        assert links[0]["n"] == 15


def test_the_service_keeps_its_connection_open_between_passes(
    graph_world: tuple[World, GraphWorld], start_service: Callable[..., ServiceProcess]
) -> None:
    # The service passes mailbox by mailbox; opened anew for each pass, a Graph
    # connection asked Entra for a new app token every time (service.adapter.OpenConnections).
    world, online = graph_world
    for _ in range(2):
        world.employee()
    issued = online.sandbox.issuer.issued[GRAPH_APP_ID]
    service = start_service(world.engine, "--interval-seconds", "1", "--graph-poll-seconds",
                            "1", tls=online.tls)
    wait_for(lambda: _passes(world) >= 8, 90, "four passes per mailbox")
    assert service.stop() == 0
    assert online.sandbox.issuer.issued[GRAPH_APP_ID] - issued == 1
