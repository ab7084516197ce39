"""Autodiscover end to end: a connection that knows only an address, and where its
Autodiscover service is, finds the EWS URL once, stores it, and synchronizes with it.

The sandbox's Autodiscover requests are counted by a small ASGI wrapper, so "once found
it is stored, not looked up on every pass" is seen at the server, not taken on trust.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.types import Receive, Scope, Send
from typer.testing import CliRunner

from esexchange import config
from esexchange.cli import app
from esexchange.exchange.errors import AccessDenied, MailboxNotFound, MailboxUnreachable
from tests.e2e.conftest import World, new_world
from tests.e2e.sandbox import SERVICE_PASSWORD, SERVICE_UPN, RunningSandbox
from tests.support.ports import free_port

runner = CliRunner()


@pytest.fixture
def autodiscover_requests(sandbox: RunningSandbox) -> Iterator[list[str]]:
    """The paths of the Autodiscover requests the sandbox receives during the test."""
    seen: list[str] = []
    serving = sandbox.switch.app

    async def counting(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].lower().startswith("/autodiscover/"):
            seen.append(scope["path"])
        await serving(scope, receive, send)

    sandbox.switch.app = counting
    yield seen
    sandbox.switch.app = serving


def service_url(sandbox: RunningSandbox) -> str:
    return f"{sandbox.server.base_url}/autodiscover/autodiscover.svc"


def autodiscover_world(
    erp: Engine, sandbox: RunningSandbox, *, address: str | None = None, **fields: Any
) -> World:
    """A connection that knows no EWS URL, only an address and the sandbox's Autodiscover."""
    settings: dict[str, Any] = {"autodiscover_url": service_url(sandbox), **fields}
    return new_world(erp, sandbox, ews_url=None,
                     autodiscover_email=address or sandbox.take_mailbox(), **settings)


def cli(engine: Engine, *args: str, input: str | None = None) -> tuple[int, str]:
    url = engine.url.render_as_string(hide_password=False)
    result = runner.invoke(app, [*args, "--db", url], input=input)
    return result.exit_code, result.output


def test_a_connection_found_by_autodiscover_synchronizes_both_ways_and_asks_once(
    erp: Engine, sandbox: RunningSandbox, autodiscover_requests: list[str]
) -> None:
    world = autodiscover_world(erp, sandbox)
    anna = world.employee()
    world.add("appointment", "From the ERP", anna)
    anna.outlook.add("task", "From Outlook")

    world.sync_ok()

    assert anna.outlook.subjects("appointment") == ["From the ERP"]
    assert world.subjects(anna, "task") == ["From Outlook"]
    assert config.get_connection(erp, world.connection).ews_url == sandbox.ews_url
    asked = len(autodiscover_requests)
    assert asked >= 1

    world.add("task", "Second pass", anna)
    anna.outlook.add("appointment", "Second pass in Outlook")
    world.sync_ok()

    assert anna.outlook.subjects("task") == ["From Outlook", "Second pass"]
    assert world.subjects(anna, "appointment") == ["From the ERP", "Second pass in Outlook"]
    assert len(autodiscover_requests) == asked  # the stored URL was used


def test_the_cli_adds_an_autodiscover_connection_checks_it_and_shows_the_stored_url(
    erp: Engine, sandbox: RunningSandbox, autodiscover_requests: list[str]
) -> None:
    name = "autodiscover-cli"
    code, output = cli(erp, "connection", "add", name, "--backend", "ews",
                       "--autodiscover", sandbox.take_mailbox(),
                       "--autodiscover-url", service_url(sandbox),
                       "--auth", "user", "--upn", SERVICE_UPN, "--password-stdin",
                       "--erp-time-zone", "Europe/Berlin", input=SERVICE_PASSWORD)
    assert code == 0, output
    assert "runs on the first pass or check" in cli(erp, "connection", "show", name)[1]
    assert autodiscover_requests == []

    code, output = cli(erp, "check", "connection", name)

    assert code == 0, output
    assert sandbox.ews_url in output
    shown = cli(erp, "connection", "show", name)[1]
    assert sandbox.ews_url in shown and "found and stored" in shown
    asked = len(autodiscover_requests)
    assert asked >= 1

    world = World(erp, sandbox, name)
    ben = world.employee()
    world.add("appointment", "Through the command line", ben)
    code, output = cli(erp, "sync", "--connection", name)

    assert code == 0, output
    assert ben.outlook.subjects("appointment") == ["Through the command line"]
    assert cli(erp, "check", "connection", name)[0] == 0
    assert len(autodiscover_requests) == asked


def test_an_address_autodiscover_does_not_know_says_what_to_fix_on_the_cli(
    erp: Engine, sandbox: RunningSandbox
) -> None:
    world = autodiscover_world(erp, sandbox, address="nobody@example.test")
    world.employee()

    code, output = cli(erp, "sync", "--connection", world.connection)

    assert code == 2
    assert "does not know nobody@example.test" in output
    assert "--autodiscover" in output and "--ews-url" in output
    assert config.get_connection(erp, world.connection).ews_url is None


@pytest.mark.parametrize(
    ("failure", "error", "words"),
    [
        ("an address the service does not know", MailboxNotFound,
         r"Autodiscover does not know nobody@example\.test.*--ews-url"),
        ("no service at the address", MailboxUnreachable,
         r"Autodiscover service couldn't be located.*connection refused.*--ews-url"),
        ("a refused sign-in", AccessDenied,
         r"refused the sign-in.*wrong user name or password for svc-esx@example\.test"),
    ],
)
def test_an_autodiscover_failure_stops_the_connection_with_what_to_fix(
    erp: Engine, sandbox: RunningSandbox, failure: str, error: type[Exception], words: str
) -> None:
    mistakes: dict[str, dict[str, Any]] = {
        "an address the service does not know": {"address": "nobody@example.test"},
        "no service at the address": {"autodiscover_url": (
            f"http://127.0.0.1:{free_port()}/autodiscover/autodiscover.svc")},
        "a refused sign-in": {"secret": "not the password"},
    }
    world = autodiscover_world(erp, sandbox, **mistakes[failure])
    world.employee()

    with pytest.raises(error, match=words) as raised:
        world.sync()

    assert f"connection {world.connection}:" in str(raised.value)
    assert config.get_connection(erp, world.connection).ews_url is None
