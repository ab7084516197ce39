"""Recurring tasks whose occurrence is completed (docs/recurrence.md, "Recurring tasks"):
where the series goes on (``next_start``, ``continued_from``), how To Do's new task is
read (its range as it began, counted from where the task is now), and the planner's
rules for To Do's way of carrying a series on (``planner_tasks.py``): the ERP row's
link moves to the new task, the completed one becomes a one-off row, a lookalike is
never swallowed, the last occurrence keeps its rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from esexchange.domain.actions import CreateInErp, Plan, SaveLink, UpdateInErp
from esexchange.domain.mapping import exchange_to_item
from esexchange.domain.model import ErpActivity, ExchangeItem, Kind, Side, TaskStatus
from esexchange.domain.options import EmployeeSettings
from esexchange.domain.recurrence import (
    NoEnd,
    Numbered,
    Recurrence,
    continued_from,
    next_start,
    parse_rrule,
)
from esexchange.domain.state import Capabilities
from tests.domain.planner_support import fate
from tests.domain.test_planner import (
    CTX,
    activity,
    changed_erp,
    changed_exchange,
    exchange_copy,
    link,
    run,
)

BERLIN = "Europe/Berlin"
THURSDAY = datetime(2026, 11, 5)  # the first occurrence
NEXT = date(2026, 11, 12)
TO_DO = Capabilities(cannot_hold=frozenset({"private", "percent_complete", "reminder_minutes"}))


def _rule(text: str, first: datetime = THURSDAY) -> Recurrence:
    return parse_rrule(text, start=first, time_zone=BERLIN)


# -- where the series goes on --------------------------------------------------------------


def test_the_next_occurrence_follows_the_completed_ones_due_day() -> None:
    rule = _rule("FREQ=WEEKLY;BYDAY=TH;COUNT=2")
    assert next_start(rule, THURSDAY.date()) == datetime(2026, 11, 12)
    assert next_start(rule, date(2026, 11, 9)) == datetime(2026, 11, 12)  # done late
    assert next_start(rule, NEXT) is None  # the last one: the series ends
    assert next_start(_rule("FREQ=WEEKLY;INTERVAL=2;X-REGENERATE=1"), THURSDAY.date()) is None


def test_a_series_continued_from_a_later_occurrence_has_that_many_fewer() -> None:
    numbered = _rule("FREQ=WEEKLY;BYDAY=TH;COUNT=3")
    moved = continued_from(numbered, datetime(2026, 11, 19))
    assert (moved.start, moved.range) == (datetime(2026, 11, 19), Numbered(1))
    endless = continued_from(_rule("FREQ=DAILY"), datetime(2026, 11, 9))
    assert (endless.start, endless.range) == (datetime(2026, 11, 9), NoEnd())
    # Its own start, a day the rule does not give (a task moved by hand), a day after
    # its end: the series as it is.
    for day in (THURSDAY, datetime(2026, 11, 10), datetime(2026, 12, 3)):
        assert continued_from(numbered, day) == numbered


def test_to_dos_new_task_is_read_counted_from_its_own_due_day() -> None:
    # To Do's new task keeps the range it began with (start 5 November, 3 occurrences)
    # and is due on the 12th: the ERP row reads two occurrences from the 12th, as
    # Exchange's master that moved on says.
    carrier = ExchangeItem(kind=Kind.TASK, subject="Bericht", start=NEXT, due=NEXT,
                           recurring=True, recurrence=_rule("FREQ=WEEKLY;BYDAY=TH;COUNT=3"))
    assert exchange_to_item(carrier, CTX).recurrence == "FREQ=WEEKLY;BYDAY=TH;COUNT=2"


# -- the planner: To Do carries the series on in a new task ------------------------------


def _task(**values: object) -> ErpActivity:
    """A weekly task of three occurrences, due on Thursdays, linked to Exchange's EX1."""
    fields: dict[str, object] = {
        "kind": Kind.TASK, "start_at": THURSDAY, "end_at": None, "due_at": THURSDAY,
        "status": TaskStatus.NOT_STARTED, "recurring": True,
        "recurrence": "FREQ=WEEKLY;BYDAY=TH;COUNT=3"}
    return activity(**{**fields, **values})


