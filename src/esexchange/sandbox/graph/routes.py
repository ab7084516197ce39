"""The wire layer of the Graph sandbox: a request (plain or a ``$batch`` sub-request) in,
a status, headers and a JSON body out.

Each route names the path template of Graph's OpenAPI description it serves, so tests
can validate request and response bodies against that operation. Access rules: the
bearer token's application roles decide what kind of resource an app may touch
(Calendars.ReadWrite, Tasks.ReadWrite.All, MailboxSettings.ReadWrite), and the directory's
``mailboxes`` of the app (standing in for RBAC for Applications) which mailboxes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from esexchange.sandbox.graph import render, series
from esexchange.sandbox.graph.errors import GraphError, invalid
from esexchange.sandbox.graph.models import (
    CALENDAR,
    Candidates,
    GraphBackend,
    Resource,
    extended_key,
    immutable_id,
    instant,
    window_of,
)
from esexchange.sandbox.graph.render import Preferences

DEFAULT_PAGE_SIZE = 10  # what Graph returns per page without $top or odata.maxpagesize
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class GraphRequest:
    """One request, as the sandbox serves it (``path`` is below ``/v1.0/``)."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    body: Any
    claims: Mapping[str, Any]
    base_url: str  # ``https://host:port/v1.0``


@dataclass
class GraphResponse:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    template: str | None = None  # the OpenAPI path it answered, for validation


Handler = Callable[[GraphBackend, GraphRequest, re.Match[str]], GraphResponse]
_ROUTES: list[tuple[str, re.Pattern[str], str, Handler, str]] = []
ROLE_FOR = {
    "calendar": "Calendars.ReadWrite",
    "todo": "Tasks.ReadWrite.All",
    "settings": "MailboxSettings.ReadWrite",
}


def route(method: str, template: str, area: str) -> Callable[[Handler], Handler]:
    """Register a handler for ``template`` (spelled as in the OpenAPI description)."""
    pattern = re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(template.lstrip("/")))
    pattern = pattern.replace(re.escape("delta()"), r"delta(?:\(\))?")

    def register(handler: Handler) -> Handler:
        _ROUTES.append((method, re.compile(f"^{pattern}$", re.I), template, handler, area))
        return handler

    return register


def dispatch(backend: GraphBackend, request: GraphRequest) -> GraphResponse:
    """Serve `request`; a ``GraphError`` becomes Graph's error response."""
    template = None
    try:
        matched = [
            (m, t, h, a)
            for (verb, p, t, h, a) in _ROUTES
            if (m := p.match(request.path.strip("/")))
        ]
        if not matched:
            raise GraphError(
                400,
                "BadRequest",
                f"Resource not found for the segment '{request.path.strip('/').split('/')[-1]}'.",
            )
        allowed = [
            (m, t, h, a)
            for (verb, p, t, h, a) in _ROUTES
            if verb == request.method and (m := p.match(request.path.strip("/")))
        ]
        if not allowed:
            raise GraphError(405, "Request_BadRequest", "The requested method is not allowed.")
        match, template, handler, area = allowed[0]
        if area != "subscriptions":  # a subscription's resource names its mailbox
            _authorize(backend, request, match.group(1), area)
        response = handler(backend, request, match)
    except GraphError as error:
        response = GraphResponse(error.status, error_body(error, request), dict(error.headers))
    response.template = template
    return response


