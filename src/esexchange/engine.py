"""One synchronization pass over one mailbox: fetch, plan, apply.

For each kind (appointments, then tasks) the pass

1. reads the ERP's changes after the kind's cursor and the mailbox's changes after its
   sync state (every page; a refused sync state reads the whole folder again, and the
   planner adopts by links and stamps, so nothing is duplicated);
2. asks the mailbox for items stamped with the ERP ids that may have to be created there
   (one call per batch: crash recovery adopts them instead of creating twins), reads the ERP rows
   of pairs that only changed in Exchange, and lets the pure planner decide;
3. writes to Exchange in batches (creates carry the ERP id stamp), then writes the ERP
   changes, the links, the conflicts, the audit lines and the cursor in ONE transaction.

Failures: an element of a batch that fails is reported with its item and mailbox, and
only its pair's link stays as it was. The cursor (ERP sequence and sync state) advances
only when every write of the kind succeeded and no deletion is held. Otherwise the next
pass reads the same ERP changes again and lists the whole folder (the sync state is
dropped: reading from the old one would miss the deletion of an item created after
it); the links written now make the repeated work a no-op (idempotence). After a crash
nothing was committed: the next pass reads from the old cursor, and stamps adopt the
Exchange copies whose links were lost.

A ``MailboxError`` while reading ends the pass for this mailbox with a report; the
caller runs many mailboxes and does not have to catch it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

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
    Plan,
    SaveLink,
    UpdateInErp,
    UpdateInExchange,
)
from esexchange.domain.errors import EsExchangeError
from esexchange.domain.mapping import MappingContext
from esexchange.domain.model import Employee, ErpActivity, ItemRef, Kind, RemoteItem, Side
from esexchange.domain.options import EmployeeSettings
from esexchange.domain.planner import PlanInputs, kind_rules, plan
from esexchange.domain.state import CompleteWindow, ErpChange, Link, MailboxChange
from esexchange.erp.port import Cursor, ErpStore, ErpTransaction, Scope
from esexchange.exchange.errors import InvalidSyncState, MailboxError
from esexchange.exchange.port import BatchResult, ExchangeUpdate, Mailbox, OwnWrites

DEFAULT_BATCH_SIZE = 100

T = TypeVar("T")


class Outcome(StrEnum):
    """What happened to items, counted per kind and side in a ``PassReport``."""

    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    DETACHED = "detached"
    SKIPPED = "skipped"
    CONFLICTS = "conflicts"
    HELD = "held"
    FAILED = "failed"


@dataclass
class KindReport:
    """What one kind's part of a pass did. Counts are keyed by (side written, outcome);
    skipped items count on the side they live on; a conflict counts on the side that
    lost it."""

    kind: Kind
    enabled: bool = True
    counts: Counter[tuple[Side, Outcome]] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    cursor_advanced: bool = False

    def count(self, side: Side, outcome: Outcome) -> int:
        return self.counts[(side, outcome)]


@dataclass
class PassReport:
    """What a pass over one mailbox did, for the CLI's "what moved per employee"."""

    mailbox: str
    employee_id: int
    dry_run: bool = False
    kinds: dict[Kind, KindReport] = field(default_factory=dict)
    not_syncable: str | None = None
    error: str | None = None
    """Why the pass stopped early (the mailbox could not be read or written)."""

    def count(self, kind: Kind, side: Side, outcome: Outcome) -> int:
        report = self.kinds.get(kind)
        return 0 if report is None else report.count(side, outcome)

    @property
    def failures(self) -> list[str]:
        return [f for report in self.kinds.values() for f in report.failures]

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failures