def _completed_in_to_do(task: ErpActivity) -> ExchangeItem:
    """The task as To Do leaves it: completed, same id, no recurrence."""
    return exchange_copy(task, status=TaskStatus.COMPLETED, percent_complete=100,
                         recurring=False, recurrence=None)


def _next_in_to_do(task: ErpActivity, **values: object) -> ExchangeItem:
    """The new task To Do makes: no ERP id, due a week later, the range as it began."""
    item = exchange_copy(task, erp_id=None, start=NEXT, due=NEXT)
    return replace(item, **values)  # type: ignore[arg-type]


def _to_do_pass(task: ErpActivity, *new: tuple[str, ExchangeItem]) -> Plan:
    """A pass reading the task completed in To Do and the ``new`` tasks (id, item)."""
    changes = (changed_exchange(_completed_in_to_do(task)),
               *(changed_exchange(item, item_id) for item_id, item in new))
    return run(kind=Kind.TASK, exchange=changes, links=(link(task),), capabilities=TO_DO,
               erp_current={1: task})


def _relinked(plan: Plan) -> str | None:
    saved = [a.link.exchange_id for a in plan.actions
             if isinstance(a, SaveLink) and a.link.erp_id == 1]
    return saved[0] if saved else None


def _imported_actions(plan: Plan) -> list[CreateInErp]:
    return [a for a in plan.actions if isinstance(a, CreateInErp)]


def _imported(plan: Plan) -> list[ErpActivity]:
    return [a.activity for a in plan.actions if isinstance(a, CreateInErp)]


def test_to_dos_new_task_takes_over_the_link_and_the_completed_one_becomes_a_row() -> None:
    task = _task()
    plan = _to_do_pass(task, ("N1", _next_in_to_do(task)))

    assert _relinked(plan) == "N1"
    [update] = [a for a in plan.actions if isinstance(a, UpdateInErp) and a.erp_id == 1]
    moved = update.activity
    assert (moved.due_at, moved.status, moved.recurrence) == (
        datetime(2026, 11, 12), TaskStatus.NOT_STARTED, "FREQ=WEEKLY;BYDAY=TH;COUNT=2")
    [one_off] = _imported(plan)
    assert (one_off.status, one_off.due_at, one_off.recurrence) == (
        TaskStatus.COMPLETED, THURSDAY, None)
    assert [a.exchange_id for a in plan.actions if isinstance(a, CreateInErp)] == ["EX1"]
    assert not plan.rejected and not plan.skipped


def test_completed_in_the_erp_the_row_moves_on_with_a_fresh_progress() -> None:
    # The ERP completed it and the pass wrote that to To Do; To Do made the new task.
    done = _task(status=TaskStatus.COMPLETED, percent_complete=100)
    plan = run(kind=Kind.TASK, capabilities=TO_DO, links=(link(done),), erp_current={1: done},
               exchange=(
        changed_exchange(_completed_in_to_do(done)),
        changed_exchange(_next_in_to_do(done, status=TaskStatus.NOT_STARTED,
                                        percent_complete=0), "N1")))
    assert _relinked(plan) == "N1"
    moved = fate(plan, erp_id=1).erp_written
    assert moved is not None
    assert (moved.status, moved.percent_complete, moved.due_at) == (
        TaskStatus.NOT_STARTED, 0, datetime(2026, 11, 12))


def test_a_lookalike_next_to_to_dos_new_task_moves_no_link_and_swallows_nothing() -> None:
    task = _task()
    plan = _to_do_pass(task, ("N1", _next_in_to_do(task)), ("L1", _next_in_to_do(task)))
    assert _relinked(plan) in (None, "EX1")
    assert sorted(a.exchange_id for a in plan.actions if isinstance(a, CreateInErp)) == [
        "L1", "N1"]  # each new task a row of its own; the completed one stays the row's


