"""How many EWS requests a pass needs for N changes, next to the minimum (and then the
same for Graph: ``graph_requests_per_pass``).

Run with ``make bench`` (``python -m benchmarks.requests_per_pass``). Everything runs in
this process: a SQLite ERP in a temporary folder and the EWS sandbox on a loopback port.
The requests are counted where Exchange would count them, at the server, by SOAP
operation. For each N (1, 100, 1000) one mailbox goes through:

1. ERP -> Exchange: N new appointments, then N updated, then N deleted (one pass each);
2. Exchange -> ERP: N appointments made in Outlook, then one pass.

The minimum is ceil(N / batch size) requests of the operation that carries the change
(CreateItem, UpdateItem, DeleteItem; for Exchange -> ERP, SyncFolderItems pages of 512
changes plus GetItem batches of the content; the SyncFolderItems count includes the one
read of the unchanged tasks folder). The rest of a pass (authentication and version
probes, master category list, reading both folders, looking for stamped items, reading
the current versions before an update) is shown apart. It prints figures; it asserts
nothing.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet
from exchangelib import (
    BASIC,
    IMPERSONATION,
    Account,
    CalendarItem,
    Configuration,
    Credentials,
    EWSDateTime,
    EWSTimeZone,
)
from exchangelib.items import SEND_TO_NONE
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from esexchange import config
from esexchange.config import Auth, Backend, ConnectionConfig
from esexchange.erp.db import open_engine
from esexchange.erp.script import install
from esexchange.exchange.ews.settings import EwsSettings
from esexchange.inprocess import BackgroundServer
from esexchange.sandbox.directory import AccountEntry, Directory, MailboxEntry
from esexchange.sandbox.ews.app import create_sandbox
from esexchange.secrets import KEY_ENV
from esexchange.service.runner import sync_connection

SIZES = (1, 100, 1000)
BATCH = EwsSettings(ews_url="", auth=None).batch_size  # type: ignore[arg-type]
SYNC_PAGE = 512
UPN, PASSWORD = "svc-bench@example.test", "bench-password"
CONNECTION = "bench"
_BREAKDOWNS: list[str] = []
"""Every request of each measured pass, by operation, printed after the table."""
_OPERATION = re.compile(rb"<(?:[\w-]+:)?Body[^>]*>\s*<(?:[\w-]+:)?(\w+)")


class OperationCounter:
    """ASGI middleware counting EWS requests by SOAP operation (the Body's first element)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.counts: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].lower().startswith("/ews/"):
            await self.app(scope, receive, send)
            return
        body = bytearray()
        counted = False

        def count() -> None:
            nonlocal counted
            if not counted:
                counted = True
                match = _OPERATION.search(bytes(body))
                # exchangelib's first POST carries no body: it probes the authentication.
                self.counts[match.group(1).decode() if match else "auth probe"] += 1

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


def main() -> None:
    os.environ.setdefault(KEY_ENV, Fernet.generate_key().decode())  # this process only
    console = Console()
    with tempfile.TemporaryDirectory() as folder:
        engine = open_engine(f"sqlite:///{Path(folder) / 'erp.sqlite'}")
        install(engine)
        emails = [f"bench{n}-{way}@example.test" for n in SIZES for way in ("out", "in")]
        directory = Directory(
            mailboxes=tuple(MailboxEntry(e, e, "Europe/Berlin") for e in emails),
            accounts=(AccountEntry(UPN, PASSWORD, ("*",)),),
        )
        counter = OperationCounter(create_sandbox(directory).app)
        with BackgroundServer(counter) as server:
            url = f"{server.base_url}/EWS/Exchange.asmx"
            _configure(engine, url, emails)
            table = _table()
            for n in SIZES:
                _erp_to_exchange(engine, counter, table, n, f"bench{n}-out@example.test")
                _exchange_to_erp(engine, counter, table, n, url, f"bench{n}-in@example.test")
        engine.dispose()
    console.print(table)
    console.print(f"Batch size {BATCH} items per request; SyncFolderItems pages of {SYNC_PAGE}.")
    console.print("All requests of each pass, by SOAP operation:")
    for line in _BREAKDOWNS:
        console.print(f"  {line}", soft_wrap=True)
    from benchmarks import graph_requests_per_pass  # the same passes on a Graph connection

    graph_requests_per_pass.run(console)


def _configure(engine: Engine, url: str, emails: list[str]) -> None:
    with engine.begin() as db:
        db.execute(text("INSERT INTO activity_type (no, description) VALUES (1, 'Termin')"))
        for number, email in enumerate(emails):
            db.execute(text("INSERT INTO employee (number, name, email) VALUES (:n, :e, :e)"),
                       {"n": f"B{number}", "e": email})
    config.add_connection(
        engine, ConnectionConfig(name=CONNECTION, backend=Backend.EWS, auth=Auth.USER,
                                 ews_url=url, upn=UPN), PASSWORD)
    config.set_options(engine, CONNECTION, {"erp_time_zone": "Europe/Berlin",
                                            "delete_guard_percent": "100"})
    config.add_personnel(engine, CONNECTION, emails)


def _erp_to_exchange(engine: Engine, counter: OperationCounter, table: Table, n: int,
                     email: str) -> None:
    def sync() -> None:
        _pass(engine, email)

    with engine.begin() as db:
        employee_id = db.execute(text("SELECT id FROM employee WHERE email = :e"),
                                 {"e": email}).scalar_one()
        start = datetime.now().replace(microsecond=0) + timedelta(days=1)
        ids = []
        for i in range(n):
            ids.append(db.execute(
                text("INSERT INTO activity (kind, subject, start_at, end_at) VALUES "
                     "('appointment', :s, :a, :b) RETURNING id"),
                {"s": f"Benchmark {i}", "a": start, "b": start + timedelta(hours=1)},
            ).scalar_one())
        db.execute(text("INSERT INTO activity_participant (activity_id, employee_id) "
                        "VALUES (:a, :e)"), [{"a": i, "e": employee_id} for i in ids])
    _row(table, n, "ERP → Exchange, created", "CreateItem", counter.measure(sync))
    with engine.begin() as db:
        db.execute(text("UPDATE activity SET subject = subject || ' (moved)' "
                        "WHERE id IN (SELECT activity_id FROM activity_participant "
                        "WHERE employee_id = :e)"), {"e": employee_id})
    _row(table, n, "ERP → Exchange, updated", "UpdateItem", counter.measure(sync))
    with engine.begin() as db:
        db.execute(text("DELETE FROM activity WHERE id IN (SELECT activity_id FROM "
                        "activity_participant WHERE employee_id = :e)"), {"e": employee_id})
    _row(table, n, "ERP → Exchange, deleted", "DeleteItem", counter.measure(sync))


def _exchange_to_erp(engine: Engine, counter: OperationCounter, table: Table, n: int,
                     url: str, email: str) -> None:
    account = Account(
        primary_smtp_address=email, autodiscover=False, access_type=IMPERSONATION,
        config=Configuration(service_endpoint=url, credentials=Credentials(UPN, PASSWORD),
                             auth_type=BASIC),
        default_timezone=EWSTimeZone("UTC"),
    )
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    items = [
        CalendarItem(folder=account.calendar, subject=f"From Outlook {i}",
                     start=EWSDateTime.from_datetime(start),
                     end=EWSDateTime.from_datetime(start + timedelta(hours=1)))
        for i in range(n)
    ]
    account.bulk_create(folder=account.calendar, items=items,
                        send_meeting_invitations=SEND_TO_NONE, chunk_size=BATCH)
    measured = counter.measure(lambda: _pass(engine, email))
    minimum = math.ceil(n / SYNC_PAGE) + math.ceil(n / BATCH)
    carried = measured["SyncFolderItems"] + measured["GetItem"]
    table.add_row(str(n), "Exchange → ERP, created", "SyncFolderItems + GetItem",
                  str(carried), str(minimum), str(sum(measured.values()) - carried))
    _BREAKDOWNS.append(f"N={n}, Exchange → ERP, created: {_breakdown(measured)}")


def _pass(engine: Engine, email: str) -> None:
    (outcome,) = sync_connection(engine, CONNECTION, employee=email)
    if not outcome.ok:
        raise SystemExit(f"the benchmark pass over {email} failed: {outcome.problem} "
                         f"{outcome.report.failures if outcome.report else ''}")


def _row(table: Table, n: int, change: str, operation: str, measured: Counter[str]) -> None:
    carried = measured[operation]
    table.add_row(str(n), change, operation, str(carried), str(math.ceil(n / BATCH)),
                  str(sum(measured.values()) - carried))
    _BREAKDOWNS.append(f"N={n}, {change}: {_breakdown(measured)}")


def _table() -> Table:
    table = Table(title="EWS requests per pass for N changes")
    for name, justify in (("N", "right"), ("change", "left"), ("operation", "left"),
                          ("requests", "right"), ("minimum", "right"),
                          ("rest of the pass", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    return table


def _breakdown(measured: Counter[str]) -> str:
    return ", ".join(f"{op} {count}" for op, count in sorted(measured.items()))


if __name__ == "__main__":
    main()
