"""Fetch: everything the planner looks at for one kind of one mailbox.

The ERP's changes after the kind's cursor; the mailbox's changes after its sync state
(every page; a refused state reads the folder from the start, and the planner adopts by
links and stamps, so nothing is duplicated); the ERP rows of pairs that only changed in
Exchange; and the mailbox's items stamped with the ERP ids that may have to be created
there (one request per batch: crash recovery adopts them instead of creating twins; none
when the read listed the whole folder, whose stamped items are all in the listing),
and the stamped copies of pairs whose Exchange side holds edits the merge has not seen.

Series: the ERP series masters among the activities come with their exceptions
(``ErpStore.series``), and a linked series changed in the ERP only is read from the
mailbox too (by id), so its occurrence pairs are planned against Exchange as it is.

The Exchange copies of pairs deleted in the ERP that may hold an edit the read did not
show (made while the pair was frozen, or outside the window of a read listing afresh
only a window, as Graph's calendarView does) are read by id, so the edit is seen before
the copy could be deleted.

Parked pairs (a step that failed in an earlier pass) are retried by id when their next
try is due: the ERP row is read again, and the Exchange item by id (one request per
batch); a pair edited on either side is in the changes anyway and is retried at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from esexchange.domain.errors import ItemRejected
from esexchange.domain.mapping import MappingContext
from esexchange.domain.model import ErpActivity, Kind, RemoteItem
from esexchange.domain.planner import exchange_copy_unmerged
from esexchange.domain.recurrence.series import ErpSeries
from esexchange.domain.state import CompleteWindow, ErpChange, Link, MailboxChange, Parked
from esexchange.erp.port import Cursor, ErpStore, Scope
from esexchange.exchange.errors import InvalidSyncState
from esexchange.exchange.port import Mailbox

T = TypeVar("T")


@dataclass(frozen=True)
class Fetched:
    """Both sides' changes for one kind, and where the reads ended."""

    erp_changes: list[ErpChange]
    erp_seq: int
    mailbox_changes: list[MailboxChange]
    sync_state: str
    complete: CompleteWindow | None
    links: list[Link]
    erp_current: dict[int, ErpActivity]
    erp_modified: dict[int, datetime]
    """When the rows of ``erp_current`` last changed."""
    stamped: dict[int, RemoteItem]
    parked: list[Parked]
    """Every parked pair of the kind before the pass."""
    attempted: set[str]
    """Keys of the parked pairs this pass plans again (retried by id, or edited)."""
    erp_series: dict[int, ErpSeries | ItemRejected]
    """The series of the ERP series masters among the activities, by master id."""
    quiet: bool = False
    """Nothing changed on either side and nothing is due: nothing else was read, not even
    the links (``links`` is empty), and the plan is empty."""


def fetch(
    store: ErpStore, mailbox: Mailbox, kind: Kind, scope: Scope, cursor: Cursor,
    now: datetime, ctx: MappingContext, *, batch_size: int,
) -> Fetched:
    """Read both sides after ``cursor``, and the parked pairs that are due, by id.

    When neither side changed and no parked pair is due, that is all: the pass has
    nothing to plan, and the links are not read (``Fetched.quiet``; on an idle pass this
    is most mailboxes). Raises ``MailboxError`` when the mailbox fails.
    """
    employee_id = scope.employee_id
    erp_changes, erp_seq = store.changes(employee_id, kind, cursor.erp_seq)
    mailbox_changes, sync_state, complete = read_mailbox(mailbox, kind, cursor.sync_state)
    parked = store.parked(scope, kind)
    if _quiet(cursor, erp_changes, mailbox_changes, complete, parked, now):
        return Fetched(erp_changes, erp_seq, mailbox_changes, sync_state, complete, links=[],
                       erp_current={}, erp_modified={}, stamped={}, parked=parked,
                       attempted=set(), erp_series={}, quiet=True)
    links = _with_copies_of_failed_steps(store.links(scope, kind), parked)
    if cursor.erp_seq == 0:
        erp_changes += _gone_from_first_read(kind, erp_changes, links)
    attempted = _retry_parked(
        store, mailbox, kind, employee_id, links, parked, now, erp_changes, mailbox_changes,
        batch_size,
    )
    if mailbox.capabilities(kind).series:
        _read_changed_series(mailbox, kind, erp_changes, mailbox_changes, links, batch_size)
    _read_partners_of_erp_deletions(mailbox, kind, erp_changes, mailbox_changes, links,
                                    complete, ctx, batch_size)
    erp_current = _erp_rows(store, erp_changes, mailbox_changes, links, complete)
    masters = sorted({c.erp_id for c in erp_changes
                      if c.activity is not None and c.activity.recurrence is not None}
                     | {erp_id for erp_id, a in erp_current.items() if a.recurrence is not None})
    return Fetched(
        erp_changes, erp_seq, mailbox_changes, sync_state, complete, links,
        erp_current=erp_current,
        erp_modified=store.last_changed(sorted(erp_current)) if erp_current else {},
        stamped=_stamped(mailbox, kind, erp_changes, mailbox_changes, links, complete,
                         ctx, batch_size),
        parked=parked, attempted=attempted,
        erp_series=store.series(masters, time_zone=ctx.erp_zone.key) if masters else {},
    )


