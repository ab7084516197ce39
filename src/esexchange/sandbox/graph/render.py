"""Resources of the Graph sandbox in the JSON form Graph returns them.

Graph's defaults, which clients get wrong when they only ever read their own writes:
date/times come back in UTC unless ``Prefer: outlook.timezone`` names a zone; a plain-text
event body comes back as HTML unless ``Prefer: outlook.body-content-type="text"``; event
ids are REST ids unless ``Prefer: IdType="ImmutableId"``; extended properties and linked
resources only with ``$expand``; ``transactionId`` only when the client set one.
"""

from __future__ import annotations

import html
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from esexchange.sandbox.graph.models import (
    MailboxData,
    Resource,
    etag,
    extended_key,
    immutable_id,
    instant,
    parse_zone,
)


@dataclass(frozen=True)
class Preferences:
    """What the ``Prefer`` header of a request asked for."""

    immutable_ids: bool = False
    time_zone: str | None = None
    text_body: bool = False
    max_page_size: int | None = None

    @classmethod
    def parse(cls, header: str) -> Preferences:
        values: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in header.split(","))):
            name, _, value = part.partition("=")
            values[name.strip().lower()] = value.strip().strip('"')
        size = values.get("odata.maxpagesize")
        return cls(
            immutable_ids=values.get("idtype", "").lower() == "immutableid",
            time_zone=values.get("outlook.timezone") or None,
            text_body=values.get("outlook.body-content-type", "").lower() == "text",
            max_page_size=int(size) if size and size.isdigit() and int(size) > 0 else None,
        )


