"""The ``esexchange`` command line: thin commands over the same functions the console uses.

Each command group lives in its own module; this one only assembles them.
"""

from __future__ import annotations

import typer

from esexchange.cli import (
    conflicts,
    connection,
    db,
    demo,
    options,
    personnel,
    reference,
    sandbox,
    service,
    status,
    sync,
)

app = typer.Typer(
    no_args_is_help=True,
    help="Two-way synchronization of ERP appointments and tasks with Microsoft Exchange.",
)
app.add_typer(db.app, name="db")
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(connection.app, name="connection")
app.add_typer(options.app, name="options")
app.add_typer(personnel.app, name="personnel")
app.add_typer(reference.activity_type_app, name="activity-type")
app.add_typer(reference.priority_app, name="priority")
app.command("sync")(sync.sync)
app.add_typer(sync.check_app, name="check")
app.command("token")(sync.token)
app.command("status")(status.status)
app.add_typer(conflicts.app, name="conflicts")
app.command("demo")(demo.run)
app.command("run")(service.run)
app.add_typer(service.admin_app, name="admin")