def error_body(error: GraphError, request: GraphRequest | None = None) -> dict[str, Any]:
    """Graph's error JSON (``ODataErrors.ODataError``)."""
    headers = request.headers if request is not None else {}
    inner: dict[str, Any] = {
        "date": _now_text(),
        "request-id": headers.get("x-esx-request-id", "00000000-0000-4000-8000-000000000000"),
    }
    if "client-request-id" in headers:
        inner["client-request-id"] = headers["client-request-id"]
    return {"error": {"code": error.code, "message": error.message, "innerError": inner}}


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _authorize(backend: GraphBackend, request: GraphRequest, user: str, area: str) -> None:
    roles = set(request.claims.get("roles", []))
    if ROLE_FOR[area] not in roles and not (
        request.method == "GET" and ROLE_FOR[area].replace("ReadWrite", "Read") in roles
    ):
        raise GraphError(
            403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
        )
    entry = backend.directory.mailbox(user)
    app = backend.directory.app(str(request.claims.get("appid", "")))
    if entry is None:
        raise GraphError(404, "ErrorInvalidUser", f"The requested user '{user}' is invalid.")
    if app is None or not app.may_access(entry.email):
        # What Exchange Online answers when RBAC for Applications (or an application
        # access policy) does not include the mailbox.
        raise GraphError(
            403,
            "ErrorAccessDenied",
            "Access to OData is disabled: the "
            "application is not allowed to access this mailbox (RBAC for "
            "Applications / management scope).",
        )


def _prefs(request: GraphRequest) -> Preferences:
    return Preferences.parse(request.headers.get("prefer", ""))


def _json(status: int, body: Any = None, **headers: str) -> GraphResponse:
    return GraphResponse(status, body, dict(headers))


def _page_size(request: GraphRequest, prefs: Preferences) -> int:
    top = request.query.get("$top")
    if top is not None:
        if not top.isdigit() or int(top) < 1:
            raise invalid(f"Invalid $top value '{top}'.")
        return min(int(top), MAX_PAGE_SIZE)
    return min(prefs.max_page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def _collection(
    request: GraphRequest, items: list[Any], render_one: Callable[[Any], dict[str, Any]]
) -> GraphResponse:
    prefs = _prefs(request)
    size = _page_size(request, prefs)
    skip_text = request.query.get("$skip", "0")
    skip = int(skip_text) if skip_text.isdigit() else 0
    page = items[skip : skip + size]
    body: dict[str, Any] = {"value": [render_one(i) for i in page]}
    if skip + size < len(items):
        query = {k: v for k, v in request.query.items() if k != "$skip"}
        query["$skip"] = str(skip + size)
        body["@odata.nextLink"] = f"{request.base_url}/{request.path.strip('/')}?" + urlencode(
            query, quote_via=quote
        )
    return _json(200, body)


def _user(match: re.Match[str]) -> str:
    return match.group(1)


# --- calendar ------------------------------------------------------------------------------

# singleValueExtendedProperties/Any(ep: ep/id eq '{id}' and ep/value OP '{v}' [and ...]):
# numeric properties compare with eq ne ge gt le lt, the others with eq and ne (the value
# comparison ignores case), as the field guide of the description says.
_ANY = re.compile(
    r"^singleValueExtendedProperties/any\((?P<v>\w+):\s*(?P=v)/id\s+eq\s+'(?P<id>[^']*)'"
    r"(?P<tests>(?:\s+and\s+(?P=v)/value\s+\w+\s+'[^']*')+)\)$",
    re.I,
)
_VALUE_TEST = re.compile(r"\s+and\s+\w+/value\s+(?P<op>\w+)\s+'(?P<value>[^']*)'", re.I)
_NUMERIC_TYPES = ("long", "integer", "short", "double", "float", "currency")
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "ge": lambda a, b: a >= b,
    "gt": lambda a, b: a > b, "le": lambda a, b: a <= b, "lt": lambda a, b: a < b,
}  # fmt: skip


def _extended_filter(wanted: str) -> Callable[[Resource], bool]:
    """Whether an event passes ``$filter`` (an extended-property ``Any``); 400 otherwise."""
    match = _ANY.match(wanted.strip())
    if match is None:
        raise invalid(f"The $filter '{wanted}' is not supported by the sandbox.")
    key = extended_key(match.group("id"))
    numeric = key.split(" ")[0] in _NUMERIC_TYPES
    tests = [(t["op"].lower(), t["value"]) for t in _VALUE_TEST.finditer(match.group("tests"))]
    for op, _ in tests:
        if op not in _COMPARE or (not numeric and op not in ("eq", "ne")):
            raise invalid(f"The operator '{op}' is not supported for this property.")

    def typed(text: str) -> Any:
        try:
            return float(text) if numeric else text.casefold()
        except ValueError:
            raise invalid(f"'{text}' is not a number.") from None

    wanted_values = [(op, typed(value)) for op, value in tests]

    def passes(event: Resource) -> bool:
        if key not in event.extended:
            return False
        try:
            have = typed(event.extended[key][1])
        except GraphError:  # a value of another type: it does not match
            return False
        return all(_COMPARE[op](have, value) for op, value in wanted_values)

    return passes


