"""Option values as a person reads and types them: on/off, ISO times, ERP priorities and
activity types by number and name, and what a derived default stands for right now.
Shared by ``esexchange options`` and the console."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from esexchange.config.connections import options as connection_options
from esexchange.config.priority_map import PRIORITY_OPTIONS, PriorityChoice, priority_map
from esexchange.config.reference import activity_types
from esexchange.domain.mapping import MappingContext, default_activity_type
from esexchange.domain.model import Kind, Reference
from esexchange.domain.options import effective_start
from esexchange.hostzone import host_time_zone


def show_value(value: object) -> str:
    """An option value as it is typed: on/off, ISO times, enum values."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    return "" if value is None else str(value)


def option_labels(engine: Engine, name: str) -> dict[str, str]:
    """Options whose value is best shown in words: ERP priorities and activity types by
    number and name, and what a derived default stands for right now."""
    options = connection_options(engine, name)
    types = activity_types(engine)
    context = MappingContext(options, Reference(activity_types=tuple(types)), ZoneInfo("UTC"))
    descriptions = {t.no: t.description for t in types}
    labels = {}
    start = start_label(options.start_sync_at, datetime.now(UTC))
    if start:
        labels["start_sync_at"] = start
    if options.erp_time_zone is None:
        labels["erp_time_zone"] = f"the host's zone, {host_time_zone()}"
    if options.graph_notification_url is None:
        labels["graph_notification_url"] = "off, a delta poll every few seconds"
    for key, kind in (("default_activity_type_appointment", Kind.APPOINTMENT),
                      ("default_activity_type_task", Kind.TASK)):
        no = default_activity_type(kind, context)
        label = "none" if no is None else f"{no} {descriptions.get(no, '(no longer in the ERP)')}"
        labels[key] = label if getattr(options, key) is not None else f"lowest type, {label}"
    for choice in priority_map(engine, name):
        label = priority_label(choice)
        labels[PRIORITY_OPTIONS[choice.importance]] = (
            label if choice.explicit else f"by rank, {label}"
        )
    return labels


def start_label(stored: datetime | None, now: datetime) -> str:
    """The start of synchronization in effect when it is not the stored value: now minus
    30 days, and why (unset, in the future, or more than 30 days back); "" otherwise."""
    effective = effective_start(stored, now)
    if stored == effective:
        return ""
    shown = f"now minus 30 days, {effective.isoformat(timespec='seconds')}"
    if stored is None:
        return shown
    why = "in the future" if stored > now else "more than 30 days back"
    return f"{shown} (clamped: {show_value(stored)} is {why})"


def priority_label(choice: PriorityChoice) -> str:
    """An ERP priority as shown beside an importance: id and name."""
    if choice.priority is not None:
        return f"{choice.priority.id} {choice.priority.name}"
    if choice.missing_id is not None:
        return f"{choice.missing_id} (no longer in the ERP: choose another)"
    return "none (the ERP has no priorities)"
