"""Frozen pairs (DESIGN.md §3): a linked pair that becomes recurring on either side, or
private with the "no private" setting on, is not written or deleted because of the
other copy; a deletion of one copy detaches it; when the pair thaws, what was edited
meanwhile is synchronized, not lost."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from esexchange.domain.actions import SkipReason
from esexchange.domain.mapping import erp_to_item
from esexchange.domain.model import Kind, Sensitivity, Side
from esexchange.domain.options import EmployeeSettings
from esexchange.domain.planner import exchange_copy_unmerged, exchange_view
from esexchange.domain.state import Capabilities, ErpChange, MailboxChange
from tests.domain.planner_support import as_stored, fate, same_pairing, skips
from tests.domain.test_planner import (
    CTX,
    NOW,
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

PAIR = link(activity())


@pytest.mark.parametrize("side", list(Side))
def test_a_linked_pair_that_becomes_recurring_on_one_side_is_frozen(side: Side) -> None:
    erp: tuple[ErpChange, ...]
    exchange: tuple[MailboxChange, ...]
    if side is Side.ERP:
        erp = (changed_erp(activity(recurring=True, subject="Serie")),)
        exchange = (changed_exchange(exchange_copy(activity(), location="Raum 9")),)
    else:
        erp = (changed_erp(activity(subject="Serie")),)
        exchange = (changed_exchange(exchange_copy(activity(), recurring=True,
                                                   location="Raum 9")),)
    outcome = fate(run(erp=erp, exchange=exchange, links=(PAIR,)))
    assert outcome.updated == {} and outcome.created == set() and outcome.deleted == set()
    assert outcome.skipped == {SkipReason.RECURRING}
    # The link keeps the last synced content.
    assert outcome.link is None or outcome.link.synced == PAIR.synced


@pytest.mark.parametrize("recurring_side", list(Side))
def test_deleting_one_copy_of_a_recurring_pair_detaches_it(recurring_side: Side) -> None:
    if recurring_side is Side.ERP:
        result = run(erp=(changed_erp(activity(recurring=True)),),
                     exchange=(deleted_exchange(),), links=(PAIR,))
        expected = Side.EXCHANGE
    else:
        series = exchange_copy(activity(), recurring=True)
        result = run(erp=(deleted_erp(),), exchange=(changed_exchange(series),), links=(PAIR,))
        expected = Side.ERP
    outcome = fate(result)
    assert outcome.deleted == set() and outcome.created == set()
    assert outcome.detached is expected


@pytest.mark.parametrize("deleted_side", list(Side))
def test_deleting_one_copy_of_a_private_pair_detaches_it(deleted_side: Side) -> None:
    if deleted_side is Side.ERP:
        private = exchange_copy(activity(), sensitivity=Sensitivity.PRIVATE)
        result = run(erp=(deleted_erp(),), exchange=(changed_exchange(private),), links=(PAIR,))
    else:
        result = run(erp=(changed_erp(activity(private=True)),), exchange=(deleted_exchange(),),
                     links=(PAIR,))
    outcome = fate(result)
    assert outcome.deleted == set() and outcome.created == set()
    assert outcome.detached is deleted_side



def test_an_erp_edit_made_while_frozen_reaches_exchange_when_the_pair_thaws() -> None:
    frozen = fate(run(erp=(changed_erp(activity(private=True, location="Raum 2")),),
                      links=(PAIR,)))
    assert frozen.updated == {} and frozen.link is not None
    # Made public again; the location edited while private must not be lost.
    thawed = fate(run(erp=(changed_erp(activity(location="Raum 2"), seq=7),),
                      links=(frozen.link,)))
    assert thawed.updated.get(Side.EXCHANGE, set()) >= {"location"}
    assert thawed.exchange_written is not None and thawed.exchange_written.location == "Raum 2"
    assert thawed.link is not None and thawed.link.synced.location == "Raum 2"


def test_an_exchange_edit_made_while_frozen_reaches_the_erp_when_the_pair_thaws() -> None:
    private = exchange_copy(activity(), sensitivity=Sensitivity.PRIVATE, location="Raum 3")
    frozen = fate(run(exchange=(changed_exchange(private),), links=(PAIR,),
                      erp_current={1: activity()}))
    assert frozen.updated == {} and frozen.link is not None
    public = exchange_copy(activity(), location="Raum 3")
    thawed = fate(run(exchange=(changed_exchange(public, key="ck3"),), links=(frozen.link,),
                      erp_current={1: activity()}))
    assert thawed.updated.get(Side.ERP) == {"location"}
    assert thawed.erp_written is not None and thawed.erp_written.location == "Raum 3"


def test_an_edit_made_while_frozen_beats_a_deletion_after_the_thaw() -> None:
    # Edited while recurring, made single again, then deleted in Exchange: the ERP's
    # edit is newer than the last synced content, so it comes back.
    frozen = fate(run(erp=(changed_erp(activity(recurring=True, location="Raum 2")),),
                      links=(PAIR,)))
    assert frozen.link is not None
    later = fate(run(exchange=(deleted_exchange(),), links=(frozen.link,),
                     erp_current={1: activity(location="Raum 2")}))
    assert later.created == {Side.EXCHANGE} and later.deleted == set()


def test_an_exchange_edit_made_while_frozen_survives_a_thaw_in_the_erp() -> None:
    frozen = fate(run(erp=(changed_erp(activity(private=True)),), links=(PAIR,)))
    edited = exchange_copy(activity(), location="Raum 3")
    meanwhile = fate(run(exchange=(changed_exchange(edited),), links=(frozen.link,),
                         erp_current={1: activity(private=True)}))
    assert meanwhile.updated == {} and meanwhile.link is not None
    assert exchange_copy_unmerged(meanwhile.link, CTX)
    # Made public in the ERP: the engine hands over the Exchange copy (it holds edits the
    # merge has not seen), and the edit reaches the ERP instead of being overwritten.
    thawed = fate(run(erp=(changed_erp(activity(), seq=8),), links=(meanwhile.link,),
                      stamped={1: remote(edited, key="ck3")}))
    assert thawed.updated.get(Side.ERP) == {"location"} and Side.EXCHANGE not in thawed.updated
    assert thawed.erp_written is not None and thawed.erp_written.location == "Raum 3"
    assert thawed.link is not None and not exchange_copy_unmerged(thawed.link, CTX)


def test_a_field_the_backend_cannot_hold_is_no_unmerged_exchange_edit() -> None:
    # Graph's To Do has no sensitivity: its copy always reads as not private.
    private_task = link(activity(private=True))
    no_sensitivity = Capabilities(cannot_hold=frozenset({"private"}))
    seen = exchange_view(replace(private_task.synced, private=False), CTX, no_sensitivity)
    stored = replace(private_task, exchange_hash=seen.content_hash())
    assert not exchange_copy_unmerged(stored, CTX, no_sensitivity)
    assert exchange_copy_unmerged(stored, CTX)


def test_an_outlook_edit_seen_while_frozen_is_imported_when_the_setting_thaws_the_pair() -> None:
    # A private pair with no_private_appointments on: its Outlook edit is seen, not
    # imported. Switched off, the pair thaws with neither side changed since (the cursors
    # restart and read the same copy): the edit still reaches the ERP.
    private = activity(private=True)
    pair = link(private)
    edited = exchange_copy(private, location="Raum 3")
    frozen = fate(run(exchange=(changed_exchange(edited),), links=(pair,),
                      erp_current={1: private}))
    assert frozen.updated == {} and frozen.link is not None
    thawed = fate(run(exchange=(changed_exchange(edited),), links=(frozen.link,),
                      erp_current={1: private},
                      settings=EmployeeSettings(no_private_appointments=False)))
    assert thawed.updated.get(Side.ERP) == {"location"}


def test_a_frozen_pair_is_reported_by_the_erp_id_and_keeps_what_each_side_has_now() -> None:
    private = activity(private=True)
    result = run(erp=(changed_erp(private, seq=9),), exchange=(changed_exchange(
        exchange_copy(private), key="ck4"),), links=(PAIR,))
    assert skips(result) == {(Side.ERP, "1", SkipReason.PRIVATE)}
    kept = fate(result).link
    assert kept is not None and (kept.version, kept.erp_seq) == ("ck4", 9)
    assert kept.erp_hash == erp_to_item(private, CTX).content_hash()
    assert kept.synced == PAIR.synced  # the synced content stays: the base of a later merge


def test_a_fake_change_on_a_backend_without_sensitivity_writes_nothing() -> None:
    # To Do has no sensitivity: the copy of a private ERP task reads as not private. The
    # version moved, nothing else: no write either way, and the link is kept as it was.
    todo = Capabilities(cannot_hold=frozenset({"percent_complete", "private"}))
    task = activity(kind=Kind.TASK, start_at=None, end_at=None, activity_type_no=2,
                    due_at=datetime(2026, 11, 6), private=True)
    synced = erp_to_item(task, CTX)
    pair = replace(link(task), exchange_hash=exchange_view(synced, CTX, todo).content_hash())
    read_back = exchange_copy(task, sensitivity=Sensitivity.NORMAL)
    result = run(exchange=(changed_exchange(read_back, key="ck7"),), links=(pair,),
                 erp_current={1: task}, kind=Kind.TASK, capabilities=todo,
                 settings=EmployeeSettings(no_private_tasks=False))
    outcome = fate(result)
    assert outcome.updated == {} and outcome.conflicts == frozenset()
    assert outcome.link is None or same_pairing(outcome.link, pair)


def test_an_erp_deletion_deletes_the_copy_of_a_private_task_on_a_backend_without_sensitivity(
) -> None:
    # The task was created in To Do by the sync, which has no sensitivity: its copy reads
    # back as not private. That is no Outlook edit, so it does not beat the ERP's deletion
    # (the task is not brought back into the ERP): the copy is deleted.
    todo = Capabilities(cannot_hold=frozenset({"percent_complete", "private"}))
    task = activity(kind=Kind.TASK, start_at=None, end_at=None, activity_type_no=2,
                    due_at=datetime(2026, 11, 6), private=True)
    public = EmployeeSettings(no_private_tasks=False)
    created = fate(run(erp=(changed_erp(task),), kind=Kind.TASK, capabilities=todo,
                       settings=public))
    assert created.created == {Side.EXCHANGE} and created.link is not None
    stored = as_stored(created.link, exchange_id="EX1", version="ck2")
    read_back = exchange_copy(task, sensitivity=Sensitivity.NORMAL)
    gone = fate(run(erp=(ErpChange(1, Kind.TASK, None, 6, NOW),),
                    exchange=(changed_exchange(read_back, key="ck3"),),
                    links=(stored,), kind=Kind.TASK, capabilities=todo, settings=public))
    assert gone.deleted == {Side.EXCHANGE} and gone.created == set()
