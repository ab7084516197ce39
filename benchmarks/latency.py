"""How long a change takes to reach the other side while the service runs (issue 13).

``make bench-latency`` (``python -m benchmarks.latency``). Everything runs in this
process: the ERP (SQLite in a temporary folder, or ``--db URL`` of an empty PostgreSQL
database), the EWS sandbox over HTTP and the Graph sandbox over HTTPS on loopback ports,
and the service's scheduler (``SyncService``, as ``esexchange run`` runs it, with its
real-time watchers on and an interval of an hour, so nothing arrives by the interval).

Per backend, ``--changes`` appointments over ``--mailboxes`` mailboxes are made in the
ERP and carried over by the first pass. Then, one change every ``--spacing`` seconds,
round robin over the mailboxes:

1. ERP -> Exchange: the appointment's subject is changed in the ERP (one committed
   UPDATE); measured until the mailbox holds the new subject (read off the sandbox's
   store every 20 ms).
2. Exchange -> ERP: the subject is changed as Outlook changes it (EWS: exchangelib's
   UpdateItem; Graph: PATCH of the event); measured from the moment the server answered
   until the ERP row holds it.

Graph runs twice: ``graph`` with the delta poll every 5 s per mailbox (no notification
URL), and ``graph-webhook`` with change notifications: the connection's
``graph_notification_url`` points at the service's ``/graph/notifications`` (served over
HTTPS with a certificate of the sandbox's CA, which the sandbox trusts for deliveries),
and the poll is an hour, so an Outlook change arrives by notification or not at all.

It prints p50, p95 and the maximum per backend and direction, next to the goals of
issue 13 (p95 under 5 s and 10 s) and whether each was met. It asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import ssl
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from cryptography.fernet import Fernet
from exchangelib import BASIC, IMPERSONATION, Account, Configuration, Credentials
from exchangelib.items import SEND_TO_NONE
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, text
from starlette.applications import Starlette

from esexchange import config
from esexchange.config import Auth, Backend, ConnectionConfig
from esexchange.erp.db import open_engine
from esexchange.erp.script import install
from esexchange.inprocess import BackgroundServer
from esexchange.sandbox.directory import AccountEntry, AppEntry, Directory, MailboxEntry
from esexchange.sandbox.ews.app import create_sandbox
from esexchange.sandbox.graph.app import create_graph_sandbox
from esexchange.sandbox.oauth import GRAPH_RESOURCE
from esexchange.sandbox.tls import ensure_tls_files
from esexchange.secrets import KEY_ENV
from esexchange.service.daemon import ServiceSettings, SyncService
from esexchange.service.realtime import RealtimeSettings
from esexchange.service.webhooks import PATH, NotificationInbox

UPN, PASSWORD = "svc-latency@example.test", "latency-password"
TENANT = "7e1c0a42-0000-4000-8000-00000000be11"
CLIENT = "5a0c7d1e-0000-4000-8000-00000000be12"
SECRET = "latency"
GOALS = {"ERP → Exchange": 5.0, "Exchange → ERP": 10.0}
POLL = 0.02
TIMEOUT = 120.0
BACKENDS = ("ews", "graph", "graph-webhook")


@dataclass
class Side:
    """How to change a subject on one side and whether a subject has arrived there."""

    change: Callable[[int, str, str], None]  # (mailbox number, old subject, new subject)
    holds: Callable[[int, str], bool]  # (mailbox number, subject)


@dataclass
class World:
    backend: str
    emails: list[str]
    erp: Side
    exchange: Side


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--mailboxes", type=int, default=4)
    parser.add_argument("--spacing", type=float, default=0.25)
    parser.add_argument("--backend", choices=(*BACKENDS, "all"), default="all")
    parser.add_argument("--db", help="an empty PostgreSQL database (default: SQLite)")
    args = parser.parse_args()
    os.environ.setdefault(KEY_ENV, Fernet.generate_key().decode())  # this process only
    console = Console(width=120)
    table = Table(title=f"Change -> other side, {args.changes} changes per row, service "
                        f"running, interval 1 h ({'PostgreSQL' if args.db else 'SQLite'})")
    for name in ("backend", "direction", "changes", "p50 s", "p95 s", "max s", "goal p95",
                 "result"):
        table.add_column(name, justify="left" if name in ("backend", "direction") else "right")
    backends = BACKENDS if args.backend == "all" else (args.backend,)
    with tempfile.TemporaryDirectory() as folder:
        engine = open_engine(args.db or f"sqlite:///{Path(folder) / 'erp.sqlite'}")
        install(engine)
        with engine.begin() as db:
            db.execute(text("INSERT INTO activity_type (no, description) VALUES (1, 'Termin')"))
        for backend in backends:
            opener = {"ews": _ews_world, "graph": _graph_world,
                      "graph-webhook": _graph_webhook_world}[backend]
            with opener(engine, Path(folder), args.mailboxes) as world:
                _first_pass(engine, world, args.changes)
                for direction, origin, target in (
                    ("ERP → Exchange", world.erp, world.exchange),
                    ("Exchange → ERP", world.exchange, world.erp),
                ):
                    tag = "erp" if origin is world.erp else "outlook"
                    times = _measure(world, origin, target, args, tag)
                    console.print(f"{backend} {direction}: {len(times)} changes measured")
                    figures = _figures(times)
                    met = float(figures[1]) < GOALS[direction]
                    table.add_row(backend, direction, str(len(times)), *figures,
                                  f"< {GOALS[direction]:.0f}", "pass" if met else "MISS")
        engine.dispose()
    console.print(table)


def _figures(times: list[float]) -> list[str]:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
    return [f"{statistics.median(ordered):.2f}", f"{p95:.2f}", f"{ordered[-1]:.2f}"]


def _subject(world: World, tag: str, number: int) -> str:
    return f"{world.backend} {tag} change {number}"


def _first_pass(engine: Engine, world: World, changes: int) -> None:
    """``changes`` appointments in the ERP, round robin over the mailboxes, and wait
    until the service carried them all over."""
    ids = _employees(engine, world.emails)
    start = datetime.now().replace(microsecond=0, second=0, minute=0) + timedelta(days=1)
    with engine.begin() as db:
        for number in range(changes):
            activity = db.execute(text(
                "INSERT INTO activity (kind, subject, start_at, end_at) VALUES "
                "('appointment', :s, :a, :b) RETURNING id"),
                {"s": _subject(world, "start", number), "a": start + timedelta(hours=number),
                 "b": start + timedelta(hours=number, minutes=30)}).scalar_one()
            db.execute(text("INSERT INTO activity_participant (activity_id, employee_id) "
                            "VALUES (:a, :e)"),
                       {"a": activity, "e": ids[number % len(ids)]})
    _wait(lambda: all(world.exchange.holds(n % len(ids), _subject(world, "start", n))
                      for n in range(changes)), "the first pass")
    time.sleep(2)  # the passes woken by the first pass's own writes are over


def _measure(world: World, origin: Side, target: Side, args: argparse.Namespace,
             tag: str) -> list[float]:
    """Make the changes one every ``spacing`` seconds; the latency of each."""
    previous = "start" if tag == "erp" else "erp"
    pending: dict[int, float] = {}
    done: dict[int, float] = {}
    lock = threading.Lock()
    finished = threading.Event()

    def watch() -> None:
        while not finished.is_set():
            with lock:
                waiting = dict(pending)
            for number, made in waiting.items():
                if target.holds(number % len(world.emails), _subject(world, tag, number)):
                    with lock:
                        done[number] = time.monotonic() - made
                        del pending[number]
            time.sleep(POLL)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    for number in range(args.changes):
        origin.change(number % len(world.emails), _subject(world, previous, number),
                      _subject(world, tag, number))
        with lock:
            pending[number] = time.monotonic()
        time.sleep(args.spacing)
    _wait(lambda: not pending, f"{world.backend} {tag} changes")
    finished.set()
    watcher.join()
    time.sleep(2)
    return [done[number] for number in sorted(done)]


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(POLL)


def _employees(engine: Engine, emails: list[str]) -> list[int]:
    with engine.connect() as db:
        return [db.execute(text("SELECT id FROM employee WHERE email = :e"), {"e": e})
                .scalar_one() for e in emails]


def _erp_side(engine: Engine, emails: list[str]) -> Side:
    def change(_mailbox: int, old: str, new: str) -> None:
        with engine.begin() as db:
            db.execute(text("UPDATE activity SET subject = :new WHERE subject = :old"),
                       {"new": new, "old": old})

    def holds(_mailbox: int, subject: str) -> bool:
        with engine.connect() as db:
            return db.execute(text("SELECT 1 FROM activity WHERE subject = :s"),
                              {"s": subject}).first() is not None

    return Side(change, holds)


def _add_people(engine: Engine, connection: str, emails: list[str]) -> None:
    with engine.begin() as db:
        for email in emails:
            db.execute(text("INSERT INTO employee (number, name, email) VALUES (:n, :e, :e)"),
                       {"n": email.split("@")[0][-20:], "e": email})
    config.set_options(engine, connection, {"erp_time_zone": "Europe/Berlin",
                                            "delete_guard_percent": "100"})
    config.add_personnel(engine, connection, emails)


@contextmanager
def _service(engine: Engine, workers: int, connection: str,
             inbox: NotificationInbox | None = None,
             realtime: RealtimeSettings | None = None) -> Iterator[None]:
    """The scheduler with its watchers, until the world ends; then its connection goes,
    so the next backend's service does not watch this one's stopped sandbox."""
    stop = threading.Event()
    service = SyncService(engine, ServiceSettings(
        workers=workers, interval=timedelta(hours=1),
        realtime=realtime or RealtimeSettings()), inbox=inbox)
    thread = threading.Thread(target=service.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=60)
        config.remove_connection(engine, connection)


@contextmanager
def _ews_world(engine: Engine, _folder: Path, mailboxes: int) -> Iterator[World]:
    emails = [f"latency-ews{n}@example.test" for n in range(mailboxes)]
    directory = Directory(mailboxes=tuple(MailboxEntry(e, e, "Europe/Berlin") for e in emails),
                          accounts=(AccountEntry(UPN, PASSWORD, ("*",)),))
    sandbox = create_sandbox(directory)
    with BackgroundServer(sandbox.app) as server:
        url = f"{server.base_url}/EWS/Exchange.asmx"
        config.add_connection(engine, ConnectionConfig(
            name="latency-ews", backend=Backend.EWS, auth=Auth.USER, ews_url=url, upn=UPN),
            PASSWORD)
        _add_people(engine, "latency-ews", emails)
        outlook = Configuration(service_endpoint=url, credentials=Credentials(UPN, PASSWORD),
                                auth_type=BASIC, max_connections=4)
        accounts = [Account(e, config=outlook, autodiscover=False, access_type=IMPERSONATION)
                    for e in emails]
        items: dict[str, object] = {}

        def change(mailbox: int, old: str, new: str) -> None:
            if old not in items:  # read once, before the first change (not timed)
                for item in accounts[mailbox].calendar.all().only("subject", "changekey"):
                    items[item.subject] = item
            item = items.pop(old)
            item.subject = new  # type: ignore[attr-defined]
            item.save(update_fields=["subject"],  # type: ignore[attr-defined]
                      send_meeting_invitations=SEND_TO_NONE)

        def holds(mailbox: int, subject: str) -> bool:
            with sandbox.backend.locked(emails[mailbox]) as box:
                return any(i.fields.get("Subject") == subject for i in box.items.values())

        with _service(engine, mailboxes, "latency-ews"):
            yield World("ews", emails, _erp_side(engine, emails), Side(change, holds))


@contextmanager
def _graph_webhook_world(engine: Engine, folder: Path, mailboxes: int) -> Iterator[World]:
    """Graph with change notifications to the service's endpoint; the poll an hour."""
    files = ensure_tls_files(folder / "tls")
    inbox = NotificationInbox()
    endpoint = Starlette(routes=inbox.routes())
    with BackgroundServer(endpoint, ssl_certfile=str(files.certfile),
                          ssl_keyfile=str(files.keyfile)) as web, \
            _graph_world(engine, folder, mailboxes, webhook=f"{web.base_url}{PATH}",
                         inbox=inbox) as world:
        yield world


