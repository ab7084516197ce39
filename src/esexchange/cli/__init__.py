"""The ``esexchange`` command line: thin commands over the same functions the console uses.

Each command group lives in its own module; this one only assembles them.
"""

from __future__ import annotations

import typer

from esexchange.cli import db, sandbox

app = typer.Typer(
    no_args_is_help=True,
    help="Two-way synchronization of ERP appointments and tasks with Microsoft Exchange.",
)
app.add_typer(db.app, name="db")
app.add_typer(sandbox.app, name="sandbox")
