"""``esexchange run`` (the service) and ``esexchange admin create`` (console accounts)."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from esexchange.cli.common import DbOption, database, fail, out, reports_errors
from esexchange.erp.db import end_abandoned_transactions
from esexchange.inprocess import BackgroundServer
from esexchange.service.admins import create_admin
from esexchange.service.daemon import ServiceSettings, SyncService
from esexchange.service.leases import LEASE_DURATION, abandoned_after
from esexchange.service.metrics import ServiceMetrics
from esexchange.service.realtime import RealtimeSettings
from esexchange.service.webhooks import NotificationInbox
from esexchange.web.app import create_app
from esexchange.web.console import Console

admin_app = typer.Typer(no_args_is_help=True, help="Administrator accounts of the console.")


@reports_errors
def run(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Address the console listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the console and /metrics.")] = 8080,
    workers: Annotated[int, typer.Option(min=1, max=64,
                                         help="Mailboxes synchronized at once.")] = 4,
    interval_seconds: Annotated[
        int | None, typer.Option(min=1, help="Seconds between two passes over a mailbox, "
                                 "for every connection (default: interval_minutes).")
    ] = None,
    lease_seconds: Annotated[
        int, typer.Option(min=3, help="How long a mailbox's lease lasts between renewals; "
                          "a dead worker's mailboxes are taken over after it.")
    ] = int(LEASE_DURATION.total_seconds()),
    realtime: Annotated[bool, typer.Option(
        help="Start a pass within seconds of a change: ERP journal notifications, EWS "
             "streaming notifications, a short Graph poll. Off: passes at the interval only."
    )] = True,
    graph_poll_seconds: Annotated[float, typer.Option(
        min=1, help="Seconds between two passes over a Graph mailbox without change "
                    "notifications while --realtime.")
    ] = RealtimeSettings.graph_poll,
    graph_subscription_minutes: Annotated[float | None, typer.Option(
        min=0.2, help="Lifetime asked for a Graph change notification subscription "
                      "(default: the longest Graph gives); renewed when half is gone.")
    ] = None,
    tls_certfile: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False,
        help="Serve the console (and /graph/notifications) over HTTPS with this "
             "certificate (PEM); needs --tls-keyfile.")] = None,
    tls_keyfile: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="The private key of --tls-certfile (PEM).")] = None,
) -> None:
    """Run the service: synchronize every connection at its interval, and each mailbox
    within seconds of a change on either side (--realtime); serve the console.

    Graph connections with the option graph_notification_url get change notifications
    at /graph/notifications of this web server instead of the poll.

    Several `esexchange run` on one PostgreSQL database share the mailboxes. SIGTERM or
    Ctrl-C lets the passes in flight finish, records them, and exits.
    """
    if (tls_certfile is None) != (tls_keyfile is None):
        raise fail("--tls-certfile and --tls-keyfile go together")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with database(db) as engine:
        # A hung worker's open transaction must not hold the locks its successor needs.
        end_abandoned_transactions(engine, abandoned_after(timedelta(seconds=lease_seconds)))
        metrics = ServiceMetrics(engine)
        interval = timedelta(seconds=interval_seconds) if interval_seconds else None
        inbox = NotificationInbox(lambda outcome: metrics.notifications.labels(outcome).inc())
        running: list[SyncService] = []
        console = Console(engine, interval=interval, graph_notifications=lambda: (
            running[0].graph_notification_states() if running else {}))
        app = create_app(engine, metrics, [*inbox.routes(), *console.routes()])
        stop = threading.Event()

        def on_signal(number: int, _frame: FrameType | None) -> None:
            logging.getLogger(__name__).info("signal %d: stopping after the passes in flight",
                                             number)
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        tls = {"ssl_certfile": str(tls_certfile), "ssl_keyfile": str(tls_keyfile)} \
            if tls_certfile else {}
        with BackgroundServer(app, host=host, port=port, **tls) as server:
            settings = ServiceSettings(
                workers=workers, lease=timedelta(seconds=lease_seconds), interval=interval,
                address=server.base_url,
                realtime=RealtimeSettings(
                    enabled=realtime, graph_poll=graph_poll_seconds,
                    graph_subscription=timedelta(minutes=graph_subscription_minutes)
                    if graph_subscription_minutes else None),
            )
            service = SyncService(engine, settings, metrics, inbox=inbox)
            running.append(service)
            out().print(f"esExchange service {service.holder}: console at {server.base_url}/ "
                        f"(metrics at {server.base_url}/metrics)", soft_wrap=True)
            sys.stdout.flush()
            service.run(stop)
        out().print("Stopped; every pass that started was recorded.")


@admin_app.command("create")
@reports_errors
def create(
    name: Annotated[str, typer.Argument(help="The account's sign-in name.")],
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from standard input.")] = False,
    db: DbOption = None,
) -> None:
    """Make a console administrator account (the password is stored as an argon2 hash)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise fail(f"admin {name}: no password given on standard input")
    with database(db) as engine:
        create_admin(engine, name, password)
    out().print(f"Admin {name} created; sign in to the console of `esexchange run`.")