def _quiet(
    cursor: Cursor, erp_changes: Sequence[ErpChange], mailbox_changes: Sequence[MailboxChange],
    complete: CompleteWindow | None, parked: Sequence[Parked], now: datetime,
) -> bool:
    """Nothing to plan: no change on either side since a cursor of an earlier pass, no
    complete listing (whose missing items would be deletions) and no parked pair due.
    The planner's every step starts from a change, a listing or a parked pair (the
    orphaned occurrence links it drops are dropped by the pass that ended their series),
    so the links are not needed to know the plan is empty."""
    return (cursor.erp_seq != 0 and not erp_changes and not mailbox_changes
            and complete is None and all(p.next_try_at > now for p in parked))


def _with_copies_of_failed_steps(links: list[Link], parked: Sequence[Parked]) -> list[Link]:
    """The links as the pairs stand: a pair whose step made a new Exchange copy (its old
    one was gone) but could not record the link is parked with that copy's id, which is
    its Exchange side from now on. Planned against the old id, the copy would be imported
    as a new activity and the pair made a third copy."""
    made = {p.erp_id: p.exchange_id for p in parked if p.erp_id is not None and p.exchange_id}
    return [
        replace(link, exchange_id=made[link.erp_id], version="")
        if link.detached is None and made.get(link.erp_id, link.exchange_id) != link.exchange_id
        else link
        for link in links
    ]


def _gone_from_first_read(
    kind: Kind, erp_changes: Sequence[ErpChange], links: Sequence[Link]
) -> list[ErpChange]:
    """A read from no cursor lists every current activity of the employee and says
    nothing of those that are gone, so a linked one it leaves out is gone for this
    mailbox (deleted, or the employee no longer takes part): said so as a change, as a
    complete listing of the folder says it of a missing item. Links exist without a
    cursor after a reset, and after passes that only imported into an empty journal."""
    listed = {c.erp_id for c in erp_changes}
    return [ErpChange(link.erp_id, kind, None, link.erp_seq)
            for link in links if link.erp_id not in listed]


def _read_changed_series(
    mailbox: Mailbox, kind: Kind, erp_changes: Sequence[ErpChange],
    mailbox_changes: list[MailboxChange], links: Sequence[Link], batch_size: int,
) -> None:
    """Read (by id) the linked Exchange series whose ERP side changed and which the
    mailbox did not list: their exceptions are compared occurrence by occurrence."""
    listed = {c.exchange_id for c in mailbox_changes}
    partner = {link.erp_id: link.exchange_id for link in links if link.detached is None}
    wanted = sorted({partner[c.erp_id] for c in erp_changes
                     if c.activity is not None and c.activity.recurrence is not None
                     and c.erp_id in partner and partner[c.erp_id] not in listed})
    for batch in chunks(wanted, batch_size):
        for item_id, remote in mailbox.read(kind, batch).items():
            mailbox_changes.append(MailboxChange(item_id, kind, remote))


def _read_partners_of_erp_deletions(
    mailbox: Mailbox, kind: Kind, erp_changes: Sequence[ErpChange],
    mailbox_changes: list[MailboxChange], links: Sequence[Link],
    complete: CompleteWindow | None, ctx: MappingContext, batch_size: int,
) -> None:
    """Read (by id) the Exchange copies of pairs deleted in the ERP that the read did not
    list although they may hold an edit: one the merge has not seen (made while the pair
    was frozen), or any, when the read listed afresh only a window and left them out
    (it says nothing of their edits since the last pass). An edited copy must not be
    deleted: an edit beats a delete."""
    windowed = complete is not None and (complete.start is not None
                                         or complete.end is not None)
    listed = {c.exchange_id for c in mailbox_changes}
    capabilities = mailbox.capabilities(kind)
    partner = {link.erp_id: link for link in links if link.detached is None}
    wanted = sorted({
        partner[c.erp_id].exchange_id for c in erp_changes
        if c.activity is None and c.erp_id in partner
        and partner[c.erp_id].exchange_id not in listed
        and (windowed or exchange_copy_unmerged(partner[c.erp_id], ctx, capabilities))
    })
    for batch in chunks(wanted, batch_size):
        for item_id, remote in mailbox.read(kind, batch).items():
            mailbox_changes.append(MailboxChange(item_id, kind, remote))


