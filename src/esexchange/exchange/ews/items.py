"""``ExchangeItem`` to and from exchangelib's ``CalendarItem`` and ``Task``.

Time semantics (see ``esexchange.domain.model``): timed appointments carry aware UTC
datetimes; all-day appointments carry dates with an exclusive end, which on the wire are
midnights in the item's time zone (the item's StartTimeZone/EndTimeZone when read, the
connection's zone when written; timed appointments are labelled with that zone too).
exchangelib's own all-day dates have an *inclusive* end, so one day is taken off before
handing a date to it. Task start and due are dates.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import lxml.html
from exchangelib import CalendarItem, EWSDate, EWSDateTime, EWSTimeZone, ExtendedProperty, Task
from exchangelib.fields import InvalidField
from exchangelib.properties import Body, HTMLBody

from esexchange.domain.mapping.text import clean_text
from esexchange.domain.model import (
    ExchangeItem,
    Importance,
    ItemRef,
    Kind,
    RemoteItem,
    Sensitivity,
    TaskStatus,
)
from esexchange.exchange.ews.recurrence import series_of, to_ews

ERP_ID_FIELD = "esx_erp_id"
"""The attribute name under which exchangelib carries esExchange's extended property."""


class ErpIdProperty(ExtendedProperty):
    """The ERP id of the activity an item was created from (a named MAPI property).

    The property set GUID is esExchange's own and must never change: items stamped by
    any earlier version are found by it.
    """

    property_set_id = "8d3f6c1e-2b7a-4e59-9c0d-5a4e1f7b3c26"
    property_name = "EsExchangeErpId"
    property_type = "Long"


_register_lock = threading.Lock()


def register_erp_id_property() -> None:
    """Register ``ErpIdProperty`` on CalendarItem and Task (idempotent, thread-safe)."""
    with _register_lock:
        for model in (CalendarItem, Task):
            try:
                model.get_field_by_fieldname(ERP_ID_FIELD)
            except InvalidField:
                model.register(ERP_ID_FIELD, ErpIdProperty)


COMMON_FIELDS = (
    "subject", "body", "text_body", "sensitivity", "importance", "categories",
    "reminder_is_set", "reminder_minutes_before_start", "last_modified_time", ERP_ID_FIELD,
)
READ_FIELDS: dict[Kind, tuple[str, ...]] = {
    Kind.APPOINTMENT: (
        *COMMON_FIELDS, "start", "end", "is_all_day", "location", "type", "is_recurring",
        "_start_timezone", "_end_timezone", "recurrence", "modified_occurrences",
        "deleted_occurrences",
    ),
    Kind.TASK: (*COMMON_FIELDS, "start_date", "due_date", "status", "percent_complete",
                "is_recurring", "recurrence"),
}
"""The exchangelib fields read for each kind (GetItem additional properties)."""

MODELS: dict[Kind, type[CalendarItem] | type[Task]] = {
    Kind.APPOINTMENT: CalendarItem, Kind.TASK: Task,
}

_REMINDER = ("reminder_is_set", "reminder_minutes_before_start")
_WRITE_FIELDS: dict[Kind, dict[str, tuple[str, ...]]] = {
    Kind.APPOINTMENT: {
        "subject": ("subject",), "body": ("body",), "location": ("location",),
        "start": ("start", "end", "is_all_day"), "end": ("start", "end", "is_all_day"),
        "sensitivity": ("sensitivity",), "importance": ("importance",),
        "categories": ("categories",), "reminder_minutes": _REMINDER,
        "erp_id": (ERP_ID_FIELD,), "recurrence": ("recurrence",),
    },
    Kind.TASK: {
        "subject": ("subject",), "body": ("body",), "start": ("start_date",),
        "due": ("due_date",), "status": ("status",), "percent_complete": ("percent_complete",),
        "sensitivity": ("sensitivity",), "importance": ("importance",),
        "categories": ("categories",), "reminder_minutes": _REMINDER,
        "erp_id": (ERP_ID_FIELD,), "recurrence": ("recurrence",),
    },
}
"""``ExchangeItem`` field -> exchangelib fields written for it. A field without an
Exchange counterpart for the kind (a task's location) is not written."""

_STATUS_TO_EWS = {
    TaskStatus.NOT_STARTED: "NotStarted",
    TaskStatus.IN_PROGRESS: "InProgress",
    TaskStatus.COMPLETED: "Completed",
    TaskStatus.WAITING: "WaitingOnOthers",
    TaskStatus.DEFERRED: "Deferred",
}
_STATUS_FROM_EWS = {ews: status for status, ews in _STATUS_TO_EWS.items()}

UTC_ZONE = EWSTimeZone("UTC")

# What exchangelib would replace by "?" on the wire is dropped instead, exactly as the
# mapping drops it from ERP texts (one rule, in domain.mapping.text).
sendable = clean_text


def exchangelib_fields(kind: Kind, fields: Iterable[str]) -> list[str]:
    """The exchangelib field names to write for these ``ExchangeItem`` fields."""
    mapping = _WRITE_FIELDS[kind]
    out: list[str] = []
    for name in fields:
        for field_name in mapping.get(name, ()):
            if field_name not in out:
                out.append(field_name)
    return out


