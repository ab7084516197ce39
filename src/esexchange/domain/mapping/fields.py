"""Which fields of each side carry a canonical ``Item`` field.

Updates are written field by field: the planner names the canonical fields that changed
and writes only the side fields these tables give. A subject longer than the ERP column
therefore stays whole in Exchange until the ERP itself changes the subject.
"""

from __future__ import annotations

from collections.abc import Iterable

from esexchange.domain.mapping.context import MappingContext

ERP_COLUMNS: dict[str, frozenset[str]] = {
    "subject": frozenset({"subject"}),
    "body": frozenset({"text"}),
    "start": frozenset({"start_at", "all_day"}),
    "end": frozenset({"end_at", "all_day"}),
    "location": frozenset({"location"}),
    "private": frozenset({"private"}),
    "importance": frozenset({"priority_id"}),
    "activity_type_no": frozenset({"activity_type_no"}),
    "reminder_minutes": frozenset({"reminder_minutes"}),
    "due": frozenset({"due_at"}),
    "status": frozenset({"status", "completed_at"}),
    "percent_complete": frozenset({"percent_complete"}),
    "equipment": frozenset(),
    "priority_name": frozenset(),
    "recurrence": frozenset({"recurrence"}),
    "exdates": frozenset({"exdates"}),
}
"""Canonical field -> ``ErpActivity`` fields. Equipment and the priority name are the
ERP's own data: the sync never writes them there."""

_EXCHANGE_FIELDS: dict[str, frozenset[str]] = {
    "subject": frozenset({"subject"}),
    "body": frozenset({"body"}),
    "start": frozenset({"start"}),
    "end": frozenset({"end"}),
    "location": frozenset({"location"}),
    "private": frozenset({"sensitivity"}),
    "importance": frozenset({"importance"}),
    "activity_type_no": frozenset({"categories"}),
    "reminder_minutes": frozenset({"reminder_minutes"}),
    "due": frozenset({"due"}),
    "status": frozenset({"status"}),
    "percent_complete": frozenset({"percent_complete"}),
    "equipment": frozenset(),
    "priority_name": frozenset(),
    "recurrence": frozenset({"recurrence"}),
    "exdates": frozenset({"recurrence"}),
}


def erp_fields(changed: Iterable[str]) -> frozenset[str]:
    """The ``ErpActivity`` fields to write for the changed canonical ``Item`` fields."""
    return frozenset().union(*(_lookup(ERP_COLUMNS, name) for name in changed))


def exchange_carriers(names: Iterable[str]) -> frozenset[str]:
    """The ``ExchangeItem`` fields that carry the canonical ``Item`` fields ``names``."""
    return frozenset().union(*(_lookup(_EXCHANGE_FIELDS, name) for name in names))


def exchange_fields(changed: Iterable[str], ctx: MappingContext) -> frozenset[str]:
    """The ``ExchangeItem`` fields to write for the changed canonical ``Item`` fields.

    The body also carries the trailer: it is written when the priority (with
    ``priority_as_text``) or the equipment (with ``equipment_as_text``) changed.
    Categories are not written when ``sync_activity_type`` is off.
    """
    options = ctx.options
    result: set[str] = set()
    for name in changed:
        result |= _lookup(_EXCHANGE_FIELDS, name)
        if name in ("importance", "priority_name") and options.priority_as_text:
            result.add("body")
        if name == "equipment" and options.equipment_as_text:
            result.add("body")
    if not options.sync_activity_type:
        result.discard("categories")
    return frozenset(result)


def _lookup(table: dict[str, frozenset[str]], name: str) -> frozenset[str]:
    try:
        return table[name]
    except KeyError:
        raise ValueError(f"{name!r} is not a field of Item") from None
