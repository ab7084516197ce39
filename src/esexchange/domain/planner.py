"""The planner: from the changes of both sides, the links and the settings, to actions.

``plan`` is pure: no clock (``now`` is an input), no I/O, no adapters. It looks at each
pair once (an ERP activity, an Exchange item, the link between them, any of the three
possibly missing) and walks a short ladder of rules, each rule of docs/design.md §3 in one
place:

- Linked pairs (``_linked``): tombstones of detached pairs; deleted on both sides;
  deleted on one side (an edit on the other side beats the delete; the per-employee
  delete settings detach instead of deleting; conference appointments are never
  deleted in the ERP from Exchange); private or recurring pairs are frozen; fake
  changes only refresh the link; real changes are merged field by field.
- Unlinked ERP activities and Exchange items (``_from_erp``, ``_from_exchange``):
  adoption of stamped copies (crash recovery), then the filters (recurring, private,
  start of synchronization, time window), then a create on the other side.
- Finally the circuit breaker holds an unusual share of deletions.

Decisions worth knowing (each has a test in tests/domain/test_planner.py):

- A linked pair that becomes private (either copy) while the employee's "no private"
  setting is on, or becomes recurring, is *frozen*: neither copy is written or deleted
  because of the other, the link keeps the last synced content. When it becomes
  public (or single) again, the pair is merged as usual. A deletion of one copy of a
  frozen pair detaches it: the private copy survives.
- An edit beats a delete: deleted on one side and edited on the other since the last
  pass, the edited copy survives and is created again on the deleting side (a new link).
  "Edited" means the copy's content differs from what the link last saw, or from the
  last synced content (an edit seen while the pair was frozen); a version token that
  moved without new content is a fake change and causes no write.
- Deletes need evidence: only an explicit delete, or absence from a complete listing of
  the mailbox, counts. Never-synced items are never deleted; leaving the time window is
  not a deletion (linked items are not windowed at all).
- Adoption: an Exchange item stamped with ERP id X, while X has no link, becomes X's
  partner (the ERP content is written over it), never a duplicate.
- A conference appointment's Exchange edits are not imported: the ERP is its master,
  so the mailbox copy is restored to the ERP's version at once (a skip with its reason
  says so).
- A recurring task completed in To Do goes on in a new task: the ERP row's link moves
  to it and the completed task becomes a one-off row (``planner_tasks.py``), so the
  ERP's rows are those Exchange's own way gives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from esexchange.domain import mapping
from esexchange.domain.actions import (
    Action,
    Conflict,
    CreateInErp,
    CreateInExchange,
    DeleteInErp,
    DeleteInExchange,
    Detach,
    DropLink,
    PairStep,
    Plan,
    Rejected,
    SaveLink,
    Skipped,
    SkipReason,
    UpdateInErp,
    UpdateInExchange,
    UpdateOccurrence,
)
from esexchange.domain.errors import ItemRejected
from esexchange.domain.mapping import MappingContext
from esexchange.domain.merge import changed_fields, conflict_winner, merge
from esexchange.domain.model import (
    ERP_OWNED_FIELDS,
    SYNC_FIELDS,
    ErpActivity,
    ExchangeItem,
    Item,
    ItemRef,
    Kind,
    RemoteItem,
    Side,
    instant,
)
from esexchange.domain.options import EmployeeSettings, effective_start
from esexchange.domain.planner_series import (
    SeriesPair,
    SeriesRules,
    erp_exceptions,
    exception_links,
    exchange_exceptions,
    is_master,
    unsyncable_erp,
    unsyncable_exchange,
)
from esexchange.domain.planner_tasks import continuations, series_ended
from esexchange.domain.recurrence.series import ErpSeries
from esexchange.domain.state import (
    EVERYTHING,
    WHOLE_FOLDER,
    Capabilities,
    CompleteWindow,
    ErpChange,
    Link,
    MailboxChange,
)

BREAKER_MIN_DELETIONS = 10
"""The circuit breaker never trips for this many deletions or fewer."""


@dataclass(frozen=True)
class PlanInputs:
    """Everything one plan looks at, for one kind of one mailbox.

    ``complete``: the part of the folder ``mailbox_changes`` list completely (``None``:
    an incremental read); a linked item missing from them whose synced content lies
    inside it was deleted. ``capabilities``: the fields the mailbox cannot hold for this
    kind; they are ERP-owned for this backend.
    ``erp_current``: current ERP rows of linked (or stamped) ids that only changed in
    Exchange, and of ids whose ERP change says "gone" (a row that still exists there is
    a participant removed, not a deleted activity). ``stamped``: the mailbox's items
    stamped with the ERP ids of ``erp_changes`` that have no live partner there
    (``Mailbox.find_by_erp_id``; a pair that is still linked needs no look-up).
    ``erp_modified``: when the rows of ``erp_current`` last changed; a row that differs
    from its link without being among the changes (an edit the cursor passed while the
    pair was frozen or parked) still needs its time for ``newer_wins``.
    """

    kind: Kind
    erp_changes: Sequence[ErpChange]
    mailbox_changes: Sequence[MailboxChange]
    complete: CompleteWindow | None
    links: Sequence[Link]
    settings: EmployeeSettings
    ctx: MappingContext
    now: datetime
    capabilities: Capabilities = EVERYTHING
    erp_current: Mapping[int, ErpActivity] = field(default_factory=dict)
    erp_modified: Mapping[int, datetime] = field(default_factory=dict)
    stamped: Mapping[int, RemoteItem] = field(default_factory=dict)
    approve_deletions: bool = False
    reject_deletions: bool = False
    """The administrator refused the deletions the breaker would hold: each pair is
    detached instead (both copies kept, no longer synchronized), as with the delete
    setting off."""
    erp_series: Mapping[int, ErpSeries | ItemRejected] = field(default_factory=dict)
    """The series of the ERP series masters among the activities above (their modified
    occurrences; a series whose rows do not fit together is its ``ItemRejected``)."""


@dataclass(frozen=True)
class KindRules:
    """The per-employee settings that apply to one kind."""

    enabled: bool
    delete_in_exchange: bool
    delete_in_erp: bool
    no_private: bool


def kind_rules(kind: Kind, settings: EmployeeSettings, appointment_sync: bool) -> KindRules:
    """The employee's settings for ``kind`` (appointments also need ``appointment_sync``)."""
    if kind is Kind.APPOINTMENT:
        return KindRules(
            settings.appointments and appointment_sync,
            settings.delete_appointments_in_exchange,
            settings.delete_appointments_in_erp,
            settings.no_private_appointments,
        )
    return KindRules(
        settings.tasks, settings.delete_tasks_in_exchange, settings.delete_tasks_in_erp,
        settings.no_private_tasks,
    )


