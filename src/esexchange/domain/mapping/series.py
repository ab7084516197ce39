"""A series master's own fields in the canonical form: ``Item.recurrence`` (canonical
RRULE text of pattern and range) and ``Item.exdates`` (original starts of deleted
occurrences, naive wall times in the ERP zone, sorted).

Both sides' series repeat at the first occurrence's wall time in the connection's ERP
zone. A series Outlook keeps in another zone would put some occurrences an hour off
around the DST switches when written to the ERP, so it is refused, never converted.
A rule Outlook cannot show is refused with ``RecurrenceRefused``'s words.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time

from esexchange.domain.errors import ItemRejected, RecurrenceInvalid, RecurrenceRefused
from esexchange.domain.mapping.context import MappingContext
from esexchange.domain.mapping.times import utc_to_erp
from esexchange.domain.model import ErpActivity, ExchangeItem, Item, Kind, When

# The submodules, not the package: the package imports mapping.times, and mapping
# imports this module.
from esexchange.domain.recurrence import expand  # a module: it imports mapping.times
from esexchange.domain.recurrence.model import Recurrence
from esexchange.domain.recurrence.rrule import format_rrule, parse_rrule

Series = tuple[str | None, tuple[datetime, ...]]


def erp_series(activity: ErpActivity, ctx: MappingContext, label: str) -> Series:
    """``(recurrence, exdates)`` of an ERP row (``(None, ())`` for no series)."""
    if activity.recurrence is None:
        return None, ()
    if activity.kind is Kind.APPOINTMENT:
        first = activity.start_at
        if first is not None and activity.all_day:
            first = datetime.combine(first.date(), time())
    else:
        first = activity.start_at or activity.due_at
        first = None if first is None else datetime.combine(first.date(), time())
    if first is None:
        raise ItemRejected("a series needs its first occurrence, and it is empty",
                           item=label, field="start_at")
    recurrence = _parsed(activity.recurrence, first, ctx, label)
    return format_rrule(recurrence), tuple(sorted(activity.exdates))


def exchange_series(item: ExchangeItem, ctx: MappingContext, label: str) -> Series:
    """``(recurrence, exdates)`` of an Exchange master (``(None, ())`` for no series)."""
    recurrence = item.recurrence
    if recurrence is None:
        return None, ()
    if recurrence.time_zone != ctx.erp_zone.key:
        raise ItemRejected(
            f"the series repeats in time zone {recurrence.time_zone} and the ERP's is "
            f"{ctx.erp_zone.key}: some occurrences would move by an hour around the DST "
            "switches", item=label, field="recurrence")
    if item.kind is Kind.TASK:
        recurrence = _task_from_now_on(item, recurrence)
    bare = replace(recurrence, modified=frozenset(), deleted=frozenset())
    return format_rrule(bare), tuple(sorted(recurrence.deleted))


def _task_from_now_on(item: ExchangeItem, recurrence: Recurrence) -> Recurrence:
    """A recurring task's series counted from the occurrence it is at now (its start,
    else its due day), as the ERP row keeps it: To Do carries a series on in a new task
    that keeps the range it began with (its start day and number of occurrences), where
    Exchange moves the range on with the task."""
    current = item.start or item.due
    if current is None:
        return recurrence
    day = current.date() if isinstance(current, datetime) else current
    return expand.continued_from(recurrence, datetime.combine(day, recurrence.start.time()))


def item_recurrence(item: Item, ctx: MappingContext, label: str) -> Recurrence | None:
    """The ``Recurrence`` of a canonical series (its deleted occurrences included)."""
    if item.recurrence is None:
        return None
    first = first_wall_time(item, ctx)
    if first is None:
        raise ItemRejected("a series needs its first occurrence, and it is empty",
                           item=label, field="start")
    return replace(_parsed(item.recurrence, first, ctx, label), deleted=frozenset(item.exdates))


def first_wall_time(item: Item, ctx: MappingContext) -> datetime | None:
    """The first occurrence's start as a naive wall time in the ERP zone."""
    first: When | None = item.start if item.kind is Kind.APPOINTMENT else (item.start or item.due)
    if first is None:
        return None
    if isinstance(first, datetime):
        return utc_to_erp(first, ctx.erp_zone)
    return datetime.combine(first, time())


def _parsed(text: str, first: datetime, ctx: MappingContext, label: str) -> Recurrence:
    try:
        return parse_rrule(text, start=first, time_zone=ctx.erp_zone.key)
    except RecurrenceRefused as refused:
        raise ItemRejected(str(refused), item=label, field="recurrence") from refused
    except RecurrenceInvalid as invalid:
        raise ItemRejected(f"not an RFC 5545 RRULE: {invalid}", item=label,
                           field="recurrence") from invalid
