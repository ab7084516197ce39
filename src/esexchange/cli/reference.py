"""`esexchange activity-type color` and `esexchange priority map`: how ERP reference data
looks in Outlook."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from esexchange import config
from esexchange.cli.common import ConnectionName, DbOption, database, out, reports_errors
from esexchange.config import color_name, parse_color
from esexchange.config.labels import priority_label
from esexchange.domain.mapping import category_name
from esexchange.domain.model import ActivityType, Importance

activity_type_app = typer.Typer(no_args_is_help=True, help="Activity types in Outlook.")
priority_app = typer.Typer(no_args_is_help=True, help="ERP priorities and Outlook importance.")


@activity_type_app.command("color")
@reports_errors
def color(
    no: Annotated[int | None, typer.Argument(help="Activity type number.")] = None,
    words: Annotated[
        list[str] | None,
        typer.Argument(metavar="COLOR", help='Outlook colour: a name ("light green") or -1..24.'),
    ] = None,
    db: DbOption = None,
) -> None:
    """Set the Outlook colour of an activity type's category; lists them without arguments."""
    with database(db) as engine:
        if no is not None and words:
            changed = config.set_activity_type_color(engine, no, parse_color(" ".join(words)))
            out().print(f"Activity type {changed.no} ({escape(changed.description)}): "
                        f"{color_name(changed.color)} ({changed.color})")
            return
        types = config.activity_types(engine)
    table = Table("No", "Description", "Category", "Colour")
    for t in types:
        if no is None or t.no == no:
            table.add_row(str(t.no), escape(t.description), escape(category_name(t)),
                          _color(t))
    out().print(table)


@priority_app.command("map")
@reports_errors
def map_(
    name: ConnectionName,
    low: Annotated[
        str | None, typer.Option(metavar="ID|NAME", help="ERP priority for Low.")
    ] = None,
    normal: Annotated[
        str | None, typer.Option(metavar="ID|NAME", help="ERP priority for Normal.")
    ] = None,
    high: Annotated[
        str | None, typer.Option(metavar="ID|NAME", help="ERP priority for High.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Map Outlook's Low/Normal/High to ERP priorities ('default' = by rank); shows the map."""
    chosen = {
        importance: text
        for importance, text in ((Importance.LOW, low), (Importance.NORMAL, normal),
                                 (Importance.HIGH, high))
        if text is not None
    }
    with database(db) as engine:
        if chosen:
            current = config.set_priority_map(engine, name, chosen)
        else:
            current = config.priority_map(engine, name)
    table = Table("Outlook", "ERP priority", "")
    for choice in current:
        table.add_row(choice.importance.value, escape(priority_label(choice)),
                      "" if choice.explicit else "(default, by rank)")
    out().print(table)
    out().print("ERP priorities outside this map go to Exchange as Normal.")


def _color(t: ActivityType) -> str:
    return f"{color_name(t.color)} ({t.color})"
