"""``esexchange run`` carries a change to the other side in seconds, long before the
interval (an hour here): the ERP journal wakes the mailbox (LISTEN/NOTIFY on
PostgreSQL, the journal's highest sequence on SQLite) and EWS streaming notifications
wake it for Outlook changes."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.e2e.conftest import World
from tests.support.service import ServiceProcess, wait_for


def _passes(world: World) -> int:
    return int(world.query("SELECT count(*) AS n FROM esx_pass")[0]["n"])


def test_changes_reach_the_other_side_in_seconds_without_waiting_for_the_interval(
    world: World, start_service: Callable[..., ServiceProcess]
) -> None:
    anna, ben = world.employee(), world.employee()
    world.add("appointment", "Before the start", anna)
    service = start_service(world.engine, "--interval-seconds", "3600", "--workers", "2")
    wait_for(lambda: anna.outlook.subjects("appointment") == ["Before the start"], 60,
             "the first pass")
    wait_for(lambda: "streaming notifications on" in service.output(), 30, "the streams")

    started = time.monotonic()
    world.add("task", "From the ERP", anna)
    wait_for(lambda: anna.outlook.subjects("task") == ["From the ERP"], 10,
             "the ERP change in the mailbox")
    erp_to_exchange = time.monotonic() - started

    started = time.monotonic()
    ben.outlook.add("task", "From Outlook")
    wait_for(lambda: world.subjects(ben, "task") == ["From Outlook"], 10,
             "the Outlook change in the ERP")
    exchange_to_erp = time.monotonic() - started

    started = time.monotonic()
    ben.outlook.edit(ben.outlook.item("task", "From Outlook"), subject="Edited in Outlook")
    wait_for(lambda: world.subjects(ben, "task") == ["Edited in Outlook"], 10,
             "the Outlook edit in the ERP")
    assert max(erp_to_exchange, exchange_to_erp, time.monotonic() - started) < 10

    # The passes' own writes wake their mailboxes once more at most: then all is quiet.
    time.sleep(3)
    before = _passes(world)
    time.sleep(4)
    assert _passes(world) == before

    stopping = time.monotonic()
    assert service.stop() == 0
    assert time.monotonic() - stopping < 15  # open streams end at once, not at their timeout
