"""Recurring series in the Graph sandbox, as Exchange Online shows them through Graph.

A ``seriesMaster`` is an event with ``recurrence`` (``patternedRecurrence``); it is stored
once and its occurrences are computed by the domain's expansion in the wall time of the
master's ``start.timeZone`` (a 09:00 Berlin meeting stays at 09:00 across DST). What
Microsoft documents (event, event-list-instances, delta-query-events):

- ``calendarView`` and ``calendarView/delta`` list single instances, occurrences and
  exceptions in the window, never the master; ``/events`` lists masters and single
  instances, never an occurrence or an exception.
- ``/events/{id}/instances?startDateTime=&endDateTime=`` lists a master's occurrences and
  exceptions in the window, cancelled ones left out.
- Every instance has ``type`` (occurrence / exception), ``seriesMasterId`` and
  ``originalStart`` (the start the pattern gave it, UTC).
- PATCH of an occurrence makes it an ``exception`` (same id); DELETE of an occurrence or
  an exception cancels it: it leaves the instances, a delta round reports it
  ``@removed``, and the master's ``cancelledOccurrences`` (only on ``$select``) names it
  as ``OID.{masterId}.{yyyy-mm-dd}``. ``$expand=exceptionOccurrences`` on the master
  lists its exceptions. Either changes the master (Exchange keeps modified and deleted
  occurrences in it): its change key is new and a delta round reports its instances.
- PATCH of the master's recurrence, start or end regenerates the series: exceptions and
  cancellations are dropped (Outlook warns that they will be lost).
- A To Do task with ``recurrence``, completed, stays completed without it, and a new task
  (a new id, without the linked resources) is due on the pattern's next date.

State: an occurrence's id is its master's id, ``OCC`` and its original start (UTC), so
it needs no storage; an exception is a ``Resource`` of the calendar of its own, whose
data carries the read-only ``type``, ``seriesMasterId`` and ``originalStart`` that no
client can write. A master keeps its cancelled occurrences in its data under
``_cancelled`` (never rendered). A deleted or regenerated series leaves its old form in
``Folder.removed_series``, so a delta round can report its vanished occurrences removed.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from esexchange.domain.errors import EsExchangeError
from esexchange.domain.mapping.times import erp_to_utc
from esexchange.domain.recurrence import Recurrence, from_graph, generated
from esexchange.sandbox.graph.errors import GraphError, invalid, not_found
from esexchange.sandbox.graph.models import (
    Folder,
    GraphBackend,
    MailboxData,
    Resource,
    Window,
    canonical_id,
    immutable_id,
    in_window,
    instant,
    parse_zone,
)

MARK = "OCC"
CANCELLED = "_cancelled"
_STAMP = "%Y%m%d%H%M%S"
_REGENERATING = frozenset({"recurrence", "start", "end", "isAllDay"})
Candidate = tuple[int, str, Resource | None]


def is_exception(resource: Resource) -> bool:
    return resource.data.get("type") == "exception"


def is_master(resource: Resource) -> bool:
    return bool(resource.data.get("recurrence")) and not is_exception(resource)


def occurrence_id(master_id: str, original: datetime) -> str:
    return f"{master_id}{MARK}{original.astimezone(UTC).strftime(_STAMP)}"


def _split_id(item_id: str) -> tuple[str, datetime] | None:
    head, mark, stamp = item_id.rpartition(MARK)
    if not mark or len(stamp) != 14 or not stamp.isdigit():
        return None
    try:
        return head, datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- expansion --------------------------------------------------------------------------


def _zone(name: str | None) -> ZoneInfo:
    zone = parse_zone(name)
    return zone if isinstance(zone, ZoneInfo) else ZoneInfo("UTC")


def series_of(data: Mapping[str, Any]) -> tuple[Recurrence, ZoneInfo, timedelta]:
    """The series of a master's data, its zone and the wall-time length of an occurrence."""
    zone = _zone(data["start"].get("timeZone"))
    start = instant(data["start"], "start").astimezone(zone).replace(tzinfo=None)
    end = instant(data["end"], "end").astimezone(zone).replace(tzinfo=None)
    try:
        recurrence = from_graph(data["recurrence"], start=start, time_zone=zone.key)
    except (EsExchangeError, ValueError, KeyError, TypeError) as exc:
        raise invalid(f"The recurrence of the event is not valid: {exc}") from None
    return recurrence, zone, end - start


def check_new(body: Any) -> None:
    """Refuse an event whose recurrence cannot be expanded (before it is stored)."""
    if isinstance(body, Mapping) and body.get("recurrence") and "start" in body and "end" in body:
        series_of(body)


def _generated(data: Mapping[str, Any], before: datetime | None = None
               ) -> Iterator[tuple[datetime, datetime, datetime]]:
    """(original start UTC, wall start, wall end) of each occurrence not cancelled,
    starting before ``before`` (every one when None: bound the loop yourself)."""
    recurrence, zone, length = series_of(data)
    cancelled = set(data.get(CANCELLED, ()))
    for wall in generated(recurrence):
        original = erp_to_utc(wall, zone)
        if before is not None and original >= before:
            return
        if _utc_text(original) not in cancelled:
            yield original, wall, wall + length


