"""`esexchange options ...`: the options of a connection (docs/design.md §3)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from esexchange import config
from esexchange.cli.common import ConnectionName, DbOption, database, out, reports_errors
from esexchange.config.labels import option_labels, show_value
from esexchange.domain.options import remaps

app = typer.Typer(no_args_is_help=True, help="Options of a connection.")


@app.command("list")
@reports_errors
def list_(name: ConnectionName, db: DbOption = None) -> None:
    """Every option with its value; unset ones show the default that applies."""
    with database(db) as engine:
        settings = config.option_settings(engine, name)
        labels = option_labels(engine, name)
    table = Table("Option", "Value", "")
    for setting in settings:
        shown = labels.get(setting.key) or show_value(setting.value)
        table.add_row(setting.key, escape(shown), "" if setting.explicit else "(default)")
    out().print(table)


# A negative number is a value, for the option's own check, not an unknown flag.
@app.command("set", context_settings={"ignore_unknown_options": True})
@reports_errors
def set_(
    name: ConnectionName,
    key: Annotated[str, typer.Argument(help="An option key, as `options list` shows them.")],
    value: Annotated[str, typer.Argument(help="on/off, a number, an ISO time or a name.")],
    db: DbOption = None,
) -> None:
    """Set an option: on/off, a number, an ISO time (without an offset: ERP local time),
    a name; 'default' unsets it."""
    with database(db) as engine:
        before = config.options(engine, name)
        current = config.set_option(engine, name, key, value)
        shown = option_labels(engine, name).get(key) or show_value(getattr(current, key))
    out().print(f"{name}: {key} = {escape(shown)}")
    if remaps(before, current):
        out().print("This changes how items map: the next pass maps every linked item again "
                    "and writes only what changed.")
