"""`esexchange demo`: sample ERP + a sandbox (EWS, or Graph with ``--backend graph``) + a
connection, synchronized both ways."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine

from esexchange import config, demo, demo_graph
from esexchange.cli.common import out, reports_errors
from esexchange.cli.render import outcome_table, progress_bar
from esexchange.config import Backend
from esexchange.inprocess import BackgroundServer
from esexchange.sandbox.ews.app import create_sandbox
from esexchange.sandbox.graph.app import create_graph_sandbox
from esexchange.sandbox.tls import ensure_tls_files
from esexchange.service.metrics import ServiceMetrics
from esexchange.service.runner import sync_connection
from esexchange.service.summary import movement
from esexchange.web.app import create_app
from esexchange.web.console import Console


@reports_errors
def run(
    once: Annotated[bool, typer.Option(help="Stop after the first pass (for scripts).")] = False,
    folder_path: Annotated[
        Path, typer.Option("--dir", help="Where the demo keeps its ERP and sandbox state.")
    ] = Path("demo-data"),
    port: Annotated[
        int, typer.Option(help="Loopback port of the sandbox (0: any free port).")
    ] = 8765,
    interval: Annotated[
        int | None,
        typer.Option(metavar="SECONDS",
                     help="Seconds between passes (default: the interval_minutes option)."),
    ] = None,
    backend: Annotated[
        Backend, typer.Option(help="ews: the EWS sandbox (Exchange 2016); graph: the Graph "
                              "sandbox (Exchange Online).")
    ] = Backend.EWS,
    console_port: Annotated[
        int, typer.Option(help="Loopback port of the admin console (0: any free port).")
    ] = 8080,
) -> None:
    """Run esExchange on sample ERP data and a built-in sandbox, both ways, with the
    admin console.

    Keeps synchronizing at the interval until Ctrl-C; --once stops after one pass.
    """
    console = out()
    folder = demo.use_folder(folder_path)
    engine = demo.prepare_erp(folder, console.print)
    try:
        console_app = create_app(engine, ServiceMetrics(engine), Console(engine).routes())
        console_password = demo.console_admin(engine, folder)
        with BackgroundServer(console_app, port=console_port) as console_server:
            console.print(f"Admin console at {console_server.base_url}/ : sign in as "
                          f"{demo.CONSOLE_ADMIN}, password {console_password} "
                          "(a demo-only password)", soft_wrap=True)
            if backend is Backend.GRAPH:
                _run_graph(engine, folder, port, once, interval)
            else:
                _run_ews(engine, folder, port, once, interval)
    except KeyboardInterrupt:
        console.print(f"Stopped. Run `{demo.esexchange_command()} demo` again to continue where "
                      "it stopped.")
    finally:
        engine.dispose()


def _run_ews(engine: Engine, folder: demo.DemoFolder, port: int, once: bool,
             interval: int | None) -> None:
    console = out()
    people = demo.sample_employees(engine)
    directory, password = demo.sandbox_directory(folder, people)
    fresh = not folder.state.exists()
    sandbox = create_sandbox(directory, state_file=folder.state)
    with BackgroundServer(sandbox.app, port=port) as server:
        ews_url = f"{server.base_url}/EWS/Exchange.asmx"
        console.print(f"EWS sandbox serving {len(people)} mailboxes at {ews_url}")
        if fresh:
            made = demo.seed_mailboxes(ews_url, password, people)
            console.print(f"Put {made} items into mailboxes as their users' Outlook would.")
        demo.configure_connection(engine, ews_url, password, people)
        _passes(engine, demo.CONNECTION, once, interval,
                demo.instructions(folder, ews_url, password, people[0].email))


def _run_graph(engine: Engine, folder: demo.DemoFolder, port: int, once: bool,
               interval: int | None) -> None:
    console = out()
    files = demo_graph.GraphFiles(folder.root)
    people = demo.sample_employees(engine)
    directory, graph_app = demo_graph.graph_directory(files, people)
    fresh = not files.state.exists()
    tls = ensure_tls_files(files.tls)
    sandbox = create_graph_sandbox(directory, state_file=files.state)
    with BackgroundServer(sandbox, port=port, ssl_certfile=str(tls.certfile),
                          ssl_keyfile=str(tls.keyfile)) as server:
        console.print(f"Graph sandbox serving {len(people)} mailboxes at "
                      f"{server.base_url}/v1.0 (CA {tls.ca_file})", soft_wrap=True)
        if fresh:
            made = demo_graph.seed_mailboxes(server.base_url, graph_app, tls.ca_file, people)
            console.print(f"Put {made} items into mailboxes as their users' Outlook would.")
        demo_graph.configure_connection(engine, server.base_url, graph_app, tls.ca_file, people)
        _passes(engine, demo_graph.CONNECTION, once, interval, demo_graph.instructions(
            files, server.base_url, graph_app, tls.ca_file, folder.db_url, people[0].email))


def _passes(engine: Engine, connection: str, once: bool, interval: int | None,
            instructions: str) -> None:
    """Synchronize once, or every interval until Ctrl-C, printing what moved."""
    console = out()
    seconds = interval or 60 * config.options(engine, connection).interval_minutes
    number = 0
    while True:
        number += 1
        with progress_bar(console, f"Pass {number}") as bar:
            outcomes = sync_connection(engine, connection, progress=bar)
        if number > 1 and all(o.report is not None and o.ok
                              and movement(o.report).total == 0 for o in outcomes):
            console.print(f"Pass {number}: nothing changed on either side.")
        else:
            console.print(outcome_table(f"Pass {number}: what moved", outcomes))
        if number == 1:
            console.print(instructions, markup=False, highlight=False)
        if once:
            return
        console.print(f"Next pass in {seconds} s; Ctrl-C stops.")
        time.sleep(seconds)
