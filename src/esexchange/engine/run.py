"""One synchronization pass over one mailbox, appointments then tasks.

For each kind: fetch both sides (``fetch``), let the pure planner decide, then apply
the plan (``apply``): the Exchange writes in batches, then per pair its ERP write, link
and conflicts in a savepoint, and the cursor, all in ONE ERP transaction. A dry run
stops after planning and reports the same plan object a pass would apply.

The cursor (ERP sequence and sync state) advances past the pass's work unless the
circuit breaker held deletions (then the same changes are read again until approved).
A pair that failed, or that the planner rejected, is *parked* in the same transaction
(``domain.state.Parked``: attempts, the error in words, the next try with a doubling
wait) and retried by id, not by reading everything again; an edit on either side
retries it at once. The sync state stored is past the pass's own writes
(``Mailbox.state_after_writes``), so no deletion a user makes afterwards is missed.
After a crash nothing was committed: the next pass reads from the old cursor, and
stamps adopt the Exchange copies whose links were lost.

A ``MailboxError`` while reading ends the pass for this mailbox with a report; the
caller runs many mailboxes and does not have to catch it.

Before the pass's first write on either side (a kind whose plan has anything to do),
``before_writes`` runs once (the runner checks the installation claim there and may end
the pass by raising), then the master category list is made sure of. A pass with nothing
to write costs no request but its reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from esexchange.domain import mapping
from esexchange.domain.actions import Plan
from esexchange.domain.mapping import MappingContext
from esexchange.domain.model import Employee, Kind, Side
from esexchange.domain.options import EmployeeSettings
from esexchange.domain.planner import PlanInputs, kind_rules, plan
from esexchange.domain.state import Parked, pair_key, retry_wait
from esexchange.engine.apply import PairFailure, PairRecorder, write_exchange
from esexchange.engine.fetch import Fetched, fetch
from esexchange.engine.report import KindReport, PassReport
from esexchange.erp.port import Cursor, ErpStore, ErpTransaction, Scope
from esexchange.exchange.errors import MailboxError, in_mailbox
from esexchange.exchange.port import Mailbox

DEFAULT_BATCH_SIZE = 100


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
    reject_deletions: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    before_writes: Callable[[], None] | None = None,
) -> PassReport:
    """Synchronize one employee's mailbox with the ERP, appointments then tasks.

    ``now`` is an aware UTC time. With ``dry_run`` nothing is written and the report
    counts what a pass would do. ``approve_deletions`` lets deletions through that the
    circuit breaker would hold; ``reject_deletions`` detaches their pairs instead (both
    copies kept, no longer synchronized). ``before_writes`` runs once before the first
    write (in a dry run: before the first plan with anything to report); what it raises
    ends the pass and reaches the caller.
    """
    report = PassReport(mailbox.address, employee.id, dry_run=dry_run)
    if not employee.syncable:
        why = "has left" if employee.employment_status == "left" else "may not create appointments"
        report.not_syncable = f"employee {employee.number} ({employee.name}) {why}: not synced"
        return report
    first_write = _FirstWrite(mailbox, ctx, before_writes, dry_run=dry_run)
    try:
        for kind in Kind:
            kind_report = report.kinds[kind] = KindReport(kind)
            if not kind_rules(kind, settings, ctx.options.appointment_sync).enabled:
                # Neither read nor advanced: switched on again, the kind catches up.
                kind_report.enabled = False
                continue
            _kind_pass(
                store, mailbox, scope, employee, settings, ctx, now, kind_report,
                first_write, dry_run=dry_run, approve_deletions=approve_deletions,
                reject_deletions=reject_deletions, batch_size=batch_size,
            )
    except MailboxError as error:
        report.error = in_mailbox(mailbox.address, error)
    return report


class _FirstWrite:
    """What comes once before a pass's first write: the caller's ``before_writes``, then
    the master category list (not in a dry run)."""

    def __init__(self, mailbox: Mailbox, ctx: MappingContext,
                 before_writes: Callable[[], None] | None, *, dry_run: bool) -> None:
        self._mailbox = mailbox
        self._ctx = ctx
        self._before_writes = before_writes
        self._dry_run = dry_run
        self._done = False

    def __call__(self) -> None:
        if self._done:
            return
        if self._before_writes is not None:
            self._before_writes()
        if not self._dry_run:
            self._mailbox.ensure_categories(mapping.master_categories(self._ctx))
        self._done = True


def _has_work(the_plan: Plan, fetched: Fetched) -> bool:
    """Whether applying the plan writes anything but the cursor (parked pairs retried
    are unparked or parked again)."""
    return bool(the_plan.steps or the_plan.skipped or the_plan.held or the_plan.rejected
                or fetched.attempted)


def _kind_pass(
    store: ErpStore,
    mailbox: Mailbox,
    scope: Scope,
    employee: Employee,
    settings: EmployeeSettings,
    ctx: MappingContext,
    now: datetime,
    report: KindReport,
    first_write: _FirstWrite,
    *,
    dry_run: bool,
    approve_deletions: bool,
    reject_deletions: bool,
    batch_size: int,
) -> None:
    kind = report.kind
    cursor = store.cursor(scope, kind)
    fetched = fetch(store, mailbox, kind, scope, cursor, now, ctx, batch_size=batch_size)
    if fetched.quiet:
        _quiet_pass(store, scope, cursor, fetched, report, dry_run=dry_run)
        return
    the_plan = report.plan = plan(
        PlanInputs(
            kind=kind,
            erp_changes=fetched.erp_changes,
            mailbox_changes=fetched.mailbox_changes,
            complete=fetched.complete,
            links=fetched.links,
            settings=settings,
            ctx=ctx,
            now=now,
            capabilities=mailbox.capabilities(kind),
            erp_current=fetched.erp_current,
            erp_modified=fetched.erp_modified,
            stamped=fetched.stamped,
            approve_deletions=approve_deletions,
            reject_deletions=reject_deletions,
            erp_series=fetched.erp_series,
        )
    )
    if _has_work(the_plan, fetched):
        first_write()
    report.count_plan(the_plan, mailbox.address, _subjects(fetched))
    if dry_run:
        for step in the_plan.steps:
            report.count_step(step)
        report.parked = [p for p in fetched.parked if p.key not in fetched.attempted]
        return
    outcomes = write_exchange(mailbox, the_plan.steps, batch_size)
    next_state = mailbox.state_after_writes(
        kind, fetched.sync_state, outcomes.own_writes(the_plan.steps)
    )
    with store.transaction() as tx:
        for skipped in the_plan.skipped:
            on_erp = skipped.side is Side.ERP and skipped.key.isdigit()
            tx.audit(scope, "Skipped", int(skipped.key) if on_erp else None,
                     None if on_erp else skipped.key, f"{kind}: {skipped.reason.value}")
        recorder = PairRecorder(tx, scope, kind, employee.id, mailbox.address, report)
        recorder.apply(the_plan.steps, outcomes)
        report.parked = _park(tx, scope, fetched, the_plan, recorder.failures, now)
        advance = not the_plan.held
        if advance:
            tx.save_cursor(scope, kind, Cursor(fetched.erp_seq, next_state))
        else:
            # Held deletions are read again until approved; the whole folder, since an
            # old sync state would not report the deletion of an item created after it.
            tx.save_cursor(scope, kind, Cursor(cursor.erp_seq, None))
        tx.commit()
    report.cursor_advanced = advance


def _quiet_pass(store: ErpStore, scope: Scope, cursor: Cursor, fetched: Fetched,
                report: KindReport, *, dry_run: bool) -> None:
    """Nothing changed on either side and nothing is due: an empty plan, and no ERP
    transaction unless the cursor moves (the journal went on with other employees'
    changes, or Exchange handed out a new state): an idle mailbox costs its reads only."""
    report.plan = Plan(report.kind)
    report.parked = list(fetched.parked)
    moved = Cursor(fetched.erp_seq, fetched.sync_state)
    if dry_run:
        return
    if moved != cursor:
        with store.transaction() as tx:
            tx.save_cursor(scope, report.kind, moved)
            tx.commit()
    report.cursor_advanced = True


def _subjects(fetched: Fetched) -> dict[str, str]:
    """Subjects of the items read, by ERP id (as text) and by Exchange id, for reports."""
    subjects = {str(c.erp_id): c.activity.subject for c in fetched.erp_changes if c.activity}
    subjects.update(
        (c.exchange_id, c.remote.item.subject) for c in fetched.mailbox_changes if c.remote
    )
    return subjects


def _park(
    tx: ErpTransaction, scope: Scope, fetched: Fetched, the_plan: Plan,
    failures: list[PairFailure], now: datetime,
) -> list[Parked]:
    """Park the pairs that failed or were rejected, forget the parked pairs this pass
    resolved; the pairs that stay parked."""
    kind = the_plan.kind
    failed = list(failures)
    for rejected in the_plan.rejected:
        erp_id = int(rejected.key) if rejected.side is Side.ERP else None
        exchange_id = rejected.key if rejected.side is Side.EXCHANGE else None
        label = f"ERP activity {erp_id}" if erp_id is not None else f"Exchange item {exchange_id}"
        failed.append(PairFailure(erp_id, exchange_id, label, rejected.message))
    before = {p.key: p for p in fetched.parked}
    now_failed: dict[str, Parked] = {}
    for failure in failed:
        key = pair_key(failure.erp_id, failure.exchange_id)
        earlier = before.get(key)
        if earlier is not None:
            # A step that made another Exchange copy (the earlier one was gone) parks the
            # pair with it: that copy is the pair's Exchange side from now on.
            parked = replace(earlier.failed_again(failure.error, now),
                             exchange_id=failure.exchange_id or earlier.exchange_id)
        else:
            parked = Parked(kind, failure.erp_id, failure.exchange_id, failure.label, 1,
                            failure.error, now + retry_wait(1))
        now_failed[key] = parked
        tx.park(scope, parked)
    for key in fetched.attempted - now_failed.keys():
        tx.unpark(scope, kind, key)
    waiting = [p for p in fetched.parked
               if p.key not in fetched.attempted and p.key not in now_failed]
    return sorted([*waiting, *now_failed.values()], key=lambda p: p.key)
