"""One Exchange Online mailbox through Graph: the ``exchange.port.Mailbox`` of Graph.

Appointments are read through ``calendarView/delta`` over a window (``window_past_days``
back, ``window_future_days`` ahead); the window is baked into Graph's delta token, so a
round whose window has fallen more than a day behind starts again from a fresh window
(a complete listing of it). Tasks come from the mailbox's default To Do list and its
``delta``. Delta pages carry neither extended properties nor linked resources, so the
items of each page are read again, batched, with the ERP id expanded; an event that a
delta reports ``@removed`` but that still exists has only left the window and is
reported as it is (leaving the window is no deletion).

The sync state is JSON: the next or delta link (below the Graph root, so a moved
endpoint keeps its states), whether the round lists the window completely, and the
window.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from esexchange.domain.claims import CLAIM_NAME, MailboxClaim
from esexchange.domain.errors import RecurrenceRefused
from esexchange.domain.mapping import keep_user_categories
from esexchange.domain.model import (
    Category,
    ExchangeItem,
    ItemRef,
    Kind,
    OccurrenceKey,
    RemoteItem,
)
from esexchange.domain.recurrence import deletions_to_add
from esexchange.domain.state import WHOLE_FOLDER, Capabilities, CompleteWindow, MailboxChange
from esexchange.exchange.errors import (
    AccessDenied,
    InvalidSyncState,
    ItemFailed,
    MailboxError,
    MailboxNotFound,
    MailboxUnreachable,
)
from esexchange.exchange.graph import items as wire
from esexchange.exchange.graph import series
from esexchange.exchange.graph.client import Answer, GraphClient, SubRequest
from esexchange.exchange.graph.series_writes import SeriesWrites
from esexchange.exchange.graph.settings import NEEDED_ROLES, GraphSettings
from esexchange.exchange.port import (
    BatchResult,
    ChangePage,
    ExchangeUpdate,
    OccurrenceUpdate,
    OwnWrites,
)

log = logging.getLogger(__name__)

_EXPAND_ERP_ID = f"singleValueExtendedProperties($filter=id eq '{wire.ERP_ID_PROPERTY}')"
CLAIM_PROPERTY = f"String {{8d3f6c1e-2b7a-4e59-9c0d-5a4e1f7b3c26}} Name {CLAIM_NAME}"
"""The calendar's extended property holding the installation claim (``domain.claims``);
the GUID is the one of the ERP id stamp, esExchange's own property set."""
_EXPAND_CLAIM = f"singleValueExtendedProperties($filter=id eq '{CLAIM_PROPERTY}')"
_STALE_WINDOW = timedelta(days=1)
_LOOKUP_SPAN = 200
"""ERP ids per lookup of stamped events: one ``$filter`` range (and one page of answers,
as each ERP id is on at most one event of a mailbox unless a user copied it)."""
_NO_MAILBOX = ("ErrorInvalidUser", "MailboxNotEnabledForRESTAPI", "ResourceNotFound")


@dataclass(frozen=True)
class _State:
    url: str
    complete: bool
    start: datetime | None = None
    end: datetime | None = None
    masters: tuple[str, ...] = ()  # the series seen, to notice a deleted one (series.py)

    def encode(self) -> str:
        return json.dumps(
            {
                "url": self.url,
                "complete": self.complete,
                "start": self.start.isoformat() if self.start else None,
                "end": self.end.isoformat() if self.end else None,
                "masters": list(self.masters),
            }
        )

    @classmethod
    def decode(cls, text: str) -> _State:
        try:
            data = json.loads(text)
            return cls(
                str(data["url"]),
                bool(data["complete"]),
                datetime.fromisoformat(data["start"]) if data.get("start") else None,
                datetime.fromisoformat(data["end"]) if data.get("end") else None,
                tuple(str(m) for m in data.get("masters", ())),
            )
        except (ValueError, KeyError, TypeError):
            raise InvalidSyncState(
                "the stored Graph sync state is not one esExchange wrote"
            ) from None


