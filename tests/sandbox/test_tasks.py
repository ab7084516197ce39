"""Tasks through the real exchangelib: every field the sync uses, completion rules, recurrence."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from exchangelib import EWSDate, HTMLBody, Task
from exchangelib.items.base import ALL_OCCURRENCES, SPECIFIED_OCCURRENCE_ONLY
from exchangelib.recurrence import (
    AbsoluteMonthlyPattern,
    AbsoluteYearlyPattern,
    DailyPattern,
    DailyRegeneration,
    EndDatePattern,
    MonthlyRegeneration,
    NoEndPattern,
    NumberedPattern,
    RelativeMonthlyPattern,
    RelativeYearlyPattern,
    TaskRecurrence,
    WeeklyPattern,
    WeeklyRegeneration,
    YearlyRegeneration,
)

from tests.sandbox.ews_support import post, registered_properties, response_codes
from tests.support.sandbox import ANNA, RunningSandbox


@pytest.fixture(autouse=True)
def _properties() -> Iterator[None]:
    with registered_properties():
        yield


def _task(account, **fields) -> Task:  # type: ignore[no-untyped-def]
    task = Task(account=account, folder=account.tasks, **{"subject": "Call back", **fields})
    task.save()
    return task


def test_every_task_field_the_sync_uses_round_trips(ews: RunningSandbox) -> None:
    """MS-OXWSTASK_R53 MS-OXWSTASK_R63 MS-OXWSTASK_R65 MS-OXWSTASK_R104 MS-OXWSTASK_R42
    MS-OXWSTASK_R44 MS-OXWSTASK_R47 MS-OXWSTASK_R49 MS-OXWSTASK_R58 MS-OXWSTASK_R67
    MS-OXWSTASK_R55 MS-OXWSTASK_R5556 MS-OXWSTASK_R5667 MS-OXWSTASK_R85 MS-OXWSTASK_R88
    MS-OXWSCORE_R2021 MS-OXWSCORE_R1652 MS-OXWSCORE_R199 MS-OXWSCORE_R1680 MS-OXWSCORE_R101
    """
    account = ews.account(ANNA)
    created = _task(
        account,
        body=HTMLBody("<p>Ask about the <i>offer</i></p>"),
        status="InProgress",
        percent_complete=Decimal(40),
        start_date=EWSDate(2026, 12, 1),
        due_date=EWSDate(2026, 12, 5),
        importance="Low",
        sensitivity="Personal",
        categories=["ES_7_Follow-up"],
        reminder_is_set=False,
        actual_work=30,
        total_work=90,
        billing_information="Project 42",
        companies=["ACME"],
        contacts=["Dora"],
        mileage="12 km",
        probe_erp_id="TASK-17",
    )
    got = account.tasks.get(id=created.id)
    assert got.subject == "Call back" and got.body == "<p>Ask about the <i>offer</i></p>"
    assert (got.status, got.percent_complete) == ("InProgress", Decimal(40))
    assert (got.start_date, got.due_date) == (EWSDate(2026, 12, 1), EWSDate(2026, 12, 5))
    assert (got.importance, got.sensitivity, got.categories) == (
        "Low",
        "Personal",
        ["ES_7_Follow-up"],
    )
    assert (got.actual_work, got.total_work, got.mileage) == (30, 90, "12 km")
    assert (got.billing_information, got.companies, got.contacts) == (
        "Project 42",
        ["ACME"],
        ["Dora"],
    )
    assert got.probe_erp_id == "TASK-17" and got.item_class == "IPM.Task"
    assert got.is_complete is False and got.is_recurring is False and got.complete_date is None
    assert got.delegation_state is None


def test_completing_a_task_by_status_percent_or_date(ews: RunningSandbox) -> None:
    """Status Completed, PercentComplete 100 and CompleteDate each complete a task.

    MS-OXWSTASK_R67001 MS-OXWSTASK_R102 MS-OXWSTASK_R48 MS-OXWSTASK_R5555 MS-OXWSTASK_R55
    MS-OXWSTASK_R105 MS-OXWSTASK_R45
    """
    account = ews.account(ANNA)
    by_status, by_percent = _task(account, subject="a"), _task(account, subject="b")
    fresh = account.tasks.get(id=by_status.id)
    assert (fresh.status, fresh.change_count) == ("NotStarted", 1)  # created: changed once
    by_status.status = "Completed"
    by_status.save(update_fields=["status"])
    by_percent.percent_complete = Decimal(100)
    by_percent.save(update_fields=["percent_complete"])
    for task in (by_status, by_percent):
        got = account.tasks.get(id=task.id)
        assert (got.status, got.percent_complete, got.is_complete) == ("Completed", 100, True)
        assert got.complete_date is not None and got.change_count == 2
    by_date = _task(account, subject="c")
    change = (
        '<m:UpdateItem ConflictResolution="AlwaysOverwrite"><m:ItemChanges><t:ItemChange>'
        f'<t:ItemId Id="{by_date.id}"/><t:Updates><t:SetItemField>'
        '<t:FieldURI FieldURI="task:CompleteDate"/>'
        "<t:Task><t:CompleteDate>2026-12-03T12:00:00Z</t:CompleteDate></t:Task>"
        "</t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>"
    )
    _, root = post(ews.url, change, impersonate=ANNA)
    assert response_codes(root) == ["NoError"]
    got = account.tasks.get(id=by_date.id)
    assert (got.status, got.percent_complete) == ("Completed", 100)
    assert got.complete_date.date() == EWSDate(2026, 12, 3)


def test_the_status_property_set_last_wins(ews: RunningSandbox) -> None:
    """Schema order puts Status after PercentComplete, so Status decides.

    MS-OXWSTASK_R67002 MS-OXWSTASK_R106
    """
    create = (
        '<m:CreateItem MessageDisposition="SaveOnly"><m:Items><t:Task><t:Subject>x</t:Subject>'
        "<t:PercentComplete>100</t:PercentComplete><t:Status>WaitingOnOthers</t:Status>"
        "</t:Task></m:Items></m:CreateItem>"
    )
    _, root = post(ews.url, create, impersonate=ANNA)
    assert response_codes(root) == ["NoError"]
    (task,) = ews.mailbox(ANNA).items.values()
    assert (task.fields["Status"], task.fields["PercentComplete"]) == ("WaitingOnOthers", 0.0)
    assert task.fields["IsComplete"] is False


def test_deferred_tasks_keep_their_progress(ews: RunningSandbox) -> None:
    """MS-OXWSTASK_R103"""
    account = ews.account(ANNA)
    task = _task(account, status="InProgress", percent_complete=Decimal(30))
    task.status = "Deferred"
    task.save(update_fields=["status"])
    got = account.tasks.get(id=task.id)
    assert (got.status, got.percent_complete, got.is_complete) == ("Deferred", 30, False)


def test_percent_complete_outside_0_to_100_is_refused(ews: RunningSandbox) -> None:
    """MS-OXWSTASK_R65"""
    create = (
        '<m:CreateItem MessageDisposition="SaveOnly"><m:Items><t:Task><t:Subject>x</t:Subject>'
        "<t:PercentComplete>140</t:PercentComplete></t:Task></m:Items></m:CreateItem>"
    )
    _, root = post(ews.url, create, impersonate=ANNA)
    assert response_codes(root) == ["ErrorInvalidPercentCompleteValue"]


@pytest.mark.parametrize(
    "pattern",
    [
        DailyPattern(interval=2),
        WeeklyPattern(interval=1, weekdays=[1, 3], first_day_of_week=1),
        AbsoluteMonthlyPattern(interval=1, day_of_month=15),
        RelativeMonthlyPattern(interval=2, weekday=5, week_number=5),
        AbsoluteYearlyPattern(day_of_month=3, month=4),
        RelativeYearlyPattern(weekday=1, week_number=1, month=9),
        DailyRegeneration(interval=3),
        WeeklyRegeneration(interval=2),
        MonthlyRegeneration(interval=1),
        YearlyRegeneration(interval=1),
    ],
    ids=lambda p: type(p).__name__,
)
def test_recurring_tasks_keep_their_pattern(ews: RunningSandbox, pattern: object) -> None:
    """Every task recurrence pattern and range is stored and returned as sent.

    MS-OXWSTASK_R112 MS-OXWSTASK_R125 MS-OXWSTASK_R240 MS-OXWSTASK_R123 MS-OXWSTASK_R239
    MS-OXWSTASK_R121 MS-OXWSTASK_R238 MS-OXWSTASK_R119 MS-OXWSTASK_R237 MS-OXWSTASK_R117
    MS-OXWSTASK_R236 MS-OXWSTASK_R115 MS-OXWSTASK_R235 MS-OXWSTASK_R127 MS-OXWSTASK_R241
    MS-OXWSTASK_R129 MS-OXWSTASK_R242 MS-OXWSTASK_R131 MS-OXWSTASK_R243 MS-OXWSTASK_R133
    MS-OXWSTASK_R244 MS-OXWSTASK_R70 MS-OXWSTASK_R73 MS-OXWSTASK_R78 MS-OXWSTASK_R81
    MS-OXWSTASK_R5666 MS-OXWSCDATA_R1109 MS-OXWSCDATA_R1179 MS-OXWSCDATA_R1307
    MS-OXWSCDATA_R1308 MS-OXWSCDATA_R995 MS-OXWSCDATA_R997 MS-OXWSCDATA_R999
    MS-OXWSCDATA_R1001 MS-OXWSCDATA_R1003 MS-OXWSCDATA_R1255 MS-OXWSCDATA_R1256
    MS-OXWSCDATA_R1257 MS-OXWSCDATA_R1259 MS-OXWSCDATA_R1260 MS-OXWSCDATA_R1261
    MS-OXWSCDATA_R1262 MS-OXWSCDATA_R1263 MS-OXWSCDATA_R1264 MS-OXWSCDATA_R1265
    MS-OXWSCDATA_R1352 MS-OXWSCDATA_R4005
    """
    account = ews.account(ANNA)
    recurrence = TaskRecurrence(pattern=pattern, boundary=NoEndPattern(start=EWSDate(2026, 12, 1)))
    created = _task(account, start_date=EWSDate(2026, 12, 1), recurrence=recurrence)
    got = account.tasks.get(id=created.id)
    assert got.recurrence == recurrence and got.is_recurring is True


def test_recurrence_ranges_of_tasks(ews: RunningSandbox) -> None:
    """MS-OXWSCDATA_R1353 MS-OXWSCDATA_R1354"""
    account = ews.account(ANNA)
    for boundary in (
        EndDatePattern(start=EWSDate(2026, 12, 1), end=EWSDate(2027, 3, 1)),
        NumberedPattern(start=EWSDate(2026, 12, 1), number=6),
    ):
        recurrence = TaskRecurrence(pattern=DailyPattern(interval=7), boundary=boundary)
        created = _task(account, recurrence=recurrence)
        assert account.tasks.get(id=created.id).recurrence == recurrence


def test_deleting_a_task(ews: RunningSandbox) -> None:
    """exchangelib names the occurrences; without them Exchange refuses.

    MS-OXWSTASK_R174
    """
    account = ews.account(ANNA)
    task = _task(account)
    task_id = task.id
    task.delete(affected_task_occurrences=ALL_OCCURRENCES)
    assert list(account.tasks.all()) == []
    other = _task(account)
    delete = (
        f'<m:DeleteItem DeleteType="HardDelete"><m:ItemIds><t:ItemId Id="{other.id}"/>'
        "</m:ItemIds></m:DeleteItem>"
    )
    _, root = post(ews.url, delete, impersonate=ANNA)
    assert response_codes(root) == ["ErrorAffectedTaskOccurrencesRequired"]
    assert task_id not in ews.mailbox(ANNA).items and other.id in ews.mailbox(ANNA).items


def test_deleting_one_occurrence_of_a_recurring_task(ews: RunningSandbox) -> None:
    """SpecifiedOccurrenceOnly moves a recurring task on to its next occurrence.

    MS-OXWSTASK_R175 MS-OXWSTASK_R174
    """
    account = ews.account(ANNA)
    weekly = TaskRecurrence(
        pattern=WeeklyPattern(interval=1, weekdays=[2], first_day_of_week=1),
        boundary=NumberedPattern(start=EWSDate(2026, 12, 1), number=2),
    )
    task = _task(
        account, start_date=EWSDate(2026, 12, 1), due_date=EWSDate(2026, 12, 1), recurrence=weekly
    )
    task_id = task.id
    task.delete(affected_task_occurrences=SPECIFIED_OCCURRENCE_ONLY)
    got = account.tasks.get(id=task_id)
    assert (got.start_date, got.due_date) == (EWSDate(2026, 12, 8), EWSDate(2026, 12, 8))
    got.delete(affected_task_occurrences=SPECIFIED_OCCURRENCE_ONLY)  # the last one
    assert list(account.tasks.all()) == []
    regenerating = TaskRecurrence(
        pattern=DailyRegeneration(interval=3), boundary=NoEndPattern(start=EWSDate(2026, 12, 1))
    )
    task = _task(account, due_date=EWSDate(2026, 12, 1), recurrence=regenerating)
    task_id = task.id
    task.delete(affected_task_occurrences=SPECIFIED_OCCURRENCE_ONLY)
    expected = datetime.now(UTC).date() + timedelta(days=3)  # three days after "done"
    assert account.tasks.get(id=task_id).due_date == expected


def test_completing_a_recurring_task_leaves_a_one_off_and_advances_the_series(
    ews: RunningSandbox,
) -> None:
    """Issue 11 item 6 (MS-OXWSTASK_R5666 MS-OXWSTASK_R5667; [MS-OXOTASK] on completing an
    occurrence of a recurring task): the completed occurrence stays as a one-off task (IsRecurring
    false, Completed); the series moves to its next date, not started, with one occurrence
    fewer; completing the last occurrence completes the series itself."""
    account = ews.account(ANNA)
    weekly = TaskRecurrence(
        pattern=WeeklyPattern(interval=1, weekdays=[2], first_day_of_week=1),
        boundary=NumberedPattern(start=EWSDate(2026, 12, 1), number=2),
    )
    task = _task(account, subject="Bericht", start_date=EWSDate(2026, 12, 1),
                 due_date=EWSDate(2026, 12, 1), recurrence=weekly)  # fmt: skip
    series_id = task.id
    task.status = "Completed"
    task.save(update_fields=["status"])
    assert task.id != series_id  # UpdateItem answers the one-off, as Exchange does
    by_id = {t.id: t for t in account.tasks.all()}
    series = by_id.pop(series_id)
    (one_off,) = by_id.values()
    assert (one_off.subject, one_off.status) == ("Bericht", "Completed")
    assert one_off.is_recurring is False
    assert one_off.due_date == EWSDate(2026, 12, 1) and one_off.recurrence is None
    assert (series.status, series.percent_complete, series.is_recurring) == ("NotStarted", 0, True)
    assert (series.start_date, series.due_date) == (EWSDate(2026, 12, 8), EWSDate(2026, 12, 8))
    assert series.recurrence.boundary == NumberedPattern(start=EWSDate(2026, 12, 8), number=1)
    series.status = "Completed"
    series.save(update_fields=["status"])  # the last occurrence: the series itself is done
    statuses = sorted((t.subject, t.status, t.is_recurring) for t in account.tasks.all())
    assert statuses == [("Bericht", "Completed", False), ("Bericht", "Completed", True)]


def test_moving_a_non_regenerating_occurrence_splits_it_off(ews: RunningSandbox) -> None:
    """Issue 11 item 6, as exchangelib's test_recurring_item finds on Exchange: changing the
    range start of a non-regenerating recurring task leaves a one-off task (the answer of
    the UpdateItem) and moves the series to its next occurrence, one fewer, ChangeCount 2;
    a regenerating task just takes the change (MS-OXWSTASK_R45 MS-OXWSTASK_R5666)."""
    account = ews.account(ANNA)
    daily = TaskRecurrence(pattern=DailyPattern(interval=1), start=EWSDate(2026, 1, 1), number=4)
    task = _task(account, subject="täglich", recurrence=daily)
    series_id = task.id
    master = account.tasks.get(id=series_id)
    assert (master.is_recurring, master.change_count) == (True, 1)
    master.recurrence.boundary.start = EWSDate(2026, 2, 1)
    one_off = master.save()
    assert one_off.id != series_id
    assert account.tasks.get(id=one_off.id).is_recurring is False
    master = account.tasks.get(id=series_id)
    assert (master.change_count, master.due_date) == (2, EWSDate(2026, 1, 2))
    assert master.recurrence.boundary.number == 3
    assert account.tasks.all().count() == 2
    regenerating = TaskRecurrence(
        pattern=DailyRegeneration(interval=1), start=EWSDate(2026, 1, 1), number=4
    )
    other = _task(account, subject="nach Erledigung", recurrence=regenerating)
    other_id = other.id
    fetched = account.tasks.get(id=other_id)
    fetched.recurrence.boundary.start = EWSDate(2026, 1, 2)
    assert fetched.save().id == other_id  # no one-off for a regenerating task
    assert account.tasks.all().count() == 3
