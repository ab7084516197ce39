"""How many Graph requests a pass needs for N changes, next to the minimum.

Part of ``make bench`` (after the EWS table). Everything runs in this process: a SQLite
ERP in a temporary folder and the Graph sandbox over HTTPS on a loopback port (msal signs
in only over HTTPS). Requests are counted at the server, where Exchange Online counts
them: a ``$batch`` counts once and is labelled by what its sub-requests do. For each N
one mailbox goes through: N new appointments, N updated, N deleted (ERP -> Exchange), and
N appointments made by the user (Exchange -> ERP).

The minimum is ceil(N / 20) ``$batch`` requests of the operation that carries the change
plus one delta read per folder (calendar and tasks). For Exchange -> ERP the minimum is
the delta pages (200 items each) of both folders; the carried requests add the
``$batch`` reads of the pages' items (delta pages carry no extended properties, so the
items are read again with the ERP id expanded), which is the price of Graph's delta. The
rest of the pass is shown apart. It prints figures; it asserts nothing.
"""

from __future__ import annotations

import json
import math
import ssl
import tempfile
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from esexchange import config
from esexchange.config import Auth, Backend, ConnectionConfig
from esexchange.erp.db import open_engine
from esexchange.erp.script import install
from esexchange.inprocess import BackgroundServer
from esexchange.sandbox.directory import AppEntry, Directory, MailboxEntry
from esexchange.sandbox.graph.app import create_graph_sandbox
from esexchange.sandbox.oauth import GRAPH_RESOURCE
from esexchange.sandbox.tls import ensure_tls_files
from esexchange.service.runner import sync_connection

SIZES = (1, 100, 1000)
BATCH = 20
PAGE = 200  # the adapter's delta page size (Prefer: odata.maxpagesize)
TENANT = "7e1c0a42-0000-4000-8000-00000000be01"
CLIENT = "5a0c7d1e-0000-4000-8000-00000000be02"
SECRET = "bench"
CONNECTION = "bench-graph"
FOLDERS = 2  # a delta read of the calendar and one of the To Do list


