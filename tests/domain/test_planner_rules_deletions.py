"""Deletions and the links they leave (DESIGN.md §3): a pair gone on both sides leaves
no link; a tombstone goes once its survivor goes; an activity deleted before its first
pass leaves its unfinished Exchange copy deleted or detached, never linked."""

from __future__ import annotations

from dataclasses import replace

import pytest

from esexchange.domain.actions import SkipReason
from esexchange.domain.mapping import exchange_to_item
from esexchange.domain.model import Side
from esexchange.domain.options import EmployeeSettings
from esexchange.domain.planner import exchange_view
from tests.domain.planner_support import fate, skips
from tests.domain.test_planner import (
    CTX,
    activity,
    changed_erp,
    changed_exchange,
    deleted_erp,
    deleted_exchange,
    exchange_copy,
    link,
    remote,
    run,
)

KEEP_EVERYTHING = EmployeeSettings(
    delete_appointments_in_exchange=False, delete_appointments_in_erp=False
)


@pytest.mark.parametrize("settings", [EmployeeSettings(), KEEP_EVERYTHING])
def test_a_pair_deleted_on_both_sides_drops_its_link_and_deletes_nothing(
    settings: EmployeeSettings,
) -> None:
    outcome = fate(run(erp=(deleted_erp(),), exchange=(deleted_exchange(),),
                       links=(link(activity()),), settings=settings))
    assert outcome.link_dropped and outcome.deleted == set() and outcome.link is None


def test_a_pair_deleted_in_the_erp_and_missing_from_a_complete_listing_drops_its_link() -> None:
    outcome = fate(run(erp=(deleted_erp(),), links=(link(activity()),), full_listing=True))
    assert outcome.link_dropped and outcome.deleted == set()


def test_a_frozen_pair_deleted_on_both_sides_drops_its_link() -> None:
    private = replace(link(activity()), synced=replace(link(activity()).synced, private=True))
    outcome = fate(run(erp=(deleted_erp(),), exchange=(deleted_exchange(),), links=(private,)))
    assert outcome.link_dropped and outcome.detached is None


def test_a_kept_exchange_copy_deleted_later_drops_its_tombstone() -> None:
    # The link dropped is the tombstone's own (by its ERP id): else stale links pile up.
    tombstone = replace(link(activity()), detached=Side.ERP)
    outcome = fate(run(exchange=(deleted_exchange(),), links=(tombstone,)), erp_id=1)
    assert outcome.link_dropped and outcome.deleted == set()
    listed = fate(run(links=(tombstone,), full_listing=True), erp_id=1)
    assert listed.link_dropped


def test_a_kept_erp_activity_deleted_later_drops_its_tombstone() -> None:
    tombstone = replace(link(activity()), detached=Side.EXCHANGE)
    outcome = fate(run(erp=(deleted_erp(),), links=(tombstone,)), erp_id=1)
    assert outcome.link_dropped and outcome.deleted == set()


def test_a_tombstone_of_a_kept_erp_activity_ignores_a_complete_listing() -> None:
    # Its Exchange copy is already gone: a listing without it is no news.
    tombstone = replace(link(activity()), detached=Side.EXCHANGE)
    result = run(erp=(changed_erp(activity(subject="Neu")),), links=(tombstone,),
                 full_listing=True)
    outcome = fate(result)
    assert outcome.untouched and skips(result) == {(Side.ERP, "1", SkipReason.DETACHED)}


def test_an_activity_deleted_before_its_first_pass_leaves_a_detached_copy_when_kept() -> None:
    orphan = exchange_copy(activity(), subject="Entwurf")
    settings = EmployeeSettings(delete_appointments_in_exchange=False)
    outcome = fate(run(erp=(deleted_erp(),), exchange=(changed_exchange(orphan),),
                       settings=settings))
    assert outcome.deleted == set() and outcome.created == set()
    assert outcome.detached is Side.ERP
    tombstone = outcome.link
    assert tombstone is not None
    assert (tombstone.erp_id, tombstone.exchange_id, tombstone.version) == (1, "EX1", "ck2")
    assert tombstone.synced == exchange_to_item(orphan, CTX)
    assert tombstone.exchange_hash == exchange_view(tombstone.synced, CTX).content_hash()
    # The tombstone keeps the copy out of the ERP, edited or not.
    edited = exchange_copy(activity(), subject="Entwurf 2")
    later = fate(run(exchange=(changed_exchange(edited, key="ck3"),), links=(tombstone,)))
    assert later.untouched and later.skipped == {SkipReason.DETACHED}
    # ... until the copy goes too: then the tombstone goes.
    gone = fate(run(exchange=(deleted_exchange(),), links=(tombstone,)), erp_id=1)
    assert gone.link_dropped


def test_an_activity_deleted_before_its_first_pass_has_its_stamped_copy_deleted() -> None:
    orphan = exchange_copy(activity())
    outcome = fate(run(erp=(deleted_erp(),), stamped={1: remote(orphan)}))
    assert outcome.deleted == {Side.EXCHANGE} and outcome.link is None
    # ... and the copy is not imported as a new activity on the way.
    both = fate(run(erp=(deleted_erp(),), exchange=(changed_exchange(orphan),),
                    stamped={1: remote(orphan)}))
    assert both.deleted == {Side.EXCHANGE} and both.created == set()


def test_a_participant_removed_before_its_first_pass_is_paired_with_none_of_its_copies(
) -> None:
    # The row still exists (the employee was removed from it), and the mailbox holds two
    # copies stamped with its id (one copied in Outlook). The one the sync looks at as
    # its unfinished copy is deleted; the other is not adopted by the row instead.
    row = activity(participant_ids=(8,))
    copies = (changed_exchange(exchange_copy(activity()), "EX1"),
              changed_exchange(exchange_copy(activity()), "EX2"))
    outcome = fate(run(erp=(deleted_erp(),), exchange=copies, erp_current={1: row}),
                   erp_id=1)
    assert outcome.deleted == {Side.EXCHANGE} and outcome.link is None
    assert Side.EXCHANGE not in outcome.updated


def test_a_deleted_activity_without_a_stamped_copy_plans_nothing() -> None:
    other = exchange_copy(activity(2))
    outcome = fate(run(erp=(deleted_erp(),), stamped={2: remote(other)}))
    assert outcome.untouched


def test_an_erp_edit_beating_an_exchange_deletion_adopts_the_copy_a_crashed_pass_made() -> None:
    # The previous pass created the new copy EX2 and crashed before storing its link.
    edited = activity(subject="Noch gebraucht")
    twin = exchange_copy(edited)
    outcome = fate(run(erp=(changed_erp(edited),), exchange=(deleted_exchange(),),
                       links=(link(activity()),), stamped={1: remote(twin, "EX2")}))
    assert outcome.created == set() and outcome.deleted == set()
    assert outcome.link is not None and outcome.link.exchange_id == "EX2"
    assert outcome.link.synced.subject == "Noch gebraucht"


def test_an_edit_of_a_kept_exchange_copy_is_reported_by_its_side_and_id() -> None:
    tombstone = replace(link(activity()), detached=Side.ERP)
    edited = exchange_copy(activity(), subject="Entwurf 2")
    result = run(exchange=(changed_exchange(edited),), links=(tombstone,))
    assert skips(result) == {(Side.EXCHANGE, "EX1", SkipReason.DETACHED)}
