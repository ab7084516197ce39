"""``ExchangeItem`` <-> Graph JSON, for events and To Do tasks. No I/O.

- The ERP id of an event is the same named MAPI property EWS uses
  (``ERP_ID_PROPERTY``, a ``singleValueExtendedProperty``), so a mailbox moved between
  on-premises and Online keeps its links; a task carries it in a ``linkedResource``
  (``applicationName`` esExchange, ``externalId`` the ERP id), To Do's own place for it.
- Timed bounds are written and read in UTC; all-day bounds are midnights in the ERP's
  zone (``isAllDay``), read back as the dates Graph shows. Task start and due are dates,
  written as UTC midnights.
- Events are written without attendees: Graph mails every attendee of an event, and the
  sync never sends an invitation.
- What To Do cannot hold (``TASK_CANNOT_HOLD``) is declared through the port's
  capabilities and stays ERP-owned: a task has no sensitivity, no percent complete and
  only an absolute reminder time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from esexchange.domain.mapping.text import clean_text
from esexchange.domain.model import (
    ExchangeItem,
    Importance,
    ItemRef,
    Kind,
    RemoteItem,
    Sensitivity,
    TaskStatus,
    When,
)

ERP_ID_PROPERTY = "Long {8d3f6c1e-2b7a-4e59-9c0d-5a4e1f7b3c26} Name EsExchangeErpId"
"""The property EWS writes as ``ErpIdProperty`` (same GUID, name and type)."""
APPLICATION_NAME = "esExchange"
TASK_CANNOT_HOLD = frozenset({"private", "percent_complete", "reminder_minutes"})

_STATUS = {
    TaskStatus.NOT_STARTED: "notStarted",
    TaskStatus.IN_PROGRESS: "inProgress",
    TaskStatus.COMPLETED: "completed",
    TaskStatus.WAITING: "waitingOnOthers",
    TaskStatus.DEFERRED: "deferred",
}
_STATUS_BACK = {graph: status for status, graph in _STATUS.items()}
_EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "subject": ("subject",),
    "body": ("body",),
    "location": ("location",),
    "start": ("start", "end", "isAllDay"),
    "end": ("start", "end", "isAllDay"),
    "sensitivity": ("sensitivity",),
    "importance": ("importance",),
    "categories": ("categories",),
    "reminder_minutes": ("isReminderOn", "reminderMinutesBeforeStart"),
}
_TASK_FIELDS: dict[str, tuple[str, ...]] = {
    "subject": ("title",),
    "body": ("body",),
    "start": ("startDateTime",),
    "due": ("dueDateTime",),
    "status": ("status",),
    "importance": ("importance",),
    "categories": ("categories",),
}


def event_body(
    item: ExchangeItem, zone: str, fields: Iterable[str] | None = None
) -> dict[str, Any]:
    """The JSON of an event with ``item``'s values (only ``fields``' properties if given)."""
    values: dict[str, Any] = {
        "subject": clean_text(item.subject),
        "body": {"contentType": "text", "content": clean_text(item.body)},
        "location": {"displayName": clean_text(item.location)},
        "sensitivity": item.sensitivity.value.lower(),
        "importance": item.importance.value.lower(),
        "categories": [clean_text(name) for name in item.categories],
        "isReminderOn": item.reminder_minutes is not None,
        "isAllDay": item.all_day,
    }
    if item.reminder_minutes is not None:
        values["reminderMinutesBeforeStart"] = item.reminder_minutes
    if item.start is not None and item.end is not None:
        values["start"] = _bound(item.start, zone)
        values["end"] = _bound(item.end, zone)
    return _only(values, _EVENT_FIELDS, fields)


def new_event(item: ExchangeItem, zone: str, transaction_id: str) -> dict[str, Any]:
    """A create: every value, the ERP id property, a transactionId, no attendees."""
    body = event_body(item, zone)
    body["transactionId"] = transaction_id
    body["showAs"] = "busy"
    body["responseRequested"] = False
    if item.erp_id is not None:
        body["singleValueExtendedProperties"] = [{"id": ERP_ID_PROPERTY, "value": str(item.erp_id)}]
    return body


def task_body(item: ExchangeItem, fields: Iterable[str] | None = None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "title": clean_text(item.subject),
        "body": {"contentType": "text", "content": clean_text(item.body)},
        "importance": item.importance.value.lower(),
        "status": _STATUS[item.status or TaskStatus.NOT_STARTED],
        "categories": [clean_text(name) for name in item.categories],
        "startDateTime": _day(item.start),
        "dueDateTime": _day(item.due),
    }
    return _only(values, _TASK_FIELDS, fields)


def new_task(item: ExchangeItem, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A create: the values of ``body`` (else ``task_body``) that are set, and the ERP
    id as a linked resource."""
    body = {k: v for k, v in (task_body(item) if body is None else body).items()
            if v is not None}
    if item.erp_id is not None:
        body["linkedResources"] = [
            {
                "applicationName": APPLICATION_NAME,
                "externalId": str(item.erp_id),
                "displayName": f"ERP activity {item.erp_id}",
            }
        ]
    return body


