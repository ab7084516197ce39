"""A user's Outlook on Exchange Online, as the end-to-end tests drive the Graph side: plain
Graph calls over HTTPS with an app token, sharing nothing with ``esexchange.exchange.graph``.

It has the methods of ``outlook.Outlook`` (the EWS one) and takes the same field names
(exchangelib's: ``body``, ``importance="High"``, ``sensitivity="Private"``, ...), so a rule
test is written once and runs on both backends. Items come back as ``GraphItem``, with
the attributes the tests read from exchangelib's items. Where To Do has no place for a
field (a task's sensitivity or percent complete), asking for it fails the test: the rule
test asks the port's capabilities first (``World.cannot_hold``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote

import httpx

# As a modern Graph client asks: ids that survive moves, times in UTC, bodies as text.
_PREFER = 'IdType="ImmutableId", outlook.timezone="UTC", outlook.body-content-type="text"'
_TASK_STATUS = {
    "NotStarted": "notStarted",
    "InProgress": "inProgress",
    "Completed": "completed",
    "WaitingOnOthers": "waitingOnOthers",
    "Deferred": "deferred",
}


@dataclass
class GraphItem:
    """An event or To Do task as Graph shows it, with exchangelib's attribute names."""

    kind: str
    id: str
    changekey: str
    subject: str
    body: str
    categories: list[str]
    importance: str  # "Low", "Normal", "High"
    sensitivity: str | None  # None for To Do tasks, which have none
    location: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    status: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