def to_exchangelib(item: ExchangeItem, *, account: Any, folder: Any, **identity: Any) -> Any:
    """An exchangelib item with every field of ``item`` set (``identity``: id and
    changekey, or ``_id``: an ``OccurrenceItemId``). A series master gets its pattern
    and range (``to_ews``; refused with ``RecurrenceRefused`` where EWS has none)."""
    values: dict[str, Any] = {
        "subject": sendable(item.subject),
        "body": Body(sendable(item.body)) if item.body else None,
        "sensitivity": item.sensitivity.value,
        "importance": item.importance.value,
        "categories": [sendable(name) for name in item.categories] or None,
        "reminder_is_set": item.reminder_minutes is not None,
        ERP_ID_FIELD: item.erp_id,
    }
    if item.reminder_minutes is not None:
        values["reminder_minutes_before_start"] = item.reminder_minutes
    if item.recurrence is not None:
        values["recurrence"] = to_ews(item.recurrence, task=item.kind is Kind.TASK)
    if item.kind is Kind.APPOINTMENT:
        # A series repeats at its wall time in its own zone (StartTimeZone).
        zone = (EWSTimeZone(item.recurrence.time_zone) if item.recurrence is not None
                else account.default_timezone)
        values |= {
            "start": _bound_to_ews(item.start, zone, is_end=False),
            "end": _bound_to_ews(item.end, zone, is_end=True),
            "is_all_day": item.all_day,
            "location": sendable(item.location) or None,
        }
        return CalendarItem(account=account, folder=folder, **identity, **values)
    values |= {
        "start_date": _date_to_ews(item.start),
        "due_date": _date_to_ews(item.due),
        "status": _STATUS_TO_EWS[item.status or TaskStatus.NOT_STARTED],
        "percent_complete": Decimal(item.percent_complete),
    }
    return Task(account=account, folder=folder, **identity, **values)


def from_exchangelib(item: Any, kind: Kind, *, zone: EWSTimeZone) -> RemoteItem:
    """The ``RemoteItem`` for an exchangelib item read with ``READ_FIELDS[kind]``.

    ``zone`` is used for all-day bounds when the item carries no time zone of its own.
    """
    common: dict[str, Any] = {
        "subject": item.subject or "",
        "body": _plain_text(item),
        "sensitivity": Sensitivity(item.sensitivity or "Normal"),
        "importance": Importance(item.importance or "Normal"),
        "categories": tuple(item.categories or ()),
        "reminder_minutes": (
            int(item.reminder_minutes_before_start or 0) if item.reminder_is_set else None
        ),
        "erp_id": getattr(item, ERP_ID_FIELD, None),
    }
    if kind is Kind.APPOINTMENT:
        if item.is_all_day:
            start: date | datetime | None = _local_date(item.start, item._start_timezone or zone)
            end: date | datetime | None = _local_date(
                item.end, item._end_timezone or item._start_timezone or zone
            )
        else:
            start, end = _utc(item.start), _utc(item.end)
        exchange_item = ExchangeItem(
            kind=kind, start=start, end=end, location=item.location or "",
            recurring=bool(item.is_recurring) or (item.type or "Single") != "Single",
            recurrence=series_of(item, kind, zone=zone),
            **common,
        )
    else:
        exchange_item = ExchangeItem(
            kind=kind, start=_plain_date(item.start_date), due=_plain_date(item.due_date),
            status=_STATUS_FROM_EWS.get(item.status or "NotStarted", TaskStatus.NOT_STARTED),
            percent_complete=round(item.percent_complete or 0),
            recurring=bool(item.is_recurring),
            recurrence=series_of(item, kind, zone=zone),
            **common,
        )
    modified = _utc(item.last_modified_time) if item.last_modified_time else None
    return RemoteItem(
        ref=ItemRef(id=item.id, version=item.changekey),
        item=exchange_item,
        modified_at=modified or datetime.now(UTC),
    )


def _bound_to_ews(value: date | datetime | None, zone: EWSTimeZone, *, is_end: bool) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"time {value.isoformat()} has no time zone (UTC expected)")
        # The same instant, labelled with the connection's zone (StartTimeZone), which is
        # the zone Outlook then shows the appointment in.
        return EWSDateTime.from_datetime(value.astimezone(UTC)).astimezone(zone)
    # exchangelib's all-day end is inclusive; ours is exclusive.
    return EWSDate.from_date(value - timedelta(days=1) if is_end else value)


def _date_to_ews(value: date | None) -> EWSDate | None:
    return None if value is None else EWSDate.from_date(value)


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    instant = value.astimezone(UTC_ZONE)
    return datetime(
        instant.year, instant.month, instant.day, instant.hour, instant.minute,
        instant.second, instant.microsecond, tzinfo=UTC,
    )


def _local_date(value: Any, zone: Any) -> date | None:
    if value is None:
        return None
    if not isinstance(value, datetime):  # already a date: nothing to convert
        return date(value.year, value.month, value.day)
    local = value.astimezone(zone)
    return date(local.year, local.month, local.day)


def _plain_date(value: Any) -> date | None:
    return None if value is None else date(value.year, value.month, value.day)


def _plain_text(item: Any) -> str:
    """The body as plain text: Exchange's own text rendering when it gives one."""
    if item.text_body is not None:
        return str(item.text_body)
    if isinstance(item.body, HTMLBody):
        return str(lxml.html.fromstring(str(item.body)).text_content()) if item.body else ""
    return str(item.body or "")
