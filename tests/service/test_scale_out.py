"""Two ``esexchange run`` on one PostgreSQL database share 20 mailboxes: both work, every
mailbox is synchronized, none is ever in two passes at once (checked from the requests
the sandbox received, each naming its worker in the User-Agent), nothing is duplicated;
a worker stopped mid-pass and then killed loses nothing, and the other takes its
mailboxes over once their leases lapse.

The stopped worker models one on another host that died: its process still looks alive
to the survivor, so only the lapse of its leases (3 s here) frees its mailboxes. (A dead
worker of the same host is taken over at once: ``leases.holder_is_gone``.)
"""

from __future__ import annotations

import re
import signal
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import Engine

from esexchange import config
from tests.e2e.conftest import World, new_world
from tests.e2e.sandbox import RunningSandbox
from tests.support.service import ServiceProcess, wait_for

pytestmark = [pytest.mark.parametrize("erp", ["postgresql"], indirect=True, scope="module"),
              pytest.mark.postgres, pytest.mark.slow]
MAILBOXES = 20
ITEMS = 4
_MAILBOX = re.compile(rb"<t:PrimarySmtpAddress>([^<]+)</t:PrimarySmtpAddress>")
WORKER_AGENT = "esExchange ("


@dataclass
class Request:
    mailbox: str
    worker: str  # the User-Agent, which names the worker
    started: float
    ended: float


@dataclass
class RequestLog:
    """ASGI middleware in front of the sandbox: every EWS request's impersonated mailbox,
    User-Agent, and when it arrived and was answered."""

    app: Any
    requests: list[Request] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = bytearray()

        async def reading() -> Any:
            message = await receive()
            body.extend(message.get("body", b""))
            return message

        started = time.time()
        try:
            await self.app(scope, reading, send)
        finally:
            found = _MAILBOX.search(bytes(body))
            agent = dict(scope["headers"]).get(b"user-agent", b"").decode()
            if found and agent.startswith(WORKER_AGENT):  # not the users' Outlook
                self.requests.append(Request(found.group(1).decode().lower(), agent,
                                             started, time.time()))

    def workers(self) -> set[str]:
        return {r.worker for r in self.requests}


@pytest.fixture
def request_log(sandbox: RunningSandbox) -> Iterator[RequestLog]:
    log = RequestLog(sandbox.switch.app)
    sandbox.switch.app = log
    yield log
    sandbox.switch.app = log.app


def _world(erp: Engine, sandbox: RunningSandbox) -> World:
    """The employees and their appointments, not yet on the synchronized list (so that
    neither worker can start on them before both run)."""
    world = new_world(erp, sandbox)
    for _ in range(MAILBOXES):
        person = world.employee(listed=False)
        for number in range(ITEMS):
            world.add("appointment", f"Meeting {number}", person)
    return world


def _synchronized(world: World) -> int:
    rows = world.query(
        "SELECT count(DISTINCT p.employee_id) AS n FROM esx_pass p JOIN esx_connection c "
        "ON c.id = p.connection_id WHERE c.name = :c AND p.outcome = 'ok'", c=world.connection)
    return int(rows[0]["n"])


def _assert_one_worker_at_a_time(log: RequestLog, emails: set[str]) -> None:
    """Per mailbox, a worker's run of requests ends before another worker's run starts:
    no two workers ever sent requests for one mailbox at overlapping times."""
    by_mailbox: dict[str, list[Request]] = defaultdict(list)
    for request in log.requests:
        by_mailbox[request.mailbox].append(request)
    assert set(by_mailbox) == emails
    for mailbox, requests in by_mailbox.items():
        runs: list[tuple[str, float, float]] = []  # (worker, first start, last end)
        for r in sorted(requests, key=lambda r: r.started):
            if runs and runs[-1][0] == r.worker:
                runs[-1] = (r.worker, runs[-1][1], max(runs[-1][2], r.ended))
            else:
                runs.append((r.worker, r.started, r.ended))
        for before, after in pairwise(runs):
            assert before[2] <= after[1], (mailbox, before, after)


def test_two_workers_share_the_mailboxes_and_one_takes_over_when_the_other_dies(
    erp: Engine, sandbox: RunningSandbox, start_service: Callable[..., ServiceProcess],
    request_log: RequestLog,
) -> None:
    world = _world(erp, sandbox)
    emails = {p.email.lower() for p in world.people}
    args = ("--interval-seconds", "1", "--workers", "3", "--lease-seconds", "3")
    first, second = start_service(erp, *args), start_service(erp, *args)
    # Only now do the mailboxes become due: a worker that started seconds earlier on a
    # busy machine would otherwise have synchronized all of them alone.
    config.add_personnel(erp, world.connection, sorted(emails))
    wait_for(lambda: _synchronized(world) == MAILBOXES, 120, "every mailbox synchronized")
    assert len(request_log.workers()) == 2, request_log.workers()  # both worked
    _assert_one_worker_at_a_time(request_log, emails)

    # Stop the first mid-pass: it keeps its leases (and any open transaction) but renews
    # nothing. Once the survivor has begun on its mailboxes, kill it.
    for person in world.people:
        world.add("task", "After the kill", person)
    pid = str(first.process.pid)
    dying = next(w for w in request_log.workers() if f":{pid}:" in w)
    survivor = next(iter(request_log.workers() - {dying}))

    def held_by_first() -> list[dict[str, Any]]:
        return [r for r in world.query("SELECT * FROM esx_lease") if f":{pid}:" in r["holder"]]

    wait_for(held_by_first, 60, "the first worker mid-pass")
    first.process.send_signal(signal.SIGSTOP)
    stopped_at = time.time()
    by_id = {p.id: p.email.lower() for p in world.people}
    frozen = {by_id[r["employee_id"]]: r["expires_at"].timestamp() for r in held_by_first()}

    def survivor_after_stop(mailbox: str) -> list[float]:
        return [r.started for r in request_log.requests
                if r.mailbox == mailbox and r.worker == survivor and r.started > stopped_at]

    wait_for(lambda: all(survivor_after_stop(m) for m in frozen), 60,
             "the survivor taking over the stopped worker's mailboxes")
    first.process.send_signal(signal.SIGKILL)
    first.process.wait()
    for person in world.people:
        wait_for(lambda p=person: p.outlook.subjects("task") == ["After the kill"], 90,
                 f"{person.email} synchronized after the kill")
    assert second.stop() == 0

    _assert_one_worker_at_a_time(request_log, emails)
    for mailbox, expires_at in frozen.items():
        assert min(survivor_after_stop(mailbox)) >= expires_at, (
            mailbox, "taken over before the lease lapsed")
    expected = sorted(f"Meeting {n}" for n in range(ITEMS))
    for person in world.people:  # nothing lost, nothing twice, on either side
        assert sorted(person.outlook.subjects("appointment")) == expected
        assert person.outlook.subjects("task") == ["After the kill"]
        assert world.subjects(person, "appointment") == expected
        assert world.subjects(person, "task") == ["After the kill"]
