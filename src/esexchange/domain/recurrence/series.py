"""A recurring ERP activity as one value: the master row, its rule, its exceptions.

In the ERP (DESIGN.md §2) a series is an ``activity`` row with ``recurrence`` (RRULE
text) whose ``start_at``/``end_at`` are the first occurrence; a modified occurrence is
its own row with ``series_id`` and ``original_start``; a deleted occurrence is a row of
``activity_exdate``. ``erp_series`` checks that these fit together and refuses the
whole series otherwise, naming the row and the field: a series is never synced half.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from esexchange.domain.errors import ItemRejected, RecurrenceInvalid, RecurrenceRefused
from esexchange.domain.model import ErpActivity, Kind
from esexchange.domain.recurrence.expand import is_generated
from esexchange.domain.recurrence.model import Recurrence
from esexchange.domain.recurrence.rrule import parse_rrule


@dataclass(frozen=True)
class ErpSeries:
    """A series master with its rule and its modified occurrences (by original start).

    ``recurrence.modified`` holds the exceptions' original starts and
    ``recurrence.deleted`` the master's ``activity_exdate`` rows.
    """

    master: ErpActivity
    recurrence: Recurrence
    exceptions: tuple[ErpActivity, ...] = ()


def erp_series(master: ErpActivity, exceptions: Sequence[ErpActivity], *,
               time_zone: str) -> ErpSeries:
    """The series of ``master`` (which has a ``recurrence``); ``ItemRejected`` if it does
    not fit together."""
    item = f"activity {master.id}"
    if master.recurrence is None:
        raise ValueError(f"{item} has no recurrence")
    start = master.start_at if master.kind is Kind.APPOINTMENT else (
        master.start_at or master.due_at)
    if start is None:
        field = "start_at" if master.kind is Kind.APPOINTMENT else "due_at"
        raise ItemRejected("a series needs its first occurrence, and it is empty",
                           item=item, field=field)
    recurrence = _parse(master, start, time_zone)
    if recurrence.regenerating and master.kind is not Kind.TASK:
        raise ItemRejected("only a task can regenerate after completion (X-REGENERATE=1)",
                           item=item, field="recurrence")
    if not recurrence.regenerating and not is_generated(recurrence, start):
        raise ItemRejected(
            f"the first occurrence {start:%Y-%m-%d %H:%M} is not one the rule "
            f"{master.recurrence} gives", item=item, field="start_at")
    modified: dict[datetime, ErpActivity] = {}
    for exception in exceptions:
        original = _checked_exception(master, exception, recurrence)
        if original in modified:
            raise ItemRejected(
                f"activities {modified[original].id} and {exception.id} both modify the "
                f"occurrence of {original:%Y-%m-%d %H:%M}", item=item, field="original_start")
        modified[original] = exception
    for original in master.exdates:
        if original in modified:
            raise ItemRejected(f"the occurrence of {original:%Y-%m-%d %H:%M} is both deleted "
                               "and modified", item=item, field="activity_exdate")
        _require_occurrence(recurrence, original, item, "activity_exdate")
    recurrence = replace(recurrence, modified=frozenset(modified),
                         deleted=frozenset(master.exdates))
    return ErpSeries(master, recurrence, tuple(modified[k] for k in sorted(modified)))


def _parse(master: ErpActivity, start: datetime, time_zone: str) -> Recurrence:
    assert master.recurrence is not None
    try:
        return parse_rrule(master.recurrence, start=start, time_zone=time_zone)
    except RecurrenceRefused as exc:
        raise ItemRejected(str(exc), item=f"activity {master.id}", field="recurrence") from exc
    except RecurrenceInvalid as exc:
        raise ItemRejected(f"not an RFC 5545 RRULE: {exc}", item=f"activity {master.id}",
                           field="recurrence") from exc


def _checked_exception(master: ErpActivity, exception: ErpActivity,
                       recurrence: Recurrence) -> datetime:
    item = f"activity {exception.id} (an occurrence of activity {master.id})"
    if exception.original_start is None:
        raise ItemRejected("a modified occurrence needs the start the series gave it",
                           item=item, field="original_start")
    if exception.kind is not master.kind:
        raise ItemRejected(f"a {exception.kind.value} cannot be an occurrence of a "
                           f"{master.kind.value}", item=item, field="kind")
    if exception.recurrence is not None:
        raise ItemRejected("an occurrence cannot repeat itself", item=item, field="recurrence")
    _require_occurrence(recurrence, exception.original_start, item, "original_start")
    return exception.original_start


def _require_occurrence(recurrence: Recurrence, original: datetime, item: str,
                        field: str) -> None:
    if not is_generated(recurrence, original):
        raise ItemRejected(f"the series has no occurrence at {original:%Y-%m-%d %H:%M}",
                           item=item, field=field)
