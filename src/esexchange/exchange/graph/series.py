"""Recurring series as Graph shows them, read back into one ``Recurrence`` per series.

A calendarView delta lists a series as its instances (``occurrence`` and ``exception``
events, each with ``seriesMasterId``), never the master. The adapter groups them by
``seriesMasterId`` and reads each master once: ``GET /events/{id}`` with its
``recurrence``, ``$select=...,cancelledOccurrences`` (the deleted occurrences, as
``OID.{masterId}.{local date}``) and ``$expand=exceptionOccurrences`` (the modified ones,
with their ``originalStart``). That yields the same ``ExchangeItem`` (and
``RemoteItem.exceptions``) as the EWS adapter reads from a recurring master with its
``ModifiedOccurrences`` and ``DeletedOccurrences``. Writing a master puts its bounds in
the series' zone with its ``patternedRecurrence`` (``event_fields``); single occurrences
are written by ``series_writes.py``.

The series' zone is the master's ``originalStartTimeZone`` (Graph gives a Windows name
there, e.g. ``W. Europe Standard Time``; translated to IANA), else the range's
``recurrenceTimeZone``, else the connection's zone. No I/O here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from exchangelib.winzone import MS_TIMEZONE_TO_IANA_MAP

from esexchange.domain.errors import EsExchangeError
from esexchange.domain.model import ExchangeItem, OccurrenceKey, RemoteItem, RemoteOccurrence
from esexchange.domain.recurrence import Recurrence, from_graph, to_graph
from esexchange.exchange.graph import items as wire

log = logging.getLogger(__name__)

EVENT_SELECT = ",".join((
    "subject", "body", "start", "end", "isAllDay", "location", "sensitivity", "importance",
    "categories", "isReminderOn", "reminderMinutesBeforeStart", "type", "seriesMasterId",
    "recurrence", "originalStartTimeZone", "lastModifiedDateTime", "changeKey",
    "cancelledOccurrences",
))
"""What the adapter reads of an event: ``cancelledOccurrences`` comes only when selected."""


def event_query(expand_erp_id: str) -> str:
    """The query of a GET of one event: its fields, the ERP id and (of a master) its
    exceptions."""
    expand = f"{expand_erp_id},exceptionOccurrences"
    return f"$select={quote(EVENT_SELECT, safe=',')}&$expand={quote(expand, safe=',')}"


def zone_of(data: Mapping[str, Any], fallback: str) -> str:
    """The IANA zone of a series (see the module docstring)."""
    recurrence = data.get("recurrence") or {}
    for name in (data.get("originalStartTimeZone"),
                 (recurrence.get("range") or {}).get("recurrenceTimeZone")):
        if not name:
            continue
        key = str(MS_TIMEZONE_TO_IANA_MAP.get(str(name), str(name)))
        try:
            ZoneInfo(key)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        return key
    return fallback


def with_series(remote: RemoteItem, data: Mapping[str, Any], fallback_zone: str) -> RemoteItem:
    """``remote`` with the series of a master read as above (unchanged for other events).

    A recurrence that cannot be read leaves ``recurrence`` None: the item is still marked
    recurring and is skipped, costing nothing to the other items of the page.
    """
    if data.get("type") != "seriesMaster" or not data.get("recurrence"):
        return remote
    start = remote.item.start
    if start is None:
        return remote
    zone_name = zone_of(data, fallback_zone)
    zone = ZoneInfo(zone_name)
    wall = (datetime.combine(start, time()) if not isinstance(start, datetime)
            else start.astimezone(zone).replace(tzinfo=None))
    try:
        series = from_graph(data["recurrence"], start=wall, time_zone=zone_name)
        exceptions = tuple(sorted(
            (_exception(remote, e, zone) for e in data.get("exceptionOccurrences") or ()),
            key=lambda e: e.key.original_start))
        series = replace(
            series,
            modified=frozenset(e.key.original_start for e in exceptions),
            deleted=frozenset(datetime.combine(_cancelled_day(text), series.start.time())
                              for text in data.get("cancelledOccurrences") or ()),
        )
    except (EsExchangeError, ValueError, KeyError, TypeError) as exc:
        log.warning("the series %s cannot be read: %s", remote.ref.id, exc)
        return remote
    return replace(remote, item=replace(remote.item, recurrence=series), exceptions=exceptions)


def _exception(master: RemoteItem, data: Mapping[str, Any], zone: ZoneInfo) -> RemoteOccurrence:
    """A modified occurrence as ``$expand=exceptionOccurrences`` lists it; it carries the
    master's ERP id, as an exception does in Exchange."""
    read = wire.remote_event(data)
    item = replace(read.item, recurring=False, erp_id=read.item.erp_id or master.item.erp_id)
    key = OccurrenceKey(master.ref.id, _wall(str(data["originalStart"]), zone))
    return RemoteOccurrence(key, read.ref, item, read.modified_at)


def event_fields(item: ExchangeItem, zone: str, fields: Iterable[str] | None = None
                 ) -> dict[str, Any]:
    """``wire.event_body`` for a series master: its bounds are wall times in the series'
    zone (the pattern repeats them there across DST) and ``recurrence`` is its
    ``patternedRecurrence`` (``RecurrenceRefused`` where Graph has none); a master's
    ``start`` and ``end`` are written with its recurrence."""
    body = wire.event_body(item, zone, fields)
    recurrence = item.recurrence
    if recurrence is None:
        return body
    if fields is None or "recurrence" in fields:
        body["recurrence"] = to_graph(recurrence)
        body |= wire.event_body(item, zone, {"start"})
    series_zone = ZoneInfo(recurrence.time_zone)
    for name, bound in (("start", item.start), ("end", item.end)):
        if name in body and bound is not None:
            body[name] = _series_bound(bound, series_zone)
    return body


def _series_bound(bound: date | datetime, zone: ZoneInfo) -> dict[str, str]:
    if isinstance(bound, datetime):
        wall = bound.astimezone(zone).replace(tzinfo=None)
    else:
        wall = datetime.combine(bound, time())
    return {"dateTime": wall.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": zone.key}


def task_fields(item: ExchangeItem, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """``wire.task_body`` with the task's ``patternedRecurrence`` (``RecurrenceRefused``
    for a regenerating task: To Do repeats on fixed dates only); a recurrence the ERP
    removed is written as null."""
    body = wire.task_body(item, fields)
    if fields is None:
        if item.recurrence is not None:
            body["recurrence"] = to_graph(item.recurrence)
    elif "recurrence" in fields:
        body["recurrence"] = None if item.recurrence is None else to_graph(item.recurrence)
    return body


def task_series(data: Mapping[str, Any], first: date | None, zone: str) -> Recurrence | None:
    """The series of a recurring To Do task (its first occurrence on ``first``)."""
    if not data.get("recurrence") or first is None:
        return None
    try:
        return from_graph(data["recurrence"], start=datetime.combine(first, time()),
                          time_zone=zone)
    except (EsExchangeError, ValueError, KeyError, TypeError) as exc:
        log.warning("the series of task %s cannot be read: %s", data.get("id"), exc)
        return None


def _wall(text: str, zone: ZoneInfo) -> datetime:
    head = text.rstrip("Z").partition(".")[0]
    moment = datetime.fromisoformat(head)
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return moment.astimezone(zone).replace(tzinfo=None)


def _cancelled_day(text: str) -> date:
    """The local day of ``OID.{masterId}.{yyyy-mm-dd}``."""
    return date.fromisoformat(text.rsplit(".", 1)[-1])
