"""Faults between the adapter and Exchange never duplicate or lose an item (issue 10).

A fault-injecting proxy (``tests/support/faults.py``) sits between the EWS adapter and
the sandbox: answers refused with 5xx, connections dropped before and after the request
reached Exchange, answers cut in the middle, stalls past the client's timeout, at random
points of several passes with edits on both sides between them. Every pass completes or
stops cleanly (no exception escapes ``sync_connection`` but a typed ``EsExchangeError``);
then, with the faults off, passes converge: each item exactly once on each side, no
item lost, and an idle pass writes nothing.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine

from esexchange.domain.errors import EsExchangeError
from esexchange.service import adapter
from esexchange.service.summary import movement
from tests.e2e.conftest import Person, World, new_world, soon, tomorrow_at
from tests.e2e.sandbox import RunningSandbox
from tests.support.faults import FaultyProxy

SEEDS = range(1, 1 + int(os.environ.get("ESEXCHANGE_FAULT_SEEDS", "2")))
"""Seeds of the campaign; ``ESEXCHANGE_FAULT_SEEDS=50`` runs a longer one."""
FAULTY_PASSES = 4
RATE = 0.2

TOTALS: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _figures() -> Iterator[None]:
    """The campaign's figures, printed at the end of the module (``pytest -s``)."""
    yield
    print(f"\nfault injection: {dict(sorted(TOTALS.items()))}")


@pytest.fixture
def proxy(sandbox: RunningSandbox, request: pytest.FixtureRequest) -> Iterator[FaultyProxy]:
    address = urlsplit(sandbox.ews_url)
    assert address.hostname and address.port
    running = FaultyProxy((address.hostname, address.port), seed=request.param)
    yield running
    running.close()


@pytest.fixture(autouse=True)
def _short_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stall past 2 s is a timeout, and a busy server is waited for at most 2 s."""
    real = adapter.ews_settings

    def settings(*args: Any, **kwargs: Any) -> Any:
        return replace(real(*args, **kwargs), timeout_seconds=2, max_wait_seconds=2.0)

    monkeypatch.setattr(adapter, "ews_settings", settings)


def _sync(world: World, **kwargs: Any) -> list[Any]:
    """One pass that completes or stops cleanly (a typed error for the connection)."""
    TOTALS["passes"] += 1
    try:
        return world.sync(**kwargs)
    except EsExchangeError:
        TOTALS["stopped"] += 1
        return []


@pytest.mark.parametrize("proxy", SEEDS, indirect=True)
def test_a_faulty_network_never_duplicates_or_loses_an_item(
    erp: Engine, sandbox: RunningSandbox, proxy: FaultyProxy
) -> None:
    world = new_world(erp, sandbox, ews_url=proxy.url("/EWS/Exchange.asmx"))
    people = [world.employee() for _ in range(2)]
    rng = random.Random(proxy.seed)
    erp_made: dict[int, list[str]] = {p.id: [] for p in people}
    outlook_made: dict[int, list[str]] = {p.id: [] for p in people}
    serial = iter(range(10_000))

    def edits(person: Person) -> None:
        for _ in range(rng.randint(1, 4)):
            n = next(serial)
            if rng.random() < 0.6:
                kind = rng.choice(["appointment", "task"])
                subject = f"ERP {kind} {proxy.seed}-{n}"
                world.add(kind, subject, person,
                          **({"start_at": tomorrow_at(8) + timedelta(hours=n % 9)}
                             if kind == "appointment" else {}))
                erp_made[person.id].append(subject)
            else:
                subject = f"Outlook appointment {proxy.seed}-{n}"
                start = soon(3, 8 + n % 9)
                person.outlook.add_appointment(subject, start, start + timedelta(hours=1))
                outlook_made[person.id].append(subject)

    proxy.rate = RATE
    for _ in range(FAULTY_PASSES):
        for person in people:
            edits(person)
        _sync(world)
    proxy.rate = 0.0
    later = datetime.now(UTC)
    for _ in range(4):
        later += timedelta(days=1)  # past the retry wait of pairs parked by the faults
        outcomes = _sync(world, now=later)
        if outcomes and all(o.ok for o in outcomes):
            break
    TOTALS.update(proxy.faults)
    TOTALS["faults injected"] += sum(proxy.faults.values())
    TOTALS["requests"] += sum(proxy.faults.values()) + proxy.passed

    idle = _sync(world, now=later)
    assert idle and all(o.ok for o in idle), [(o.employee.email, o.problem) for o in idle]
    for outcome in idle:
        assert outcome.report is not None
        moved = movement(outcome.report)
        assert not any(moved.to_exchange.values()) and not any(moved.to_erp.values()), moved
    for person in people:
        in_mailbox = person.outlook.subjects("appointment") + person.outlook.subjects("task")
        in_erp = [a["subject"] for kind in ("appointment", "task")
                  for a in world.activities(person, kind)]
        expected = sorted(erp_made[person.id] + outlook_made[person.id])
        assert sorted(in_mailbox) == expected, "mailbox: duplicates or losses"
        assert sorted(in_erp) == expected, "ERP: duplicates or losses"
        TOTALS["items checked"] += 2 * len(expected)
    assert sum(proxy.faults.values()) > 0, "no fault was injected"