@route("GET", "/users/{user-id}/calendar", "calendar")
def get_calendar(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    box = b.mailbox(_user(m))
    body: dict[str, Any] = {
        "id": "AAMkAGCalendar" + box.entry.email.split("@")[0],
        "name": "Calendar",
        "canEdit": True,
        "isDefaultCalendar": True,
        "owner": {"name": box.entry.name, "address": box.entry.email},
    }
    wanted = render.expansion(r.query.get("$expand"))
    if wanted is not None:  # as for events: only when expanded, filtered by id
        key = extended_key(wanted) if wanted else None
        body["singleValueExtendedProperties"] = [
            {"id": original, "value": value}
            for k, (original, value) in box.calendar_extended.items()
            if key is None or k == key
        ]
    return _json(200, body)


@route("PATCH", "/users/{user-id}/calendar", "calendar")
def update_calendar(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    box = b.mailbox(_user(m))
    if not isinstance(r.body, Mapping) or set(r.body) - {
        "singleValueExtendedProperties", "@odata.context"
    }:
        raise invalid("The sandbox changes only the singleValueExtendedProperties of a calendar.")
    box.set_calendar_properties(r.body.get("singleValueExtendedProperties", []))
    return get_calendar(b, replace(r, query={}), m)


@route("GET", "/users/{user-id}/events", "calendar")
def list_events(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    user, prefs = _user(m), _prefs(r)
    events = b.events(user)
    wanted = r.query.get("$filter")
    if wanted:
        passes = _extended_filter(wanted)
        events = [e for e in events if passes(e)]
    events = [e for e in events if not series.is_exception(e)]  # /events: no instances
    box, expand = b.mailbox(user), render.expansion(r.query.get("$expand"))
    return _collection(r, events, lambda e: render.event(e, box, prefs, expand=expand))


@route("POST", "/users/{user-id}/events", "calendar")
def create_event(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    series.check_new(r.body)
    created = b.create_event(_user(m), r.body)
    return _json(201, render.event(created, b.mailbox(_user(m)), _prefs(r)))


@route("GET", "/users/{user-id}/events/{event-id}", "calendar")
def get_event(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    found = series.event(b, _user(m), m.group(2))
    box, prefs = b.mailbox(_user(m)), _prefs(r)
    parts = series.expand_parts(r.query.get("$expand"))
    extended = next((render.expansion(p) for p in parts
                     if p.lower().startswith("singlevalueextendedproperties")), None)
    body = render.event(found, box, prefs, expand=extended)
    if any(p.lower() == "exceptionoccurrences" for p in parts) and series.is_master(found):
        body["exceptionOccurrences"] = [
            render.event(e, box, prefs) for e in series.exceptions_of(box, found)
        ]
    selected = {s.strip().lower() for s in (r.query.get("$select") or "").split(",") if s.strip()}
    if selected:  # what was selected, the id and etag, and what was expanded
        kept = selected | {"id", "@odata.etag", "singlevalueextendedproperties",
                           "exceptionoccurrences"}
        body = {k: v for k, v in body.items() if k.lower() in kept}
        if "cancelledoccurrences" in selected:
            body["cancelledOccurrences"] = (
                series.cancelled_occurrences(found, immutable=prefs.immutable_ids)
                if series.is_master(found) else []
            )
    return _json(200, body)


@route("PATCH", "/users/{user-id}/events/{event-id}", "calendar")
def update_event(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    changed = series.update(b, _user(m), m.group(2), r.body, r.headers.get("if-match"))
    return _json(200, render.event(changed, b.mailbox(_user(m)), _prefs(r)))


@route("DELETE", "/users/{user-id}/events/{event-id}", "calendar")
def delete_event(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    series.delete(b, _user(m), m.group(2))
    return _json(204)


@route("GET", "/users/{user-id}/calendarView", "calendar")
def calendar_view(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    box, prefs = b.mailbox(_user(m)), _prefs(r)
    window = window_of(r.query.get("startDateTime"), r.query.get("endDateTime"))
    inside = series.view(box, window)
    return _collection(r, inside, lambda e: render.event(e, box, prefs))


@route("GET", "/users/{user-id}/events/{event-id}/instances", "calendar")
def event_instances(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    box, prefs = b.mailbox(_user(m)), _prefs(r)
    window = window_of(r.query.get("startDateTime"), r.query.get("endDateTime"))
    master = series.event(b, _user(m), m.group(2))
    found = series.instances(box, master, window) if series.is_master(master) else []
    found.sort(key=lambda e: (instant(e.data["start"], "start"), e.id))
    return _collection(r, found, lambda e: render.event(e, box, prefs))


@route("GET", "/users/{user-id}/calendarView/delta()", "calendar")
def calendar_delta(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    box, prefs, user = b.mailbox(_user(m)), _prefs(r), _user(m)
    window = None
    if not (r.query.get("$skiptoken") or r.query.get("$deltatoken")):
        window = window_of(r.query.get("startDateTime"), r.query.get("endDateTime"))
    # The v1.0 calendarView delta ignores $select, $expand and $filter (see the docs).
    path = f"users/{user}/calendarView/delta()"
    return _delta(b, r, user, CALENDAR, path, lambda e: render.event(e, box, prefs), window,
                  series.delta_candidates)


def _delta(
    b: GraphBackend,
    r: GraphRequest,
    user: str,
    folder: str,
    path: str,
    render_one: Callable[[Resource], dict[str, Any]],
    window: Any = None,
    candidates: Candidates | None = None,
) -> GraphResponse:
    prefs = _prefs(r)
    token = r.query.get("$skiptoken") or r.query.get("$deltatoken")
    try:
        page = b.delta(
            user,
            folder,
            token=token,
            window=window if token is None else None,
            page_size=_delta_page_size(prefs),
            render=render_one,
            candidates=candidates,
        )
    except GraphError as error:
        if "Location" in error.headers:  # 410 Gone: where a new round starts
            error.headers["Location"] = f"{r.base_url}/{path}{error.headers['Location']}"
        raise
    if prefs.immutable_ids and folder == CALENDAR:  # removed events too are named by it
        for entry in page.entries:
            if "@removed" in entry:
                entry["id"] = immutable_id(entry["id"])
    return _delta_response(r, page, path, prefs)


def _delta_page_size(prefs: Preferences) -> int:
    return min(prefs.max_page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def _delta_response(r: GraphRequest, page: Any, path: str, prefs: Preferences) -> GraphResponse:
    body: dict[str, Any] = {"value": page.entries}
    if page.next_token is not None:
        body["@odata.nextLink"] = f"{r.base_url}/{path}?$skiptoken={page.next_token}"
    else:
        body["@odata.deltaLink"] = f"{r.base_url}/{path}?$deltatoken={page.delta_token}"
    headers = {}
    if prefs.max_page_size:
        headers["Preference-Applied"] = f"odata.maxpagesize={_delta_page_size(prefs)}"
    return GraphResponse(200, body, headers)


# --- To Do ---------------------------------------------------------------------------------


@route("GET", "/users/{user-id}/todo/lists", "todo")
def task_lists(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    lists = list(b.mailbox(_user(m)).task_lists.values())
    return _collection(
        r,
        lists,
        lambda t: {
            "@odata.etag": f'W/"{t.id[-12:]}"',
            "id": t.id,
            "displayName": t.display_name,
            "isOwner": True,
            "isShared": False,
            "wellknownListName": t.wellknown,
        },
    )


def _task_of(b: GraphBackend, m: re.Match[str]) -> Resource:
    return b.task(_user(m), m.group(2), m.group(3))


@route("GET", "/users/{user-id}/todo/lists/{todoTaskList-id}/tasks", "todo")
def list_tasks(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    items = sorted(b.task_list(_user(m), m.group(2)).folder.items.values(), key=lambda t: t.seq)
    links = (r.query.get("$expand") or "").strip().lower() == "linkedresources"
    prefs = _prefs(r)
    return _collection(r, items, lambda t: render.task(t, prefs, links=links))


@route("POST", "/users/{user-id}/todo/lists/{todoTaskList-id}/tasks", "todo")
def create_task(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    created = b.create_task(_user(m), m.group(2), r.body)
    return _json(201, render.task(created, _prefs(r), links=bool(created.links)))


@route("GET", "/users/{user-id}/todo/lists/{todoTaskList-id}/tasks/delta()", "todo")
def task_delta(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    prefs, user = _prefs(r), _user(m)
    path = f"users/{user}/todo/lists/{m.group(2)}/tasks/delta()"
    return _delta(b, r, user, m.group(2), path, lambda t: render.task(t, prefs))


@route("GET", "/users/{user-id}/todo/lists/{todoTaskList-id}/tasks/{todoTask-id}", "todo")
def get_task(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    links = (r.query.get("$expand") or "").strip().lower() == "linkedresources"
    return _json(200, render.task(_task_of(b, m), _prefs(r), links=links))


@route("PATCH", "/users/{user-id}/todo/lists/{todoTaskList-id}/tasks/{todoTask-id}", "todo")
def update_task(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    changed = b.update_task(_user(m), m.group(2), m.group(3), r.body, r.headers.get("if-match"))
    series.repeat_task(b, _user(m), m.group(2), changed)  # a recurring task's next one
    return _json(200, render.task(changed, _prefs(r)))


@route("DELETE", "/users/{user-id}/todo/lists/{todoTaskList-id}/tasks/{todoTask-id}", "todo")
def delete_task(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    b.delete_task(_user(m), m.group(2), m.group(3))
    return _json(204)


_LINKS = "/users/{user-id}/todo/lists/{todoTaskList-id}/tasks/{todoTask-id}/linkedResources"


@route("GET", _LINKS, "todo")
def list_links(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    return _collection(r, _task_of(b, m).links, dict)


@route("POST", _LINKS, "todo")
def add_link(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    return _json(201, b.add_link(_user(m), m.group(2), m.group(3), r.body))


# --- categories and settings ---------------------------------------------------------------


@route("GET", "/users/{user-id}/outlook/masterCategories", "settings")
def list_categories(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    return _json(200, {"value": [render.category(c) for c in b.categories(_user(m))]})


@route("POST", "/users/{user-id}/outlook/masterCategories", "settings")
def create_category(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    return _json(201, render.category(b.create_category(_user(m), r.body)))


@route("PATCH", "/users/{user-id}/outlook/masterCategories/{outlookCategory-id}", "settings")
def update_category(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    return _json(200, render.category(b.update_category(_user(m), m.group(2), r.body)))


@route("DELETE", "/users/{user-id}/outlook/masterCategories/{outlookCategory-id}", "settings")
def delete_category(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    b.delete_category(_user(m), m.group(2))
    return _json(204)


@route("GET", "/users/{user-id}/mailboxSettings", "settings")
def mailbox_settings(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    box = b.mailbox(_user(m))
    return _json(
        200,
        {
            "timeZone": box.time_zone,
            "dateFormat": "dd.MM.yyyy",
            "timeFormat": "HH:mm",
            "userPurpose": "user",
            "language": {"locale": "en-US", "displayName": "English (United States)"},
        },
    )


@route("PATCH", "/users/{user-id}/mailboxSettings", "settings")
def update_mailbox_settings(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    box = b.mailbox(_user(m))
    if not isinstance(r.body, Mapping) or set(r.body) - {"timeZone", "@odata.context"}:
        raise invalid("The sandbox changes only the timeZone of mailboxSettings.")
    if "timeZone" in r.body:
        box.time_zone = str(r.body["timeZone"])
    return mailbox_settings(b, r, m)
