"""State of the Graph sandbox: per mailbox its calendar, To Do lists, categories, settings.

Models know nothing of HTTP. They hold resources in Graph's own JSON shape (the
properties a client may set, kept as sent), enforce what Exchange Online enforces and
raise :class:`GraphError`. Time and identifiers come from an injected clock and id
source, so tests control both.

Changes are numbered per mailbox (``MailboxData.seq``); a resource remembers the number
of its last change and a deletion leaves a tombstone. A delta token is the number up to
which a client has seen a folder, plus the window it asked for, so a delta round reports
exactly the creates, updates and deletes after it. ``reset_sync_states`` makes every
token of a mailbox stale (as when Exchange drops its sync state cache): it is then
answered with 410 Gone (``syncStateNotFound``).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from esexchange.sandbox.directory import Directory, MailboxEntry
from esexchange.sandbox.graph.errors import GraphError, invalid, not_found
from esexchange.sandbox.graph.subscriptions import Subscriptions

Clock = Callable[[], datetime]
IdSource = Callable[[], bytes]  # 16 fresh bytes per call

CALENDAR = "calendar"
DEFAULT_TASK_LIST = "Tasks"
# Outlook gives a new mailbox these six colour categories (name, preset).
DEFAULT_CATEGORIES = (
    ("Red category", "preset0"),
    ("Orange category", "preset1"),
    ("Yellow category", "preset3"),
    ("Green category", "preset4"),
    ("Blue category", "preset7"),
    ("Purple category", "preset8"),
)
CATEGORY_COLORS = frozenset({"none", *(f"preset{n}" for n in range(25))})
# The id prefixes of a REST id and of an immutable id (Prefer: IdType="ImmutableId").
REST_PREFIX, IMMUTABLE_PREFIX = "AAMkAG", "AAkALg"
_EVENT_WRITABLE = frozenset(
    {
        "subject",
        "body",
        "start",
        "end",
        "isAllDay",
        "location",
        "locations",
        "sensitivity",
        "importance",
        "categories",
        "isReminderOn",
        "reminderMinutesBeforeStart",
        "showAs",
        "attendees",
        "recurrence",
        "responseRequested",
        "allowNewTimeProposals",
        "isOnlineMeeting",
        "hideAttendees",
        "singleValueExtendedProperties",
        "transactionId",
        "multiValueExtendedProperties",
        "@odata.type",
    }
)
_TASK_WRITABLE = frozenset(
    {
        "title",
        "body",
        "importance",
        "status",
        "categories",
        "dueDateTime",
        "startDateTime",
        "reminderDateTime",
        "isReminderOn",
        "completedDateTime",
        "recurrence",
        "linkedResources",
        "@odata.type",
    }
)
_ENUMS = {
    "sensitivity": {"normal", "personal", "private", "confidential"},
    "importance": {"low", "normal", "high"},
    "showAs": {"free", "tentative", "busy", "oof", "workingElsewhere", "unknown"},
    "status": {"notStarted", "inProgress", "completed", "waitingOnOthers", "deferred"},
}


def system_clock() -> datetime:
    """The wall clock in UTC."""
    return datetime.now(UTC)


@dataclass
class Resource:
    """One event, task or category: its id, its properties and its last change number."""

    id: str
    data: dict[str, Any]
    seq: int
    change_key: str
    created: str
    modified: str
    extended: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (id, value)
    links: list[dict[str, Any]] = field(default_factory=list)  # a task's linkedResources


@dataclass
class Folder:
    """A calendar or a To Do list: resources by id and tombstones (id -> change number);
    ``removed_series`` holds (change number, master id, old data) of a series deleted or
    regenerated, whose old occurrences a delta round reports removed (``series.py``)."""

    items: dict[str, Resource] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)
    removed_series: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)


@dataclass
class TaskList:
    id: str
    display_name: str
    wellknown: str
    folder: Folder = field(default_factory=Folder)


@dataclass
class MailboxData:
    """Everything one mailbox holds."""

    entry: MailboxEntry
    seq: int = 0
    generation: int = 0
    calendar: Folder = field(default_factory=Folder)
    task_lists: dict[str, TaskList] = field(default_factory=dict)
    categories: dict[str, Resource] = field(default_factory=dict)
    time_zone: str = ""
    transactions: dict[str, str] = field(default_factory=dict)  # transactionId -> event id
    sent: list[str] = field(default_factory=list)  # meeting messages it would have sent
    # The default calendar's own extended properties: key -> (id as sent, value).
    calendar_extended: dict[str, tuple[str, str]] = field(default_factory=dict)

    def set_calendar_properties(self, entries: Any) -> None:
        """PATCH of the calendar's ``singleValueExtendedProperties`` (added or replaced)."""
        self.calendar_extended.update(_extended(entries))

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq


