"""One plan, one kind, one pair at a time (DESIGN.md §3): changes and links of the other
kind are not looked at; a pair that cannot be planned is rejected whole (none of its
writes, conflicts or skips stay) and the others go on; a linked pair whose ERP row
cannot be read is left alone."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from esexchange.domain.actions import SkipReason, UpdateInExchange
from esexchange.domain.model import Kind, Side
from esexchange.domain.options import EmployeeSettings
from esexchange.domain.state import ErpChange, MailboxChange
from tests.domain.planner_support import fate, skips
from tests.domain.test_planner import (
    activity,
    changed_erp,
    changed_exchange,
    exchange_copy,
    link,
    remote,
    run,
)

TASK = activity(9, kind=Kind.TASK, start_at=None, end_at=None, due_at=datetime(2026, 11, 6),
                activity_type_no=2)


def test_changes_and_links_of_the_other_kind_are_not_planned() -> None:
    task_item = replace(exchange_copy(TASK), erp_id=None)
    result = run(
        erp=(changed_erp(TASK), ErpChange(9, Kind.TASK, None, 7)),
        exchange=(changed_exchange(task_item, "EX9"), MailboxChange("EX8", Kind.TASK, None)),
        links=(link(TASK, exchange_id="EX8"),),
        full_listing=True,
    )
    assert fate(result).untouched and result.skipped == () and result.rejected == ()


def test_a_pair_whose_merge_cannot_be_written_is_rejected_whole() -> None:
    # Each side's edit is valid, together they end the meeting before it starts.
    erp_side = activity(subject="ERP", start_at=datetime(2026, 11, 5, 10, 30))
    exchange_side = exchange_copy(activity(), subject="Outlook",
                                  end=exchange_copy(activity()).start.replace(minute=15))
    other = activity(2, location="Raum 2")
    result = run(
        erp=(changed_erp(erp_side), changed_erp(other)),
        exchange=(changed_exchange(exchange_side),),
        links=(link(activity()), link(activity(2), exchange_id="EX2")),
    )
    broken = fate(result, erp_id=1)
    assert broken.rejected and not broken.conflicts and broken.updated == {}
    assert broken.link is None and broken.skipped == frozenset()
    [rejected] = result.rejected
    assert (rejected.side, rejected.key) == (Side.ERP, "1") and "end" in rejected.message
    assert Side.EXCHANGE in fate(result, erp_id=2).updated


def test_an_exchange_item_that_cannot_be_read_is_rejected_by_its_id() -> None:
    broken = replace(exchange_copy(activity()), erp_id=None, start=None)
    result = run(exchange=(changed_exchange(broken, "EX7"),))
    [rejected] = result.rejected
    assert (rejected.side, rejected.key) == (Side.EXCHANGE, "EX7")
    assert result.actions == ()


def test_a_linked_pair_whose_erp_row_cannot_be_read_is_left_alone() -> None:
    edited = exchange_copy(activity(), location="Raum 3")
    result = run(exchange=(changed_exchange(edited),), links=(link(activity()),))
    assert fate(result).untouched
    assert skips(result) == {(Side.EXCHANGE, "EX1", SkipReason.UNKNOWN_PARTNER)}


def test_a_kind_switched_off_reports_every_change_by_its_id() -> None:
    result = run(erp=(changed_erp(activity(3)),),
                 exchange=(changed_exchange(exchange_copy(activity(4)), "EX4"),),
                 settings=EmployeeSettings(appointments=False))
    assert {(s.side, s.key) for s in result.skipped} == {(Side.ERP, "3"), (Side.EXCHANGE, "EX4")}


def test_a_linked_pair_is_merged_with_its_own_copy_not_a_stray_duplicate() -> None:
    # Another item stamped with the same ERP id (a copy made by hand) is not the pair's.
    stray = remote(exchange_copy(activity(), subject="Kopie"), "EX9", key="ck9")
    result = run(erp=(changed_erp(activity(location="Raum 2")),), links=(link(activity()),),
                 stamped={1: stray})
    updates = [a for a in result.actions if isinstance(a, UpdateInExchange)]
    assert [(u.ref.id, u.ref.version) for u in updates] == [("EX1", "ck1")]
    assert updates[0].item.subject == "Planung"


def test_a_rejected_pair_takes_none_of_the_other_pairs_skips_with_it() -> None:
    # A conference appointment's Outlook edit, planned before or after the broken pair,
    # stays reported as not imported.
    conference = activity(3, participant_ids=(7, 8))
    edited = changed_exchange(exchange_copy(conference, subject="Meine Notiz"), "EX3")
    erp_side = activity(subject="ERP", start_at=datetime(2026, 11, 5, 10, 30))
    exchange_side = changed_exchange(exchange_copy(
        activity(), subject="Outlook", end=exchange_copy(activity()).start.replace(minute=15)))
    links = (link(activity()), link(conference, "EX3"))
    for order in (slice(None), slice(None, None, -1)):
        result = run(erp=(changed_erp(erp_side),), exchange=(edited, exchange_side)[order],
                     links=links[order], erp_current={3: conference})
        assert [r.key for r in result.rejected] == ["1"]
        assert skips(result) == {(Side.EXCHANGE, "EX3", SkipReason.CONFERENCE)}
