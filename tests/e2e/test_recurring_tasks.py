"""Recurring tasks completed in Outlook / To Do or in the ERP, end to end on both backends
(docs/recurrence.md, "Recurring tasks"): the ERP's tables by SQL, the real engine and
store, real exchangelib against the EWS sandbox or plain Graph calls against the Graph
sandbox.

Exchange and To Do do opposite things when an occurrence is completed (EWS: a completed
one-off copy, the recurring task moves on under its id; To Do: the completed task keeps
its id and loses its rule, a new task goes on with the series), and the ERP ends up with
the same rows either way: its recurring row moved on to the next occurrence (a numbered
range one shorter, or completed at the last one) and linked to whatever carries the
series on, plus a completed one-off row for the occurrence.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from exchangelib import EWSDate
from exchangelib.recurrence import NumberedPattern, TaskRecurrence, WeeklyPattern

from esexchange.domain.model import Kind
from esexchange.service.runner import MailboxOutcome
from tests.e2e.conftest import Person, World, assert_refused_and_parked, tomorrow_at

WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _synced_task(world: World, subject: str, rule: str) -> tuple[Person, datetime, int]:
    """A new employee's recurring ERP task due tomorrow, synchronized once: the
    employee, the first due day and the row's id."""
    anna = world.employee()
    due = tomorrow_at(0)
    erp_id = world.add("task", subject, anna, start_at=due, due_at=due, recurrence=rule)
    world.sync_ok()
    return anna, due, erp_id


def _weekly(due: datetime, count: int) -> str:
    """The rule the ERP reads back (canonical form) for a weekly task due on ``due``."""
    return f"FREQ=WEEKLY;BYDAY={WEEKDAY_CODES[due.weekday()]};COUNT={count}"


def _day(value: Any) -> date | None:
    if value is None:
        return None
    return (value if isinstance(value, datetime) else datetime.fromisoformat(str(value))).date()


def _erp_rows(world: World, person: Person) -> list[tuple[str, str, date | None, str | None]]:
    """The person's ERP tasks: (subject, status, due day, rule), in id order."""
    return [(row["subject"], row["status"], _day(row["due_at"]), row["recurrence"])
            for row in world.activities(person, "task")]


def _mailbox_tasks(person: Person) -> list[tuple[str, str, date | None, bool]]:
    """The mailbox's tasks as a user sees them: (subject, status, due day, recurring),
    sorted by due day and status."""
    shown = []
    for task in person.outlook.tasks():
        raw = getattr(task, "raw", None)
        if raw is not None:  # Graph
            due = raw.get("dueDateTime")
            shown.append((task.subject, task.status,
                          date.fromisoformat(due["dateTime"][:10]) if due else None,
                          bool(raw.get("recurrence"))))
        else:
            shown.append((task.subject, task.status, task.due_date,
                          task.recurrence is not None))
    return sorted(shown, key=lambda t: (t[2] or date.min, t[1]))


def _linked(world: World, person: Person) -> dict[int, str]:
    rows = world.query("SELECT erp_id, exchange_id FROM esx_link WHERE employee_id = :e "
                       "AND kind = 'task'", e=person.id)
    return {int(r["erp_id"]): str(r["exchange_id"]) for r in rows}


def _task_counts(outcomes: list[MailboxOutcome]) -> int:
    return sum(sum(o.report.kinds[Kind.TASK].counts.values()) for o in outcomes)


def _complete(world: World, person: Person, where: str, erp_id: int, subject: str) -> None:
    """The user completes the task's current occurrence in Outlook / To Do, or in the ERP."""
    if where == "outlook":
        current = [t for t in person.outlook.tasks()
                   if t.subject == subject and t.status != "Completed"]
        assert len(current) == 1, current
        person.outlook.edit(current[0], status="Completed")
    else:
        world.update_activity(erp_id, status="completed", percent_complete=100,
                              completed_at=datetime.now().replace(microsecond=0))


def _settle(world: World) -> None:
    """Passes until nothing is left to do (an ERP completion takes two: the write, then
    what Exchange made of it), at most three."""
    for _ in range(3):
        if _task_counts(world.sync_ok()) == 0:
            return
    raise AssertionError("the passes do not come to rest")


@pytest.mark.parametrize("where", ["outlook", "erp"])
def test_a_completed_occurrence_leaves_a_one_off_row_and_the_series_moves_on(
    world: World, where: str
) -> None:
    anna, due, erp_id = _synced_task(world, "Wochenbericht", "FREQ=WEEKLY;COUNT=3")

    _complete(world, anna, where, erp_id, "Wochenbericht")
    _settle(world)

    week = timedelta(days=7)
    rows = _erp_rows(world, anna)
    assert rows == [
        ("Wochenbericht", "not_started", (due + week).date(), _weekly(due, 2)),
        ("Wochenbericht", "completed", due.date(), None),
    ]
    assert world.activity(erp_id)["percent_complete"] == 0  # the next occurrence is fresh
    assert _mailbox_tasks(anna) == [
        ("Wochenbericht", "Completed", due.date(), False),
        ("Wochenbericht", "NotStarted", (due + week).date(), True),
    ]
    links = _linked(world, anna)
    assert len(links) == 2 and len(set(links.values())) == 2  # each row its own item
    # The recurring row is linked to the task that carries the series on.
    carrier = next(t for t in anna.outlook.tasks() if t.status != "Completed")
    assert links[erp_id] == carrier.id

    assert _task_counts(world.sync_ok()) == 0  # a second pass is a no-op
    assert _erp_rows(world, anna) == rows