def _only(
    values: dict[str, Any], mapping: Mapping[str, tuple[str, ...]], fields: Iterable[str] | None
) -> dict[str, Any]:
    if fields is None:
        return values
    wanted = {prop for name in fields for prop in mapping.get(name, ())}
    return {k: v for k, v in values.items() if k in wanted}


def _bound(value: When, zone: str) -> dict[str, str]:
    if isinstance(value, datetime):
        return {"dateTime": value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}
    return {"dateTime": f"{value.isoformat()}T00:00:00", "timeZone": zone}


def _day(value: date | None) -> dict[str, str] | None:
    if value is None:
        return None
    day = value.date() if isinstance(value, datetime) else value
    return {"dateTime": f"{day.isoformat()}T00:00:00", "timeZone": "UTC"}


# --- reading ---------------------------------------------------------------------------------


def remote_event(data: Mapping[str, Any]) -> RemoteItem:
    """An event as read (with its extended property when it was expanded)."""
    all_day = bool(data.get("isAllDay"))
    start = _read_bound(data.get("start"), all_day)
    end = _read_bound(data.get("end"), all_day)
    reminder = data.get("reminderMinutesBeforeStart") if data.get("isReminderOn") else None
    item = ExchangeItem(
        kind=Kind.APPOINTMENT,
        subject=str(data.get("subject") or ""),
        body=_text(data.get("body")),
        start=start,
        end=end,
        location=str((data.get("location") or {}).get("displayName") or ""),
        sensitivity=Sensitivity(str(data.get("sensitivity") or "normal").capitalize()),
        importance=Importance(str(data.get("importance") or "normal").capitalize()),
        categories=tuple(data.get("categories") or ()),
        reminder_minutes=int(reminder) if reminder is not None else None,
        erp_id=_erp_id_of_event(data),
        recurring=str(data.get("type") or "singleInstance") != "singleInstance",
    )
    return RemoteItem(_ref(data), item, _modified(data))


def remote_task(data: Mapping[str, Any]) -> RemoteItem:
    """A To Do task as read (with its linked resources when they were expanded)."""
    status = _STATUS_BACK.get(str(data.get("status") or "notStarted"), TaskStatus.NOT_STARTED)
    item = ExchangeItem(
        kind=Kind.TASK,
        subject=str(data.get("title") or ""),
        body=_text(data.get("body")),
        start=_read_day(data.get("startDateTime")),
        due=_read_day(data.get("dueDateTime")),
        status=status,
        importance=Importance(str(data.get("importance") or "normal").capitalize()),
        categories=tuple(data.get("categories") or ()),
        erp_id=erp_id_of_task(data),
        recurring=bool(data.get("recurrence")),
    )
    return RemoteItem(_ref(data), item, _modified(data))


def _ref(data: Mapping[str, Any]) -> ItemRef:
    return ItemRef(str(data["id"]), str(data.get("@odata.etag") or data.get("changeKey") or ""))


def _modified(data: Mapping[str, Any]) -> datetime:
    text = str(data.get("lastModifiedDateTime") or "1970-01-01T00:00:00Z")
    return _parse_utc(text)


def _parse_utc(text: str) -> datetime:
    head, _, fraction = text.rstrip("Z").partition(".")
    moment = datetime.fromisoformat(head + ("." + fraction[:6] if fraction else ""))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _read_bound(value: Any, all_day: bool) -> When | None:
    if not isinstance(value, Mapping) or not value.get("dateTime"):
        return None
    text = str(value["dateTime"])
    if all_day:
        return date.fromisoformat(text[:10])
    zone = str(value.get("timeZone") or "UTC")
    moment = _parse_utc(text).replace(tzinfo=None)
    if zone.upper() != "UTC":
        return moment.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    return moment.replace(tzinfo=UTC)


def _read_day(value: Any) -> date | None:
    if not isinstance(value, Mapping) or not value.get("dateTime"):
        return None
    return date.fromisoformat(str(value["dateTime"])[:10])


def _text(body: Any) -> str:
    if not isinstance(body, Mapping):
        return ""
    return str(body.get("content") or "").replace("\r\n", "\n")


def _erp_id_of_event(data: Mapping[str, Any]) -> int | None:
    for prop in data.get("singleValueExtendedProperties") or ():
        if str(prop.get("id", "")).lower() == ERP_ID_PROPERTY.lower():
            return _number(prop.get("value"))
    return None


def erp_id_of_task(data: Mapping[str, Any]) -> int | None:
    for link in data.get("linkedResources") or ():
        if link.get("applicationName") == APPLICATION_NAME:
            return _number(link.get("externalId"))
    return None


def _number(value: Any) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None