@contextmanager
def _graph_world(engine: Engine, folder: Path, mailboxes: int, *, webhook: str = "",
                 inbox: NotificationInbox | None = None) -> Iterator[World]:
    backend = "graph-webhook" if webhook else "graph"
    emails = [f"latency-{backend}{n}@example.test" for n in range(mailboxes)]
    directory = Directory(mailboxes=tuple(MailboxEntry(e, e, "Europe/Berlin") for e in emails),
                          apps=(AppEntry(TENANT, CLIENT, SECRET, ("*",)),))
    files = ensure_tls_files(folder / "tls")
    sandbox = create_graph_sandbox(directory, notification_trust=files.ca_file)
    name = f"latency-{backend}"
    with BackgroundServer(sandbox, ssl_certfile=str(files.certfile),
                          ssl_keyfile=str(files.keyfile)) as server:
        config.add_connection(engine, ConnectionConfig(
            name=name, backend=Backend.GRAPH, auth=Auth.APP, tenant_id=TENANT,
            client_id=CLIENT, token_url=f"{server.base_url}/{{tenant}}/oauth2/v2.0/token",
            ca_bundle=str(files.ca_file)), SECRET)
        _add_people(engine, name, emails)
        if webhook:
            config.set_options(engine, name, {"graph_notification_url": webhook})
        http = httpx.Client(base_url=f"{server.base_url}/v1.0", timeout=60,
                            verify=ssl.create_default_context(cafile=str(files.ca_file)))
        token = http.post(f"{server.base_url}/{TENANT}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": CLIENT, "client_secret": SECRET,
            "scope": f"{GRAPH_RESOURCE}/.default"}).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"

        def event_id(mailbox: int, subject: str) -> str | None:
            return next((r.id for r in sandbox.backend.events(emails[mailbox])
                         if r.data.get("subject") == subject), None)

        def change(mailbox: int, old: str, new: str) -> None:
            found = event_id(mailbox, old)
            answer = http.patch(f"/users/{emails[mailbox]}/events/{found}", json={"subject": new})
            answer.raise_for_status()

        def holds(mailbox: int, subject: str) -> bool:
            return event_id(mailbox, subject) is not None

        # With notifications, nothing but them carries an Outlook change before the hour.
        realtime = RealtimeSettings(graph_poll=3600) if webhook else None
        try:
            with _service(engine, mailboxes, name, inbox, realtime):
                if webhook:
                    _wait(lambda: len(sandbox.backend.subscriptions.list({"appid": CLIENT}))
                          == 2 * mailboxes, "the subscriptions")
                yield World(backend, emails, _erp_side(engine, emails), Side(change, holds))
        finally:
            http.close()
            sandbox.close()


if __name__ == "__main__":
    started = datetime.now(UTC)
    main()
    print(f"took {(datetime.now(UTC) - started).total_seconds():.0f} s")
