"""What the planner reads: changes from each side and the links between them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from esexchange.domain.model import (
    SYNC_FIELDS,
    ErpActivity,
    ExchangeItem,
    Item,
    Kind,
    RemoteItem,
    Side,
    instant,
)


@dataclass(frozen=True)
class ErpChange:
    """An activity of one employee changed in the ERP after the cursor.

    ``activity`` is ``None`` when it was deleted, or when the employee is no longer a
    participant (for that employee it is gone). ``seq`` is the change journal's sequence
    number of the newest journal row behind this change; ``modified_at`` is UTC.
    """

    erp_id: int
    kind: Kind
    activity: ErpActivity | None
    seq: int
    modified_at: datetime | None = None


@dataclass(frozen=True)
class MailboxChange:
    """An item of one mailbox folder changed after the sync state.

    ``remote`` is ``None`` for a deletion (Exchange reports it once, by id).
    """

    exchange_id: str
    kind: Kind
    remote: RemoteItem | None


RETRY_FIRST = timedelta(minutes=1)
RETRY_LONGEST = timedelta(hours=6)


@dataclass(frozen=True)
class Parked:
    """A pair whose step failed: the cursor went on without it, and it is retried by id.

    ``erp_id`` names the pair (``None`` for an Exchange item whose import failed, named
    by ``exchange_id``). ``label`` says which item it is in words; ``last_error`` why the
    last attempt failed. It is retried at ``next_try_at`` (the wait doubles with every
    attempt: ``retry_wait``), or at once when either copy is edited.
    """

    kind: Kind
    erp_id: int | None
    exchange_id: str | None
    label: str
    attempts: int
    last_error: str
    next_try_at: datetime

    @property
    def key(self) -> str:
        """The pair's identity among the parked pairs of one mailbox and kind."""
        return pair_key(self.erp_id, self.exchange_id)

    def failed_again(self, error: str, now: datetime) -> Parked:
        attempts = self.attempts + 1
        return replace(self, attempts=attempts, last_error=error,
                       next_try_at=now + retry_wait(attempts))


def pair_key(erp_id: int | None, exchange_id: str | None) -> str:
    """``erp:<id>`` for a pair with an ERP activity, else ``exchange:<id>``."""
    if erp_id is not None:
        return f"erp:{erp_id}"
    assert exchange_id, "a pair has an ERP id or an Exchange id"
    return f"exchange:{exchange_id}"


def retry_wait(attempts: int) -> timedelta:
    """How long a pair waits after its ``attempts``-th failure: 1 minute, doubling, at
    most 6 hours (a pass runs every few minutes; a permanent refusal costs a request
    every few hours, not every pass)."""
    wait: timedelta = RETRY_FIRST * 2 ** min(attempts - 1, 20)
    return min(wait, RETRY_LONGEST)


@dataclass(frozen=True)
class CompleteWindow:
    """The part of a folder a read listed completely: every item there is in the read.

    A read from no sync state lists the whole folder (``WHOLE_FOLDER``: no bounds).
    Some backends list completely only within a time window (Graph's calendarView
    delta): ``start``/``end`` (aware UTC, ``end`` exclusive) bound it. A linked item
    missing from a complete read is inferred deleted only if it lies inside the window;
    an item outside it was simply not looked at (leaving the window is never a deletion).
    """

    start: datetime | None = None
    end: datetime | None = None

    def contains(self, item: Item | ExchangeItem) -> bool:
        """Whether ``item`` lies wholly inside the window (an item without a time lies
        inside only an unbounded one)."""
        if self.start is None and self.end is None:
            return True
        first = item.start if item.start is not None else item.due
        last = item.end if item.end is not None else first
        if first is None or last is None:
            return False
        return (self.start is None or instant(first) >= self.start) and (
            self.end is None or instant(last) <= self.end
        )


WHOLE_FOLDER = CompleteWindow()
"""The completeness of a read that listed every item of the folder."""


@dataclass(frozen=True)
class Capabilities:
    """What a backend's folder for one kind can hold.

    ``cannot_hold`` names canonical ``Item`` fields the backend has no place for (Graph's
    To Do has no percent complete and no sensitivity). For that backend they are owned
    by the ERP: never written to it, and the value read back (always the default) is
    never taken as a change.

    ``series``: the backend reads and writes recurring series whole (pattern, range,
    modified and deleted occurrences: ``exchange.port``). Without it every series and
    every occurrence of one is skipped as recurring, on both sides.

    ``yearly_interval``: a yearly pattern may repeat every n years (Graph's
    ``absoluteYearly``/``relativeYearly`` have an ``interval``). EWS's yearly patterns
    have none: such a series is refused before anything is sent
    (``require_ews_expressible``).

    ``regenerating``: a task may come back a while after each completion (EWS's
    regeneration patterns, ``X-REGENERATE=1``). To Do repeats on fixed dates only: such
    a task is refused before anything is sent (``require_fixed_dates``).
    """

    cannot_hold: frozenset[str] = frozenset()
    series: bool = True
    yearly_interval: bool = True
    regenerating: bool = True

    def __post_init__(self) -> None:
        unknown = self.cannot_hold - set(SYNC_FIELDS)
        assert not unknown, f"not Item fields: {sorted(unknown)}"


EVERYTHING = Capabilities()
"""A backend that holds every synchronized field and whole series of every pattern."""

EWS_FOLDERS = Capabilities(yearly_interval=False)
"""EWS calendars and task folders: every synchronized field and whole series, but no
interval for yearly patterns."""


@dataclass(frozen=True)
class Link:
    """The pairing of one ERP activity with one Exchange item, for one mailbox.

    Per side it keeps the stable id, the version token and the content hash as that side
    last had it; ``synced`` is the canonical content both sides agreed on at the last
    pass (the base of a three-way merge). ``detached`` names the side whose copy is gone
    when a deletion was not propagated: the survivor is kept and never resurrects or
    re-imports the other one. A detached link is a tombstone, not a pairing.
    """

    kind: Kind
    erp_id: int
    exchange_id: str
    version: str
    erp_seq: int
    erp_hash: str
    exchange_hash: str
    synced: Item
    detached: Side | None = None
