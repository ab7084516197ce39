"""The planner's rule for a recurring task whose series To Do carried on in a new task
(docs/recurrence.md, "Recurring tasks"), beside ``planner.py``.

When an occurrence of a recurring task is completed, Exchange (EWS) keeps the series in
the same item, moved on to its next occurrence, and makes a completed one-off copy; To
Do does the reverse: the completed task keeps its id and loses its recurrence, and a new
task (a new id) goes on with the series. The ERP's recurring row stays linked to
whatever item carries the series on, so on To Do its link moves to the new task, and
the completed one is imported as the ERP's one-off row, as the EWS copy is.

Microsoft Graph documents no link between the two tasks (``todoTask`` has neither a
series id nor a previous or next task; Planner's ``plannerTaskRecurrence`` has them, To
Do's does not), so the new task is recognised by what To Do gives it, read in the same
pass (the same delta) as the completion:

- the completed task was linked, its last synced content has a rule that goes on past
  the completed task's due day, and it comes back completed without recurrence;
- the candidate is new in this pass (not linked), carries no other ERP id, is not
  completed, has the completed task's title, is due on the next day the rule gives
  after the completed task's due day, and repeats by the same rule from there (a
  numbered range counted on: one occurrence fewer);
- exactly one candidate for exactly one completed task. Two lookalikes, or one new task
  matching two completed ones, move no link: then the completed task is the ERP row's
  (it loses its rule) and every new task becomes a row of its own; nothing is swallowed.

At the series' last occurrence To Do makes no new task and still drops the completed
task's recurrence, where Exchange completes the task and keeps its rule: that is the
series ending, not its rule removed, so the ERP row keeps its rule there too
(``series_ended``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import date

from esexchange.domain.errors import ItemRejected
from esexchange.domain.mapping import MappingContext
from esexchange.domain.mapping.series import exchange_series, item_recurrence
from esexchange.domain.model import ExchangeItem, Kind, RemoteItem, TaskStatus
from esexchange.domain.recurrence.expand import continued_from, next_start
from esexchange.domain.recurrence.model import Recurrence
from esexchange.domain.recurrence.rrule import format_rrule
from esexchange.domain.state import Link, MailboxChange


@dataclass(frozen=True)
class _Expected:
    """What the task carrying a completed task's series on looks like."""

    erp_id: int
    subject: str
    due: date
    recurrence: str


def continuations(links: Sequence[Link], changes: Mapping[str, MailboxChange],
                  claimed: Set[str], ctx: MappingContext) -> dict[str, RemoteItem]:
    """The new tasks that carry on the series of linked recurring tasks completed this
    pass: by the Exchange id of the completed task's link."""
    new = [change.remote for change in changes.values()
           if change.remote is not None and change.remote.ref.id not in claimed
           and change.remote.item.kind is Kind.TASK and change.remote.item.recurring]
    if not new:
        return {}
    found: dict[str, RemoteItem] = {}
    for link in links:
        change = changes.get(link.exchange_id)
        if link.detached is not None or change is None or change.remote is None:
            continue
        expected = _expected(link, change.remote.item, ctx)
        if expected is None:
            continue
        carriers = [remote for remote in new if _carries_on(remote.item, expected, ctx)]
        if len(carriers) == 1:
            found[link.exchange_id] = carriers[0]
    taken = Counter(remote.ref.id for remote in found.values())
    return {done: remote for done, remote in found.items() if taken[remote.ref.id] == 1}


def _expected(link: Link, done: ExchangeItem, ctx: MappingContext) -> _Expected | None:
    """What would carry on the series of ``link`` if ``done`` completed its occurrence."""
    found = _completed_occurrence(link, done, ctx)
    if found is None:
        return None
    rule, due = found
    following = next_start(rule, due)
    if following is None:  # the last occurrence: To Do makes no new task
        return None
    return _Expected(link.erp_id, done.subject, following.date(),
                     format_rrule(continued_from(rule, following)))


def _carries_on(item: ExchangeItem, expected: _Expected, ctx: MappingContext) -> bool:
    if item.erp_id not in (None, expected.erp_id) or item.status is TaskStatus.COMPLETED:
        return False
    if item.subject != expected.subject or item.due != expected.due:
        return False
    try:
        rule, _ = exchange_series(item, ctx, f"task {item.subject!r}")
    except ItemRejected:
        return False
    return rule == expected.recurrence


def series_ended(link: Link, done: ExchangeItem, ctx: MappingContext) -> bool:
    """Whether ``done`` is the linked recurring task completed at its last occurrence,
    without its recurrence (as To Do leaves it)."""
    found = _completed_occurrence(link, done, ctx)
    return found is not None and not found[0].regenerating and next_start(*found) is None


def _completed_occurrence(link: Link, done: ExchangeItem,
                          ctx: MappingContext) -> tuple[Recurrence, date] | None:
    """The synced rule of a linked recurring task that came back completed without its
    recurrence, and the due day of the occurrence completed."""
    synced = link.synced
    if (synced.kind is not Kind.TASK or synced.recurrence is None or done.recurring
            or done.status is not TaskStatus.COMPLETED):
        return None
    due = done.due or synced.due
    try:
        rule = item_recurrence(synced, ctx, f"activity {link.erp_id}")
    except ItemRejected:
        return None
    if rule is None or due is None:
        return None
    return rule, due