def test_a_new_task_that_does_not_go_on_with_the_series_is_not_its_continuation() -> None:
    task = _task()
    others = {
        "another title": _next_in_to_do(task, subject="Bericht (neu)"),
        "another due day": _next_in_to_do(task, start=date(2026, 11, 19),
                                          due=date(2026, 11, 19)),
        "another rule": _next_in_to_do(task, recurrence=_rule("FREQ=WEEKLY;BYDAY=TH;COUNT=9")),
        "another ERP id": _next_in_to_do(task, erp_id=42),
        "completed": _next_in_to_do(task, status=TaskStatus.COMPLETED, percent_complete=100),
        "another time zone": _next_in_to_do(task, recurrence=parse_rrule(
            "FREQ=WEEKLY;BYDAY=TH;COUNT=3", start=THURSDAY, time_zone="America/New_York")),
    }
    for why, other in others.items():
        plan = _to_do_pass(task, ("L1", other))
        assert _relinked(plan) != "L1", why
        # The completed task stays the row's: it is not imported as a one-off of its own.
        assert "EX1" not in [a.exchange_id for a in _imported_actions(plan)], why


def test_exchanges_way_needs_no_relink_and_is_not_refused_with_deleting_off() -> None:
    # EWS: the master moves on under its id (range one shorter) and a completed copy is
    # new. Moving on is no deletion: even with deleting tasks in the ERP off it is taken.
    task = _task()
    moved = exchange_copy(task, start=NEXT, due=NEXT,
                          recurrence=_rule("FREQ=WEEKLY;BYDAY=TH;COUNT=2", datetime(2026, 11, 12)))
    copy = exchange_copy(task, status=TaskStatus.COMPLETED, percent_complete=100,
                         recurring=False, recurrence=None)
    plan = run(kind=Kind.TASK, links=(link(task),), erp_current={1: task}, exchange=(
        changed_exchange(moved), changed_exchange(copy, "C1")),
        settings=EmployeeSettings(delete_tasks_in_erp=False))
    assert not plan.rejected
    written = fate(plan, erp_id=1).erp_written
    assert written is not None and written.recurrence == "FREQ=WEEKLY;BYDAY=TH;COUNT=2"
    assert [a.exchange_id for a in plan.actions if isinstance(a, CreateInErp)] == ["C1"]


def test_the_last_occurrence_completed_in_to_do_keeps_the_rows_rule() -> None:
    # To Do drops the rule and makes no new task; Exchange would keep it: so does the ERP.
    task = _task(recurrence="FREQ=WEEKLY;BYDAY=TH;COUNT=1")
    plan = _to_do_pass(task)
    row = fate(plan, erp_id=1)
    assert row.erp_written is not None
    assert (row.erp_written.status, row.erp_written.recurrence) == (
        TaskStatus.COMPLETED, "FREQ=WEEKLY;BYDAY=TH;COUNT=1")
    assert Side.EXCHANGE not in row.updated  # nothing written back to To Do
    assert not _imported(plan)


def test_a_completed_task_without_its_new_one_in_the_same_pass_is_taken_as_it_is() -> None:
    # No new task read with it (or the rule removed by hand): the row follows the task.
    task = _task()
    plan = run(kind=Kind.TASK, capabilities=TO_DO, links=(link(task),), erp_current={1: task},
               exchange=(changed_exchange(_completed_in_to_do(task)),))
    row = fate(plan, erp_id=1).erp_written
    assert row is not None and (row.status, row.recurrence) == (TaskStatus.COMPLETED, None)
    assert not _imported(plan)


def test_a_regenerating_task_is_refused_before_sending_where_to_do_cannot_hold_it() -> None:
    task = _task(recurrence="FREQ=WEEKLY;INTERVAL=2;X-REGENERATE=1")
    to_do = replace(TO_DO, regenerating=False)
    refused = run(kind=Kind.TASK, erp=(changed_erp(task),), capabilities=to_do)
    [rejected] = refused.rejected
    assert "a task that regenerates after completion (Microsoft Graph repeats on fixed "\
        "dates only) (X-REGENERATE)" in rejected.message
    assert "activity 1" in rejected.message and not refused.actions
    # Linked already (the rule changed to a regenerating one in the ERP): refused too.
    plain = _task(recurrence="FREQ=WEEKLY;BYDAY=TH;COUNT=3")
    changed = run(kind=Kind.TASK, erp=(changed_erp(task),), links=(link(plain),),
                  erp_current={1: task}, capabilities=to_do)
    assert changed.rejected and not changed.actions
    assert fate(run(kind=Kind.TASK, erp=(changed_erp(task),)), erp_id=1).created == {
        Side.EXCHANGE}  # EWS writes it