def wall_time(value: dict[str, Any], zone: str | None, all_day: bool) -> dict[str, str]:
    """A dateTimeTimeZone as Graph returns it: in the preferred zone, UTC otherwise."""
    label = zone or "UTC"
    if all_day:  # all-day bounds float: midnight whatever the zone
        moment = datetime.fromisoformat(value["dateTime"].rstrip("Z")[:19])
    else:
        moment = instant(value, "dateTime").astimezone(parse_zone(zone)).replace(tzinfo=None)
    return {"dateTime": moment.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": label}


def body_of(stored: Any, prefs: Preferences) -> dict[str, str]:
    stored = stored or {"contentType": "text", "content": ""}
    kind, content = str(stored.get("contentType", "text")).lower(), stored.get("content") or ""
    if prefs.text_body:
        return {
            "contentType": "text",
            "content": html_to_text(content) if kind == "html" else content,
        }
    if kind == "html":
        return {"contentType": "html", "content": content}
    # Exchange stores a text body as HTML; that is what a client reads back by default.
    lines = "<br>\r\n".join(html.escape(line) for line in content.split("\n"))
    page = (
        '<html><head>\r\n<meta http-equiv="Content-Type" content="text/html; '
        f'charset=utf-8">\r\n</head>\r\n<body>\r\n<div>{lines}</div>\r\n</body>\r\n</html>\r\n'
    )
    return {"contentType": "html", "content": page if content else ""}


def html_to_text(content: str) -> str:
    body = re.sub(r"(?is)<head.*?</head>", "", content)
    body = re.sub(r"(?i)<br\s*/?>\r?\n?", "\n", body)
    return html.unescape(re.sub(r"<[^>]+>", "", body)).strip("\r\n")


def event(
    resource: Resource, box: MailboxData, prefs: Preferences, *, expand: str | None = None
) -> dict[str, Any]:
    data = resource.data
    all_day = bool(data.get("isAllDay"))
    address = box.entry.email
    out: dict[str, Any] = {
        "@odata.etag": etag(resource),
        "id": immutable_id(resource.id) if prefs.immutable_ids else resource.id,
        "createdDateTime": resource.created,
        "lastModifiedDateTime": resource.modified,
        "changeKey": resource.change_key,
        "categories": list(data.get("categories", [])),
        "originalStartTimeZone": data["start"].get("timeZone") or "UTC",
        "originalEndTimeZone": data["end"].get("timeZone") or "UTC",
        "iCalUId": "040000008200E00074C5B7101A82E008"
        + uuid.uuid5(uuid.NAMESPACE_OID, resource.id).hex.upper(),
        "reminderMinutesBeforeStart": data.get("reminderMinutesBeforeStart", 15),
        "isReminderOn": data.get("isReminderOn", True),
        "hasAttachments": False,
        "subject": data.get("subject", ""),
        "bodyPreview": html_to_text(
            body_of(data.get("body"), Preferences(text_body=True))["content"]
        )[:255],
        "importance": data.get("importance", "normal"),
        "sensitivity": data.get("sensitivity", "normal"),
        "isAllDay": all_day,
        "isCancelled": False,
        "isOrganizer": True,
        "responseRequested": data.get("responseRequested", True),
        "showAs": data.get("showAs", "busy"),
        "type": data.get("type")
        or ("seriesMaster" if data.get("recurrence") else "singleInstance"),
        "webLink": f"https://outlook.office365.com/owa/?itemid={resource.id}&exvsurl=1&path=/calendar/item",
        "body": body_of(data.get("body"), prefs),
        "start": wall_time(data["start"], prefs.time_zone, all_day),
        "end": wall_time(data["end"], prefs.time_zone, all_day),
        "location": {
            "displayName": "",
            "locationType": "default",
            "uniqueIdType": "unknown",
            "address": {},
            "coordinates": {},
            **(data.get("location") or {}),
        },
        "locations": list(data.get("locations", [])),
        "recurrence": data.get("recurrence"),
        "attendees": list(data.get("attendees", [])),
        "organizer": {"emailAddress": {"name": box.entry.name, "address": address}},
    }
    if "transactionId" in data:
        out["transactionId"] = data["transactionId"]
    if "seriesMasterId" in data:  # an occurrence or exception of a series (see series.py)
        master = data["seriesMasterId"]
        out["seriesMasterId"] = immutable_id(master) if prefs.immutable_ids else master
        out["originalStart"] = data["originalStart"]
    if expand is not None:
        out["singleValueExtendedProperties"] = extended(resource, expand)
    return out


_EXPAND_FILTER = re.compile(
    r"^singleValueExtendedProperties(?:\(\$filter=id\s+eq\s+'(?P<id>[^']*)'\))?$", re.I
)


def expansion(expand: str | None) -> str | None:
    """``""`` for every extended property, the property id for one, None for no $expand."""
    if not expand:
        return None
    match = _EXPAND_FILTER.match(expand.strip())
    if match is None:
        return None if expand.strip().lower() == "linkedresources" else ""
    return match.group("id") or ""


def extended(resource: Resource, wanted: str) -> list[dict[str, str]]:
    key = extended_key(wanted) if wanted else None
    return [
        {"id": original, "value": value}
        for k, (original, value) in resource.extended.items()
        if key is None or k == key
    ]


def task(resource: Resource, prefs: Preferences, *, links: bool = False) -> dict[str, Any]:
    data = resource.data
    out: dict[str, Any] = {
        "@odata.etag": etag(resource),
        "id": resource.id,
        "importance": data.get("importance", "normal"),
        "isReminderOn": data.get("isReminderOn", False),
        "status": data.get("status", "notStarted"),
        "title": data.get("title", ""),
        "createdDateTime": resource.created,
        "lastModifiedDateTime": resource.modified,
        "hasAttachments": False,
        "categories": list(data.get("categories", [])),
        "body": {
            "content": body_of(data.get("body"), Preferences(text_body=True))["content"],
            "contentType": "text",
        },
        "bodyLastModifiedDateTime": resource.modified,
    }
    for name in ("dueDateTime", "startDateTime", "reminderDateTime", "completedDateTime"):
        if data.get(name):
            out[name] = wall_time(data[name], prefs.time_zone, False)
    if data.get("recurrence"):
        out["recurrence"] = data["recurrence"]
    if links:
        out["linkedResources"] = [dict(link) for link in resource.links]
    return out


def category(resource: Resource) -> dict[str, Any]:
    return {"id": resource.id, **resource.data}