def _occurrence(master: Resource, original: datetime, start: datetime, end: datetime,
                data: Mapping[str, Any] | None = None) -> Resource:
    source = master.data if data is None else data
    zone_name = source["start"].get("timeZone") or "UTC"
    values = {k: v for k, v in source.items()
              if k not in ("recurrence", CANCELLED, "transactionId")}
    values |= {
        "start": {"dateTime": start.isoformat(), "timeZone": zone_name},
        "end": {"dateTime": end.isoformat(), "timeZone": zone_name},
        "type": "occurrence",
        "seriesMasterId": master.id,
        "originalStart": _utc_text(original),
    }
    return Resource(occurrence_id(master.id, original), values, master.seq, master.change_key,
                    master.created, master.modified, dict(master.extended))


def instances(box: MailboxData, master: Resource, window: Window,
              data: Mapping[str, Any] | None = None) -> list[Resource]:
    """The master's occurrences (from ``data``, its old form, when given) and exceptions
    that lie in ``window``."""
    folder = box.calendar
    found: list[Resource] = []
    for original, start, end in _generated(master.data if data is None else data, window.end):
        rid = occurrence_id(master.id, original)
        if rid not in folder.items:
            found.append(_occurrence(master, original, start, end, data))
    if data is None:
        found += exceptions_of(box, master)
    return [r for r in found if in_window(r, window, box)]


def view(box: MailboxData, window: Window) -> list[Resource]:
    """What calendarView lists: single instances, occurrences and exceptions in the window."""
    found: list[Resource] = []
    for resource in box.calendar.items.values():
        if is_master(resource):
            found += instances(box, resource, window)
        elif not is_exception(resource) and in_window(resource, window, box):
            found.append(resource)
    return sorted(found, key=lambda r: (instant(r.data["start"], "start"), r.id))


def delta_candidates(box: MailboxData, folder: Folder, since: int, upto: int,
                     window: Window | None) -> list[Candidate]:
    """The changes a calendarView delta round reports between two change numbers: a
    master's change is a change of each of its instances in the window, an instance that
    vanished from it a removal. Where one id has several, the latest counts; on a tie the
    existing instance wins (a regenerated series reports what it has now)."""
    found: dict[str, Candidate] = {}

    def add(candidate: Candidate) -> None:
        known = found.get(candidate[1])
        if known is None or known[0] < candidate[0]:
            found[candidate[1]] = candidate

    for resource in folder.items.values():
        if not since < resource.seq <= upto:
            continue
        if is_master(resource) and window is not None:
            for instance in instances(box, resource, window):
                if not is_exception(instance):
                    add((resource.seq, instance.id, instance))
        elif not is_master(resource):
            add((resource.seq, resource.id, resource))
    for rid, seq in folder.removed.items():
        if since < seq <= upto:
            add((seq, rid, None))
    for seq, master_id, data in folder.removed_series:
        if since < seq <= upto and window is not None:
            old = Resource(master_id, data, seq, "", "", "")
            for instance in instances(box, old, window, data):
                add((seq, instance.id, None))
    return sorted(found.values(), key=lambda c: (c[0], c[1]))


# --- reading and changing one event -------------------------------------------------------


def event(b: GraphBackend, email: str, event_id: str) -> Resource:
    """Any event by id: single, master, exception or an occurrence."""
    folder = b.mailbox(email).calendar
    rid = canonical_id(event_id)
    found = folder.items.get(rid) or _occurrence_of(folder, rid)
    if found is None:
        raise not_found()
    return found


def _occurrence_of(folder: Folder, rid: str) -> Resource | None:
    parts = _split_id(rid)
    if parts is None:
        return None
    master = folder.items.get(parts[0])
    if master is None or not is_master(master):
        return None
    for original, start, end in _generated(master.data, parts[1] + timedelta(seconds=1)):
        if original == parts[1]:
            return _occurrence(master, original, start, end)
    return None


def update(b: GraphBackend, email: str, event_id: str, patch: Mapping[str, Any],
           if_match: str | None) -> Resource:
    """PATCH of any event: an occurrence becomes an exception, a master's new pattern,
    start or end regenerates the series."""
    box = b.mailbox(email)
    folder = box.calendar
    target = event(b, email, event_id)
    if "seriesMasterId" in target.data and isinstance(patch, Mapping) and "recurrence" in patch:
        raise invalid("The recurrence of an occurrence or an exception cannot be set.")
    if target.data.get("type") == "occurrence":
        exception = replace(target, data={**target.data, "type": "exception"})
        folder.items[target.id] = exception
        folder.removed.pop(target.id, None)
        try:
            changed = b.update_event(email, target.id, patch, if_match)
        except GraphError:
            del folder.items[target.id]
            raise
        b._touch(box, folder.items[target.data["seriesMasterId"]])  # Exchange keeps it there
        return changed
    if is_master(target) and isinstance(patch, Mapping) and _REGENERATING & set(patch):
        merged = {**target.data, **patch}
        if merged.get("recurrence"):
            series_of(merged)  # refuse a pattern that cannot be expanded before anything changes
        before = copy.deepcopy(target.data)
        changed = b.update_event(email, target.id, patch, if_match)
        _drop_instances(box, target.id, before, changed.seq)
        changed.data.pop(CANCELLED, None)
        return changed
    return b.update_event(email, target.id, patch, if_match)


