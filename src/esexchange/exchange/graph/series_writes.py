"""Writing series through Graph: the occurrence part of the port (``exchange/port.py``).

Graph names a single occurrence by the id of its instance event. An exception's id is
known from the master's read (``exceptionOccurrences``); an occurrence not modified yet
is found with ``GET /events/{masterId}/instances`` over the day around its original
start, matched by ``originalStart``. Then:

- ``update_occurrences``: PATCH the instance (it becomes an exception; with ``If-Match``
  when the exception's own version is given);
- ``delete_occurrences`` and the deletions of a created or rewritten master: DELETE the
  instance (it becomes a cancelled occurrence).

Every step is one ``$batch`` round for all the items of a call: read the masters, look
up the instances, write. The masters' versions after deletions are read once more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from esexchange.domain.mapping.times import erp_to_utc
from esexchange.domain.model import ExchangeItem, ItemRef, Kind, OccurrenceKey, RemoteItem
from esexchange.domain.recurrence import is_generated
from esexchange.exchange.errors import ItemFailed
from esexchange.exchange.graph import series
from esexchange.exchange.graph.client import SubRequest
from esexchange.exchange.port import BatchResult, OccurrenceUpdate

if TYPE_CHECKING:
    from esexchange.exchange.graph.mailbox import GraphMailbox

Target = str | ItemFailed | None
"""An occurrence's instance id; a failure; None for one already gone (deleted, or its
series is)."""


class SeriesWrites:
    """The series writes of one Graph mailbox."""

    def __init__(self, mailbox: GraphMailbox) -> None:
        self.mailbox = mailbox

    def update_occurrences(
        self, updates: Sequence[OccurrenceUpdate]
    ) -> list[BatchResult[ItemRef]]:
        box = self.mailbox
        results: list[BatchResult[ItemRef] | None] = [None] * len(updates)
        unknown = [u.key for u in updates if u.ref is None]
        targets = dict(zip(unknown, self.targets(unknown), strict=True))
        requests, sent = [], []
        for index, update in enumerate(updates):
            target = update.ref.id if update.ref is not None else targets[update.key]
            body = series.event_fields(replace(update.item, recurrence=None),
                                       box.settings.time_zone, update.fields - {"recurrence"})
            if target is None:
                target = ItemFailed(f"{box.address}: occurrence {update.key} is deleted")
            if isinstance(target, ItemFailed) or not body:
                error = target if isinstance(target, ItemFailed) else ItemFailed(
                    f"{box.address}: occurrence {update.key}: nothing to write")
                results[index] = BatchResult(error=error)
                continue
            headers = {"If-Match": update.ref.version} if update.ref is not None else {}
            requests.append(SubRequest("PATCH", f"{box._user}/events/{target}", body,
                                       headers))
            sent.append(index)
        for index, answer in zip(sent, box._batch(requests), strict=True):
            results[index] = box._written(updates[index].item, answer, "update")
        return _complete(results)

    def delete_occurrences(self, keys: Sequence[OccurrenceKey]) -> list[BatchResult[None]]:
        targets = self.targets(keys)
        failed = self._delete(targets)
        return [BatchResult(error=failed[i]) if i in failed else BatchResult()
                for i in range(len(keys))]

    def delete_after_write(
        self, items: Sequence[ExchangeItem], results: list[BatchResult[ItemRef]],
        deletions: dict[int, frozenset[datetime]],
    ) -> list[BatchResult[ItemRef]]:
        """Delete the occurrences ``deletions`` names of the masters just written; each
        master's answer becomes its version after that (or the failure of it)."""
        written = {i: r.value for i, r in enumerate(results)
                   if deletions.get(i) and r.value is not None}
        if not written:
            return results
        keys = [(i, OccurrenceKey(ref.id, original)) for i, ref in written.items()
                for original in sorted(deletions[i])]
        failed = self._delete(self.targets([key for _, key in keys]))
        errors = {keys[position][0]: error for position, error in failed.items()}
        now = self.mailbox.read(Kind.APPOINTMENT, [ref.id for ref in written.values()])
        out = list(results)
        for i, ref in written.items():
            current = now.get(ref.id)
            out[i] = (BatchResult(error=errors[i]) if i in errors
                      else BatchResult(current.ref if current is not None else ref))
        return out

    def targets(self, keys: Sequence[OccurrenceKey]) -> list[Target]:
        """The instance id of each occurrence (see ``Target``)."""
        box = self.mailbox
        masters = box.read(Kind.APPOINTMENT, sorted({k.series_id for k in keys}))
        out: list[Target] = [None] * len(keys)
        lookups: list[tuple[int, datetime]] = []
        for position, key in enumerate(keys):
            master = masters.get(key.series_id)
            recurrence = master.item.recurrence if master is not None else None
            if master is None or recurrence is None or key.original_start in recurrence.deleted:
                continue
            if not is_generated(recurrence, key.original_start):
                out[position] = ItemFailed(
                    f"series {key.series_id} in mailbox {box.address} has no occurrence at "
                    f"{key.original_start:%Y-%m-%d %H:%M}")
                continue
            exception = _exception_id(master, key)
            if exception is not None:
                out[position] = exception
                continue
            lookups.append((position, erp_to_utc(key.original_start, recurrence.zone)))
        requests = [SubRequest("GET", self._around(keys[p].series_id, moment))
                    for p, moment in lookups]
        for (position, moment), answer in zip(lookups, box._batch(requests), strict=True):
            if not answer.ok:
                out[position] = ItemFailed(
                    f"{box.address}: cannot find occurrence {keys[position]}: "
                    f"{answer.status} {answer.code}: {answer.message}")
                continue
            found = [e for e in answer.body.get("value", [])
                     if _instant(e.get("originalStart")) == moment]
            out[position] = str(found[0]["id"]) if found else ItemFailed(
                f"{box.address}: series {keys[position].series_id} lists no occurrence at "
                f"{keys[position].original_start:%Y-%m-%d %H:%M}")
        return out

    def _around(self, master_id: str, moment: datetime) -> str:
        begin, end = moment - timedelta(days=1), moment + timedelta(days=1)
        return (f"{self.mailbox._user}/events/{master_id}/instances"
                f"?startDateTime={_iso(begin)}&endDateTime={_iso(end)}&$top=100")

    def _delete(self, targets: Sequence[Target]) -> dict[int, ItemFailed]:
        """DELETE each instance; the failures by position (gone already is no failure)."""
        box = self.mailbox
        failed = {i: t for i, t in enumerate(targets) if isinstance(t, ItemFailed)}
        pending = [(i, t) for i, t in enumerate(targets) if isinstance(t, str)]
        requests = [SubRequest("DELETE", f"{box._user}/events/{t}") for _, t in pending]
        for (i, target), answer in zip(pending, box._batch(requests), strict=True):
            if not answer.ok and answer.status != 404:
                failed[i] = ItemFailed(f"{box.address}: cannot delete occurrence {target}: "
                                       f"{answer.status} {answer.code}: {answer.message}")
        return failed


def _exception_id(master: RemoteItem, key: OccurrenceKey) -> str | None:
    return next((e.ref.id for e in master.exceptions
                 if e.key.original_start == key.original_start), None)


def _instant(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    head = text.rstrip("Z").partition(".")[0]
    try:
        moment = datetime.fromisoformat(head)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _complete(results: list[BatchResult[ItemRef] | None]) -> list[BatchResult[ItemRef]]:
    assert all(r is not None for r in results), "a result for every update"
    return [r for r in results if r is not None]