def _retry_parked(
    store: ErpStore, mailbox: Mailbox, kind: Kind, employee_id: int, links: Sequence[Link],
    parked: Sequence[Parked], now: datetime, erp_changes: list[ErpChange],
    mailbox_changes: list[MailboxChange], batch_size: int,
) -> set[str]:
    """Add the parked pairs that are due or edited to the changes (read by id); their
    keys."""
    link_of = {link.erp_id: link for link in links}
    erp_changed = {c.erp_id for c in erp_changes}
    exchange_changed = {c.exchange_id for c in mailbox_changes}

    def exchange_id(pair: Parked) -> str | None:
        link = link_of.get(pair.erp_id) if pair.erp_id is not None else None
        return link.exchange_id if link is not None and link.exchange_id else pair.exchange_id

    # Edited on either side, or due: planned again, both sides as they are now (the side
    # that did not change is read by id too: the pair's other copy may be unlinked).
    due = [p for p in parked if p.next_try_at <= now
           or p.erp_id in erp_changed or exchange_id(p) in exchange_changed]
    erp_ids = sorted({p.erp_id for p in due if p.erp_id is not None} - erp_changed)
    rows = store.activities(erp_ids) if erp_ids else {}
    # The row's own time, as its change had it: without it a conflict would go to the
    # ERP under newer_wins, and an Exchange edit made after it would be overwritten.
    changed_at = store.last_changed(erp_ids) if erp_ids else {}
    for erp_id in erp_ids:
        row = rows.get(erp_id)
        if row is not None and (row.kind is not kind or employee_id not in row.participant_ids):
            row = None  # for this mailbox and kind the activity is gone
        link = link_of.get(erp_id)
        erp_changes.append(ErpChange(erp_id, kind, row, link.erp_seq if link else 0,
                                     changed_at.get(erp_id)))
    wanted = sorted({i for i in map(exchange_id, due) if i and i not in exchange_changed})
    found: dict[str, RemoteItem] = {}
    for batch in chunks(wanted, batch_size):
        found.update(mailbox.read(kind, batch))
    linked = {link.exchange_id for link in links}
    for item_id in wanted:
        remote = found.get(item_id)
        if remote is not None or item_id in linked:
            # Not found by id: the linked item is gone from the folder.
            mailbox_changes.append(MailboxChange(item_id, kind, remote))
    return {p.key for p in due}


def read_mailbox(
    mailbox: Mailbox, kind: Kind, state: str | None
) -> tuple[list[MailboxChange], str, CompleteWindow | None]:
    """Every change after ``state`` (all pages); a refused state reads everything."""
    try:
        return _read_pages(mailbox, kind, state)
    except InvalidSyncState:
        return _read_pages(mailbox, kind, None)


def _read_pages(
    mailbox: Mailbox, kind: Kind, state: str | None
) -> tuple[list[MailboxChange], str, CompleteWindow | None]:
    page = mailbox.changes(kind, state)
    changes, complete = list(page.changes), page.complete
    while page.more:
        page = mailbox.changes(kind, page.state)
        changes += page.changes
    return changes, page.state, complete


def _erp_rows(
    store: ErpStore, erp_changes: Sequence[ErpChange], mailbox_changes: Sequence[MailboxChange],
    links: Sequence[Link], complete: CompleteWindow | None,
) -> dict[int, ErpActivity]:
    """ERP rows the planner needs besides the changes: partners of Exchange-only
    changes (with a complete listing, of every linked item: a missing one may have been
    deleted), stamped ids of unlinked Exchange items, and rows said to be gone."""
    changed = {c.erp_id for c in erp_changes}
    by_exchange_id = {link.exchange_id: link.erp_id for link in links}
    wanted = {c.erp_id for c in erp_changes if c.activity is None}
    if complete is not None:
        wanted |= {link.erp_id for link in links} - changed
    for change in mailbox_changes:
        erp_id = by_exchange_id.get(change.exchange_id)
        if erp_id is None and change.remote is not None:
            erp_id = change.remote.item.erp_id
        if erp_id is not None and erp_id not in changed:
            wanted.add(erp_id)
    return dict(store.activities(sorted(wanted))) if wanted else {}


def _stamped(
    mailbox: Mailbox, kind: Kind, erp_changes: Sequence[ErpChange],
    mailbox_changes: Sequence[MailboxChange], links: Sequence[Link],
    complete: CompleteWindow | None, ctx: MappingContext, batch_size: int,
) -> dict[int, RemoteItem]:
    """Exchange items stamped with the ERP ids that may be created in Exchange (one
    request per batch): activities without a partner there, that is without a link
    or whose linked item is gone. A twin from a crashed pass can only be one of those;
    a live pair needs no look-up, unless its Exchange copy holds edits the merge has
    not seen (made while the pair was frozen): then the copy itself is fetched.
    A read that listed the whole folder holds every stamped item already: no look-up."""
    if complete is not None and complete.start is None and complete.end is None:
        return {}
    listed = {c.exchange_id for c in mailbox_changes if c.remote is not None}
    gone = {c.exchange_id for c in mailbox_changes if c.remote is None}
    partner = {link.erp_id: link for link in links}
    capabilities = mailbox.capabilities(kind)

    def wanted(erp_id: int) -> bool:
        link = partner.get(erp_id)
        if link is None or link.exchange_id in gone:
            return True
        if link.exchange_id in listed:
            return False
        if complete is not None and complete.contains(link.synced):
            return True  # missing from a complete listing: gone
        return exchange_copy_unmerged(link, ctx, capabilities)

    ids = sorted(c.erp_id for c in erp_changes if c.activity and wanted(c.erp_id))
    found: dict[int, RemoteItem] = {}
    for batch in chunks(ids, batch_size):
        found.update(mailbox.find_by_erp_id(kind, batch))
    return found


def chunks(values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