def plan(inputs: PlanInputs) -> Plan:
    """The actions that bring one kind of one mailbox in step with the ERP."""
    return _Planner(inputs).run()


def exchange_view(
    item: Item, ctx: MappingContext, capabilities: Capabilities = EVERYTHING
) -> Item:
    """``item`` without the fields Exchange cannot change (the ERP's own ones, and those
    the backend cannot hold), each set to its default."""
    blank = {name: getattr(_BLANK_ITEM, name) for name in erp_only_fields(ctx, capabilities)}
    return replace(item, **blank)


def exchange_copy_unmerged(
    link: Link, ctx: MappingContext, capabilities: Capabilities = EVERYTHING
) -> bool:
    """Whether the link last saw an Exchange copy that differs from the synced content:
    edits made while the pair was frozen (or a conference copy's edits, not imported).
    Merging such a pair needs the copy in hand, or those edits are overwritten."""
    return link.exchange_hash != exchange_view(link.synced, ctx, capabilities).content_hash()


def erp_only_fields(
    ctx: MappingContext, capabilities: Capabilities = EVERYTHING
) -> frozenset[str]:
    """Fields never taken from Exchange: the ERP's own, the body with
    ``alternative_text_sync``, and the fields the backend cannot hold."""
    owned = ERP_OWNED_FIELDS | capabilities.cannot_hold
    if ctx.options.alternative_text_sync:
        return owned | {"body"}
    return owned


def _trailer(body: str) -> str:
    """The trailer at the end of an Exchange body (empty when there is none)."""
    return body[len(mapping.strip_trailer(body)):].replace("\r\n", "\n").strip()


_BLANK_ITEM = Item(kind=Kind.TASK, subject="")
"""Every field at its default: what a field Exchange cannot change looks like there."""