def _drop_instances(box: MailboxData, master_id: str, old_data: dict[str, Any],
                    seq: int) -> None:
    """Forget a series' old form at change ``seq``: its exceptions go, and its
    occurrences are reported removed unless the series has them still."""
    folder = box.calendar
    for rid in [r.id for r in folder.items.values()
                if is_exception(r) and r.data["seriesMasterId"] == master_id]:
        del folder.items[rid]
        folder.removed[rid] = seq
    folder.removed_series.append((seq, master_id, old_data))


def delete(b: GraphBackend, email: str, event_id: str) -> None:
    """DELETE of any event: an occurrence or an exception is cancelled; a master goes with
    all its instances."""
    box = b.mailbox(email)
    folder = box.calendar
    target = event(b, email, event_id)
    master_id = target.data.get("seriesMasterId")
    if master_id is not None:
        master = folder.items[master_id]
        master.data.setdefault(CANCELLED, []).append(target.data["originalStart"])
        folder.items.pop(target.id, None)
        folder.removed[target.id] = box.next_seq()
        b._touch(box, master)  # the master holds its deleted occurrences: it changed
        return
    if is_master(target):
        del folder.items[target.id]
        _drop_instances(box, target.id, copy.deepcopy(target.data), box.next_seq())
        b._invite(box, target, "cancellation", target.data.get("attendees"))
        return
    b.delete_event(email, event_id)


# --- what a master shows of its series ----------------------------------------------------


def cancelled_occurrences(master: Resource, *, immutable: bool) -> list[str]:
    """``cancelledOccurrences``: ``OID.{masterId}.{local date}`` per cancelled occurrence."""
    zone = _zone(master.data["start"].get("timeZone"))
    shown = immutable_id(master.id) if immutable else master.id
    days = sorted(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
                  .astimezone(zone).date() for text in master.data.get(CANCELLED, ()))
    return [f"OID.{shown}.{day.isoformat()}" for day in days]


def exceptions_of(box: MailboxData, master: Resource) -> list[Resource]:
    return sorted((r for r in box.calendar.items.values()
                   if is_exception(r) and r.data["seriesMasterId"] == master.id),
                  key=lambda r: r.data["originalStart"])


def expand_parts(text: str | None) -> list[str]:
    """The items of an ``$expand`` list (commas inside parentheses do not split)."""
    parts, depth, current = [], 0, ""
    for char in text or "":
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        depth += (char == "(") - (char == ")")
        current += char
    if current.strip():
        parts.append(current.strip())
    return parts


# --- To Do ------------------------------------------------------------------------------


def repeat_task(b: GraphBackend, email: str, list_id: str, task: Resource) -> Resource | None:
    """A recurring task just completed: it keeps no recurrence, and its next one is created."""
    data = task.data
    due = data.get("dueDateTime")
    if not (data.get("recurrence") and data.get("status") == "completed"
            and isinstance(due, Mapping)):
        return None
    due_day = date.fromisoformat(str(due["dateTime"])[:10])
    try:
        recurrence = from_graph(data["recurrence"], start=datetime.combine(due_day, time()),
                                time_zone="UTC")
    except (EsExchangeError, ValueError, KeyError, TypeError) as exc:
        raise invalid(f"The recurrence of the task is not valid: {exc}") from None
    following = next((d.date() for d in generated(recurrence) if d.date() > due_day), None)
    recurrence_data = data.pop("recurrence")
    if following is None:
        return None
    shift = following - due_day
    body: dict[str, Any] = {k: v for k, v in data.items()
                            if k in ("title", "body", "importance", "categories",
                                     "isReminderOn")}
    body |= {"status": "notStarted", "recurrence": recurrence_data,
             "dueDateTime": _shifted(due, shift)}
    for name in ("startDateTime", "reminderDateTime"):
        if isinstance(data.get(name), Mapping):
            body[name] = _shifted(data[name], shift)
    return b.create_task(email, list_id, body)


def _shifted(value: Mapping[str, Any], shift: timedelta) -> dict[str, Any]:
    text = str(value["dateTime"])
    moment = datetime.fromisoformat(text.rstrip("Z")[:19]) + shift
    return {"dateTime": moment.isoformat(), "timeZone": value.get("timeZone") or "UTC"}