def run_pass(
    store: ErpStore,
    mailbox: Mailbox,
    scope: Scope,
    employee: Employee,
    settings: EmployeeSettings,
    ctx: MappingContext,
    now: datetime,
    *,
    dry_run: bool = False,
    approve_deletions: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> PassReport:
    """Synchronize one employee's mailbox with the ERP, appointments then tasks.

    ``now`` is an aware UTC time. With ``dry_run`` nothing is written and the report
    counts what a pass would do. ``approve_deletions`` lets deletions through that the
    circuit breaker would hold.
    """
    report = PassReport(mailbox.address, employee.id, dry_run=dry_run)
    if not employee.syncable:
        why = "has left" if employee.employment_status == "left" else "may not create appointments"
        report.not_syncable = f"employee {employee.number} ({employee.name}) {why}: not synced"
        return report
    try:
        if not dry_run:
            mailbox.ensure_categories(mapping.master_categories(ctx))
        for kind in Kind:
            kind_report = report.kinds[kind] = KindReport(kind)
            if not kind_rules(kind, settings, ctx.options.appointment_sync).enabled:
                # Neither read nor advanced: switched on again, the kind catches up.
                kind_report.enabled = False
                continue
            _KindPass(
                store, mailbox, scope, employee, settings, ctx, now, kind_report,
                dry_run=dry_run, approve_deletions=approve_deletions, batch_size=batch_size,
            ).run()
    except MailboxError as error:
        report.error = f"mailbox {mailbox.address}: {error}"
    return report


def restart_cursors(store: ErpStore, scope: Scope) -> None:
    """Read everything again at the next pass (every ERP activity, a full listing).

    Call it after a settings change that widens what is synchronized (a "no private"
    setting switched off): items skipped before did not change since, so only a full
    read finds them. Links and stamps make the re-read write nothing for synced pairs.
    """
    with store.transaction() as tx:
        for kind in Kind:
            tx.save_cursor(scope, kind, Cursor())
        tx.commit()


class _KindPass:
    def __init__(
        self,
        store: ErpStore,
        mailbox: Mailbox,
        scope: Scope,
        employee: Employee,
        settings: EmployeeSettings,
        ctx: MappingContext,
        now: datetime,
        report: KindReport,
        *,
        dry_run: bool,
        approve_deletions: bool,
        batch_size: int,
    ) -> None:
        self.store, self.mailbox, self.scope = store, mailbox, scope
        self.employee, self.settings, self.ctx, self.now = employee, settings, ctx, now
        self.kind = report.kind
        self.report = report
        self.dry_run = dry_run
        self.approve_deletions = approve_deletions
        self.batch_size = batch_size
        # Pairs (by ERP id) and imports (by Exchange id) whose write failed this pass.
        self.failed_erp: set[int] = set()
        self.failed_exchange: set[str] = set()
        # New version of Exchange items written this pass, by ERP id; ids deleted.
        self.written: dict[int, ItemRef] = {}
        self.deleted: set[str] = set()
        self.created: set[int] = set()
        """ERP ids whose Exchange copy this pass set out to create."""

    def run(self) -> None:
        cursor = self.store.cursor(self.scope, self.kind)
        erp_changes, erp_seq = self.store.changes(self.employee.id, self.kind, cursor.erp_seq)
        mailbox_changes, sync_state, complete = self._read_mailbox(cursor.sync_state)
        links = self.store.links(self.scope, self.kind)
        the_plan = plan(
            PlanInputs(
                kind=self.kind,
                erp_changes=erp_changes,
                mailbox_changes=mailbox_changes,
                complete=complete,
                links=links,
                settings=self.settings,
                ctx=self.ctx,
                now=self.now,
                capabilities=self.mailbox.capabilities(self.kind),
                erp_current=self._erp_rows(erp_changes, mailbox_changes, links, complete),
                stamped=self._stamped(erp_changes, mailbox_changes, links, complete),
                approve_deletions=self.approve_deletions,
            )
        )
        self._report_plan(the_plan)
        if self.dry_run:
            for action in the_plan.actions:
                self._count(action)
            for conflict in the_plan.conflicts:
                self.report.conflicts.append(conflict)
                self.report.counts[(conflict.winner.other, Outcome.CONFLICTS)] += 1
            return
        self._write_exchange(the_plan.actions)
        next_state = self.mailbox.state_after_writes(self.kind, sync_state, self._own_writes())
        with self.store.transaction() as tx:
            self._write_erp(tx, the_plan)
            clean = not self.report.failures and not the_plan.held
            if clean:
                tx.save_cursor(self.scope, self.kind, Cursor(erp_seq, next_state))
            else:
                # Read the same ERP changes again, and the whole folder: an old sync
                # state would not report the deletion of an item created after it.
                tx.save_cursor(self.scope, self.kind, Cursor(cursor.erp_seq, None))
            tx.commit()
        self.report.cursor_advanced = clean

    # -- fetch -------------------------------------------------------------------------

    def _read_mailbox(
        self, state: str | None
    ) -> tuple[list[MailboxChange], str, CompleteWindow | None]:
        """Every change after ``state`` (all pages); a refused state reads everything."""
        try:
            return self._read_pages(state)
        except InvalidSyncState:
            return self._read_pages(None)

    def _read_pages(
        self, state: str | None
    ) -> tuple[list[MailboxChange], str, CompleteWindow | None]:
        page = self.mailbox.changes(self.kind, state)
        changes, complete = list(page.changes), page.complete
        while page.more:
            page = self.mailbox.changes(self.kind, page.state)
            changes += page.changes
        return changes, page.state, complete

    def _own_writes(self) -> OwnWrites:
        """What this pass wrote to the folder, for ``Mailbox.state_after_writes``."""
        return OwnWrites(
            created=tuple(ref for erp_id, ref in self.written.items() if erp_id in self.created),
            updated=tuple(
                ref for erp_id, ref in self.written.items() if erp_id not in self.created
            ),
            deleted=tuple(sorted(self.deleted)),
        )

    def _erp_rows(
        self, erp_changes: Sequence[ErpChange], mailbox_changes: Sequence[MailboxChange],
        links: Sequence[Link],
        complete: CompleteWindow | None,
    ) -> dict[int, ErpActivity]:
        """ERP rows the planner needs besides the changes: partners of Exchange-only
        changes (with a complete listing, of every linked item: a missing one may have
        been deleted),
        stamped ids of unlinked Exchange items, and rows said to be gone."""
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
        return dict(self.store.activities(sorted(wanted))) if wanted else {}

    def _stamped(
        self, erp_changes: Sequence[ErpChange], mailbox_changes: Sequence[MailboxChange],
        links: Sequence[Link], complete: CompleteWindow | None,
    ) -> dict[int, RemoteItem]:
        """Exchange items stamped with the ERP ids that may be created in Exchange (one
        request per batch): activities without a partner there, that is without a link
        or whose linked item is gone. A twin from a crashed pass can only be one of those;
        a live pair needs no look-up."""
        listed = {c.exchange_id for c in mailbox_changes if c.remote is not None}
        gone = {c.exchange_id for c in mailbox_changes if c.remote is None}
        partner = {link.erp_id: link for link in links}

        def may_be_created(erp_id: int) -> bool:
            link = partner.get(erp_id)
            return (
                link is None
                or link.exchange_id in gone
                or (
                    complete is not None
                    and link.exchange_id not in listed
                    and complete.contains(link.synced)
                )
            )

        ids = sorted(c.erp_id for c in erp_changes if c.activity and may_be_created(c.erp_id))
        found: dict[int, RemoteItem] = {}
        for batch in _chunks(ids, self.batch_size):
            found.update(self.mailbox.find_by_erp_id(self.kind, batch))
        return found

    # -- apply -------------------------------------------------------------------------

    def _write_exchange(self, actions: Sequence[Action]) -> None:
        """Creates, updates and deletes in Exchange, in batches. A batch that fails as a
        whole fails its elements and stops the Exchange writes of this pass."""
        creates = [a for a in actions if isinstance(a, CreateInExchange)]
        self.created = {a.erp_id for a in creates}
        updates = [a for a in actions if isinstance(a, UpdateInExchange)]
        deletes = [a for a in actions if isinstance(a, DeleteInExchange)]
        answered: set[int] = set()
        try:
            for create_batch in _chunks(creates, self.batch_size):
                results = self.mailbox.create([a.item for a in create_batch])
                self._record_writes(create_batch, results, answered)
            for update_batch in _chunks(updates, self.batch_size):
                results = self.mailbox.update(
                    [ExchangeUpdate(a.ref, a.item, a.fields) for a in update_batch]
                )
                self._record_writes(update_batch, results, answered)
            for delete_batch in _chunks(deletes, self.batch_size):
                deleted = self.mailbox.delete([a.ref for a in delete_batch])
                for delete, outcome in zip(delete_batch, deleted, strict=True):
                    answered.add(delete.erp_id)
                    if outcome.ok:
                        self.deleted.add(delete.ref.id)
                    else:
                        self._fail(delete.erp_id, delete.ref.id, outcome.error)
        except MailboxError as error:
            # Whatever got no answer may or may not have happened: its link stays as
            # it was, and the next pass finds out (stamps, listings).
            wanted = (
                {a.erp_id for a in creates} | {a.erp_id for a in updates}
                | {a.erp_id for a in deletes}
            )
            for erp_id in sorted(wanted - answered):
                self._fail(erp_id, "", error)

    def _record_writes(
        self,
        actions: Sequence[CreateInExchange | UpdateInExchange],
        results: Sequence[BatchResult[ItemRef]],
        answered: set[int],
    ) -> None:
        """The new versions of the items a create or update batch wrote; the rest fail."""
        for action, result in zip(actions, results, strict=True):
            answered.add(action.erp_id)
            if result.ok and result.value is not None:
                self.written[action.erp_id] = result.value
            else:
                self._fail(action.erp_id, action.item.subject, result.error)

    def _write_erp(self, tx: ErpTransaction, the_plan: Plan) -> None:
        """The ERP's writes, the links and the conflicts of every pair that did not fail."""
        scope, kind = self.scope, self.kind
        for action in the_plan.actions:
            if isinstance(action, CreateInErp):
                if action.exchange_id in self.failed_exchange:
                    continue
                try:
                    erp_id = tx.create_activity(action.activity, self.employee.id)
                except EsExchangeError as error:
                    self._fail_import(action.exchange_id, action.activity.subject, error)
                    continue
                if action.replaces is not None:
                    tx.drop_link(scope, kind, action.replaces)
                tx.save_link(scope, replace(action.link, erp_id=erp_id))
                self._done(tx, action, erp_id, action.exchange_id)
                continue
            if _pair_id(action) not in self.failed_erp:
                self._apply_paired(tx, action)
        for conflict in the_plan.conflicts:
            if conflict.erp_id not in self.failed_erp:
                tx.record_conflict(
                    scope, conflict.erp_id, conflict.field, conflict.erp_value,
                    conflict.exchange_value, conflict.winner,
                )
                self.report.conflicts.append(conflict)
                self.report.counts[(conflict.winner.other, Outcome.CONFLICTS)] += 1

    def _apply_paired(self, tx: ErpTransaction, action: Action) -> None:
        scope, kind = self.scope, self.kind
        if isinstance(action, CreateInExchange):
            ref = self.written[action.erp_id]
            tx.save_link(
                scope, replace(action.link, exchange_id=ref.id, version=ref.version)
            )
            self._done(tx, action, action.erp_id, ref.id)
        elif isinstance(action, UpdateInExchange):
            self._done(tx, action, action.erp_id, action.ref.id)
        elif isinstance(action, DeleteInExchange):
            tx.drop_link(scope, kind, action.erp_id)
            self._done(tx, action, action.erp_id, action.ref.id)
        elif isinstance(action, UpdateInErp):
            try:
                tx.update_activity(action.erp_id, action.activity, action.fields)
            except EsExchangeError as error:
                self._fail(action.erp_id, action.activity.subject, error, side=Side.ERP)
                return
            self._done(tx, action, action.erp_id, None)
        elif isinstance(action, DeleteInErp):
            try:
                tx.delete_activity(action.erp_id, employee_id=self.employee.id)
            except EsExchangeError as error:
                self._fail(action.erp_id, action.exchange_id, error, side=Side.ERP)
                return
            tx.drop_link(scope, kind, action.erp_id)
            self._done(tx, action, action.erp_id, action.exchange_id)
        elif isinstance(action, SaveLink):
            link = action.link
            new_version = self.written.get(link.erp_id)
            if new_version is not None and new_version.id == link.exchange_id:
                link = replace(link, version=new_version.version)
            tx.save_link(scope, link)
        elif isinstance(action, DropLink):
            tx.drop_link(scope, kind, action.erp_id)
        elif isinstance(action, Detach):
            tx.save_link(scope, action.link)
            self._done(tx, action, action.link.erp_id, action.link.exchange_id)

    # -- reporting ---------------------------------------------------------------------

    def _report_plan(self, the_plan: Plan) -> None:
        for skipped in the_plan.skipped:
            self.report.counts[(skipped.side, Outcome.SKIPPED)] += 1
        for held in the_plan.held:
            side = Side.EXCHANGE if isinstance(held, DeleteInExchange) else Side.ERP
            self.report.counts[(side, Outcome.HELD)] += 1
        if the_plan.held:
            self.report.failures.append(
                f"mailbox {self.mailbox.address}: {len(the_plan.held)} {self.kind} deletions "
                "held by the circuit breaker; approve them to let them through"
            )
        for rejected in the_plan.rejected:
            self.report.counts[(rejected.side, Outcome.FAILED)] += 1
            self.report.failures.append(f"mailbox {self.mailbox.address}: {rejected.message}")

    def _done(
        self, tx: ErpTransaction, action: Action, erp_id: int | None, exchange_id: str | None
    ) -> None:
        self._count(action)
        tx.audit(self.scope, type(action).__name__, erp_id, exchange_id, str(self.kind))

    def _count(self, action: Action) -> None:
        if isinstance(action, Detach):
            assert action.link.detached is not None
            # Counted on the side the deletion did not go to.
            self.report.counts[(action.link.detached.other, Outcome.DETACHED)] += 1
        elif type(action) in _OUTCOMES:
            self.report.counts[_OUTCOMES[type(action)]] += 1

    def _fail(
        self, erp_id: int, what: str, error: Exception | None, *, side: Side = Side.EXCHANGE
    ) -> None:
        self.failed_erp.add(erp_id)
        self.report.counts[(side, Outcome.FAILED)] += 1
        label = f"ERP activity {erp_id}" + (f" ({what})" if what else "")
        self.report.failures.append(
            f"mailbox {self.mailbox.address}, {self.kind} {label}: {error}"
        )

    def _fail_import(self, exchange_id: str, subject: str, error: Exception) -> None:
        self.failed_exchange.add(exchange_id)
        self.report.counts[(Side.ERP, Outcome.FAILED)] += 1
        self.report.failures.append(
            f"mailbox {self.mailbox.address}, {self.kind} {subject!r} ({exchange_id}): {error}"
        )


_OUTCOMES: dict[type, tuple[Side, Outcome]] = {
    CreateInExchange: (Side.EXCHANGE, Outcome.CREATED),
    UpdateInExchange: (Side.EXCHANGE, Outcome.UPDATED),
    DeleteInExchange: (Side.EXCHANGE, Outcome.DELETED),
    CreateInErp: (Side.ERP, Outcome.CREATED),
    UpdateInErp: (Side.ERP, Outcome.UPDATED),
    DeleteInErp: (Side.ERP, Outcome.DELETED),
}


def _pair_id(action: Action) -> int:
    """The ERP id of the pair an action belongs to (not for ``CreateInErp``)."""
    if isinstance(action, SaveLink | Detach):
        return action.link.erp_id
    assert not isinstance(action, CreateInErp)
    return action.erp_id


def _chunks(values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