class _Planner(SeriesRules):
    def __init__(self, inputs: PlanInputs) -> None:
        self.inputs = inputs
        self.kind = inputs.kind
        self.ctx = inputs.ctx
        self.capabilities = inputs.capabilities
        # Series (planner_series.py): occurrence links by series, masters whose
        # occurrence pairs follow their step, series whose master pair ended.
        self.exception_links: dict[str, dict[datetime, Link]] = {}
        self.pending_series: list[SeriesPair] = []
        self.ended_series: set[str] = set()
        self.erp_series = inputs.erp_series
        # Recurring tasks (planner_tasks.py): the new tasks this pass relinks a series to.
        self.carried_on: set[str] = set()
        self.rules = kind_rules(inputs.kind, inputs.settings, self.ctx.options.appointment_sync)
        self.erp_only = erp_only_fields(self.ctx, inputs.capabilities)
        self.start = effective_start(self.ctx.options.start_sync_at, inputs.now)
        self.horizon = inputs.now + timedelta(days=self.ctx.options.window_future_days)
        # The actions and conflicts of the pair being planned (see ``_guarded``).
        self.actions: list[Action] = []
        self.conflicts: list[Conflict] = []
        self.steps: list[PairStep] = []
        self.skipped: list[Skipped] = []
        self.rejected: list[Rejected] = []
        # One-to-one: every ERP id and Exchange id is paired at most once per plan.
        self.erp_claimed: set[int] = set()
        self.exchange_claimed: set[str] = set()
        self.stamped_unlinked: dict[int, RemoteItem] = {}

    def run(self) -> Plan:
        inputs = self.inputs
        erp_changes = {c.erp_id: c for c in inputs.erp_changes if c.kind is self.kind}
        mailbox_changes = {
            c.exchange_id: c for c in inputs.mailbox_changes if c.kind is self.kind
        }
        links, self.exception_links = exception_links(
            [link for link in inputs.links if link.kind is self.kind])
        if not self.rules.enabled:
            self.skipped += [Skipped(Side.ERP, str(i), SkipReason.SETTING_OFF) for i in erp_changes]
            self.skipped += [
                Skipped(Side.EXCHANGE, i, SkipReason.SETTING_OFF) for i in mailbox_changes
            ]
            return Plan(self.kind, skipped=tuple(self.skipped))
        self.erp_claimed = {link.erp_id for link in links}
        self.exchange_claimed = {link.exchange_id for link in links}
        # Unlinked Exchange items stamped with an ERP id: candidates for adoption.
        self.stamped_unlinked = {
            erp_id: remote
            for erp_id, remote in inputs.stamped.items()
            if remote.ref.id not in self.exchange_claimed
        }
        for listed in mailbox_changes.values():
            remote = listed.remote
            stamp = None if remote is None else remote.item.erp_id
            unlinked = remote is not None and remote.ref.id not in self.exchange_claimed
            if unlinked and remote is not None and stamp is not None:
                self.stamped_unlinked[stamp] = remote
        if self.kind is Kind.TASK and self.capabilities.series:
            links = self._carry_series_on(links, mailbox_changes)

        for link in links:
            erp_change = erp_changes.pop(link.erp_id, None)
            mailbox_change = mailbox_changes.pop(link.exchange_id, None)
            listed_gone = (
                inputs.complete is not None
                and link.detached is not Side.EXCHANGE
                and inputs.complete.contains(link.synced)
                # A windowed listing may leave out a series with occurrences elsewhere.
                and (link.synced.recurrence is None or inputs.complete == WHOLE_FOLDER)
            )
            if mailbox_change is None and listed_gone:
                # A complete listing without this item is evidence of its deletion (an
                # item outside the listing's window was not looked at: no evidence).
                mailbox_change = MailboxChange(link.exchange_id, self.kind, None)
            if erp_change is not None or mailbox_change is not None:
                self._guarded(
                    Side.ERP, str(link.erp_id), self._linked, link, erp_change, mailbox_change
                )
        for change in erp_changes.values():
            self._guarded(Side.ERP, str(change.erp_id), self._from_erp, change)
        for mailbox_change in mailbox_changes.values():
            remote = mailbox_change.remote
            if remote is not None and remote.ref.id not in self.exchange_claimed:
                self._guarded(Side.EXCHANGE, remote.ref.id, self._from_exchange, remote)
        self._drop_orphan_occurrences(links)
        return self._with_breaker(links)

    def _carry_series_on(self, links: list[Link],
                         changes: Mapping[str, MailboxChange]) -> list[Link]:
        """Move the link of a recurring task whose series a new task carries on (To Do)
        to that task; the completed one is then imported as a one-off row
        (``planner_tasks.py``)."""
        moved = continuations(links, changes, self.exchange_claimed, self.ctx)
        if not moved:
            return links
        out = []
        for link in links:
            carrier = moved.get(link.exchange_id)
            if carrier is not None:
                self.exchange_claimed.discard(link.exchange_id)
                self.exchange_claimed.add(carrier.ref.id)
                self.carried_on.add(carrier.ref.id)
                link = replace(link, exchange_id=carrier.ref.id, version="")
            out.append(link)
        return out

    def _drop_orphan_occurrences(self, links: Sequence[Link]) -> None:
        """Forget the occurrence links of series whose master pair is gone (not those of
        ERP rows paired again this pass, with a new series made for an edited one)."""
        live = {link.exchange_id for link in links}
        paired_again = {step.exchange.link.erp_id for step in self.steps
                        if isinstance(step.exchange, UpdateOccurrence)
                        and step.exchange.link is not None}
        for series_id, by_original in self.exception_links.items():
            if series_id in self.ended_series or series_id not in live:
                for link in by_original.values():
                    if link.erp_id not in paired_again:
                        self._guarded(Side.ERP, str(link.erp_id), self._drop, link)

    def _drop(self, link: Link) -> None:
        self.actions.append(DropLink(link.erp_id))

    def _guarded(self, side: Side, key: str, step: Callable[..., None], *args: Any) -> None:
        """Plan one pair into one ``PairStep``; an item that cannot be mapped is
        reported, and none of its pair's actions stay half-planned. The other pairs go on."""
        self.actions, self.conflicts, self.pending_series = [], [], []
        skipped = len(self.skipped)
        try:
            step(*args)
        except ItemRejected as error:
            del self.skipped[skipped:]
            self.rejected.append(Rejected(side, key, str(error)))
            return
        if self.actions or self.conflicts:
            self.steps.append(PairStep.of(self.actions, self.conflicts))
        # A series master's occurrence pairs: one step each, after the master's.
        pending, self.pending_series = self.pending_series, []
        for pair in pending:
            for original in self.occurrence_originals(pair):
                self._guarded(side, key, self.plan_occurrence, pair, original)
                if pair.exchange_id:
                    self.exception_links.get(pair.exchange_id, {}).pop(original, None)

    # -- linked pairs ------------------------------------------------------------------

    def _linked(
        self, link: Link, erp_change: ErpChange | None, mailbox_change: MailboxChange | None
    ) -> None:
        erp_id = link.erp_id
        erp_gone = erp_change is not None and erp_change.activity is None
        exchange_gone = mailbox_change is not None and mailbox_change.remote is None

        # A tombstone: one copy is gone and its deletion was not propagated.
        if link.detached is not None or erp_gone or exchange_gone:
            self.end_series(link.exchange_id)  # a series' occurrence pairs end with it
        if link.detached is Side.ERP:
            if exchange_gone:
                self.actions.append(DropLink(erp_id))
            elif mailbox_change is not None:
                self._skip(Side.EXCHANGE, link.exchange_id, SkipReason.DETACHED)
            return
        if link.detached is Side.EXCHANGE:
            if erp_gone:
                self.actions.append(DropLink(erp_id))
            elif erp_change is not None:
                self._skip(Side.ERP, str(erp_id), SkipReason.DETACHED)
            return

        # Deleted on both sides: nothing left to do but forget the pair.
        if erp_gone and exchange_gone:
            self.actions.append(DropLink(erp_id))
            return

        activity = None if erp_gone else self._erp_activity(link, erp_change)
        remote = self._exchange_remote(link, mailbox_change)
        if activity is None and not erp_gone:
            self._skip(Side.EXCHANGE, link.exchange_id, SkipReason.UNKNOWN_PARTNER)
            return
        erp_item = None if activity is None else mapping.erp_to_item(activity, self.ctx)
        exchange_item = None if remote is None else mapping.exchange_to_item(remote.item, self.ctx)
        if (exchange_item is not None and remote is not None
                and series_ended(link, remote.item, self.ctx)):
            # To Do drops the rule of a task completed at its last occurrence; Exchange
            # keeps it, and so does the ERP row: the series ended, its rule stays.
            exchange_item = replace(exchange_item, recurrence=link.synced.recurrence)
        # Edited: changed since the link last saw it, or different from the synced
        # content (an edit seen while the pair was frozen). A moved version token with
        # the same content is neither: a fake change.
        erp_edited = erp_item is not None and (
            erp_item.content_hash() != link.erp_hash or erp_item != link.synced
        )
        seen_hash = None if exchange_item is None else self._exchange_hash(exchange_item)
        exchange_edited = seen_hash is not None and (
            seen_hash != link.exchange_hash or seen_hash != self._exchange_hash(link.synced)
        )

        # Private (with the setting on) or recurring: frozen, see the module docstring.
        frozen = self._frozen_reason(activity, erp_item, remote, exchange_item)
        if frozen is not None:
            if erp_gone:
                self.actions.append(Detach(replace(link, detached=Side.ERP)))
            elif exchange_gone:
                self.actions.append(Detach(replace(link, detached=Side.EXCHANGE)))
            else:
                self._skip(Side.ERP, str(erp_id), frozen)
                self._refresh(link, erp_change, remote, erp_item, exchange_item)
            return

        # Deleted in the ERP.
        if erp_gone:
            # A row that still exists is a participant removed: for this mailbox it is
            # gone, and an Exchange edit must not re-create it in the ERP.
            removed_participant = erp_id in self.inputs.erp_current
            if exchange_edited and remote is not None and not removed_participant:
                # An edit beats a delete: the edited Exchange copy comes back to the ERP.
                assert exchange_item is not None
                self._create_in_erp(remote, exchange_item, replaces=erp_id)
            elif self.rules.delete_in_exchange:
                ref = remote.ref if remote else ItemRef(link.exchange_id, link.version)
                self.actions.append(DeleteInExchange(erp_id, ref))
            else:
                self.actions.append(Detach(replace(link, detached=Side.ERP)))
            return

        assert activity is not None and erp_item is not None
        # Deleted in Exchange.
        if exchange_gone:
            if erp_edited:
                # An edit beats a delete: the edited ERP activity gets a new Exchange copy
                # (or adopts the one an interrupted pass already made).
                partner = self._stamped_partner(erp_id)
                if partner is not None:
                    self._adopt(activity, erp_id, erp_change, partner)
                else:
                    self._create_in_exchange(erp_id, erp_item, erp_change)
            elif activity.conference or not self.rules.delete_in_erp:
                # Conference appointments are never deleted from Exchange; a delete
                # setting that is off keeps the ERP activity. Either way: detach.
                self.actions.append(Detach(replace(link, detached=Side.EXCHANGE)))
            else:
                self.actions.append(DeleteInErp(erp_id, link.exchange_id))
            return

        # Present on both sides.
        if not erp_edited and not exchange_edited:
            # Fake changes (a version token moved, the content did not): no write. But
            # an option may have changed the trailer the body carries (priority_as_text,
            # equipment_as_text): then only the body is written again.
            if remote is not None and self._trailer_outdated(remote.item, link.synced):
                form = mapping.item_to_exchange(
                    link.synced, self.ctx, current=remote.item, erp_id=erp_id
                )
                fields = mapping.exchange_fields(frozenset({"body"}), self.ctx) | {"erp_id"}
                self.actions.append(UpdateInExchange(erp_id, remote.ref, form, fields))
            self._refresh(link, erp_change, remote, erp_item, exchange_item)
            self._queue_linked_series(link, activity, erp_change, remote, link.synced)
            return
        if activity.conference and not erp_edited:
            # An Exchange edit of a conference appointment is not imported: the ERP is
            # its master, so the merge below (ERP-owned fields only) restores the copy.
            self._skip(Side.EXCHANGE, link.exchange_id, SkipReason.CONFERENCE)
        new_link = self._merge(link, activity, erp_item, erp_change, remote, exchange_item)
        if new_link != link:
            self.actions.append(SaveLink(new_link))
        self._queue_linked_series(link, activity, erp_change, remote, new_link.synced)

    def _queue_linked_series(self, link: Link, activity: ErpActivity,
                             erp_change: ErpChange | None, remote: RemoteItem | None,
                             target: Item) -> None:
        """A linked series: its occurrence pairs follow the master's step."""
        self.queue_series(SeriesPair(
            link.erp_id, link.exchange_id, target, activity.conference,
            erp_exceptions(self.erp_series.get(link.erp_id)) if is_master(activity) else {},
            self.exceptions_after_write(remote, target, link.erp_id),
            erp_change.modified_at if erp_change else None,
            erp_change.seq if erp_change else link.erp_seq, link.synced))

    def _merge(
        self,
        link: Link,
        activity: ErpActivity,
        erp_item: Item,
        erp_change: ErpChange | None,
        remote: RemoteItem | None,
        exchange_item: Item | None,
    ) -> Link:
        """Merge the pair, add its writes, and return the link to keep after them."""
        base = link.synced
        erp_only = self.erp_only
        if activity.conference:
            # Conference appointments are never changed in the ERP from Exchange.
            erp_only = frozenset(SYNC_FIELDS)
        exchange_side = base if exchange_item is None else self._effective(exchange_item, base)
        if exchange_item is not None and link.exchange_id in self.carried_on:
            # The task carrying a series on starts its occurrence afresh: its progress is
            # its own even where the ERP owns the field (To Do has no percent complete).
            erp_only -= {"percent_complete"}
            exchange_side = replace(exchange_side,
                                    percent_complete=exchange_item.percent_complete)
        winner = conflict_winner(
            self.ctx.options.conflict_policy,
            erp_change.modified_at if erp_change else self.inputs.erp_modified.get(link.erp_id),
            remote.modified_at if remote else None,
        )
        merged = merge(link.erp_id, base, erp_item, exchange_side, winner=winner, erp_only=erp_only)
        self.conflicts += merged.conflicts
        target = self.with_given_exdates(merged.item, link.erp_id)
        self.check_series_deletions(link.erp_id, erp_item, exchange_side, target,
                                    self.modified_originals(link, remote))
        self.check_series_holdable(link.erp_id, target)

        erp_writes = mapping.erp_fields(changed_fields(erp_item, target))
        written = mapping.item_to_erp(target, self.ctx, current=activity, now=self.inputs.now)
        if erp_writes:
            self.actions.append(UpdateInErp(link.erp_id, written, erp_writes))
        # What the ERP will read back decides the ERP's own fields of the synced content.
        after_erp = mapping.erp_to_item(written, self.ctx)
        target = replace(
            target, equipment=after_erp.equipment, priority_name=after_erp.priority_name
        )

        if exchange_item is not None:
            exchange_changed = changed_fields(self._effective(exchange_item, base), target)
        elif link.exchange_hash == self._exchange_hash(base):
            exchange_changed = changed_fields(base, target)
        else:
            # The Exchange copy differs from the synced content in ways we cannot see
            # now (edits that were not imported): rewrite it whole.
            exchange_changed = frozenset(SYNC_FIELDS)
        exchange_writes = mapping.exchange_fields(
            exchange_changed - self.inputs.capabilities.cannot_hold, self.ctx
        )
        current = remote.item if remote else None
        exchange_form = mapping.item_to_exchange(
            target, self.ctx, current=current, erp_id=link.erp_id
        )
        ref = remote.ref if remote else ItemRef(link.exchange_id, link.version)
        if exchange_writes:
            # The stamp travels with every update, so imported items get it too.
            self.actions.append(
                UpdateInExchange(link.erp_id, ref, exchange_form, exchange_writes | {"erp_id"})
            )
        return replace(
            link,
            version=ref.version,
            erp_seq=erp_change.seq if erp_change else link.erp_seq,
            erp_hash=after_erp.content_hash(),
            exchange_hash=self._exchange_hash(mapping.exchange_to_item(exchange_form, self.ctx))
            if exchange_writes or exchange_item is None
            else self._exchange_hash(exchange_item),
            synced=target,
        )

    def _refresh(
        self,
        link: Link,
        erp_change: ErpChange | None,
        remote: RemoteItem | None,
        erp_item: Item | None,
        exchange_item: Item | None,
    ) -> None:
        """Keep the synced content; take the version tokens and hashes as they are now."""
        new_link = replace(
            link,
            version=remote.ref.version if remote else link.version,
            erp_seq=erp_change.seq if erp_change else link.erp_seq,
            erp_hash=erp_item.content_hash() if erp_item else link.erp_hash,
            exchange_hash=(
                self._exchange_hash(exchange_item) if exchange_item else link.exchange_hash
            ),
        )
        if new_link != link or self.actions:  # a write records its pair's link, once
            self.actions.append(SaveLink(new_link))

    # -- unlinked items ----------------------------------------------------------------

    def _from_erp(self, change: ErpChange) -> None:
        """An ERP activity without a link: adopt its stamped copy, or create one."""
        partner = self._stamped_partner(change.erp_id)
        activity = change.activity
        if activity is None:
            # Deleted before its first pass completed. The only copy the sync may delete
            # without a link is its own unfinished create, stamped with this id.
            if partner is not None:
                self._claim(change.erp_id, partner.ref.id)
                if self.rules.delete_in_exchange:
                    self.actions.append(DeleteInExchange(change.erp_id, partner.ref))
                else:
                    self.actions.append(Detach(self._tombstone(change.erp_id, partner)))
            return
        if partner is not None:
            self._adopt(activity, change.erp_id, change, partner)
            return
        item = mapping.erp_to_item(activity, self.ctx)
        reason = self._unlinked_skip(item, unsyncable_erp(activity, self.capabilities),
                                     change.modified_at)
        if reason is not None:
            self._skip(Side.ERP, str(change.erp_id), reason)
            return
        self._create_in_exchange(change.erp_id, item, change)

    def _from_exchange(self, remote: RemoteItem) -> None:
        """An Exchange item without a link: adopt it for its stamped ERP id, or import it."""
        stamp = remote.item.erp_id
        if stamp is not None and stamp not in self.erp_claimed:
            activity = self.inputs.erp_current.get(stamp)
            if activity is not None:
                self._adopt(activity, stamp, None, remote)
                return
        item = mapping.exchange_to_item(remote.item, self.ctx)
        reason = self._unlinked_skip(item, unsyncable_exchange(remote.item, self.capabilities),
                                     remote.modified_at)
        if reason is not None:
            self._skip(Side.EXCHANGE, remote.ref.id, reason)
            return
        self._create_in_erp(remote, item, replaces=None)

    def _adopt(
        self, activity: ErpActivity, erp_id: int, change: ErpChange | None, remote: RemoteItem
    ) -> None:
        """Pair ERP activity ``erp_id`` with its stamped Exchange copy.

        The copy was made from the ERP, so the ERP's content is written over it.
        """
        self._claim(erp_id, remote.ref.id)
        erp_item = mapping.erp_to_item(activity, self.ctx)
        exchange_item = mapping.exchange_to_item(remote.item, self.ctx)
        base = self._effective(exchange_item, erp_item)
        link = Link(
            kind=self.kind,
            erp_id=erp_id,
            exchange_id=remote.ref.id,
            version=remote.ref.version,
            erp_seq=change.seq if change else 0,
            erp_hash=erp_item.content_hash(),
            exchange_hash=self._exchange_hash(exchange_item),
            synced=base,
        )
        merged = self._merge(link, activity, erp_item, change, remote, exchange_item)
        self.actions.append(SaveLink(merged))
        self._queue_linked_series(merged, activity, change, remote, merged.synced)

    def _tombstone(self, erp_id: int, remote: RemoteItem) -> Link:
        """A detached link keeping an Exchange copy whose ERP activity is gone."""
        item = mapping.exchange_to_item(remote.item, self.ctx)
        return Link(
            kind=self.kind,
            erp_id=erp_id,
            exchange_id=remote.ref.id,
            version=remote.ref.version,
            erp_seq=0,
            erp_hash="",
            exchange_hash=self._exchange_hash(item),
            synced=item,
            detached=Side.ERP,
        )

    def _create_in_exchange(self, erp_id: int, item: Item, change: ErpChange | None) -> None:
        self._claim(erp_id, None)
        self.check_series_holdable(erp_id, item)
        if item.recurrence is not None:
            # Its occurrence pairs are written once the engine has the new series' id:
            # the ERP's rows, each a new pair (a new series has no exceptions, no links).
            self.queue_series(SeriesPair(
                erp_id, "", item, erp=erp_exceptions(self.inputs.erp_series.get(erp_id)),
                seq=change.seq if change else 0))
        exchange_form = mapping.item_to_exchange(item, self.ctx, erp_id=erp_id)
        link = Link(
            kind=self.kind,
            erp_id=erp_id,
            exchange_id="",
            version="",
            erp_seq=change.seq if change else 0,
            erp_hash=item.content_hash(),
            exchange_hash=self._exchange_hash(mapping.exchange_to_item(exchange_form, self.ctx)),
            synced=item,
        )
        self.actions.append(CreateInExchange(erp_id, exchange_form, link))

    def _create_in_erp(self, remote: RemoteItem, item: Item, *, replaces: int | None) -> None:
        self._claim(None, remote.ref.id)
        activity = mapping.item_to_erp(item, self.ctx, now=self.inputs.now)
        # The ERP decides its own fields (the priority's name) of the synced content.
        synced = mapping.erp_to_item(activity, self.ctx)
        link = Link(
            kind=self.kind,
            erp_id=0,
            exchange_id=remote.ref.id,
            version=remote.ref.version,
            erp_seq=0,
            erp_hash=synced.content_hash(),
            exchange_hash=self._exchange_hash(item),
            synced=synced,
        )
        self.actions.append(CreateInErp(remote.ref.id, activity, link, replaces=replaces))
        if item.recurrence is not None:
            self.queue_series(SeriesPair(None, remote.ref.id, synced, False, {},
                                         exchange_exceptions(remote)))

    # -- rules -------------------------------------------------------------------------

    def _frozen_reason(
        self,
        activity: ErpActivity | None,
        erp_item: Item | None,
        remote: RemoteItem | None,
        exchange_item: Item | None,
    ) -> SkipReason | None:
        if (activity is not None and unsyncable_erp(activity, self.capabilities)) or (
            remote is not None and unsyncable_exchange(remote.item, self.capabilities)
        ):
            return SkipReason.RECURRING
        private = any(i is not None and i.private for i in (erp_item, exchange_item))
        if self.rules.no_private and private:
            return SkipReason.PRIVATE
        return None

    def _unlinked_skip(
        self, item: Item, recurring: bool, modified_at: datetime | None
    ) -> SkipReason | None:
        """Why an item that was never synchronized stays where it is, if it does."""
        if recurring:
            return SkipReason.RECURRING
        if self.rules.no_private and item.private:
            return SkipReason.PRIVATE
        if modified_at is not None and modified_at < self.start:
            return SkipReason.BEFORE_START
        if self.kind is Kind.APPOINTMENT and item.recurrence is not None:
            if not self.series_in_window(item, self.start):
                return SkipReason.OUTSIDE_WINDOW
        elif self.kind is Kind.APPOINTMENT and item.start is not None:
            end = item.end if item.end is not None else item.start
            if instant(end) < self.start or instant(item.start) > self.horizon:
                return SkipReason.OUTSIDE_WINDOW
        return None

    def _with_breaker(self, links: Sequence[Link]) -> Plan:
        """Hold every deletion when they are more than the guard's share of the linked
        items and more than ``BREAKER_MIN_DELETIONS``, unless approved; rejected, each
        one's pair is detached instead (its surviving copy kept)."""
        deletions = [step.deletion for step in self.steps if step.deletion is not None]
        linked = sum(1 for link in links if link.detached is None)
        limit = linked * self.ctx.options.delete_guard_percent / 100
        held: tuple[DeleteInExchange | DeleteInErp, ...] = ()
        steps = self.steps
        if (
            not self.inputs.approve_deletions
            and len(deletions) > BREAKER_MIN_DELETIONS
            and len(deletions) > limit
        ):
            if self.inputs.reject_deletions:
                steps = [self._rejected(step, links) for step in steps]
            else:
                held = tuple(deletions)
                steps = [step for step in steps if step.deletion is None]
        return Plan(
            self.kind,
            steps=tuple(steps),
            skipped=tuple(self.skipped),
            held=held,
            rejected=tuple(self.rejected),
        )

    @staticmethod
    def _rejected(step: PairStep, links: Sequence[Link]) -> PairStep:
        """A deletion step replaced by the detach of its pair (the survivor stays)."""
        deletion = step.deletion
        if deletion is None:
            return step
        link = next(k for k in links if k.erp_id == deletion.erp_id and k.detached is None)
        gone = Side.ERP if isinstance(deletion, DeleteInExchange) else Side.EXCHANGE
        return PairStep(record=Detach(replace(link, detached=gone)))

    # -- helpers -----------------------------------------------------------------------

    def _stamped_partner(self, erp_id: int) -> RemoteItem | None:
        """An unpaired Exchange item stamped with ``erp_id`` (a copy an interrupted pass
        made), if any."""
        remote = self.stamped_unlinked.get(erp_id)
        return None if remote is None or remote.ref.id in self.exchange_claimed else remote

    def _erp_activity(self, link: Link, change: ErpChange | None) -> ErpActivity | None:
        if change is not None:
            return change.activity
        return self.inputs.erp_current.get(link.erp_id)

    def _exchange_remote(self, link: Link, change: MailboxChange | None) -> RemoteItem | None:
        if change is not None:
            return change.remote
        found = self.inputs.stamped.get(link.erp_id)
        return found if found is not None and found.ref.id == link.exchange_id else None

    def _effective(self, exchange_item: Item, base: Item) -> Item:
        """The Exchange copy with the ERP-only fields as in ``base``: Exchange cannot
        change them, so their Exchange values are not changes."""
        return replace(
            exchange_item, **{name: getattr(base, name) for name in self.erp_only}
        )

    def _trailer_outdated(self, current: ExchangeItem, synced: Item) -> bool:
        """Whether the body's trailer differs from the one the options ask for now."""
        wanted = mapping.item_to_exchange(synced, self.ctx, current=current).body
        return _trailer(wanted) != _trailer(current.body)

    def _exchange_hash(self, item: Item) -> str:
        return exchange_view(item, self.ctx, self.inputs.capabilities).content_hash()

    def _winner(self, erp_modified: datetime | None, exchange_modified: datetime | None
                ) -> Side:
        return conflict_winner(self.ctx.options.conflict_policy, erp_modified,
                               exchange_modified)

    def _claim(self, erp_id: int | None, exchange_id: str | None) -> None:
        """Mark ids as paired, so no later rule pairs them again (links are one-to-one)."""
        if erp_id is not None:
            self.erp_claimed.add(erp_id)
        if exchange_id is not None:
            self.exchange_claimed.add(exchange_id)

    def _skip(self, side: Side, key: str, reason: SkipReason) -> None:
        self.skipped.append(Skipped(side, key, reason))