class GraphCounter:
    """ASGI middleware counting Graph requests; a $batch is labelled by its sub-requests."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.counts: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1.0/"):
            await self.app(scope, receive, send)
            return
        body = bytearray()
        counted = False

        def count() -> None:
            nonlocal counted
            if not counted:
                counted = True
                self.counts[_label(scope["method"], scope["path"], bytes(body))] += 1

        async def recording() -> Message:
            message = await receive()
            body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                # Counted once the request is in, before it is answered: a client that
                # moves on after the answer must not see it land in the next measurement.
                count()
            return message

        await self.app(scope, recording, send)
        count()

    def measure(self, action: Callable[[], object]) -> Counter[str]:
        self.counts.clear()
        action()
        return Counter(self.counts)


def _label(method: str, path: str, body: bytes) -> str:
    if path.endswith("/$batch"):
        kinds = Counter(_kind(r["method"], r["url"]) for r in json.loads(body)["requests"])
        return "$batch " + "+".join(sorted(kinds))
    return _kind(method, path)


def _kind(method: str, url: str) -> str:
    path = url.split("?")[0]
    if "/delta" in path:
        return f"{method} {'calendar' if 'calendarView' in path else 'tasks'} delta"
    resource = next(
        (
            r
            for r in ("masterCategories", "tasks", "lists", "events", "calendar")
            if f"/{r}" in path
        ),
        "other",
    )
    return f"{method} {resource}"


def run(console: Console) -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = open_engine(f"sqlite:///{Path(folder) / 'erp.sqlite'}")
        install(engine)
        emails = [f"graph{n}-{way}@example.test" for n in SIZES for way in ("out", "in")]
        directory = Directory(
            mailboxes=tuple(MailboxEntry(e, e, "Europe/Berlin") for e in emails),
            apps=(AppEntry(TENANT, CLIENT, SECRET, ("*",)),),
        )
        counter = GraphCounter(create_graph_sandbox(directory))
        files = ensure_tls_files(Path(folder) / "tls")
        with BackgroundServer(
            counter, ssl_certfile=str(files.certfile), ssl_keyfile=str(files.keyfile)
        ) as server:
            _configure(engine, server.base_url, str(files.ca_file), emails)
            table = _table()
            breakdowns: list[str] = []
            for n in SIZES:
                _erp_to_exchange(
                    engine, counter, table, breakdowns, n, f"graph{n}-out@example.test"
                )
                _exchange_to_erp(
                    engine,
                    counter,
                    table,
                    breakdowns,
                    n,
                    server.base_url,
                    files.ca_file,
                    f"graph{n}-in@example.test",
                )
        engine.dispose()
    console.print(table)
    console.print(
        f"$batch of at most {BATCH} sub-requests; minimum = ceil(N/{BATCH}) batches "
        f"+ {FOLDERS} delta reads (calendar, tasks)."
    )
    console.print("All Graph requests of each pass:")
    for line in breakdowns:
        console.print(f"  {line}", soft_wrap=True)


def _configure(engine: Engine, base_url: str, ca_file: str, emails: list[str]) -> None:
    with engine.begin() as db:
        if not db.execute(text("SELECT count(*) FROM activity_type")).scalar_one():
            db.execute(text("INSERT INTO activity_type (no, description) VALUES (1, 'Termin')"))
        for number, email in enumerate(emails):
            db.execute(
                text("INSERT INTO employee (number, name, email) VALUES (:n, :e, :e)"),
                {"n": f"G{number}", "e": email},
            )
    config.add_connection(
        engine,
        ConnectionConfig(
            name=CONNECTION,
            backend=Backend.GRAPH,
            auth=Auth.APP,
            tenant_id=TENANT,
            client_id=CLIENT,
            token_url=f"{base_url}/{{tenant}}/oauth2/v2.0/token",
            ca_bundle=ca_file,
        ),
        SECRET,
    )
    config.set_options(
        engine, CONNECTION, {"erp_time_zone": "Europe/Berlin", "delete_guard_percent": "100"}
    )
    config.add_personnel(engine, CONNECTION, emails)


def _erp_to_exchange(
    engine: Engine, counter: GraphCounter, table: Table, breakdowns: list[str], n: int, email: str
) -> None:
    def sync() -> None:
        _pass(engine, email)

    with engine.begin() as db:
        employee_id = db.execute(
            text("SELECT id FROM employee WHERE email = :e"), {"e": email}
        ).scalar_one()
        start = datetime.now().replace(microsecond=0) + timedelta(days=1)
        ids = [
            db.execute(
                text(
                    "INSERT INTO activity (kind, subject, start_at, end_at) VALUES "
                    "('appointment', :s, :a, :b) RETURNING id"
                ),
                {"s": f"Benchmark {i}", "a": start, "b": start + timedelta(hours=1)},
            ).scalar_one()
            for i in range(n)
        ]
        db.execute(
            text("INSERT INTO activity_participant (activity_id, employee_id) VALUES (:a, :e)"),
            [{"a": i, "e": employee_id} for i in ids],
        )
    for change, operation, edit in (
        ("created", "POST events", None),
        ("updated", "PATCH events", "UPDATE activity SET subject = subject || ' (moved)' "),
        ("deleted", "DELETE events", "DELETE FROM activity "),
    ):
        if edit is not None:
            with engine.begin() as db:
                db.execute(
                    text(
                        edit + "WHERE id IN (SELECT activity_id FROM "
                        "activity_participant WHERE employee_id = :e)"
                    ),
                    {"e": employee_id},
                )
        measured = counter.measure(sync)
        carried = sum(
            c for label, c in measured.items() if label.startswith("$batch") and operation in label
        ) + sum(c for label, c in measured.items() if label.endswith("delta"))
        _row(
            table,
            breakdowns,
            n,
            f"ERP → Exchange, {change}",
            f"$batch {operation} + delta",
            measured,
            carried,
            math.ceil(n / BATCH) + FOLDERS,
        )


def _exchange_to_erp(
    engine: Engine,
    counter: GraphCounter,
    table: Table,
    breakdowns: list[str],
    n: int,
    base_url: str,
    ca_file: Path,
    email: str,
) -> None:
    trust = ssl.create_default_context(cafile=str(ca_file))
    with httpx.Client(base_url=f"{base_url}/v1.0", verify=trust, timeout=60) as http:
        token = http.post(
            f"{base_url}/{TENANT}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": CLIENT,
                "client_secret": SECRET,
                "scope": f"{GRAPH_RESOURCE}/.default",
            },
        ).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
        wall = {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}
        end = {
            "dateTime": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"),
            "timeZone": "UTC",
        }
        events = [
            {
                "id": str(i),
                "method": "POST",
                "url": f"/users/{email}/events",
                "headers": {"Content-Type": "application/json"},
                "body": {"subject": f"From Outlook {i}", "start": wall, "end": end},
            }
            for i in range(n)
        ]
        for first in range(0, n, BATCH):
            http.post("/$batch", json={"requests": events[first : first + BATCH]})
    measured = counter.measure(lambda: _pass(engine, email))
    carried = sum(
        c
        for label, c in measured.items()
        if label.endswith("delta") or label == "$batch GET events"
    )
    # Delta pages hold PAGE items; the $batch reads of their items are above the minimum.
    minimum = math.ceil(n / PAGE) + FOLDERS - 1
    _row(
        table,
        breakdowns,
        n,
        "Exchange → ERP, created",
        "delta + $batch GET",
        measured,
        carried,
        minimum,
    )


def _pass(engine: Engine, email: str) -> None:
    (outcome,) = sync_connection(engine, CONNECTION, employee=email)
    if not outcome.ok:
        raise SystemExit(
            f"the Graph benchmark pass over {email} failed: {outcome.problem} "
            f"{outcome.report.failures if outcome.report else ''}"
        )


def _row(
    table: Table,
    breakdowns: list[str],
    n: int,
    change: str,
    operation: str,
    measured: Counter[str],
    carried: int,
    minimum: int,
) -> None:
    table.add_row(
        str(n), change, operation, str(carried), str(minimum), str(sum(measured.values()) - carried)
    )
    breakdowns.append(
        f"N={n}, {change}: "
        + ", ".join(f"{label} {count}" for label, count in sorted(measured.items()))
    )


def _table() -> Table:
    table = Table(title="Graph requests per pass for N changes")
    for name, justify in (
        ("N", "right"),
        ("change", "left"),
        ("operation", "left"),
        ("requests", "right"),
        ("minimum", "right"),
        ("rest of the pass", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    return table