class GraphMailbox:
    """One mailbox of a Graph connection."""

    def __init__(
        self,
        client: GraphClient,
        address: str,
        settings: GraphSettings,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self._address = address
        self.settings = settings
        self.clock = clock
        self._user = f"/users/{quote(address, safe='@')}"
        self._task_list: str | None = None
        self._kinds: dict[str, Kind] = {}  # ids seen, to address deletes to the right path
        self._series = SeriesWrites(self)

    @property
    def address(self) -> str:
        return self._address

    def capabilities(self, kind: Kind) -> Capabilities:
        if kind is Kind.APPOINTMENT:
            return Capabilities()
        # Recurring To Do tasks synchronize too: To Do carries a completed task's series
        # on in a new task, which the planner relinks the ERP row to (planner_tasks.py).
        # It repeats on fixed dates only: a regenerating task is refused before sending.
        return Capabilities(wire.TASK_CANNOT_HOLD, regenerating=False)

    # --- reading ------------------------------------------------------------------------

    def check(self) -> None:
        probes = [
            SubRequest("GET", f"{self._user}/calendar"),
            SubRequest("GET", f"{self._user}/todo/lists"),
            SubRequest("GET", f"{self._user}/outlook/masterCategories"),
        ]
        for answer in self._batch(probes):
            if not answer.ok:
                raise self._failure(answer, "check")

    def changes(self, kind: Kind, state: str | None) -> ChangePage:
        current = _State.decode(state) if state else None
        now = self.clock()
        horizon = now + timedelta(days=self.settings.window_future_days) - _STALE_WINDOW
        if (
            current is not None
            and not current.complete
            and (current.end is not None and current.end < horizon)
        ):
            log.info("%s: the calendar window moved on; reading it afresh", self.address)
            current = None
        if current is None:
            current = self._first_round(kind, now)
        answer = self._send(
            SubRequest(
                "GET",
                _below_root(current.url),
                headers={"Prefer": f"odata.maxpagesize={self.settings.page_size}"},
            )
        )
        if not answer.ok:
            if state is not None and (answer.status == 410 or "syncstate" in answer.code.lower()):
                raise InvalidSyncState(
                    f"{self.address}: Graph no longer knows the {kind.value} sync state "
                    f"({answer.status} {answer.code}); reading everything again"
                )
            raise self._failure(answer, f"read the {kind.value} changes")
        body = answer.body or {}
        next_link, delta_link = body.get("@odata.nextLink"), body.get("@odata.deltaLink")
        if not (next_link or delta_link):
            raise MailboxError(f"{self.address}: Graph's delta page has no next or delta link")
        entries = body.get("value", [])
        masters = current.masters
        if kind is Kind.APPOINTMENT:
            changes, masters = self._read_events(entries, masters)
        else:
            changes = self._read_items(kind, [str(e["id"]) for e in entries])
        window = None
        if current.complete:
            window = (
                CompleteWindow(current.start, current.end)
                if kind is Kind.APPOINTMENT
                else WHOLE_FOLDER
            )
        following = _State(
            _below_root(str(next_link or delta_link)),
            current.complete and bool(next_link),
            current.start,
            current.end,
            masters,
        )
        return ChangePage(tuple(changes), following.encode(), bool(next_link), window)

    def _first_round(self, kind: Kind, now: datetime) -> _State:
        if kind is Kind.TASK:
            return _State(f"{self._user}/todo/lists/{self._list()}/tasks/delta", True)
        day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        start = day - timedelta(days=self.settings.window_past_days)
        end = day + timedelta(days=self.settings.window_future_days + 1)
        url = f"{self._user}/calendarView/delta?startDateTime={_iso(start)}&endDateTime={_iso(end)}"
        return _State(url, True, start, end)

    def state_after_writes(self, kind: Kind, state: str, writes: OwnWrites) -> str | None:
        """The delta link past the pass's own writes when the delta reports nothing else
        (ids and etags suffice: no item is read again), else ``state``: the next round
        then reports the writes, and content hashes recognise them there."""
        current = _State.decode(state)
        own = {ref.id: ref.version for ref in (*writes.created, *writes.updated)}
        deleted = set(writes.deleted)
        if not (own or deleted) or current.complete or "deltatoken=" not in current.url.lower():
            return state  # nothing written, or a round not read to its end
        url = current.url
        while True:
            answer = self._send(
                SubRequest(
                    "GET",
                    _below_root(url),
                    headers={"Prefer": f"odata.maxpagesize={self.settings.page_size}"},
                )
            )
            if not answer.ok:
                return state
            for entry in (answer.body or {}).get("value", []):
                item_id = str(entry.get("id"))
                if "@removed" in entry:
                    if item_id not in deleted:
                        return state
                elif own.get(item_id) != entry.get("@odata.etag"):
                    return state  # someone else's change: the next pass reads it
            next_link, delta_link = (
                (answer.body or {}).get("@odata.nextLink"),
                (answer.body or {}).get("@odata.deltaLink"),
            )
            if delta_link:
                return replace(current, url=_below_root(str(delta_link))).encode()
            if not next_link:
                return state
            url = str(next_link)

    def _read_events(
        self, entries: Sequence[Any], known: tuple[str, ...]
    ) -> tuple[list[MailboxChange], tuple[str, ...]]:
        """The changes of a calendarView delta page: single events as they are now, each
        series once, as its master (its instances grouped by ``seriesMasterId``), and a
        deletion for what is gone. A removal the page cannot place (an instance's id is
        gone with it) makes the known series be read again, so a deleted master is
        reported deleted. Returns the changes and the series known afterwards."""
        masters = {str(e["seriesMasterId"]): None for e in entries
                   if "@removed" not in e and e.get("seriesMasterId")}  # fmt: skip
        ids = [str(e["id"]) for e in entries if "@removed" in e or not e.get("seriesMasterId")]
        changes: list[MailboxChange] = []
        gone: list[str] = []
        for item_id, answer in zip(ids, self._batch([self._get_event(i) for i in ids]),
                                   strict=True):  # fmt: skip
            if answer.status == 404:
                gone.append(item_id)
            elif not answer.ok:
                raise self._failure(answer, f"read the appointment {item_id}")
            elif answer.body.get("seriesMasterId") or answer.body.get("type") == "seriesMaster":
                masters[str(answer.body.get("seriesMasterId") or answer.body["id"])] = None
            else:
                changes.append(self._change(Kind.APPOINTMENT, answer.body))
        if gone:
            masters |= {m: None for m in known}
        seen = set(known)
        wanted = list(masters)
        for master_id, answer in zip(wanted, self._batch([self._get_event(m) for m in wanted]),
                                     strict=True):  # fmt: skip
            if answer.status == 404:
                changes.append(MailboxChange(master_id, Kind.APPOINTMENT, None))
                seen.discard(master_id)
            elif answer.ok:
                change = self._change(Kind.APPOINTMENT, answer.body)
                changes.append(change)
                seen.add(change.exchange_id)
            else:
                raise self._failure(answer, f"read the series {master_id}")
        changes += [MailboxChange(i, Kind.APPOINTMENT, None) for i in gone if i not in seen]
        return changes, tuple(sorted(seen))

    def _change(self, kind: Kind, body: Any) -> MailboxChange:
        remote = self._remote(kind, body)
        return MailboxChange(remote.ref.id, kind, remote)

    def _read_items(self, kind: Kind, ids: Sequence[str]) -> list[MailboxChange]:
        """The current content of `ids` (a change each), a deletion for those gone."""
        answers = self._batch([self._get_item(kind, item_id) for item_id in ids])
        changes = []
        for item_id, answer in zip(ids, answers, strict=True):
            if answer.status == 404:
                changes.append(MailboxChange(item_id, kind, None))
            elif answer.ok:
                remote = self._remote(kind, answer.body)
                changes.append(MailboxChange(remote.ref.id, kind, remote))
            else:
                raise self._failure(answer, f"read the {kind.value} {item_id}")
        return changes

    def _get_event(self, item_id: str) -> SubRequest:
        return SubRequest(
            "GET", f"{self._user}/events/{item_id}?{series.event_query(_EXPAND_ERP_ID)}"
        )

    def _get_item(self, kind: Kind, item_id: str) -> SubRequest:
        if kind is Kind.APPOINTMENT:
            return self._get_event(item_id)
        return SubRequest(
            "GET", f"{self._user}/todo/lists/{self._list()}/tasks/{item_id}?$expand=linkedResources"
        )

    def _remote(self, kind: Kind, body: Any) -> RemoteItem:
        zone = self.settings.time_zone
        if kind is Kind.APPOINTMENT:
            remote = series.with_series(wire.remote_event(body), body, zone)
        else:
            remote = wire.remote_task(body)
            first = remote.item.start or remote.item.due
            recurrence = series.task_series(body, first, zone)
            if recurrence is not None:
                remote = replace(remote, item=replace(remote.item, recurrence=recurrence))
        self._kinds[remote.ref.id] = kind
        return remote

    def read(self, kind: Kind, ids: Sequence[str]) -> dict[str, RemoteItem]:
        """GET by id in $batch requests; the gone ones (404) left out."""
        if not ids:
            return {}
        changes = self._read_items(kind, ids)
        return {c.exchange_id: c.remote for c in changes if c.remote is not None}

    def find_by_erp_id(self, kind: Kind, erp_ids: Sequence[int]) -> dict[int, RemoteItem]:
        if not erp_ids:
            return {}
        wanted = set(erp_ids)
        found: dict[int, RemoteItem] = {}
        if kind is Kind.APPOINTMENT:
            ranges = _id_ranges(sorted(wanted), _LOOKUP_SPAN)
            requests = [SubRequest("GET", self._stamped_url(*bounds)) for bounds in ranges]
            pages = [self._rest_of(a, "find stamped events") for a in self._batch(requests)]
        else:
            pages = [self._all_tasks()]
        for page in pages:
            for data in page:
                remote = self._remote(kind, data)
                if remote.item.erp_id in wanted and remote.item.erp_id not in found:
                    found[remote.item.erp_id] = remote
        # a list shows a master without its exceptions and cancellations: read it alone
        masters = [r.ref.id for r in found.values() if r.item.recurrence is not None]
        again = self.read(kind, masters) if masters and kind is Kind.APPOINTMENT else {}
        return {erp_id: again.get(r.ref.id, r) for erp_id, r in found.items()}

    def _stamped_url(self, low: int, high: int) -> str:
        """The events stamped with an ERP id from ``low`` to ``high`` (the property is a
        Long, so Graph compares it as a number)."""
        tests = (
            f"ep/value eq '{low}'"
            if low == high
            else f"ep/value ge '{low}' and ep/value le '{high}'"
        )
        stamped = (
            f"singleValueExtendedProperties/Any(ep: ep/id eq '{wire.ERP_ID_PROPERTY}' and {tests})"
        )
        return (
            f"{self._user}/events?$filter={quote(stamped)}&$expand={quote(_EXPAND_ERP_ID)}"
            f"&$top={_LOOKUP_SPAN}"
        )

    def _rest_of(self, answer: Answer, what: str) -> list[Any]:
        """The items of a listing's first page and of the pages after it."""
        out: list[Any] = []
        while True:
            if not answer.ok:
                raise self._failure(answer, what)
            out += answer.body.get("value", [])
            link = answer.body.get("@odata.nextLink")
            if not link:
                return out
            answer = self._send(SubRequest("GET", _below_root(link)))

    def _all_tasks(self) -> list[Any]:
        url = f"{self._user}/todo/lists/{self._list()}/tasks?$expand=linkedResources&$top=100"
        out: list[Any] = []
        while url:
            answer = self._send(SubRequest("GET", url))
            if not answer.ok:
                raise self._failure(answer, "list the tasks")
            out += answer.body.get("value", [])
            url = answer.body.get("@odata.nextLink") or ""
        return out

    def task_list_id(self) -> str:
        """The id of the mailbox's default To Do list, the one its tasks are kept in."""
        return self._list()

    def _list(self) -> str:
        """The id of the mailbox's default To Do list (looked up once)."""
        if self._task_list is None:
            answer = self._send(SubRequest("GET", f"{self._user}/todo/lists"))
            if not answer.ok:
                raise self._failure(answer, "find the To Do list")
            lists = answer.body.get("value", [])
            default = next(
                (t for t in lists if t.get("wellknownListName") == "defaultList"),
                lists[0] if lists else None,
            )
            if default is None:
                raise MailboxError(f"{self.address}: the mailbox has no To Do list")
            self._task_list = str(default["id"])
        return self._task_list

    # --- writing ------------------------------------------------------------------------

    def create(self, items: Sequence[ExchangeItem]) -> list[BatchResult[ItemRef]]:
        """POST in $batch requests; a series master gets its pattern and then loses its
        deleted occurrences (``series_writes.py``)."""
        results: list[BatchResult[ItemRef] | None] = [None] * len(items)
        requests, sent = [], []
        for index, item in enumerate(items):
            if item.kind is Kind.APPOINTMENT:
                try:
                    body = wire.new_event(item, self.settings.time_zone, str(uuid.uuid4()))
                    body |= series.event_fields(item, self.settings.time_zone)
                except RecurrenceRefused as refused:
                    results[index] = self._refused(item, "create", refused)
                    continue
                requests.append(SubRequest("POST", f"{self._user}/events", body))
            else:
                try:
                    body = wire.new_task(item, series.task_fields(item))
                except RecurrenceRefused as refused:
                    results[index] = self._refused(item, "create", refused)
                    continue
                url = f"{self._user}/todo/lists/{self._list()}/tasks"
                requests.append(SubRequest("POST", url, body))
            sent.append(index)
        for index, answer in zip(sent, self._batch(requests), strict=True):
            results[index] = self._written(items[index], answer, "create")
        deletions = {i: item.recurrence.deleted for i, item in enumerate(items)
                     if item.recurrence is not None and item.recurrence.deleted}
        done = [r for r in results if r is not None]
        return self._series.delete_after_write(items, done, deletions) if deletions else done

    def update(self, updates: Sequence[ExchangeUpdate]) -> list[BatchResult[ItemRef]]:
        """PATCH with If-Match in $batch requests. A master's ``recurrence`` is written only
        when its pattern, range, zone or first day changed (Graph then drops every
        exception and cancellation, as Exchange does); the deleted occurrences it lacks
        are deleted afterwards."""
        updates = self._with_user_categories(updates)
        updates, deletions = self._series_changes(updates)
        results: list[BatchResult[ItemRef] | None] = [None] * len(updates)
        requests, sent = [], []
        for index, update in enumerate(updates):
            item, fields = update.item, update.fields
            if item.kind is Kind.APPOINTMENT:
                try:
                    body = series.event_fields(item, self.settings.time_zone, fields)
                except RecurrenceRefused as refused:
                    results[index] = self._refused(item, "update", refused)
                    continue
                if "erp_id" in fields and item.erp_id is not None:
                    body["singleValueExtendedProperties"] = [
                        {"id": wire.ERP_ID_PROPERTY, "value": str(item.erp_id)}
                    ]
                url = f"{self._user}/events/{update.ref.id}"
            else:
                try:
                    body = series.task_fields(item, fields)
                except RecurrenceRefused as refused:
                    results[index] = self._refused(item, "update", refused)
                    continue
                url = f"{self._user}/todo/lists/{self._list()}/tasks/{update.ref.id}"
            if not body:  # only deletions to add to a series as it is
                results[index] = BatchResult(update.ref)
                continue
            requests.append(SubRequest("PATCH", url, body, {"If-Match": update.ref.version}))
            sent.append(index)
        for index, answer in zip(sent, self._batch(requests), strict=True):
            results[index] = self._written(updates[index].item, answer, "update")
        done = [r for r in results if r is not None]
        items = [u.item for u in updates]
        return self._series.delete_after_write(items, done, deletions) if deletions else done

    def _series_changes(
        self, updates: Sequence[ExchangeUpdate]
    ) -> tuple[list[ExchangeUpdate], dict[int, frozenset[datetime]]]:
        """Updates that write a master's ``recurrence``, as the port says: an unchanged
        series is not written again (its exceptions stay), only its missing deletions
        are made. One batched read of those masters, only when needed."""
        out = list(updates)
        indexes = [i for i, u in enumerate(updates) if u.item.kind is Kind.APPOINTMENT
                   and "recurrence" in u.fields and u.item.recurrence is not None]
        if not indexes:
            return out, {}
        current = self.read(Kind.APPOINTMENT, [updates[i].ref.id for i in indexes])
        deletions: dict[int, frozenset[datetime]] = {}
        for i in indexes:
            update, wanted = updates[i], updates[i].item.recurrence
            assert wanted is not None
            now = current.get(update.ref.id)
            had = now.item.recurrence if now is not None else None
            added = deletions_to_add(had, wanted)
            if added is not None:  # the series stays (with its exceptions); add deletions
                out[i] = replace(update, fields=update.fields - {"recurrence"})
                deletions[i] = added
            else:
                deletions[i] = wanted.deleted
        return out, deletions

    def update_occurrences(
        self, updates: Sequence[OccurrenceUpdate]
    ) -> list[BatchResult[ItemRef]]:
        return self._series.update_occurrences(updates)

    def delete_occurrences(self, keys: Sequence[OccurrenceKey]) -> list[BatchResult[None]]:
        return self._series.delete_occurrences(keys)

    def _refused(self, item: ExchangeItem, verb: str, refused: Exception) -> BatchResult[ItemRef]:
        return BatchResult(error=ItemFailed(f"{self.address}: cannot {verb} {_label(item)}: "
                                            f"{refused}"))

    def _with_user_categories(self, updates: Sequence[ExchangeUpdate]) -> list[ExchangeUpdate]:
        """Writing categories keeps the user's own ones as the item has them now."""
        touched = [u for u in updates if "categories" in u.fields]
        if not touched:
            return list(updates)
        answers = self._batch([self._get_item(u.item.kind, u.ref.id) for u in touched])
        now = {
            u.ref.id: tuple(a.body.get("categories") or ())
            for u, a in zip(touched, answers, strict=True)
            if a.ok
        }
        out = []
        for update in updates:
            if "categories" in update.fields and update.ref.id in now:
                kept = keep_user_categories(now[update.ref.id], update.item.categories)
                update = replace(update, item=replace(update.item, categories=kept))
            out.append(update)
        return out

    def _written(self, item: ExchangeItem, answer: Answer, verb: str) -> BatchResult[ItemRef]:
        if answer.ok:
            remote = self._remote(item.kind, answer.body)
            return BatchResult(value=remote.ref)
        label = _label(item)
        if answer.status == 412:
            reason = "it changed in Exchange meanwhile; the next pass merges it"
        else:
            reason = f"{answer.status} {answer.code}: {answer.message}"
        return BatchResult(error=ItemFailed(f"{self.address}: cannot {verb} {label}: {reason}"))

    def delete(self, refs: Sequence[ItemRef]) -> list[BatchResult[None]]:
        """Events go to Deleted Items (Graph's DELETE); a task is removed from its list."""
        results: list[BatchResult[None] | None] = [None] * len(refs)
        pending = list(range(len(refs)))
        for kind in sorted(Kind, key=lambda k: 0 if k is Kind.APPOINTMENT else 1):
            # ids whose kind is known are sent to their path only; unknown ones to both
            mine = [i for i in pending if self._kinds.get(refs[i].id, kind) is kind]
            if not mine:
                continue
            base = (
                f"{self._user}/events"
                if kind is Kind.APPOINTMENT
                else f"{self._user}/todo/lists/{self._list()}/tasks"
            )
            answers = self._batch([SubRequest("DELETE", f"{base}/{refs[i].id}") for i in mine])
            for index, answer in zip(mine, answers, strict=True):
                if answer.ok:
                    results[index] = BatchResult()
                elif answer.status != 404:
                    results[index] = BatchResult(
                        error=ItemFailed(
                            f"{self.address}: cannot delete {refs[index].id}: "
                            f"{answer.status} {answer.code}: {answer.message}"
                        )
                    )
            pending = [i for i in pending if results[i] is None]
        # not found under either path: already gone, which counts as deleted
        return [r if r is not None else BatchResult() for r in results]


    def ensure_categories(self, categories: Sequence[Category]) -> None:
        url = f"{self._user}/outlook/masterCategories"
        answer = self._send(SubRequest("GET", url))
        if not answer.ok:
            raise self._failure(answer, "read the category list")
        existing = {str(c["displayName"]).casefold(): c for c in answer.body.get("value", [])}
        requests = []
        for category in categories:
            color = f"preset{category.color}" if 0 <= category.color <= 24 else "none"
            present = existing.get(category.name.casefold())
            if present is None:
                requests.append(
                    SubRequest("POST", url, {"displayName": category.name, "color": color})
                )
            elif present.get("color") != color:
                requests.append(SubRequest("PATCH", f"{url}/{present['id']}", {"color": color}))
        for answer in self._batch(requests):
            if not answer.ok and answer.status != 409:  # 409: someone added it meanwhile
                raise self._failure(answer, "write the category list")

    # --- the installation claim ---------------------------------------------------------

    def read_claim(self) -> MailboxClaim | None:
        """The claim: a named extended property of the default calendar, JSON text."""
        answer = self._send(SubRequest(
            "GET", f"{self._user}/calendar?$expand={quote(_EXPAND_CLAIM)}"))
        if not answer.ok:
            raise self._failure(answer, "read the esExchange claim of the calendar")
        for prop in (answer.body or {}).get("singleValueExtendedProperties", []):
            if str(prop.get("id", "")).lower() == CLAIM_PROPERTY.lower():
                try:
                    fields = json.loads(str(prop.get("value", "")))
                except ValueError:
                    return None
                return MailboxClaim.from_fields(fields) if isinstance(fields, dict) else None
        return None

    def write_claim(self, claim: MailboxClaim) -> None:
        """Set the claim property of the default calendar (one PATCH)."""
        value = json.dumps(claim.to_fields(), sort_keys=True)
        answer = self._send(SubRequest("PATCH", f"{self._user}/calendar", {
            "singleValueExtendedProperties": [{"id": CLAIM_PROPERTY, "value": value}]}))
        if not answer.ok:
            raise self._failure(answer, "write the esExchange claim of the calendar")

    # --- the wire -----------------------------------------------------------------------

    def _send(self, request: SubRequest) -> Answer:
        return self.client.send(request, mailbox=self.address)

    def _batch(self, requests: Sequence[SubRequest]) -> list[Answer]:
        return self.client.batch(requests, mailbox=self.address) if requests else []

    def _failure(self, answer: Answer, what: str) -> MailboxError:
        """A Graph error answer as the port's error, in words that say what to change."""
        settings = self.settings
        if answer.status == 403:
            return AccessDenied(
                f"{self.address}: the app {settings.client_id} may not {what} in this mailbox "
                f"(Graph: {answer.code}: {answer.message}). It needs the application "
                f"permissions {', '.join(NEEDED_ROLES)} with admin consent in Entra, and, "
                "where RBAC for Applications limits it, the mailbox must be inside the "
                "management scope of its role assignment (New-ManagementScope, "
                f"New-ManagementRoleAssignment -App {settings.client_id}); "
                f"Test-ServicePrincipalAuthorization -Identity {settings.client_id} "
                f"-Resource {self.address} shows what it may do"
            )
        if answer.status == 404 and answer.code in _NO_MAILBOX:
            # Graph's message repeats the address; the problem names the mailbox once.
            said = "" if self.address.casefold() in answer.message.casefold() else answer.message
            return MailboxNotFound(
                f"{self.address}: Exchange Online has no such mailbox "
                f"({': '.join(filter(None, (answer.code, said)))})"
            )
        if answer.status in (0, 429, 502, 503, 504):
            return MailboxUnreachable(
                f"{self.address}: Graph is busy or unavailable "
                f"({answer.status} {answer.code}); the next pass "
                "tries again"
            )
        return MailboxError(
            f"{self.address}: cannot {what}: {answer.status} {answer.code}: {answer.message}"
        )


def _id_ranges(ids: Sequence[int], span: int) -> list[tuple[int, int]]:
    """Sorted ``ids`` as ranges (low, high) no wider than ``span`` ids each."""
    ranges: list[tuple[int, int]] = []
    for erp_id in ids:
        if ranges and erp_id - ranges[-1][0] < span:
            ranges[-1] = (ranges[-1][0], erp_id)
        else:
            ranges.append((erp_id, erp_id))
    return ranges


def _label(item: ExchangeItem) -> str:
    return f"{item.kind.value} {item.subject!r}" + (
        f" (ERP {item.erp_id})" if item.erp_id is not None else ""
    )


def _below_root(link: str) -> str:
    """A next or delta link without Graph's origin and version (``/users/...``), so a
    stored state follows the connection's Graph root, not the host that wrote it."""
    path = urlsplit(link)
    relative = path.path.split("/v1.0", 1)[-1] if "/v1.0/" in path.path else path.path
    return relative + (f"?{path.query}" if path.query else "")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
