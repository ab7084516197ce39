"""kill -9 of the real ``esexchange sync`` process never duplicates or loses an item.

The sync runs as its own process against the sandbox slowed by latency, and is killed
with SIGKILL at random moments of first syncs and of update passes (ERP and Outlook
edits between the kills). Then passes run to convergence, and every item is checked on
both sides: each exactly once, with its newest subject; an idle pass writes nothing.

Bounded in the suite (``ESEXCHANGE_KILLS``, default 3 kills over a small ERP);
``make soak`` runs it at full size.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest

from esexchange.sandbox.ews.knobs import Knobs
from esexchange.service.summary import movement
from tests.e2e.conftest import World, soon, tomorrow_at

# One campaign, over the slowed EWS sandbox; crash adoption on Graph: test_guarantees.
pytestmark = pytest.mark.backends("ews")
KILLS = int(os.environ.get("ESEXCHANGE_KILLS", "3"))
ACTIVITIES = int(os.environ.get("ESEXCHANGE_KILL_ACTIVITIES", "30"))
"""ERP activities per employee (and a tenth as many Outlook items)."""
SLOW = Knobs(latency_ms=int(os.environ.get("ESEXCHANGE_KILL_LATENCY_MS", "25")))

FIGURES: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _figures() -> Iterator[None]:
    yield
    print(f"\nkill -9: {dict(sorted(FIGURES.items()))}")


def _sync_process(world: World) -> subprocess.Popen[bytes]:
    url = world.engine.url.render_as_string(hide_password=False)
    return subprocess.Popen(
        [sys.executable, "-m", "esexchange", "sync", "--connection", world.connection,
         "--db", url],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def test_kill_9_during_passes_never_duplicates_or_loses(world: World) -> None:
    if world.engine.dialect.name != "sqlite" and KILLS <= 3:
        pytest.skip("the bounded run kills on SQLite; make soak covers PostgreSQL")
    rng = random.Random(KILLS)
    people = [world.employee() for _ in range(2)]
    subjects: dict[int, str] = {}  # ERP id -> newest subject
    outlook_made: dict[int, list[str]] = {p.id: [] for p in people}
    for person in people:
        for n in range(ACTIVITIES):
            kind = "appointment" if n % 3 else "task"
            subject = f"{person.id}-{kind}-{n}"
            columns = ({"start_at": tomorrow_at(7) + timedelta(days=n % 20, hours=n % 10)}
                       if kind == "appointment" else {})
            subjects[world.add(kind, subject, person, **columns)] = subject
        for n in range(max(1, ACTIVITIES // 10)):
            subject = f"{person.id}-outlook-{n}"
            start = soon(2 + n % 10, 8 + n % 9)
            person.outlook.add_appointment(subject, start, start + timedelta(hours=1))
            outlook_made[person.id].append(subject)

    with world.sandbox.realism(SLOW):
        for kill in range(KILLS):
            if kill:  # an update pass: edits on both sides since the last kill
                for erp_id in rng.sample(sorted(subjects), k=min(5, len(subjects))):
                    subjects[erp_id] = f"{subjects[erp_id].split(' ')[0]} edit{kill}"
                    world.update_activity(erp_id, subject=subjects[erp_id])
            process = _sync_process(world)
            time.sleep(rng.uniform(0.8, 3.5))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                FIGURES["killed mid-pass"] += 1
            else:
                FIGURES["finished before the kill"] += 1
            process.wait(timeout=30)
            assert b"Traceback" not in (process.stderr.read() if process.stderr else b"")

    for _ in range(3):
        outcomes = world.sync()
        if all(o.ok for o in outcomes):
            break
    idle = world.sync()
    for outcome in idle:
        assert outcome.ok and outcome.report is not None, outcome.problem
        moved = movement(outcome.report)
        assert not any(moved.to_exchange.values()) and not any(moved.to_erp.values()), moved
    for person in people:
        mine = {erp_id: s for erp_id, s in subjects.items() if s.startswith(f"{person.id}-")}
        in_mailbox = Counter(person.outlook.subjects("appointment")
                             + person.outlook.subjects("task"))
        in_erp = Counter(a["subject"] for kind in ("appointment", "task")
                         for a in world.activities(person, kind))
        expected = Counter([*mine.values(), *outlook_made[person.id]])
        assert in_mailbox == expected, (in_mailbox - expected, expected - in_mailbox)
        assert in_erp == expected, (in_erp - expected, expected - in_erp)
        FIGURES["items checked"] += 2 * sum(expected.values())
    FIGURES["kills"] += KILLS
