"""Recurring series of a mailbox: occurrences by id or index, exceptions, views."""

from __future__ import annotations

import copy
from datetime import datetime

from esexchange.sandbox.models import recurrence, rules, series
from esexchange.sandbox.models.errors import StoreError
from esexchange.sandbox.models.items import Item
from esexchange.sandbox.models.mailbox_state import MailboxState, check_id
from esexchange.sandbox.models.values import ExtendedKey, ExtendedValue, Value


class SeriesMailbox(MailboxState):
    """Items by id (occurrence ids included) and the bookkeeping of series."""

    def item(self, item_id: str) -> Item:
        """An item by id (occurrence ids included); ErrorItemNotFound otherwise."""
        found = self.items.get(item_id) or self.exceptions.get(item_id)
        if found is not None:
            return found
        check_id(item_id)
        occurrence = recurrence.parse_occurrence_id(item_id)
        if occurrence is not None:
            master = self.items.get(occurrence[0])
            if master is not None:
                return self.occurrence(master, occurrence[1])
        raise StoreError("ErrorItemNotFound", "The specified object was not found in the store.")

    def occurrence(self, master: Item, index: int) -> Item:
        """The ``index``-th (1-based) occurrence of a recurring master."""
        expanded = series.expand(
            master, self.exceptions, None, None, until_index=index, with_deleted=True
        )
        for occurrence_index, occurrence in expanded:
            if occurrence_index != index:
                continue
            if occurrence.fields["OriginalStart"] in recurrence.deleted_starts(master.fields):
                raise StoreError(
                    "ErrorCalendarOccurrenceIsDeletedFromRecurrence",
                    "The occurrence was deleted from the recurrence.",
                )
            return occurrence
        raise StoreError(
            "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange",
            "The occurrence index is out of the recurrence range.",
        )

    def occurrence_of(self, master_id: str, index: int) -> Item:
        """An occurrence by its master's id and index (an ``OccurrenceItemId``)."""
        master = self.items.get(master_id)
        if master is None or "Recurrence" not in master.fields or master.kind != "CalendarItem":
            raise StoreError(
                "ErrorCalendarCannotUseIdForRecurringMasterId",
                "The id does not belong to a recurring master.",
            )
        return self.occurrence(master, index)

    def occurrences_in_ranges(
        self,
        master_id: str,
        ranges: list[tuple[datetime | None, datetime | None, int | None, bool]],
    ) -> tuple[Item, list[Item]]:
        """A recurring master and its occurrences in ``ranges`` (start, end, count, compare
        original start), each once, in time order (a ``RecurringMasterItemIdRanges``)."""
        master = self.items.get(master_id)
        if master is None or "Recurrence" not in master.fields or master.kind != "CalendarItem":
            check_id(master_id)
            raise StoreError(
                "ErrorCalendarCannotUseIdForRecurringMasterId",
                "The id does not belong to a recurring master.",
            )
        found: dict[str, Item] = {}
        for start, end, count, by_original in ranges:
            for occurrence in series.occurrences_in_range(
                master, self.exceptions, start, end, count, by_original_start=by_original
            ):
                found.setdefault(occurrence.id, occurrence)
        ordered = sorted(found.values(), key=lambda o: (o.fields["Start"], o.id))
        return master, ordered

    def master_of(self, occurrence_id: str) -> Item:
        """The recurring master of an occurrence (a ``RecurringMasterItemId``)."""
        parsed = recurrence.parse_occurrence_id(occurrence_id)
        master = self.items.get(parsed[0]) if parsed else None
        if master is None:
            raise StoreError(
                "ErrorCalendarCannotUseIdForOccurrenceId",
                "The id does not belong to an occurrence.",
            )
        return master

    def _change_occurrence(
        self, occurrence: Item, fields: dict[str, Value], extended: dict[ExtendedKey, ExtendedValue]
    ) -> Item:
        """Store a changed occurrence as an exception; the master lists it as modified."""
        master = self.items[str(occurrence.master_id)]
        fields["CalendarItemType"] = "Exception"
        exception = copy.copy(occurrence)
        exception.fields, exception.extended = fields, extended
        exception.change_key = self._new_change_key()
        exception.changed_seq = self.seq
        self.exceptions[exception.id] = exception
        self._touch_series(master)
        return exception

    def _touch_series(self, master: Item) -> None:
        """Refresh a master's ModifiedOccurrences; a new change key, seen by sync as an update."""
        changed = sorted(
            (e for e in self.exceptions.values() if e.master_id == master.id),
            key=lambda e: str(e.fields["OriginalStart"]),
        )
        fields = {k: v for k, v in master.fields.items() if k != "ModifiedOccurrences"}
        if changed:
            fields["ModifiedOccurrences"] = recurrence.modified_occurrences(changed)
        master.fields = fields
        rules.derive(master.kind, master.fields, self._clock())
        master.change_key = self._new_change_key()
        master.changed_seq = self.seq

    # calendar view -----------------------------------------------------------------------

    def calendar_view(self, folder_id: str, start: datetime, end: datetime) -> list[Item]:
        """Single items, and occurrences of recurring masters, overlapping [start, end)."""
        return series.calendar_view(self.items_in(folder_id), self.exceptions, start, end)

    def first_and_last(self, master: Item) -> tuple[Item | None, Item | None]:
        """The first and, for a series that ends, the last occurrence of a master."""
        return series.first_and_last(master, self.exceptions)