def test_to_dos_new_task_stamped_with_the_rows_own_erp_id_still_takes_over_the_link() -> None:
    # To Do may copy the completed task's properties to the new one, the ERP id included.
    task = _task()
    plan = _to_do_pass(task, ("N1", _next_in_to_do(task, erp_id=1)))
    assert _relinked(plan) == "N1"
    [one_off] = _imported(plan)
    assert (one_off.status, one_off.recurrence) == (TaskStatus.COMPLETED, None)


def test_a_task_moved_in_to_do_and_then_completed_goes_on_from_its_own_due_day() -> None:
    # Moved from the 5th to the 12th, then completed: To Do's next task is due the 19th.
    task = _task()
    moved_then_done = replace(_completed_in_to_do(task), start=NEXT, due=NEXT)
    after = date(2026, 11, 19)
    carrier = _next_in_to_do(task, start=after, due=after)
    plan = run(kind=Kind.TASK, capabilities=TO_DO, links=(link(task),), erp_current={1: task},
               exchange=(changed_exchange(moved_then_done), changed_exchange(carrier, "N1")))
    assert _relinked(plan) == "N1"
    moved = fate(plan, erp_id=1).erp_written
    assert moved is not None
    assert (moved.due_at, moved.recurrence) == (
        datetime(2026, 11, 19), "FREQ=WEEKLY;BYDAY=TH;COUNT=1")
    [one_off] = _imported(plan)
    assert (one_off.status, one_off.due_at) == (TaskStatus.COMPLETED, datetime(2026, 11, 12))


def test_a_rule_removed_by_hand_in_to_do_moves_no_link_to_a_lookalike() -> None:
    # Not completed, only its recurrence removed: no occurrence was done, nothing goes on.
    task = _task()
    single = exchange_copy(task, recurring=False, recurrence=None)
    plan = run(kind=Kind.TASK, capabilities=TO_DO, links=(link(task),), erp_current={1: task},
               exchange=(changed_exchange(single),
                         changed_exchange(_next_in_to_do(task), "L1")))
    assert _relinked(plan) != "L1"
    assert [a.exchange_id for a in plan.actions if isinstance(a, CreateInErp)] == ["L1"]
    row = fate(plan, erp_id=1).erp_written
    assert row is not None and (row.status, row.recurrence) == (TaskStatus.NOT_STARTED, None)


def test_to_do_carrying_a_series_on_leaves_the_other_linked_tasks_of_the_pass_alone() -> None:
    # Linked tasks read unchanged, or edited without any series, before the completed one.
    quiet = _task(erp_id=2, subject="Ablage", recurring=False, recurrence=None)
    edited = _task(erp_id=3, subject="Post", recurring=False, recurrence=None)
    task = _task()
    plan = run(kind=Kind.TASK, capabilities=TO_DO,
               links=(link(quiet, "Q1"), link(edited, "E1"), link(task)),
               erp_current={1: task, 2: quiet, 3: edited},
               exchange=(changed_exchange(exchange_copy(edited, subject="Post (neu)"), "E1"),
                         changed_exchange(_completed_in_to_do(task)),
                         changed_exchange(_next_in_to_do(task), "N1")))
    assert _relinked(plan) == "N1"
    assert [a.exchange_id for a in plan.actions if isinstance(a, CreateInErp)] == ["EX1"]
    post = fate(plan, erp_id=3).erp_written
    assert post is not None and post.subject == "Post (neu)"
    assert not fate(plan, erp_id=2).updated


def test_a_recurring_task_without_a_due_day_completed_in_to_do_is_taken_as_it_is() -> None:
    # Nothing says which occurrence was done: the row follows the task, no link moves.
    task = _task(due_at=None)
    done = _completed_in_to_do(task)
    plan = run(kind=Kind.TASK, capabilities=TO_DO, links=(link(task),), erp_current={1: task},
               exchange=(changed_exchange(replace(done, due=None)),
                         changed_exchange(_next_in_to_do(task, due=None), "L1")))
    assert _relinked(plan) != "L1"
    row = fate(plan, erp_id=1).erp_written
    assert row is not None and (row.status, row.recurrence) == (TaskStatus.COMPLETED, None)