class GraphOutlook:
    """One mailbox, reached with the app's token (the way any app-only Graph client does)."""

    def __init__(self, client: httpx.Client, email: str) -> None:
        self.client = client
        self.email = email
        self._user = f"/users/{quote(email, safe='@')}"
        self._list: str | None = None

    # --- appointments ---------------------------------------------------------------------

    def add_appointment(
        self, subject: str, start: datetime, end: datetime, **fields: Any
    ) -> GraphItem:
        """Create a timed event (``start``/``end`` aware UTC), without attendees."""
        body = {"subject": subject, **_event_fields({"start": start, "end": end, **fields})}
        return self._event(self._call("POST", f"{self._user}/events", body))

    def appointments(self) -> list[GraphItem]:
        return [self._event(e) for e in self._pages(f"{self._user}/events")]

    def appointment(self, subject: str) -> GraphItem:
        found = [i for i in self.appointments() if i.subject == subject]
        assert len(found) == 1, f"{len(found)} appointments named {subject!r}"
        return found[0]

    # --- tasks ----------------------------------------------------------------------------

    def add_task(self, subject: str, due: date | None = None, **fields: Any) -> GraphItem:
        body = {"title": subject, **_task_fields(fields)}
        if due is not None:
            body["dueDateTime"] = _wall(datetime.combine(due, time(0), tzinfo=UTC))
        return self._task(self._call("POST", f"{self._tasks()}", body))

    def tasks(self) -> list[GraphItem]:
        return [self._task(t) for t in self._pages(self._tasks())]

    def task(self, subject: str) -> GraphItem:
        found = [i for i in self.tasks() if i.subject == subject]
        assert len(found) == 1, f"{len(found)} tasks named {subject!r}"
        return found[0]

    # --- either kind ----------------------------------------------------------------------

    def add(self, kind: str, subject: str, **fields: Any) -> GraphItem:
        """An item of ``kind`` a few days ahead."""
        if kind == "appointment":
            start = datetime.combine(date.today() + timedelta(days=3), time(9), tzinfo=UTC)
            return self.add_appointment(subject, start, start + timedelta(hours=1), **fields)
        return self.add_task(subject, date.today() + timedelta(days=3), **fields)

    def items(self, kind: str) -> list[GraphItem]:
        return self.appointments() if kind == "appointment" else self.tasks()

    def item(self, kind: str, subject: str) -> GraphItem:
        return self.appointment(subject) if kind == "appointment" else self.task(subject)

    def subjects(self, kind: str) -> list[str]:
        return sorted(i.subject for i in self.items(kind))

    def edit(self, item: GraphItem, **fields: Any) -> None:
        """PATCH only these fields, as Outlook on the web does."""
        if item.kind == "appointment":
            self._call("PATCH", f"{self._user}/events/{item.id}", _event_fields(fields))
        else:
            self._call("PATCH", f"{self._tasks()}/{item.id}", _task_fields(fields))

    def delete(self, item: GraphItem) -> None:
        path = f"{self._user}/events" if item.kind == "appointment" else self._tasks()
        self._call("DELETE", f"{path}/{item.id}")

    def master_categories(self) -> dict[str, int]:
        """The master category list: name -> Outlook colour preset index (-1: none)."""
        return {
            c["displayName"]: -1 if c["color"] == "none" else int(c["color"].removeprefix("preset"))
            for c in self._pages(f"{self._user}/outlook/masterCategories")
        }

    def set_master_categories(self, categories: dict[str, int]) -> None:
        """Replace the master category list, as a user editing it in Outlook would."""
        path = f"{self._user}/outlook/masterCategories"
        for old in self._pages(path):
            self._call("DELETE", f"{path}/{old['id']}")
        for name, color in categories.items():
            self._call("POST", path, {"displayName": name, "color": f"preset{color}"})

    # --- the wire -------------------------------------------------------------------------

    def _tasks(self) -> str:
        if self._list is None:
            lists = self._call("GET", f"{self._user}/todo/lists")["value"]
            self._list = next(x["id"] for x in lists if x.get("wellknownListName") == "defaultList")
        return f"{self._user}/todo/lists/{self._list}/tasks"

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        answer = self.client.request(method, path, json=body, headers={"Prefer": _PREFER})
        assert answer.is_success, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json() if answer.content else None

    def _pages(self, path: str) -> Iterator[dict[str, Any]]:
        page = self._call("GET", path)
        yield from page["value"]
        while "@odata.nextLink" in page:
            page = self._call("GET", page["@odata.nextLink"])
            yield from page["value"]

    def _event(self, data: dict[str, Any]) -> GraphItem:
        return GraphItem(
            "appointment", data["id"], data.get("@odata.etag") or data["changeKey"],
            data.get("subject", ""), (data.get("body") or {}).get("content", ""),
            list(data.get("categories") or []), data.get("importance", "normal").title(),
            data.get("sensitivity", "normal").title(),
            location=(data.get("location") or {}).get("displayName") or None,
            start=_instant(data["start"]), end=_instant(data["end"]), raw=data,
        )  # fmt: skip

    def _task(self, data: dict[str, Any]) -> GraphItem:
        status = {graph: ews for ews, graph in _TASK_STATUS.items()}[data["status"]]
        return GraphItem(
            "task", data["id"], data["@odata.etag"], data.get("title", ""),
            (data.get("body") or {}).get("content", ""), list(data.get("categories") or []),
            data.get("importance", "normal").title(), None, status=status, raw=data,
        )  # fmt: skip


def _event_fields(fields: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name in ("start", "end"):
            out[name] = _wall(value)
        elif name == "body":
            out["body"] = {"contentType": "text", "content": value}
        elif name == "location":
            out["location"] = {"displayName": value}
        elif name in ("importance", "sensitivity"):
            out[name] = value.lower()
        elif name in ("subject", "categories"):
            out[name] = value
        else:
            raise AssertionError(f"the Graph Outlook has no event field {name!r}")
    return out


def _task_fields(fields: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name == "subject":
            out["title"] = value
        elif name == "body":
            out["body"] = {"contentType": "text", "content": value}
        elif name == "importance":
            out[name] = value.lower()
        elif name == "status":
            out[name] = _TASK_STATUS[value]
        elif name == "categories":
            out[name] = value
        else:  # sensitivity, percent_complete, ...: To Do has no place for them
            raise AssertionError(f"a To Do task has no field {name!r}")
    return out


def _wall(moment: datetime) -> dict[str, str]:
    assert moment.tzinfo is not None, "the tests use aware UTC times"
    return {"dateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def _instant(wall: dict[str, str]) -> datetime:
    assert wall["timeZone"] == "UTC", wall  # asked for with outlook.timezone
    return datetime.fromisoformat(wall["dateTime"][:19]).replace(tzinfo=UTC)