def test_the_numbered_range_counts_down_to_the_last_occurrence_which_completes_the_row(
    world: World,
) -> None:
    anna, due, erp_id = _synced_task(world, "Zählerstand", "FREQ=WEEKLY;COUNT=2")

    _complete(world, anna, "outlook", erp_id, "Zählerstand")
    _settle(world)
    week = timedelta(days=7)
    assert world.activity(erp_id)["recurrence"] == _weekly(due, 1)
    _complete(world, anna, "outlook", erp_id, "Zählerstand")
    _settle(world)

    # The last occurrence completes the series' own row, which keeps its rule.
    assert _erp_rows(world, anna) == [
        ("Zählerstand", "completed", (due + week).date(), _weekly(due, 1)),
        ("Zählerstand", "completed", due.date(), None),
    ]
    assert [t[:3] for t in _mailbox_tasks(anna)] == [
        ("Zählerstand", "Completed", due.date()),
        ("Zählerstand", "Completed", (due + week).date()),
    ]
    assert len(_linked(world, anna)) == 2
    assert _task_counts(world.sync_ok()) == 0


def test_the_last_occurrence_completed_in_the_erp_completes_the_series(world: World) -> None:
    anna, due, erp_id = _synced_task(world, "Abschluss", "FREQ=WEEKLY;COUNT=1")

    _complete(world, anna, "erp", erp_id, "Abschluss")
    _settle(world)

    # Completed, and still the series the ERP wrote.
    assert _erp_rows(world, anna) == [("Abschluss", "completed", due.date(),
                                       "FREQ=WEEKLY;COUNT=1")]
    assert [t[:3] for t in _mailbox_tasks(anna)] == [("Abschluss", "Completed", due.date())]


def test_a_lookalike_the_user_makes_is_not_swallowed(world: World) -> None:
    """The user completes the task and, in the same interval, makes another one with the
    same title, rule and next due day: every task of the mailbox is a row of its own."""
    anna, due, _ = _synced_task(world, "Kasse prüfen", "FREQ=WEEKLY;COUNT=3")

    _complete(world, anna, "outlook", 0, "Kasse prüfen")
    _add_weekly_task(world, anna, "Kasse prüfen", (due + timedelta(days=7)).date(), 2)
    _settle(world)

    rows = _erp_rows(world, anna)
    assert len(rows) == len(_mailbox_tasks(anna)) == 3
    assert sorted((r[1], r[2]) for r in rows) == sorted(
        (_erp_status(t[1]), t[2]) for t in _mailbox_tasks(anna))
    links = _linked(world, anna)
    assert len(links) == 3 and len(set(links.values())) == 3
    assert _task_counts(world.sync_ok()) == 0


@pytest.mark.backends("ews")  # To Do cannot regenerate: refused on Graph (next row)
def test_a_regenerating_task_completed_in_outlook_comes_back_after_its_interval(
    world: World,
) -> None:
    anna, due, erp_id = _synced_task(world, "Reisekosten",
                                     "FREQ=WEEKLY;INTERVAL=2;X-REGENERATE=1")

    _complete(world, anna, "outlook", erp_id, "Reisekosten")
    _settle(world)

    again = date.today() + timedelta(days=14)  # two weeks after completion
    assert _erp_rows(world, anna) == [
        ("Reisekosten", "not_started", again, "FREQ=WEEKLY;INTERVAL=2;X-REGENERATE=1"),
        ("Reisekosten", "completed", due.date(), None),
    ]


@pytest.mark.backends("graph")
def test_a_regenerating_task_is_refused_for_to_do_in_words_before_anything_is_sent(
    world: World,
) -> None:
    anna = world.employee()
    due = tomorrow_at(0)
    erp_id = world.add("task", "Reisekosten", anna, start_at=due, due_at=due,
                       recurrence="FREQ=WEEKLY;INTERVAL=2;X-REGENERATE=1")
    refusal = ("this series repeats in a way Outlook cannot show: a task that regenerates "
               "after completion (Microsoft Graph repeats on fixed dates only) "
               f"(X-REGENERATE) (item activity {erp_id}, field recurrence)")

    [outcome] = world.sync()

    assert_refused_and_parked(outcome, anna, erp_id, refusal)
    world.sync()
    assert anna.outlook.tasks() == []  # never sent


def _erp_status(outlook_status: str) -> str:
    return {"Completed": "completed", "NotStarted": "not_started"}[outlook_status]


def _add_weekly_task(world: World, person: Person, subject: str, due: date, count: int) -> None:
    """A weekly task with ``count`` occurrences made by the user, as their client does."""
    if world.backend == "graph":
        day = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
               "sunday")[due.weekday()]
        person.outlook._call("POST", person.outlook._tasks(), {
            "title": subject,
            "dueDateTime": {"dateTime": f"{due.isoformat()}T00:00:00", "timeZone": "UTC"},
            "recurrence": {
                "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [day],
                            "firstDayOfWeek": "monday"},
                "range": {"type": "numbered", "startDate": due.isoformat(),
                          "numberOfOccurrences": count},
            },
        })
        return
    person.outlook.add_task(subject, due, recurrence=TaskRecurrence(
        pattern=WeeklyPattern(interval=1, weekdays=[due.isoweekday()],
                              first_day_of_week=1),
        boundary=NumberedPattern(start=EWSDate.from_date(due), number=count)))