@dataclass(frozen=True)
class Window:
    """A calendarView window (UTC, end exclusive)."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class DeltaPage:
    """One page of a delta round: entries and either a next or a delta token."""

    entries: list[dict[str, Any]]
    next_token: str | None
    delta_token: str | None


Candidates = Callable[
    ["MailboxData", "Folder", int, int, "Window | None"], list[tuple[int, str, "Resource | None"]]
]
"""What a delta round reports between two change numbers: (change, id, resource or None
for a removal); the calendar's are its instances (``series.delta_candidates``)."""

_NEXT_ROUND = -1  # the upper bound of a round that starts when its delta token is used


@dataclass(frozen=True)
class _Cursor:
    folder: str
    generation: int
    since: int
    upto: int
    after: tuple[int, str]
    window: Window | None
    initial: bool


class GraphBackend:
    """The mailboxes of one sandbox; every method raises ``GraphError`` as Graph answers."""

    def __init__(
        self,
        directory: Directory,
        *,
        clock: Clock = system_clock,
        new_id: IdSource = lambda: os.urandom(16),
    ) -> None:
        self.directory = directory
        self.clock = clock
        self.new_id = new_id
        self.mailboxes: dict[str, MailboxData] = {}
        self.subscriptions = Subscriptions(directory, clock, new_id)

    # --- mailboxes -----------------------------------------------------------------------

    def mailbox(self, email: str) -> MailboxData:
        """The mailbox `email`, created with Outlook's defaults on first use."""
        entry = self.directory.mailbox(email)
        if entry is None:
            raise GraphError(404, "ErrorInvalidUser", f"The requested user '{email}' is invalid.")
        key = entry.email.casefold()
        if key not in self.mailboxes:
            data = MailboxData(entry, time_zone=entry.time_zone)
            list_id = self._id("AQMkA")
            data.task_lists[list_id] = TaskList(list_id, DEFAULT_TASK_LIST, "defaultList")
            for name, color in DEFAULT_CATEGORIES:
                self._new_category(data, name, color)
            self.mailboxes[key] = data
        return self.mailboxes[key]

    def reset_sync_states(self, email: str) -> None:
        """Make every delta token of `email` stale (Exchange lost its sync state cache)."""
        self.mailbox(email).generation += 1

    def _id(self, prefix: str) -> str:
        return prefix + base64.urlsafe_b64encode(self.new_id() + self.new_id()).decode().rstrip("=")

    def _stamp(self) -> str:
        return graph_datetime(self.clock())

    def _touch(self, box: MailboxData, resource: Resource) -> None:
        resource.seq = box.next_seq()
        resource.change_key = base64.b64encode(self.new_id()).decode()[:22]
        resource.modified = self._stamp()

    def _new(self, box: MailboxData, prefix: str, data: dict[str, Any]) -> Resource:
        now = self._stamp()
        resource = Resource(self._id(prefix), data, 0, "", now, now)
        self._touch(box, resource)
        return resource

    # --- events --------------------------------------------------------------------------

    def create_event(self, email: str, body: Mapping[str, Any]) -> Resource:
        box = self.mailbox(email)
        transaction = body.get("transactionId")
        if isinstance(transaction, str) and transaction in box.transactions:
            existing = box.calendar.items.get(box.transactions[transaction])
            if existing is not None:
                return existing  # a retried POST: Graph drops the duplicate
        data = _checked(body, _EVENT_WRITABLE, "event")
        extended = _extended(data.pop("singleValueExtendedProperties", []))
        for required in ("start", "end"):
            if required not in data:
                raise invalid(f"Missing property '{required}' of the event.")
        _check_times(data)
        resource = self._new(box, REST_PREFIX, data)
        resource.extended = extended
        box.calendar.items[resource.id] = resource
        if isinstance(transaction, str):
            box.transactions[transaction] = resource.id
        self._invite(box, resource, "invitation", data.get("attendees"))
        return resource

    def event(self, email: str, event_id: str) -> Resource:
        box = self.mailbox(email)
        resource = box.calendar.items.get(canonical_id(event_id))
        if resource is None:
            raise not_found()
        return resource

    def events(self, email: str) -> list[Resource]:
        return sorted(self.mailbox(email).calendar.items.values(), key=lambda r: r.seq)

    def update_event(
        self, email: str, event_id: str, patch: Mapping[str, Any], if_match: str | None
    ) -> Resource:
        box = self.mailbox(email)
        resource = self.event(email, event_id)
        _check_etag(resource, if_match)
        data = _checked(patch, _EVENT_WRITABLE - {"transactionId"}, "event")
        if "transactionId" in patch:
            raise invalid("The property 'transactionId' cannot be changed.")
        resource.extended.update(_extended(data.pop("singleValueExtendedProperties", [])))
        merged = {**resource.data, **data}
        _check_times(merged)
        added = _new_attendees(resource.data.get("attendees"), data.get("attendees"))
        resource.data = merged
        self._touch(box, resource)
        self._invite(box, resource, "update", added)
        return resource

    def delete_event(self, email: str, event_id: str) -> None:
        box = self.mailbox(email)
        resource = self.event(email, event_id)
        del box.calendar.items[resource.id]
        box.calendar.removed[resource.id] = box.next_seq()
        self._invite(box, resource, "cancellation", resource.data.get("attendees"))

    def _invite(self, box: MailboxData, resource: Resource, kind: str, attendees: Any) -> None:
        """Graph has no SendToNone: an event with attendees always mails them."""
        for attendee in attendees or []:
            address = (attendee.get("emailAddress") or {}).get("address", "")
            box.sent.append(f"{kind}:{address}:{resource.data.get('subject', '')}")

    # --- To Do ---------------------------------------------------------------------------

    def task_list(self, email: str, list_id: str) -> TaskList:
        found = self.mailbox(email).task_lists.get(list_id)
        if found is None:
            raise not_found("The specified object was not found in the store.")
        return found

    def create_task(self, email: str, list_id: str, body: Mapping[str, Any]) -> Resource:
        box, task_list = self.mailbox(email), self.task_list(email, list_id)
        data = _checked(body, _TASK_WRITABLE, "todoTask")
        links = data.pop("linkedResources", [])
        if "title" not in data:
            raise invalid("Missing property 'title' of the todoTask.")
        resource = self._new(box, "AAMkADk", data)
        resource.links = [self._link(link) for link in links]
        task_list.folder.items[resource.id] = resource
        return resource

    def task(self, email: str, list_id: str, task_id: str) -> Resource:
        resource = self.task_list(email, list_id).folder.items.get(task_id)
        if resource is None:
            raise not_found()
        return resource

    def update_task(
        self,
        email: str,
        list_id: str,
        task_id: str,
        patch: Mapping[str, Any],
        if_match: str | None,
    ) -> Resource:
        box, resource = self.mailbox(email), self.task(email, list_id, task_id)
        _check_etag(resource, if_match)
        data = _checked(patch, _TASK_WRITABLE - {"linkedResources"}, "todoTask")
        resource.data = {**resource.data, **data}
        self._touch(box, resource)
        return resource

    def delete_task(self, email: str, list_id: str, task_id: str) -> None:
        box, task_list = self.mailbox(email), self.task_list(email, list_id)
        self.task(email, list_id, task_id)
        del task_list.folder.items[task_id]
        task_list.folder.removed[task_id] = box.next_seq()

    def add_link(
        self, email: str, list_id: str, task_id: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        box, resource = self.mailbox(email), self.task(email, list_id, task_id)
        link = self._link(body)
        resource.links.append(link)
        self._touch(box, resource)
        return link

    def _link(self, body: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(body, Mapping):
            raise invalid("A linkedResource must be an object.")
        allowed = {"applicationName", "displayName", "externalId", "webUrl", "@odata.type"}
        data = _checked(body, frozenset(allowed), "linkedResource")
        data.pop("@odata.type", None)
        return {"id": str(_uuid(self.new_id())), **data}

    # --- categories ----------------------------------------------------------------------

    def categories(self, email: str) -> list[Resource]:
        return list(self.mailbox(email).categories.values())

    def create_category(self, email: str, body: Mapping[str, Any]) -> Resource:
        box = self.mailbox(email)
        name, color = body.get("displayName"), body.get("color", "none")
        if not isinstance(name, str) or not name.strip():
            raise invalid("The category needs a displayName.")
        if any(c.data["displayName"].casefold() == name.casefold() for c in self.categories(email)):
            raise GraphError(409, "ErrorItemAlreadyExists", f"A category '{name}' already exists.")
        return self._new_category(box, name, _color(color))

    def _new_category(self, box: MailboxData, name: str, color: str) -> Resource:
        resource = Resource(
            str(_uuid(self.new_id())), {"displayName": name, "color": color}, 0, "", "", ""
        )
        box.categories[resource.id] = resource
        return resource

    def update_category(self, email: str, category_id: str, patch: Mapping[str, Any]) -> Resource:
        resource = self.mailbox(email).categories.get(category_id)
        if resource is None:
            raise not_found()
        if "displayName" in patch and patch["displayName"] != resource.data["displayName"]:
            raise invalid("The displayName of a category cannot be changed.")
        if "color" in patch:
            resource.data["color"] = _color(patch["color"])
        return resource

    def delete_category(self, email: str, category_id: str) -> None:
        if self.mailbox(email).categories.pop(category_id, None) is None:
            raise not_found()

    # --- delta ---------------------------------------------------------------------------

    def delta(
        self,
        email: str,
        folder_key: str,
        *,
        token: str | None,
        window: Window | None,
        page_size: int,
        render: Callable[[Resource], dict[str, Any]],
        candidates: Candidates | None = None,
    ) -> DeltaPage:
        """One page of the delta round of `folder_key` (``calendar`` or a task list id).

        ``token`` is a skip or delta token; without one a new round starts over
        ``window`` (events only). Entries are rendered resources and ``@removed`` stubs.
        """
        box = self.mailbox(email)
        folder = self._folder(box, folder_key)
        if token is None:
            cursor = _Cursor(folder_key, box.generation, 0, box.seq, (0, ""), window, True)
        else:
            cursor = _decode(token)
            if cursor.folder != folder_key:
                raise _corrupt_state()
            if cursor.generation != box.generation:
                raise GraphError(
                    410,
                    "syncStateNotFound",
                    "The sync state was not found or has expired. Start a full "
                    "synchronization with a new initial request.",
                    headers={"Location": _initial_query(cursor.window)},
                )
        if cursor.upto == _NEXT_ROUND:
            cursor = _Cursor(
                cursor.folder,
                cursor.generation,
                cursor.since,
                box.seq,
                cursor.after,
                cursor.window,
                False,
            )
        listed = (candidates or _changes)(box, folder, cursor.since, cursor.upto, cursor.window)
        entries: list[dict[str, Any]] = []
        position = cursor.after
        remaining = iter(c for c in listed if (c[0], c[1]) > cursor.after)
        for seq, rid, resource in remaining:
            position = (seq, rid)
            if resource is not None and in_window(resource, cursor.window, box):
                entries.append(render(resource))
            elif not cursor.initial:
                # Deleted, or (calendarView) changed outside the window: Graph reports both
                # as removed, and clients are told to check their window themselves.
                entries.append({"id": rid, "@removed": {"reason": "deleted"}})
            if len(entries) >= page_size:
                break
        more = any(True for _ in remaining)
        if more:
            return DeltaPage(entries, _encode(_replace(cursor, after=position)), None)
        # A delta token starts the next round at whatever has changed by the time it is used.
        done = _Cursor(
            folder_key, box.generation, cursor.upto, _NEXT_ROUND, (0, ""), cursor.window, False
        )
        return DeltaPage(entries, None, _encode(done))

    def _folder(self, box: MailboxData, key: str) -> Folder:
        if key == CALENDAR:
            return box.calendar
        found = box.task_lists.get(key)
        if found is None:
            raise not_found()
        return found.folder

    # --- persistence ---------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything the sandbox holds, as JSON-safe data (see ``restore``)."""
        return {key: _dump_mailbox(box) for key, box in self.mailboxes.items()}

    def restore(self, data: Mapping[str, Any]) -> None:
        for key, dumped in data.items():
            entry = self.directory.mailbox(key)
            if entry is not None:  # a mailbox removed from the directory is dropped
                self.mailboxes[key] = _load_mailbox(entry, dumped)


# --- helpers -------------------------------------------------------------------------------


def _changes(
    box: MailboxData, folder: Folder, since: int, upto: int, window: Window | None
) -> list[tuple[int, str, Resource | None]]:
    """The changes and removals of a folder's resources between two change numbers."""
    return sorted(
        [(r.seq, r.id, r) for r in folder.items.values() if since < r.seq <= upto]
        + [(seq, rid, None) for rid, seq in folder.removed.items() if since < seq <= upto],
        key=lambda c: (c[0], c[1]),
    )


def canonical_id(item_id: str) -> str:
    """The stored form of an event id, given as a REST id or an immutable id."""
    if item_id.startswith(IMMUTABLE_PREFIX):
        return REST_PREFIX + item_id.removeprefix(IMMUTABLE_PREFIX)
    return item_id


def immutable_id(item_id: str) -> str:
    return IMMUTABLE_PREFIX + item_id.removeprefix(REST_PREFIX)


def graph_datetime(moment: datetime) -> str:
    """UTC as Graph writes created/lastModifiedDateTime: ``2026-05-01T08:00:00.1234567Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def parse_zone(name: str | None) -> zoneinfo.ZoneInfo | Any:
    if not name or name.upper() in {"UTC", "Z", "COORDINATED UNIVERSAL TIME"}:
        return UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise GraphError(
            400,
            "TimeZoneNotSupportedException",
            f"A valid TimeZone value must be specified. "
            f"The following TimeZone value is not supported: '{name}'.",
        ) from None


def instant(value: Any, what: str) -> datetime:
    """The UTC instant of a dateTimeTimeZone value."""
    if not isinstance(value, Mapping) or not isinstance(value.get("dateTime"), str):
        raise invalid(f"The property '{what}' must be a dateTimeTimeZone object.")
    text = value["dateTime"].rstrip("Z")
    head, _, fraction = text.partition(".")
    try:
        local = datetime.fromisoformat(head + ("." + fraction[:6] if fraction else ""))
    except ValueError:
        raise invalid(f"Cannot convert the literal '{value['dateTime']}' of '{what}'.") from None
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    return local.replace(tzinfo=parse_zone(value.get("timeZone"))).astimezone(UTC)


def _check_times(data: Mapping[str, Any]) -> None:
    start, end = instant(data.get("start"), "start"), instant(data.get("end"), "end")
    if end < start:
        raise invalid("The end of the event must not be before its start.")
    if data.get("isAllDay"):
        for name in ("start", "end"):
            wall = instant(data[name], name).astimezone(parse_zone(data[name].get("timeZone")))
            if wall.time() != datetime.min.time():
                raise invalid(
                    "Start and end of an all-day event must be midnight in its time zone."
                )


def in_window(resource: Resource, window: Window | None, box: MailboxData) -> bool:
    if window is None:
        return True
    start, end = instant(resource.data["start"], "start"), instant(resource.data["end"], "end")
    if resource.data.get("isAllDay"):  # all-day events float: midnight in the mailbox's zone
        zone = parse_zone(box.time_zone)
        start = start.replace(tzinfo=None).replace(tzinfo=zone)
        end = end.replace(tzinfo=None).replace(tzinfo=zone)
    return start < window.end and (end > window.start or (start == end == window.start))


def _checked(body: Mapping[str, Any], allowed: frozenset[str], kind: str) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise invalid(f"The request body must be a JSON object ({kind}).")
    for name, value in body.items():
        if name not in allowed:
            raise GraphError(
                400,
                "RequestBodyRead",
                f"The property '{name}' does not exist on type 'microsoft.graph.{kind}' or "
                "cannot be written. Make sure to only use property names that are defined.",
            )
        if name in _ENUMS and value not in _ENUMS[name]:
            raise GraphError(
                400,
                "RequestBodyRead",
                f"Requested value '{value}' of '{name}' "
                f"was not found; expected one of {sorted(_ENUMS[name])}.",
            )
    return {k: v for k, v in body.items() if k != "@odata.type"}


def extended_key(property_id: str) -> str:
    """Identity of a named property: type and GUID ignore case, the Name does not."""
    parts = property_id.split(" ", 3)
    if len(parts) != 4 or parts[2].lower() not in {"name", "id"}:
        raise invalid(f"The extended property id '{property_id}' is not valid.")
    kind, guid, how, name = parts
    return f"{kind.lower()} {guid.lower()} {how.lower()} {name}"


def _extended(entries: Any) -> dict[str, tuple[str, str]]:
    if not isinstance(entries, list):
        raise invalid("singleValueExtendedProperties must be an array.")
    found: dict[str, tuple[str, str]] = {}
    for entry in entries:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str):
            raise invalid("An extended property needs an id and a value.")
        found[extended_key(entry["id"])] = (entry["id"], str(entry.get("value", "")))
    return found


def _new_attendees(before: Any, after: Any) -> list[Any]:
    known = {(a.get("emailAddress") or {}).get("address", "").casefold() for a in before or []}
    return [
        a
        for a in after or []
        if (a.get("emailAddress") or {}).get("address", "").casefold() not in known
    ]


def _check_etag(resource: Resource, if_match: str | None) -> None:
    if if_match and if_match != "*" and if_match != etag(resource):
        raise GraphError(
            412,
            "ErrorIrresolvableConflict",
            "The send or update operation could not be performed because the change key "
            "passed in the request does not match the current change key for the item.",
        )


def etag(resource: Resource) -> str:
    return f'W/"{resource.change_key}"'


def _color(value: Any) -> str:
    if value not in CATEGORY_COLORS:
        raise invalid(f"'{value}' is not a category colour (none, preset0 .. preset24).")
    return str(value)


def _uuid(raw: bytes) -> str:
    hexed = raw.hex()
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:32]}"


def _encode(cursor: _Cursor) -> str:
    window = (
        [cursor.window.start.isoformat(), cursor.window.end.isoformat()] if cursor.window else None
    )
    raw = json.dumps(
        [
            cursor.folder,
            cursor.generation,
            cursor.since,
            cursor.upto,
            list(cursor.after),
            window,
            cursor.initial,
        ]
    ).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(token: str) -> _Cursor:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        folder, generation, since, upto, after, window, initial = json.loads(raw)
        return _Cursor(
            str(folder),
            int(generation),
            int(since),
            int(upto),
            (int(after[0]), str(after[1])),
            Window(datetime.fromisoformat(window[0]), datetime.fromisoformat(window[1]))
            if window
            else None,
            bool(initial),
        )
    except (ValueError, TypeError, IndexError, binascii.Error, json.JSONDecodeError):
        raise _corrupt_state() from None


def _replace(cursor: _Cursor, *, after: tuple[int, str]) -> _Cursor:
    return _Cursor(
        cursor.folder,
        cursor.generation,
        cursor.since,
        cursor.upto,
        after,
        cursor.window,
        cursor.initial,
    )


def _initial_query(window: Window | None) -> str:
    """The query of a fresh initial delta request (the route makes it a whole URL)."""
    if window is None:
        return ""
    return (
        f"?startDateTime={window.start.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        f"&endDateTime={window.end.strftime('%Y-%m-%dT%H:%M:%SZ')}"
    )


def _corrupt_state() -> GraphError:
    return GraphError(
        400, "ErrorInvalidSyncStateData", "The sync state data is corrupt or otherwise invalid."
    )


def window_of(start: str | None, end: str | None) -> Window:
    """The window of a calendarView request; both bounds are required."""
    if not start or not end:
        raise invalid(
            "This request requires a time window specified by the query string "
            "parameters StartDateTime and EndDateTime."
        )
    bounds = []
    for text in (start, end):
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise invalid(f"The value '{text}' is not a valid date and time.") from None
        bounds.append(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return Window(bounds[0].astimezone(UTC), bounds[1].astimezone(UTC))


def _dump_resource(r: Resource) -> dict[str, Any]:
    return {
        "id": r.id,
        "data": r.data,
        "seq": r.seq,
        "change_key": r.change_key,
        "created": r.created,
        "modified": r.modified,
        "extended": {k: list(v) for k, v in r.extended.items()},
        "links": r.links,
    }


def _load_resource(d: Mapping[str, Any]) -> Resource:
    return Resource(
        d["id"],
        d["data"],
        d["seq"],
        d["change_key"],
        d["created"],
        d["modified"],
        {k: (v[0], v[1]) for k, v in d["extended"].items()},
        d["links"],
    )


def _dump_folder(f: Folder) -> dict[str, Any]:
    return {
        "items": [_dump_resource(r) for r in f.items.values()],
        "removed": f.removed,
        "removed_series": [list(entry) for entry in f.removed_series],
    }


def _load_folder(d: Mapping[str, Any]) -> Folder:
    items = (_load_resource(r) for r in d["items"])
    series = [(int(s), str(m), dict(data)) for s, m, data in d.get("removed_series", [])]
    return Folder({r.id: r for r in items}, dict(d["removed"]), series)


def _dump_mailbox(box: MailboxData) -> dict[str, Any]:
    return {
        "seq": box.seq,
        "generation": box.generation,
        "calendar": _dump_folder(box.calendar),
        "task_lists": [
            [t.id, t.display_name, t.wellknown, _dump_folder(t.folder)]
            for t in box.task_lists.values()
        ],
        "categories": [_dump_resource(c) for c in box.categories.values()],
        "time_zone": box.time_zone,
        "transactions": box.transactions,
        "sent": box.sent,
        "calendar_extended": {k: list(v) for k, v in box.calendar_extended.items()},
    }


def _load_mailbox(entry: MailboxEntry, d: Mapping[str, Any]) -> MailboxData:
    categories = (_load_resource(c) for c in d["categories"])
    return MailboxData(
        entry,
        d["seq"],
        d["generation"],
        _load_folder(d["calendar"]),
        {t[0]: TaskList(t[0], t[1], t[2], _load_folder(t[3])) for t in d["task_lists"]},
        {c.id: c for c in categories},
        d["time_zone"],
        dict(d["transactions"]),
        list(d["sent"]),
        {k: (v[0], v[1]) for k, v in d.get("calendar_extended", {}).items()},
    )
