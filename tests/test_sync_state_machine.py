"""Random operations on both sides, and after every pass, the sync's promises.

Operations: create, edit and delete in the ERP and in Exchange (appointments, all-day
appointments, tasks, private items, conference appointments), a no-op write that only
moves a version token, a conflicting edit of one pair on both sides, deleting both
copies of a pair, freezing a pair (private or recurring on one side), editing it and
thawing it again (with a pass after each step), toggling the
employee's settings, a failed listing, a refused sync state, a crash after the k-th
Exchange write or at the ERP commit (then a normal pass), one failing Exchange write,
one pair whose link write the database refuses (rolled back in its savepoint),
bulk creates and deletes (for the circuit breaker), a pass (with or without
approving deletions), and a pass half an hour later (parked pairs come due).

Invariants checked after every pass (``_check_pass``), by name:

- CONVERGENCE: after a clean pass, every linked pair has equal canonical content
  (except frozen pairs: private with the setting on; conference copies edited in
  Exchange, which are not imported), and every syncable item exists on both sides.
- IDEMPOTENCE: a second pass right after a clean pass writes nothing on either side
  and keeps every link's pairing (ids, hashes, synced content) as it is.
- NO_STALE_LINKS: after a clean pass, a link's copies exist (both for a pair, the
  survivor for a tombstone): a pair deleted on both sides leaves no link.
- FROZEN_EDITS_KEPT: an edit made while a pair was frozen reaches both sides once the
  pair thaws (an Exchange edit thawed from the ERP side: of a stamped copy).
- EDIT_BEATS_DELETE: deleted on one side and edited on the other since the last pass,
  the edited copy survives and is paired again.
- DELETES_NEED_EVIDENCE: the sync deletes a copy only when its linked partner was gone
  before the pass; never-synced items, a failed listing and a refused sync state never
  delete anything.
- BREAKER_HOLDS: without approval, a pass deletes at most 10 items or at most the
  guard's share of the linked items of a kind; when it holds, it deletes nothing.
- CONFLICTS_BY_POLICY: a field edited on both sides ends with the value the policy
  picks on both sides, and the conflict is reported.
- FAKE_CHANGES_NO_WRITES: when only version tokens moved since a clean pass, a pass
  writes nothing.
- DELETES_OFF_ONLY_GROW: with deletes toward a side off, no item of that side and kind
  disappears in a pass.
- CRASH_EQUALS_UNCRASHED: a crash at any write or at the commit, then a normal pass,
  leaves the same content on both sides as an uncrashed pass, without duplicates.
- NO_DUPLICATES: no two Exchange items carry the same ERP id stamp; no two links share
  an ERP id or an Exchange id (links stay one-to-one).
- CONFERENCES_PROTECTED: the sync never changes or deletes a conference appointment in
  the ERP.
- FAILURE_ISOLATED: one failing Exchange write, or one pair whose link the database
  refuses, fails only its own item; every other planned write of the pass happens.
- NO_INVITATIONS: no invitation or cancellation is ever sent.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from esexchange.domain.actions import Conflict, CreateInExchange, Detach, SaveLink
from esexchange.domain.mapping import (
    MappingContext,
    erp_to_item,
    exchange_to_item,
    make_context,
)
from esexchange.domain.mapping.times import erp_to_utc, utc_to_erp
from esexchange.domain.model import (
    ActivityType,
    Employee,
    ErpActivity,
    ExchangeItem,
    Item,
    Kind,
    OccurrenceKey,
    Priority,
    Reference,
    Sensitivity,
    Side,
    When,
    instant,
)
from esexchange.domain.options import (
    ConflictPolicy,
    ConnectionOptions,
    EmployeeSettings,
    effective_start,
)
from esexchange.domain.planner import exchange_view, kind_rules
from esexchange.domain.planner_series import unsyncable_erp, unsyncable_exchange
from esexchange.domain.state import Link
from esexchange.engine import KindReport, Outcome, PassReport, run_pass
from esexchange.erp.port import Scope
from tests.domain.recurrence_support import oracle
from tests.fake_erp import FakeErp
from tests.memory_mailbox import MemoryMailbox

START = datetime(2026, 3, 20, 8, 0, tzinfo=UTC)  # DST changes during the runs
EMPLOYEE = Employee(7, "1007", "Anna Berg", "anna.berg@example.com")
COLLEAGUE = 8
SCOPE = Scope(1, EMPLOYEE.id)
REFERENCE = Reference(
    activity_types=(ActivityType(1, "Besprechung", 3), ActivityType(2, "Anruf", 7)),
    priorities=(Priority(1, "Niedrig", 10), Priority(2, "Mittel", 20), Priority(3, "Hoch", 30)),
)
TOGGLES = (
    "appointments",
    "tasks",
    "delete_appointments_in_exchange",
    "delete_appointments_in_erp",
    "delete_tasks_in_exchange",
    "delete_tasks_in_erp",
    "no_private_appointments",
    "no_private_tasks",
)
BATCH = 3  # small batches and pages, so several of them run in one pass
PAGE = 4


class Crash(BaseException):
    """The process dies (not an error any layer handles)."""


class SyncMachine(RuleBasedStateMachine):
    @initialize(policy=st.sampled_from(ConflictPolicy))
    def setup(self, policy: ConflictPolicy) -> None:
        self.now = START
        options = ConnectionOptions(conflict_policy=policy, erp_time_zone="Europe/Berlin")
        self.ctx = make_context(options, REFERENCE, "UTC")
        self.erp = FakeErp(REFERENCE, clock=lambda: self.now)
        self.mailbox = MemoryMailbox(EMPLOYEE.email, clock=lambda: self.now, seed=7, page_size=PAGE)
        self.settings = EmployeeSettings()
        self.counter = 0
        self.last_pass_clean = True
        self.real_change = False  # anything but a no-op write since the last clean pass
        # erp_id -> (ERP subject, Exchange subject) of a conflicting edit to check
        self.conflicts: dict[int, tuple[str, str]] = {}
        self.conflicts_reported = True
        self.reported: list[Conflict] = []  # by the passes since the last clean one

    # -- helpers -------------------------------------------------------------------------

    def tick(self) -> None:
        self.now += timedelta(minutes=1)

    def unique(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix} {self.counter}"

    def erp_ids(self) -> list[int]:
        return sorted(i for kind in Kind for i in self.erp.activity_ids(EMPLOYEE.id, kind))

    def exchange_ids(self) -> list[tuple[Kind, str]]:
        return sorted((kind, i) for kind in Kind for i in self.mailbox.items(kind))

    def links(self, kind: Kind) -> list[Link]:
        return self.erp.links(SCOPE, kind)

    def run(self, **options: bool) -> PassReport:
        report = run_pass(
            self.erp, self.mailbox, SCOPE, EMPLOYEE, self.settings, self.ctx, self.now,
            batch_size=BATCH, **options,
        )
        if not report.dry_run:
            self.reported += [c for r in report.kinds.values() for c in r.conflicts]
        return report

    def changed(self, *erp_ids: int) -> None:
        self.real_change = True
        for erp_id in erp_ids:
            self.conflicts.pop(erp_id, None)

    def partner_of_exchange(self, kind: Kind, exchange_id: str) -> int | None:
        return next((lk.erp_id for lk in self.links(kind) if lk.exchange_id == exchange_id), None)

    @staticmethod
    def clean(report: PassReport) -> bool:
        """The pass did everything it planned: no failure, no deletion held."""
        return report.ok and not any(
            r.count(side, Outcome.HELD) for r in report.kinds.values() for side in Side
        )

    # -- ERP users -----------------------------------------------------------------------

    @rule(
        kind=st.sampled_from(Kind),
        day=st.integers(1, 40),
        hour=st.integers(0, 22),
        all_day=st.booleans(),
        private=st.booleans(),
        conference=st.booleans(),
    )
    def erp_create(
        self, kind: Kind, day: int, hour: int, all_day: bool, private: bool, conference: bool
    ) -> None:
        self.tick()
        self.erp.user_create(self._erp_activity(kind, day, hour, all_day, private, conference))
        self.changed()

    def _erp_activity(
        self, kind: Kind, day: int, hour: int, all_day: bool, private: bool, conference: bool
    ) -> ErpActivity:
        base = datetime.combine(self.now.date(), time()) + timedelta(days=day)
        participants = (EMPLOYEE.id, COLLEAGUE) if conference else (EMPLOYEE.id,)
        if kind is Kind.TASK:
            return ErpActivity(
                None, kind, self.unique("Bericht"), due_at=base, private=private,
                participant_ids=(EMPLOYEE.id,), priority_id=2, activity_type_no=2,
            )
        start = base if all_day else base + timedelta(hours=hour)
        end = start + (timedelta(days=1) if all_day else timedelta(hours=1))
        return ErpActivity(
            None, kind, self.unique("Termin"), start_at=start, end_at=end, all_day=all_day,
            private=private, participant_ids=participants, priority_id=2, activity_type_no=1,
        )

    @rule()
    def erp_bulk_create(self) -> None:
        self.tick()
        for day in range(12):
            meeting = self._erp_activity(Kind.APPOINTMENT, day + 1, 9, False, False, False)
            self.erp.user_create(meeting)
        self.changed()

    @precondition(lambda self: self.erp_ids())
    @rule(data=st.data(), what=st.sampled_from(["subject", "location", "private"]))
    def erp_edit(self, data: st.DataObject, what: str) -> None:
        erp_id = data.draw(st.sampled_from(self.erp_ids()))
        self.tick()
        current = self.erp.state.activities[erp_id]
        if what == "subject":
            self.erp.user_update(erp_id, subject=self.unique("ERP edit"))
        elif what == "location":
            self.erp.user_update(erp_id, location=self.unique("Raum"))
        else:
            self.erp.user_update(erp_id, private=not current.private)
        self.changed(erp_id)

    @precondition(lambda self: self.erp_ids())
    @rule(data=st.data())
    def erp_noop_write(self, data: st.DataObject) -> None:
        self.tick()
        erp_id = data.draw(st.sampled_from(self.erp_ids()))
        self.erp.user_update(erp_id)
        # It makes the ERP's copy the newer one: a pending conflict may turn.
        self.conflicts.pop(erp_id, None)
        if not any(lk.erp_id == erp_id for kind in Kind for lk in self.links(kind)):
            self.real_change = True  # never synchronized: it may now be after the start

    @precondition(lambda self: self.erp_ids())
    @rule(data=st.data())
    def erp_delete(self, data: st.DataObject) -> None:
        erp_id = data.draw(st.sampled_from(self.erp_ids()))
        self.tick()
        self.erp.user_delete(erp_id)
        self.changed(erp_id)

    @precondition(lambda self: len(self.erp_ids()) > 10)
    @rule(kind=st.sampled_from(Kind))
    def erp_delete_all(self, kind: Kind) -> None:
        self.tick()
        for erp_id in self.erp.activity_ids(EMPLOYEE.id, kind):
            self.erp.user_delete(erp_id)
            self.changed(erp_id)

    # -- Exchange users ------------------------------------------------------------------

    @rule(
        kind=st.sampled_from(Kind),
        day=st.integers(1, 40),
        hour=st.integers(0, 22),
        all_day=st.booleans(),
        private=st.booleans(),
    )
    def exchange_create(
        self, kind: Kind, day: int, hour: int, all_day: bool, private: bool
    ) -> None:
        self.tick()
        sensitivity = Sensitivity.PRIVATE if private else Sensitivity.NORMAL
        first = self.now.date() + timedelta(days=day)
        if kind is Kind.TASK:
            item = ExchangeItem(kind, self.unique("Aufgabe"), due=first, sensitivity=sensitivity)
        elif all_day:
            item = ExchangeItem(
                kind, self.unique("Urlaub"), start=first, end=first + timedelta(days=1),
                sensitivity=sensitivity,
            )
        else:
            start = datetime.combine(first, datetime.min.time(), UTC) + timedelta(hours=hour)
            item = ExchangeItem(
                kind, self.unique("Meeting"), start=start, end=start + timedelta(minutes=30),
                sensitivity=sensitivity,
            )
        self.mailbox.user_create(item)
        self.changed()

    @precondition(lambda self: self.exchange_ids())
    @rule(data=st.data(), what=st.sampled_from(["subject", "location", "private"]))
    def exchange_edit(self, data: st.DataObject, what: str) -> None:
        kind, item_id = data.draw(st.sampled_from(self.exchange_ids()))
        self.tick()
        current = self.mailbox.items(kind)[item_id]
        if what == "subject":
            self.mailbox.user_update(kind, item_id, subject=self.unique("Outlook edit"))
        elif what == "location":
            self.mailbox.user_update(kind, item_id, location=self.unique("Room"))
        else:
            private = not current.sensitivity.is_private
            sensitivity = Sensitivity.PRIVATE if private else Sensitivity.NORMAL
            self.mailbox.user_update(kind, item_id, sensitivity=sensitivity)
        partner = self.partner_of_exchange(kind, item_id)
        self.changed(*([] if partner is None else [partner]))

    @precondition(lambda self: self.exchange_ids())
    @rule(data=st.data())
    def exchange_noop_write(self, data: st.DataObject) -> None:
        self.tick()
        kind, item_id = data.draw(st.sampled_from(self.exchange_ids()))
        self.mailbox.user_touch(kind, item_id)
        partner = self.partner_of_exchange(kind, item_id)
        self.conflicts.pop(partner or 0, None)
        if partner is None:
            self.real_change = True  # never synchronized: it may now be after the start

    @precondition(lambda self: self.exchange_ids())
    @rule(data=st.data())
    def exchange_delete(self, data: st.DataObject) -> None:
        kind, item_id = data.draw(st.sampled_from(self.exchange_ids()))
        self.tick()
        partner = self.partner_of_exchange(kind, item_id)
        self.mailbox.user_delete(kind, item_id)
        self.changed(*([] if partner is None else [partner]))

    @precondition(lambda self: len(self.exchange_ids()) > 10)
    @rule(kind=st.sampled_from(Kind))
    def exchange_delete_all(self, kind: Kind) -> None:
        self.tick()
        for item_id in list(self.mailbox.items(kind)):
            partner = self.partner_of_exchange(kind, item_id)
            self.mailbox.user_delete(kind, item_id)
            self.changed(*([] if partner is None else [partner]))

    # -- both sides ----------------------------------------------------------------------

    def _conflict_candidates(self) -> list[Link]:
        result = []
        for kind in Kind:
            exchange = self.mailbox.items(kind)
            for link in self.links(kind):
                activity = self.erp.state.activities.get(link.erp_id)
                item = exchange.get(link.exchange_id)
                if (
                    link.detached is None and activity is not None and item is not None
                    and not activity.private and not item.sensitivity.is_private
                    and not activity.conference and kind_rules(kind, self.settings, True).enabled
                ):
                    result.append(link)
        return result

    @precondition(lambda self: self._conflict_candidates())
    @rule(data=st.data())
    def conflicting_edit(self, data: st.DataObject) -> None:
        link = data.draw(st.sampled_from(self._conflict_candidates()))
        erp_subject, exchange_subject = self.unique("ERP says"), self.unique("Outlook says")
        self.tick()
        self.erp.user_update(link.erp_id, subject=erp_subject)
        self.tick()  # Exchange's edit is the newer one
        self.mailbox.user_update(link.kind, link.exchange_id, subject=exchange_subject)
        self.changed(link.erp_id)
        self.conflicts[link.erp_id] = (erp_subject, exchange_subject)

    @precondition(lambda self: self._conflict_candidates())
    @rule(data=st.data(), deleted_in=st.sampled_from(Side))
    def edit_one_side_delete_the_other(self, data: st.DataObject, deleted_in: Side) -> None:
        link = data.draw(st.sampled_from(self._conflict_candidates()))
        self.tick()
        if deleted_in is Side.ERP:
            self.mailbox.user_update(link.kind, link.exchange_id, location=self.unique("Room"))
            self.erp.user_delete(link.erp_id)
        else:
            self.erp.user_update(link.erp_id, location=self.unique("Raum"))
            self.mailbox.user_delete(link.kind, link.exchange_id)
        self.changed(link.erp_id)

    @precondition(lambda self: self._conflict_candidates())
    @rule(data=st.data())
    def delete_on_both_sides(self, data: st.DataObject) -> None:
        link = data.draw(st.sampled_from(self._conflict_candidates()))
        self.tick()
        self.erp.user_delete(link.erp_id)
        self.mailbox.user_delete(link.kind, link.exchange_id)
        self.changed(link.erp_id)

    @precondition(lambda self: self._conflict_candidates())
    @rule(
        data=st.data(),
        frozen_in=st.sampled_from(Side),
        edited_in=st.sampled_from(Side),
        by=st.sampled_from(["recurring", "private"]),
    )
    def freeze_edit_thaw(self, data: st.DataObject, frozen_in: Side, edited_in: Side,
                         by: str) -> None:
        """FROZEN_EDITS_KEPT: freeze a pair, pass, edit it, pass, thaw it, pass."""
        # Thawed in the ERP, the pair is merged with the Exchange copy the engine finds by
        # its stamp; an imported item is stamped only by its first update, so an Exchange
        # edit of such a copy made while frozen in the ERP is not seen (a known gap: the
        # port has no read by id).
        candidates = [
            lk for lk in self._conflict_candidates()
            if not (edited_in is Side.EXCHANGE and frozen_in is Side.ERP)
            or self.mailbox.items(lk.kind)[lk.exchange_id].erp_id == lk.erp_id
        ]
        if not candidates:
            return
        link = data.draw(st.sampled_from(candidates))
        kind, erp_id, item_id = link.kind, link.erp_id, link.exchange_id

        def freeze(on: bool) -> None:
            self.tick()
            if frozen_in is Side.ERP:
                self.erp.user_update(erp_id, **{by: on})
            elif by == "recurring":
                self.mailbox.user_update(kind, item_id, recurring=on)
            else:
                sensitivity = Sensitivity.PRIVATE if on else Sensitivity.NORMAL
                self.mailbox.user_update(kind, item_id, sensitivity=sensitivity)
            self.changed(erp_id)

        # Edits made before the freeze are synchronized first: one made in the ERP and
        # left pending would rightly be a conflict with the frozen edit at thaw.
        clean = self.clean(self.checked_pass())
        freeze(True)
        clean = self.clean(self.checked_pass()) and clean
        self.tick()
        location = self.unique("Frozen edit")
        if edited_in is Side.ERP:
            self.erp.user_update(erp_id, location=location)
        else:
            self.mailbox.user_update(kind, item_id, location=location)
        self.changed(erp_id)
        clean = self.clean(self.checked_pass()) and clean
        freeze(False)
        clean = self.clean(self.checked_pass()) and clean
        if clean:
            assert self.erp.state.activities[erp_id].location == location
            assert self.mailbox.items(kind)[item_id].location == location
            event(f"FROZEN_EDITS_KEPT checked ({by})")

    @rule(key=st.sampled_from(TOGGLES), on=st.booleans())
    def toggle_setting(self, key: str, on: bool) -> None:
        if getattr(self.settings, key) == on:
            return
        self.settings = replace(self.settings, **{key: on})
        self.changed(*list(self.conflicts))
        if key.startswith("no_private") and not on:
            # Items skipped as private did not change since: read everything again.
            with self.erp.transaction() as tx:
                tx.reset_cursors(SCOPE)
                tx.commit()

    # -- passes --------------------------------------------------------------------------

    @rule(approve=st.booleans())
    def sync(self, approve: bool) -> None:
        self.checked_pass(approve_deletions=approve)

    @rule()
    def time_passes_then_pass(self) -> None:
        # Parked pairs wait (1 minute, doubling); half an hour later most are due again.
        self.now += timedelta(minutes=30)
        self.checked_pass()

    @rule()
    def failed_listing(self) -> None:
        before = self.snapshot()
        self.mailbox.fail_next_listing()
        report = self.run()
        self.mailbox.clear_faults()
        if any(kind_rules(kind, self.settings, True).enabled for kind in Kind):
            assert report.error is not None
        after = self.snapshot()
        # DELETES_NEED_EVIDENCE: a failed listing deletes nothing, writes nothing.
        assert after.erp == before.erp and after.exchange == before.exchange
        self.last_pass_clean = False

    @rule()
    def refused_sync_state(self) -> None:
        self.mailbox.invalidate_sync_states()
        self.checked_pass()

    @rule(k=st.integers(0, 6), at_commit=st.booleans())
    def crash_then_pass(self, k: int, at_commit: bool) -> None:
        twin_erp, twin_mailbox = copy.deepcopy((self.erp, self.mailbox))
        twin_report = run_pass(
            twin_erp, twin_mailbox, SCOPE, EMPLOYEE, self.settings, self.ctx, self.now,
            batch_size=BATCH,
        )
        if at_commit:
            self.erp.crash_on_commit = Crash()
        else:
            self.mailbox.crash_after_writes(k, Crash())
        try:
            self.run()
            event("crash_then_pass: the pass ended before the crash point")
        except Crash:
            event("crash_then_pass: crashed " + ("at the commit" if at_commit else "mid-write"))
        # The crashed pass may have reported the conflicts; the values still must hold.
        self.conflicts_reported = False
        self.mailbox.clear_faults()
        self.erp.crash_on_commit = None
        self.last_pass_clean = False
        report = self.checked_pass()
        if report.ok and twin_report.ok:
            # CRASH_EQUALS_UNCRASHED
            assert content(self.erp, self.mailbox, self.ctx) == content(
                twin_erp, twin_mailbox, self.ctx
            )
            event("CRASH_EQUALS_UNCRASHED checked")

    @rule(k=st.integers(1, 4))
    def pass_with_one_failing_write(self, k: int) -> None:
        planned = self.run(dry_run=True)
        exchange_writes = sum(
            planned.count(kind, Side.EXCHANGE, outcome)
            for kind in Kind for outcome in (Outcome.CREATED, Outcome.UPDATED, Outcome.DELETED)
        )
        self.mailbox.fail_on_write(k)
        report = self.checked_pass(expect_clean=False)
        self.mailbox.clear_faults()
        if planned.error is None and report.error is None and exchange_writes >= k:
            # FAILURE_ISOLATED: exactly the one element failed (with the occurrences of a
            # series whose create it was), all the others happened.
            done = sum(
                report.count(kind, Side.EXCHANGE, outcome)
                for kind in Kind
                for outcome in (Outcome.CREATED, Outcome.UPDATED, Outcome.DELETED)
            )
            failed = sum(report.count(kind, Side.EXCHANGE, Outcome.FAILED) for kind in Kind)
            with_it = sum(1 for failure in report.failures if "was not created" in failure)
            assert failed == 1 + with_it, report.failures
            assert done == exchange_writes - 1 - with_it
            event("FAILURE_ISOLATED checked")
        self.last_pass_clean = False

    @rule(data=st.data())
    def pass_with_one_refused_link(self, data: st.DataObject) -> None:
        planned = self.run(dry_run=True)
        candidates = [
            (kind, step) for kind, kind_report in planned.kinds.items()
            if kind_report.plan is not None
            for step in kind_report.plan.steps
            if step.erp_id is not None and (
                isinstance(step.exchange, CreateInExchange)
                or isinstance(step.record, SaveLink | Detach)
            )
        ]
        if planned.error is not None or not candidates:
            event("pass_with_one_refused_link: no pair writes a link")
            return
        kind, refused = data.draw(st.sampled_from(candidates))
        assert refused.erp_id is not None
        self.erp.failing_links = {refused.erp_id}
        report = self.checked_pass(expect_clean=False)
        self.erp.failing_links = set()
        if report.error is None:
            # FAILURE_ISOLATED (database): only the refused pair failed, and every other
            # step of the pass was applied.
            assert len(report.failures) == len(planned.failures) + 1, report.failures
            assert report.count(kind, Side.ERP, Outcome.FAILED) == planned.count(
                kind, Side.ERP, Outcome.FAILED) + 1
            alone = KindReport(kind)
            alone.count_step(refused)
            for side in Side:
                for outcome in (Outcome.CREATED, Outcome.UPDATED, Outcome.DELETED,
                                Outcome.DETACHED):
                    assert report.count(kind, side, outcome) == planned.count(
                        kind, side, outcome) - alone.count(side, outcome)
            event("FAILURE_ISOLATED (database) checked")
        self.last_pass_clean = False

    # -- the checks ----------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        return Snapshot(self)

    def checked_pass(
        self, *, approve_deletions: bool = False, expect_clean: bool = True
    ) -> PassReport:
        before = self.snapshot()
        writes_before = (self.mailbox.writes, self.erp.writes)
        report = self.run(approve_deletions=approve_deletions)
        after = self.snapshot()
        self.check_pass(before, after, report, approve_deletions)
        held = any(r.count(side, Outcome.HELD) for r in report.kinds.values() for side in Side)
        clean = report.ok and not held
        if held:
            event("BREAKER_HOLDS: deletions held")
        if approve_deletions and any(
            r.count(side, Outcome.DELETED) > 10 for r in report.kinds.values() for side in Side
        ):
            event("BREAKER_HOLDS: more than 10 deletions approved")
        wrote = (self.mailbox.writes, self.erp.writes) != writes_before
        if self.last_pass_clean and not self.real_change and expect_clean:
            # FAKE_CHANGES_NO_WRITES (and IDEMPOTENCE across passes)
            assert not wrote, report
            event("FAKE_CHANGES_NO_WRITES checked")
        if clean:
            self.check_converged(report)
            # IDEMPOTENCE: a second pass writes nothing. It runs on a copy of the world:
            # run here, it would move the stored state past the pass's own writes and
            # hide what a user does right after a pass (deleting a just-created item).
            twin_erp, twin_mailbox = copy.deepcopy((self.erp, self.mailbox))
            writes = (twin_mailbox.writes, twin_erp.writes)
            pairings = {kind: pairing(twin_erp.links(SCOPE, kind)) for kind in Kind}
            again = run_pass(
                twin_erp, twin_mailbox, SCOPE, EMPLOYEE, self.settings, self.ctx, self.now,
                batch_size=BATCH,
            )
            assert (twin_mailbox.writes, twin_erp.writes) == writes, again
            for kind in Kind:
                assert pairing(twin_erp.links(SCOPE, kind)) == pairings[kind], kind
            event("CONVERGENCE and IDEMPOTENCE checked")
            self.conflicts.clear()
            self.reported.clear()
            self.conflicts_reported = True
            self.real_change = False
        self.last_pass_clean = clean
        return report

    def check_pass(
        self, before: Snapshot, after: Snapshot, report: PassReport, approved: bool
    ) -> None:
        # NO_INVITATIONS
        assert self.mailbox.invitations_sent == 0
        for kind in Kind:
            rules = kind_rules(kind, self.settings, True)
            links_before = before.links[kind]
            by_exchange = {lk.exchange_id: lk for lk in links_before}
            by_erp = {lk.erp_id: lk for lk in links_before}
            gone_exchange = set(before.exchange[kind]) - set(after.exchange[kind])
            gone_erp = set(before.erp[kind]) - set(after.erp[kind])
            # DELETES_NEED_EVIDENCE: a copy is deleted only when its partner was gone.
            for item_id in gone_exchange:
                link = by_exchange.get(item_id)
                stamp = before.exchange[kind][item_id].erp_id
                assert (link is not None and link.erp_id not in before.erp[kind]) or (
                    link is None and stamp is not None and stamp not in before.erp[kind]
                ), f"Exchange {item_id} deleted without evidence"
            for erp_id in gone_erp:
                link = by_erp.get(erp_id)
                assert link is not None and link.exchange_id not in before.exchange[kind], (
                    f"ERP {erp_id} deleted without evidence"
                )
            # DELETES_OFF_ONLY_GROW
            if not rules.delete_in_exchange:
                assert not gone_exchange
            if not rules.delete_in_erp:
                assert not gone_erp
            # BREAKER_HOLDS
            deleted = len(gone_exchange) + len(gone_erp)
            linked = sum(1 for lk in links_before if lk.detached is None)
            if not approved:
                assert deleted <= 10 or deleted <= linked * 20 / 100
            if report.count(kind, Side.ERP, Outcome.HELD) or report.count(
                kind, Side.EXCHANGE, Outcome.HELD
            ):
                assert deleted == 0
            # CONFERENCES_PROTECTED
            for erp_id, activity in before.erp[kind].items():
                if activity.conference and erp_id in self.erp.state.activities:
                    assert self.erp.state.activities[erp_id] == activity
                elif activity.conference:
                    assert erp_id not in self.erp.state.archive
            # NO_DUPLICATES
            stamps = Counter(i.erp_id for i in after.exchange[kind].values() if i.erp_id)
            assert not [s for s, n in stamps.items() if n > 1], stamps
            links_after = after.links[kind]
            assert len({lk.exchange_id for lk in links_after}) == len(links_after)
            assert len({lk.erp_id for lk in links_after}) == len(links_after)
            if report.ok and rules.enabled:
                self.check_edit_beats_delete(kind, before, after, rules.no_private)

    def check_edit_beats_delete(
        self, kind: Kind, before: Snapshot, after: Snapshot, no_private: bool
    ) -> None:
        """EDIT_BEATS_DELETE, from the links as they were before the pass."""
        relinked_exchange = {lk.exchange_id for lk in after.links[kind] if lk.detached is None}
        relinked_erp = {lk.erp_id for lk in after.links[kind] if lk.detached is None}
        for link in before.links[kind]:
            if link.detached is not None:
                continue
            activity = before.erp[kind].get(link.erp_id)
            item = before.exchange[kind].get(link.exchange_id)
            if activity is None and item is not None:
                canonical = exchange_to_item(item, self.ctx)
                seen = exchange_view(canonical, self.ctx)
                edited = seen.content_hash() != link.exchange_hash or seen != exchange_view(
                    link.synced, self.ctx
                )
                if edited and not (no_private and canonical.private):
                    assert link.exchange_id in after.exchange[kind]
                    assert link.exchange_id in relinked_exchange, "edited Exchange copy lost"
                    event("EDIT_BEATS_DELETE: Exchange edit kept")
            if item is None and activity is not None:
                canonical = erp_to_item(activity, self.ctx)
                edited = canonical.content_hash() != link.erp_hash or canonical != link.synced
                if edited and not (no_private and canonical.private):
                    assert link.erp_id in after.erp[kind]
                    assert link.erp_id in relinked_erp, "edited ERP activity lost"
                    event("EDIT_BEATS_DELETE: ERP edit kept")

    def check_converged(self, report: PassReport) -> None:
        for kind in Kind:
            rules = kind_rules(kind, self.settings, True)
            if not rules.enabled:
                continue
            activities = {
                i: a for i, a in self.erp.state.activities.items()
                if a.kind is kind and EMPLOYEE.id in a.participant_ids
            }
            items = self.mailbox.items(kind)
            capabilities = self.mailbox.capabilities(kind)
            accounted_erp, accounted_exchange = set(), set()
            for link in self.links(kind):
                if OccurrenceKey.parse(link.exchange_id) is not None:
                    continue  # an occurrence pair: the series checks look at it
                # NO_STALE_LINKS: a tombstone's survivor exists.
                if link.detached is Side.ERP:
                    assert link.exchange_id in items, link
                    accounted_exchange.add(link.exchange_id)
                    continue
                if link.detached is Side.EXCHANGE:
                    assert link.erp_id in activities, link
                    accounted_erp.add(link.erp_id)
                    continue
                # CONVERGENCE: both copies exist and agree. (A mailbox listing afresh only
                # inside a window does not say that an item outside it was deleted.)
                window = self.mailbox.window
                if link.exchange_id not in items and window and not window.contains(
                        link.synced):
                    event("CONVERGENCE: a deletion outside the window is not seen")
                    accounted_erp.add(link.erp_id)
                    continue
                assert link.erp_id in activities and link.exchange_id in items, link
                accounted_erp.add(link.erp_id)
                accounted_exchange.add(link.exchange_id)
                erp_item = erp_to_item(activities[link.erp_id], self.ctx)
                exchange_item = exchange_to_item(items[link.exchange_id], self.ctx)
                frozen = (rules.no_private and (erp_item.private or exchange_item.private)) or (
                    unsyncable_erp(activities[link.erp_id], capabilities)
                    or unsyncable_exchange(items[link.exchange_id], capabilities)
                )
                if frozen or activities[link.erp_id].conference:
                    continue
                assert exchange_view(erp_item, self.ctx) == exchange_view(
                    exchange_item, self.ctx), (link.erp_id, link.exchange_id)
            # ... and every syncable item has a partner (one never synchronized only
            # while it lies in the window and changed since the start of synchronization).
            for erp_id, activity in activities.items():
                if erp_id not in accounted_erp and not (rules.no_private and activity.private):
                    assert self.waits_for_a_change(
                        erp_to_item(activity, self.ctx), self.erp.state.modified[erp_id]
                    ), f"ERP {erp_id} not synchronized"
            remotes = self.mailbox.read(kind, list(set(items) - accounted_exchange))
            for item_id, remote in remotes.items():
                if not (rules.no_private and remote.item.sensitivity.is_private):
                    assert self.waits_for_a_change(
                        exchange_to_item(remote.item, self.ctx), remote.modified_at
                    ), f"Exchange {item_id} not synchronized"
        # CONFLICTS_BY_POLICY
        policy = self.ctx.options.conflict_policy
        for erp_id, (erp_subject, exchange_subject) in self.conflicts.items():
            expected = erp_subject if policy is ConflictPolicy.ERP_WINS else exchange_subject
            link = next(lk for kind in Kind for lk in self.links(kind) if lk.erp_id == erp_id)
            assert self.erp.state.activities[erp_id].subject == expected
            assert self.mailbox.items(link.kind)[link.exchange_id].subject == expected
            reported = [c for c in self.reported if c.erp_id == erp_id and c.field == "subject"]
            winner = Side.ERP if policy is ConflictPolicy.ERP_WINS else Side.EXCHANGE
            if self.conflicts_reported:
                assert {c.winner for c in reported} == {winner}, reported
            event(f"CONFLICTS_BY_POLICY checked ({policy})")

    def waits_for_a_change(self, item: Item, modified_at: datetime) -> bool:
        """Whether an item never synchronized is rightly left alone: changed last before
        the start of synchronization, or an appointment wholly outside the window."""
        start = effective_start(self.ctx.options.start_sync_at, self.now)
        horizon = self.now + timedelta(days=self.ctx.options.window_future_days)
        if modified_at < start:
            return True
        if item.kind is not Kind.APPOINTMENT or item.start is None:
            return False
        return not any(
            instant(end) >= start and instant(begin) <= horizon
            for begin, end in occurrence_bounds(item, self.ctx, until=horizon)
        )

    @invariant()
    def links_one_to_one(self) -> None:
        if not hasattr(self, "erp"):
            return
        for kind in Kind:
            links = self.links(kind)
            assert len({lk.exchange_id for lk in links}) == len(links)


class Snapshot:
    """Both sides and the links, copied."""

    def __init__(self, machine: SyncMachine) -> None:
        self.erp = {
            kind: {
                i: a for i, a in machine.erp.state.activities.items()
                if a.kind is kind and EMPLOYEE.id in a.participant_ids
            }
            for kind in Kind
        }
        self.exchange = {kind: machine.mailbox.items(kind) for kind in Kind}
        self.links = {kind: machine.links(kind) for kind in Kind}


def pairing(links: list[Link]) -> dict[int, tuple[object, ...]]:
    """Each link without its version tokens, which move with every write."""
    return {
        lk.erp_id: (lk.exchange_id, lk.erp_hash, lk.exchange_hash, lk.synced, lk.detached)
        for lk in links
    }


def content(
    erp: FakeErp, mailbox: MemoryMailbox, ctx: MappingContext
) -> tuple[list[Item], list[Item]]:
    """Both sides' canonical content, as sorted lists (ids differ between runs)."""
    erp_side = sorted(
        (erp_to_item(a, ctx) for a in erp.state.activities.values()),
        key=lambda i: i.content_hash(),
    )
    exchange_side = sorted(
        (
            exchange_to_item(item, ctx)
            for kind in Kind
            for item_id, master in mailbox.items(kind).items()
            for item in (master, *mailbox.exceptions(kind, item_id).values())
        ),
        key=lambda i: i.content_hash(),
    )
    return erp_side, exchange_side


def occurrence_bounds(
    item: Item, ctx: MappingContext, *, until: datetime
) -> list[tuple[When, When]]:
    """The bounds of a single appointment, or of every occurrence of a series starting
    before ``until`` (UTC) by python-dateutil, the oracle, without its deleted ones."""
    assert item.start is not None and item.end is not None
    if item.recurrence is None:
        return [(item.start, item.end)]
    length = item.end - item.start
    if item.all_day:
        first = datetime.combine(item.start, time())
        before = datetime.combine(until.date(), time()) + timedelta(days=1)
    else:
        assert isinstance(item.start, datetime)
        first, before = utc_to_erp(item.start, ctx.erp_zone), utc_to_erp(until, ctx.erp_zone)
    starts = [s for s in oracle(item.recurrence, first, before=before)
              if s not in item.exdates]
    if item.all_day:
        return [(s.date(), s.date() + length) for s in starts]
    return [(erp_to_utc(s, ctx.erp_zone), erp_to_utc(s, ctx.erp_zone) + length)
            for s in starts]


SyncMachine.TestCase.settings = settings(settings.default, stateful_step_count=30)
TestSync = SyncMachine.TestCase
