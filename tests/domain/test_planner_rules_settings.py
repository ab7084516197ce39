"""The per-employee settings of each kind (DESIGN.md §3): tasks follow the task
settings, appointments the appointment settings, never the other kind's."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from esexchange.domain.actions import SkipReason
from esexchange.domain.model import ErpActivity, Kind, Sensitivity, Side
from esexchange.domain.options import EmployeeSettings
from esexchange.domain.state import ErpChange, MailboxChange
from tests.domain.planner_support import fate
from tests.domain.test_planner import (
    NOW,
    OPTIONS,
    activity,
    changed_erp,
    changed_exchange,
    exchange_copy,
    link,
    run,
)

TASK = activity(
    kind=Kind.TASK, start_at=None, end_at=None, due_at=datetime(2026, 11, 6), activity_type_no=2
)
# Every appointment setting off: none of them may change what happens to a task.
APPOINTMENT_SETTINGS_OFF = EmployeeSettings(
    appointments=False, delete_appointments_in_exchange=False, delete_appointments_in_erp=False,
    no_private_appointments=False,
)
TASK_SETTINGS_OFF = EmployeeSettings(
    tasks=False, delete_tasks_in_exchange=False, delete_tasks_in_erp=False, no_private_tasks=False
)


def task_deleted_in_erp() -> ErpChange:
    return ErpChange(1, Kind.TASK, None, 6, NOW)


def task_deleted_in_exchange() -> MailboxChange:
    return MailboxChange("EX1", Kind.TASK, None)



def test_an_erp_task_deletion_deletes_the_exchange_task() -> None:
    result = run(kind=Kind.TASK, erp=(task_deleted_in_erp(),), links=(link(TASK),),
                 settings=APPOINTMENT_SETTINGS_OFF)
    assert fate(result).deleted == {Side.EXCHANGE}


def test_an_erp_task_deletion_with_delete_tasks_in_exchange_off_detaches_the_pair() -> None:
    settings = EmployeeSettings(delete_tasks_in_exchange=False)
    outcome = fate(run(kind=Kind.TASK, erp=(task_deleted_in_erp(),), links=(link(TASK),),
                       settings=settings))
    assert outcome.deleted == set() and outcome.detached is Side.ERP


def test_an_exchange_task_deletion_deletes_the_erp_task() -> None:
    result = run(kind=Kind.TASK, exchange=(task_deleted_in_exchange(),), links=(link(TASK),),
                 erp_current={1: TASK}, settings=APPOINTMENT_SETTINGS_OFF)
    assert fate(result).deleted == {Side.ERP}


def test_an_exchange_task_deletion_with_delete_tasks_in_erp_off_detaches_the_pair() -> None:
    settings = EmployeeSettings(delete_tasks_in_erp=False)
    outcome = fate(run(kind=Kind.TASK, exchange=(task_deleted_in_exchange(),),
                       links=(link(TASK),), erp_current={1: TASK}, settings=settings))
    assert outcome.deleted == set() and outcome.detached is Side.EXCHANGE


def test_the_task_delete_settings_do_not_hold_appointment_deletions() -> None:
    erp_side = fate(run(erp=(changed_erp_deleted(),), links=(link(activity()),),
                        settings=TASK_SETTINGS_OFF))
    exchange_side = fate(run(exchange=(MailboxChange("EX1", Kind.APPOINTMENT, None),),
                             links=(link(activity()),), erp_current={1: activity()},
                             settings=TASK_SETTINGS_OFF))
    assert (erp_side.deleted, exchange_side.deleted) == ({Side.EXCHANGE}, {Side.ERP})


def changed_erp_deleted() -> ErpChange:
    return ErpChange(1, Kind.APPOINTMENT, None, 6, NOW)


@pytest.mark.parametrize("side", list(Side))
def test_private_tasks_are_not_synchronized(side: Side) -> None:
    private = replace(TASK, private=True)
    if side is Side.ERP:
        result = run(kind=Kind.TASK, erp=(changed_erp(private),),
                     settings=APPOINTMENT_SETTINGS_OFF)
    else:
        item = replace(exchange_copy(private), erp_id=None)
        result = run(kind=Kind.TASK, exchange=(changed_exchange(item),),
                     settings=APPOINTMENT_SETTINGS_OFF)
    outcome = fate(result)
    assert outcome.untouched and outcome.skipped == {SkipReason.PRIVATE}


def test_private_tasks_are_synchronized_with_no_private_tasks_off() -> None:
    private = replace(TASK, private=True)
    item = replace(exchange_copy(TASK), erp_id=None, sensitivity=Sensitivity.PRIVATE)
    settings = EmployeeSettings(no_private_tasks=False)
    from_erp = fate(run(kind=Kind.TASK, erp=(changed_erp(private),), settings=settings))
    from_exchange = fate(run(kind=Kind.TASK, exchange=(changed_exchange(item),),
                             settings=settings))
    assert (from_erp.created, from_exchange.created) == ({Side.EXCHANGE}, {Side.ERP})


def test_private_appointments_follow_their_own_setting_not_the_task_one() -> None:
    private = activity(private=True)
    kept_out = fate(run(erp=(changed_erp(private),),
                        settings=EmployeeSettings(no_private_tasks=False)))
    let_in = fate(run(erp=(changed_erp(private),),
                      settings=EmployeeSettings(no_private_appointments=False)))
    assert kept_out.skipped == {SkipReason.PRIVATE} and kept_out.created == set()
    assert let_in.created == {Side.EXCHANGE}


def test_a_linked_private_task_is_frozen_only_by_the_task_setting() -> None:
    private = replace(TASK, private=True, subject="Geheim")
    frozen = fate(run(kind=Kind.TASK, erp=(changed_erp(private),), links=(link(TASK),),
                      settings=APPOINTMENT_SETTINGS_OFF))
    synced = fate(run(kind=Kind.TASK, erp=(changed_erp(private),), links=(link(TASK),),
                      settings=EmployeeSettings(no_private_tasks=False)))
    assert frozen.updated == {} and frozen.skipped == {SkipReason.PRIVATE}
    assert Side.EXCHANGE in synced.updated


@pytest.mark.parametrize(
    ("settings", "appointment_sync", "moved"),
    [
        (EmployeeSettings(tasks=False), True, {Kind.APPOINTMENT}),
        (EmployeeSettings(appointments=False), True, {Kind.TASK}),
        (EmployeeSettings(), False, {Kind.TASK}),
    ],
    ids=["tasks-off", "appointments-off", "appointment-sync-off"],
)
def test_switching_a_kind_off_stops_only_that_kind(
    settings: EmployeeSettings, appointment_sync: bool, moved: set[Kind]
) -> None:
    options = replace(OPTIONS, appointment_sync=appointment_sync)
    activities: dict[Kind, ErpActivity] = {Kind.APPOINTMENT: activity(), Kind.TASK: TASK}
    for kind, new in activities.items():
        outcome = fate(run(kind=kind, erp=(changed_erp(new),), settings=settings,
                           options=options))
        assert (outcome.created == {Side.EXCHANGE}) is (kind in moved)
        assert (outcome.skipped == {SkipReason.SETTING_OFF}) is (kind not in moved)
