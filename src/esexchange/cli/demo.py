"""`esexchange demo`: sample ERP + EWS sandbox + a connection, synchronized both ways."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from esexchange import config, demo
from esexchange.cli.common import out, reports_errors
from esexchange.cli.render import outcome_table, progress_bar
from esexchange.inprocess import BackgroundServer
from esexchange.sandbox.ews.app import create_sandbox
from esexchange.service.runner import sync_connection
from esexchange.service.summary import movement


@reports_errors
def run(
    once: Annotated[bool, typer.Option(help="Stop after the first pass (for scripts).")] = False,
    folder_path: Annotated[
        Path, typer.Option("--dir", help="Where the demo keeps its ERP and sandbox state.")
    ] = Path("demo-data"),
    port: Annotated[
        int, typer.Option(help="Loopback port of the EWS sandbox (0: any free port).")
    ] = 8765,
    interval: Annotated[
        int | None,
        typer.Option(metavar="SECONDS",
                     help="Seconds between passes (default: the interval_minutes option)."),
    ] = None,
) -> None:
    """Run esExchange on sample ERP data and the built-in EWS sandbox, both ways.

    Keeps synchronizing at the interval until Ctrl-C; --once stops after one pass.
    """
    console = out()
    folder = demo.use_folder(folder_path)
    engine = demo.prepare_erp(folder, console.print)
    try:
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
            seconds = interval or 60 * config.options(engine, demo.CONNECTION).interval_minutes
            number = 0
            while True:
                number += 1
                with progress_bar(console, f"Pass {number}") as bar:
                    outcomes = sync_connection(engine, demo.CONNECTION, progress=bar)
                if number > 1 and all(o.report is not None and o.ok
                                      and movement(o.report).total == 0 for o in outcomes):
                    console.print(f"Pass {number}: nothing changed on either side.")
                else:
                    console.print(outcome_table(f"Pass {number}: what moved", outcomes))
                if number == 1:
                    console.print(demo.instructions(folder, ews_url, password, people[0].email),
                                  markup=False, highlight=False)
                if once:
                    return
                console.print(f"Next pass in {seconds} s; Ctrl-C stops.")
                time.sleep(seconds)
    except KeyboardInterrupt:
        console.print("Stopped. Run `esexchange demo` again to continue where it stopped.")
    finally:
        engine.dispose()
