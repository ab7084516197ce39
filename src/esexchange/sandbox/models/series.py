"""Recurring series as a calendar shows them: occurrences, exceptions, views.

Pure functions of a master and the exceptions of its series (changed occurrences, by
occurrence id); the mailbox owns both and calls these.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from datetime import datetime

from esexchange.sandbox.models import recurrence
from esexchange.sandbox.models.items import SERIES_ONLY, Item


def expand(
    master: Item,
    exceptions: Mapping[str, Item],
    start: datetime | None,
    end: datetime | None,
    until_index: int = 0,
    *,
    with_deleted: bool = False,
) -> list[tuple[int, Item]]:
    """(index, occurrence) of a master in [start, end); deleted ones only if asked.

    A changed occurrence is its exception, at the place of its original start.
    """
    occurrences = []
    deleted = recurrence.deleted_starts(master.fields)
    spans = recurrence.occurrences(master.fields, start, end, until_index=until_index)
    for index, (occ_start, occ_end) in spans:
        if occ_start in deleted and not with_deleted:
            continue
        occ = copy.copy(master)
        occ.fields = dict(master.fields)
        for name in SERIES_ONLY:
            occ.fields.pop(name, None)
        occ.fields.update(
            Start=occ_start, End=occ_end, OriginalStart=occ_start, CalendarItemType="Occurrence"
        )
        occ.id = recurrence.occurrence_id(master.id, index)
        occ.master_id = master.id
        occurrences.append((index, exceptions.get(occ.id, occ)))
    return occurrences


def calendar_view(
    items: Iterable[Item], exceptions: Mapping[str, Item], start: datetime, end: datetime
) -> list[Item]:
    """Single items, and occurrences of recurring masters, overlapping [start, end)."""
    found: list[Item] = []
    for item in items:
        if "Recurrence" in item.fields:
            expanded = [occurrence for _, occurrence in expand(item, exceptions, start, end)]
            shown = {occurrence.id for occurrence in expanded}
            moved_in = [  # exceptions moved into the window from outside it
                e
                for e in exceptions.values()
                if e.master_id == item.id and e.id not in shown and overlaps(e, start, end)
            ]
            found.extend(o for o in expanded + moved_in if overlaps(o, start, end))
        elif overlaps(item, start, end):
            found.append(item)
    return sorted(found, key=lambda i: (i.fields.get("Start", start), i.id))


def first_and_last(master: Item, exceptions: Mapping[str, Item]) -> tuple[Item | None, Item | None]:
    """The first and, for a series that ends, the last occurrence of a master."""
    ends = recurrence.has_end(master.fields)
    # A series without end is laid out only as far as its first remaining occurrence.
    reach = 0 if ends else 1 + len(recurrence.deleted_starts(master.fields))
    expanded = expand(master, exceptions, None, None, until_index=reach)
    if not expanded:
        return None, None
    return expanded[0][1], expanded[-1][1] if ends else None


def overlaps(item: Item, start: datetime, end: datetime) -> bool:
    """Whether an item belongs in the view [start, end), as Exchange decides: it starts
    before the view ends and ends at or after the view starts, so an item ending exactly
    at the view's start is in it, one starting exactly at its end is not (exchangelib's
    test_view finds this on Exchange)."""
    item_start, item_end = item.fields.get("Start"), item.fields.get("End")
    if not isinstance(item_start, datetime) or not isinstance(item_end, datetime):
        return False
    return item_start < end and item_end >= start


def occurrences_in_range(
    master: Item,
    exceptions: Mapping[str, Item],
    start: datetime | None,
    end: datetime | None,
    count: int | None,
    *,
    by_original_start: bool,
) -> list[Item]:
    """The occurrences of a series in one ``OccurrencesRange`` of a GetItem, in time order.

    ``CompareOriginalStartTime`` true compares the range with where each occurrence was
    laid out (its ``OriginalStart`` in [start, end)), false with where it is now (its
    start and end both inside the range) (MS-OXWSCORE R1697, R1698): an occurrence moved
    into the range is in it only by its new times, one moved out of it only by its
    original one. At most ``count`` of them; an open end lays out the whole series.
    """
    laid_out = [occurrence for _, occurrence in expand(master, exceptions, start, end)]
    if not by_original_start:
        shown = {occurrence.id for occurrence in laid_out}
        laid_out += [
            e for e in exceptions.values() if e.master_id == master.id and e.id not in shown
        ]

    def in_range(occurrence: Item) -> bool:
        first = occurrence.fields.get("OriginalStart" if by_original_start else "Start")
        last = first if by_original_start else occurrence.fields.get("End")
        if not isinstance(first, datetime) or not isinstance(last, datetime):
            return False
        if start is not None and first < start:
            return False
        return end is None or last < end or (not by_original_start and last == end)

    found = sorted(
        (o for o in laid_out if in_range(o)),
        key=lambda o: (o.fields["OriginalStart" if by_original_start else "Start"], o.id),
    )
    return found[:count] if count is not None else found
