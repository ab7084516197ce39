"""Mailboxes per minute with one ``esexchange run`` and with two on one PostgreSQL database.

Run with ``nice -n 19 .venv/bin/python -m benchmarks.scale_out [MAILBOXES] [ITEMS]``
(default 40 mailboxes, 6 new ERP appointments each). It starts a throwaway PostgreSQL
cluster and the EWS sandbox (in this process, over HTTP on loopback), then for one and
for two workers: a fresh connection with MAILBOXES employees, the service processes
(``--workers 4`` each: four mailboxes at once per process), and waits until every
mailbox had its first pass. The rate is MAILBOXES over the time from the first pass's
start to the last one's end as ``esx_pass`` recorded them (start-up not counted). The
sandbox is one Python process on the same host, so it caps what a second worker adds;
against a real Exchange the workers' share of the work is what scales. It prints
figures; it asserts nothing.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet
from tests.e2e.conftest import World, new_world, reference_erp
from tests.e2e.sandbox import RunningSandbox, start_sandbox
from tests.support.postgres import Cluster
from tests.support.service import services, wait_for

from esexchange.secrets import KEY_ENV


def _world(cluster: Cluster, sandbox: RunningSandbox, name: str, mailboxes: int,
           items: int) -> World:
    cluster.execute(f"CREATE DATABASE {name} TEMPLATE template0")
    world = new_world(reference_erp(cluster.url(name)), sandbox)
    for _ in range(mailboxes):
        person = world.employee()
        for number in range(items):
            world.add("appointment", f"Meeting {number}", person)
    return world


def _first_passes(world: World) -> tuple[int, float]:
    """Mailboxes with a good pass, and the seconds from the first pass's start to the
    last one's end."""
    row = world.query(
        "SELECT count(DISTINCT employee_id) AS n, min(started_at) AS first, "
        "max(finished_at) AS last FROM esx_pass WHERE outcome = 'ok'")[0]
    if not row["n"]:
        return 0, 0.0
    return int(row["n"]), (row["last"] - row["first"]).total_seconds()


def measure(workers: int, world: World, folder: Path, mailboxes: int) -> float:
    """Mailboxes per minute of ``workers`` service processes over ``world``."""
    with services(folder) as start:
        running = [start(world.engine, "--interval-seconds", "3600", "--workers", "4")
                   for _ in range(workers)]
        wait_for(lambda: _first_passes(world)[0] == mailboxes, 900, "every first pass")
        for service in running:
            service.stop()
    done, seconds = _first_passes(world)
    return done * 60 / seconds


def main(mailboxes: int = 40, items: int = 6) -> None:
    os.environ.setdefault(KEY_ENV, Fernet.generate_key().decode())
    folder = Path(tempfile.mkdtemp(prefix="esx-scale-"))
    cluster = Cluster()
    cluster.start()
    try:
        with start_sandbox(folder / "sandbox") as sandbox:
            rates = {workers: measure(workers, _world(cluster, sandbox, f"scale{workers}",
                                                      mailboxes, items),
                                      folder, mailboxes)
                     for workers in (1, 2)}
    finally:
        cluster.stop()
    print(f"{mailboxes} mailboxes, {items} new ERP appointments each, first pass, "
          f"--workers 4 per process, EWS sandbox and PostgreSQL on this host ({os.cpu_count()} "
          "CPUs):")
    for workers, rate in rates.items():
        print(f"  {workers} esexchange run: {rate:6.1f} mailboxes per minute")
    print(f"  two workers / one: {rates[2] / rates[1]:.2f}x")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:3]))
