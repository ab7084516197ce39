"""One installation per mailbox: a second esExchange on a copy of the database (a test
system) is refused on the mailboxes the first one claimed, on EWS and on Graph, and
synchronizes them only after ``esexchange personnel claim`` took them over; the first
one is refused from then on."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from esexchange.cli import app
from esexchange.domain.claims import CLAIM_NAME
from esexchange.erp.db import open_engine
from esexchange.service.installation import installation
from esexchange.status import mailbox_status
from tests.e2e.conftest import GraphWorld, World, graph_events

pytestmark = pytest.mark.parametrize("erp", ["sqlite"], indirect=True, scope="module")


CopyOf = Callable[[World], World]


@pytest.fixture
def copy_of(tmp_path: Path) -> Iterator[CopyOf]:
    """Makes the same connection on a copy of the database file: another installation."""
    engines: list[Engine] = []

    def make(world: World) -> World:
        target_path = tmp_path / f"copy{len(engines)}.sqlite"
        with closing(sqlite3.connect(str(world.engine.url.database))) as source, \
                closing(sqlite3.connect(str(target_path))) as target:
            source.backup(target)
        engines.append(open_engine(f"sqlite:///{target_path}"))
        return World(engines[-1], world.sandbox, world.connection, list(world.people))

    yield make
    for engine in engines:
        engine.dispose()


def _claim(copy: World, *emails: str) -> str:
    url = copy.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["personnel", "claim", copy.connection, *emails,
                                      "--db", url])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_copy_of_the_database_is_refused_until_it_takes_the_mailbox_over(
    world: World, copy_of: CopyOf,
) -> None:
    anna, ben = world.employee(), world.employee()
    world.add("appointment", "Production", anna, ben)
    world.sync_ok()
    first = installation(world.engine).id

    test_system = copy_of(world)
    assert installation(test_system.engine).id != first
    test_system.add("appointment", "Test data", anna, ben)
    outcomes = test_system.sync()

    for outcome in outcomes:
        assert outcome.claimed_by is not None and outcome.claimed_by.installation == first
        assert f"claimed by installation {first}" in outcome.problem
        assert f"esexchange personnel claim {world.connection} {outcome.employee.email}" \
            in outcome.problem
    assert anna.outlook.subjects("appointment") == ["Production"]  # nothing synchronized
    status = {s.employee.email: s.last_pass for s in mailbox_status(test_system.engine)}
    assert status[anna.email] is not None and "claimed by" in status[anna.email].problem

    output = _claim(test_system, anna.email)
    assert f"taken over from installation {first}" in output
    again = {o.employee.email: o for o in test_system.sync()}
    assert again[anna.email].ok and again[anna.email].claimed_by is None
    assert anna.outlook.subjects("appointment") == ["Production", "Test data"]
    assert again[ben.email].claimed_by is not None  # only the mailbox taken over
    assert ben.outlook.subjects("appointment") == ["Production"]

    # Now the production installation is the one refused on Anna's mailbox.
    back = {o.employee.email: o for o in world.sync()}
    assert back[anna.email].claimed_by is not None
    assert back[anna.email].claimed_by.installation == installation(test_system.engine).id
    assert back[ben.email].ok


@pytest.mark.backends("ews")  # on Graph the claim is an extended property of the calendar
def test_the_claim_is_a_user_configuration_of_the_calendar(world: World) -> None:
    anna = world.employee()
    world.sync_ok()
    calendar = anna.outlook.account.calendar
    stored = calendar.get_user_configuration(name=CLAIM_NAME)
    assert stored.dictionary["installation"] == installation(world.engine).id
    assert anna.outlook.subjects("appointment") == []  # no item for the user to see


def test_a_copy_is_refused_on_graph_too(
    graph_world: tuple[World, GraphWorld], copy_of: CopyOf,
) -> None:
    world, online = graph_world
    carla = world.employee()
    world.add("appointment", "Production", carla)
    world.sync_ok()

    test_system = copy_of(world)
    test_system.add("appointment", "Test data", carla)
    [outcome] = test_system.sync()
    assert outcome.claimed_by is not None
    assert outcome.claimed_by.installation == installation(world.engine).id
    assert [e["subject"] for e in graph_events(online, carla.email)] == ["Production"]

    _claim(test_system, carla.email)
    [outcome] = test_system.sync()
    assert outcome.ok, outcome.problem
    assert sorted(e["subject"] for e in graph_events(online, carla.email)) == [
        "Production", "Test data"]
    [back] = world.sync()
    assert back.claimed_by is not None


@pytest.mark.backends("ews")
def test_an_idle_pass_sends_no_claim_request_and_a_take_over_stops_the_next_write(
    world: World, copy_of: CopyOf,
) -> None:
    anna = world.employee()
    world.add("appointment", "Production", anna)
    world.sync_ok()
    [idle] = world.sync()
    assert idle.ok
    assert dict(idle.requests) == {("ews", "SyncFolderItems"): 2}  # one per folder

    test_system = copy_of(world)
    _claim(test_system, anna.email)
    world.add("appointment", "Written after the take-over", anna)
    [refused] = world.sync()
    assert refused.claimed_by is not None
    assert refused.claimed_by.installation == installation(test_system.engine).id
    assert anna.outlook.subjects("appointment") == ["Production"]
    assert ("ews", "GetUserConfiguration") in refused.requests  # read before writing
