"""`esexchange options ...`: the options of a connection (DESIGN.md §3)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine

from esexchange import config
from esexchange.cli.common import ConnectionName, DbOption, database, on_off, out, reports_errors
from esexchange.cli.reference import priority_label
from esexchange.config.priority_map import PRIORITY_OPTIONS
from esexchange.domain.mapping import MappingContext, default_activity_type
from esexchange.domain.model import Kind, Reference
from esexchange.service.hostzone import host_time_zone

app = typer.Typer(no_args_is_help=True, help="Options of a connection.")


@app.command("list")
@reports_errors
def list_(name: ConnectionName, db: DbOption = None) -> None:
    """Every option with its value; unset ones show the default that applies."""
    with database(db) as engine:
        settings = config.option_settings(engine, name)
        labels = _reference_labels(engine, name)
    table = Table("Option", "Value", "")
    for setting in settings:
        shown = labels.get(setting.key) or show_value(setting.value)
        table.add_row(setting.key, escape(shown), "" if setting.explicit else "(default)")
    out().print(table)


@app.command("set")
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
        current = config.set_option(engine, name, key, value)
        shown = _reference_labels(engine, name).get(key) or show_value(getattr(current, key))
    out().print(f"{name}: {key} = {escape(shown)}")


def show_value(value: object) -> str:
    """An option value as it is typed: on/off, ISO times, enum values."""
    if isinstance(value, bool):
        return on_off(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    return "" if value is None else str(value)


def _reference_labels(engine: Engine, name: str) -> dict[str, str]:
    """Options whose value is best shown in words: ERP priorities and activity types by
    number and name, and what a derived default stands for right now."""
    options = config.options(engine, name)
    types = config.activity_types(engine)
    context = MappingContext(options, Reference(activity_types=tuple(types)), ZoneInfo("UTC"))
    descriptions = {t.no: t.description for t in types}
    labels = {}
    if options.start_sync_at is None:
        labels["start_sync_at"] = "now minus 30 days"
    if options.erp_time_zone is None:
        labels["erp_time_zone"] = f"the host's zone, {host_time_zone()}"
    for key, kind in (("default_activity_type_appointment", Kind.APPOINTMENT),
                      ("default_activity_type_task", Kind.TASK)):
        no = default_activity_type(kind, context)
        label = "none" if no is None else f"{no} {descriptions.get(no, '(no longer in the ERP)')}"
        labels[key] = label if getattr(options, key) is not None else f"lowest type, {label}"
    for choice in config.priority_map(engine, name):
        label = priority_label(choice)
        labels[PRIORITY_OPTIONS[choice.importance]] = (
            label if choice.explicit else f"by rank, {label}"
        )
    return labels
