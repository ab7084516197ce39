"""What every command shares: the ``--db`` option, opening the database, printing.

A user error (an ``EsExchangeError``) is printed as one line on stderr that says what
to fix, and the command exits with code 2. Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine

from esexchange.domain.errors import EsExchangeError
from esexchange.domain.model import Employee
from esexchange.erp.db import ENV_VAR, check_reachable, open_engine
from esexchange.erp.script import require_current

USER_ERROR = 2

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar=ENV_VAR,
        show_envvar=True,
        metavar="URL",
        help="The ERP database: sqlite:///path/erp.db or postgresql://user@host/dbname.",
    ),
]

ConnectionName = Annotated[
    str, typer.Argument(metavar="NAME", help="The connection's name (see `connection list`).")
]

P = ParamSpec("P")
R = TypeVar("R")


def out() -> Console:
    """The console for results (stdout). Piped output is not wrapped at 80 columns."""
    return Console(width=None if sys.stdout.isatty() else 200, highlight=False)


def err() -> Console:
    """The console for errors and warnings (stderr)."""
    return Console(stderr=True, width=None if sys.stderr.isatty() else 200, highlight=False)


def warn(message: str) -> None:
    """One warning line on stderr."""
    err().print(f"[yellow]warning:[/] {escape(message)}", soft_wrap=True)


@contextmanager
def database(url: str | None) -> Iterator[Engine]:
    """The engine for ``--db``/``ESEXCHANGE_DB``, checked to be reachable and installed;
    its connections are closed when the command ends."""
    engine = open_engine(url)
    try:
        check_reachable(engine)
        with engine.connect() as db:
            require_current(db)
        yield engine
    finally:
        engine.dispose()


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn user errors into one line on stderr and exit code 2."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except EsExchangeError as error:
            err().print(f"[bold red]error:[/] {escape(str(error))}", soft_wrap=True)
            raise typer.Exit(USER_ERROR) from None

    return run


def fail(message: str) -> typer.Exit:
    """Print a user error and return the exit to raise: ``raise fail("...")``."""
    err().print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(USER_ERROR)


def not_synced_reason(person: Employee) -> str:
    """Why an employee on the list is reported instead of synchronized."""
    if person.employment_status == "left":
        return "has left"
    return "may not create appointments"


def on_off(value: bool) -> str:
    """How a switch is shown and typed: on or off."""
    return "on" if value else "off"
