"""The three-way merge of one pair (DESIGN.md §3), and the conflicts a user reads: a
field changed on one side takes that side's value, changed on both to different values
goes to the policy's winner and is reported with both values as text."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from esexchange.domain.actions import Conflict
from esexchange.domain.merge import changed_fields, conflict_winner, merge, shown_value
from esexchange.domain.model import Importance, Item, Kind, Side, TaskStatus
from esexchange.domain.options import ConflictPolicy

BASE = Item(Kind.APPOINTMENT, "Planung", location="Raum 1", reminder_minutes=15,
            start=datetime(2026, 11, 5, 9, tzinfo=UTC), equipment=("Beamer",))
T = datetime(2026, 11, 2, 9, tzinfo=UTC)


def test_changed_fields_name_exactly_the_fields_that_differ() -> None:
    assert changed_fields(BASE, BASE) == frozenset()
    edited = Item(Kind.APPOINTMENT, "Neu", location="Raum 1", reminder_minutes=None,
                  start=BASE.start, equipment=("Beamer",))
    assert changed_fields(BASE, edited) == {"subject", "reminder_minutes"}


@pytest.mark.parametrize(
    ("policy", "erp_modified", "exchange_modified", "winner"),
    [
        (ConflictPolicy.NEWER_WINS, T, T + timedelta(seconds=1), Side.EXCHANGE),
        (ConflictPolicy.NEWER_WINS, T + timedelta(seconds=1), T, Side.ERP),
        (ConflictPolicy.NEWER_WINS, T, T, Side.ERP),
        (ConflictPolicy.NEWER_WINS, None, T, Side.ERP),
        (ConflictPolicy.NEWER_WINS, T, None, Side.ERP),
        (ConflictPolicy.ERP_WINS, T, T + timedelta(days=1), Side.ERP),
        (ConflictPolicy.EXCHANGE_WINS, T + timedelta(days=1), T, Side.EXCHANGE),
        (ConflictPolicy.EXCHANGE_WINS, None, None, Side.EXCHANGE),
    ],
)
def test_the_conflict_winner_follows_the_policy(
    policy: ConflictPolicy, erp_modified: datetime | None, exchange_modified: datetime | None,
    winner: Side,
) -> None:
    assert conflict_winner(policy, erp_modified, exchange_modified) is winner


def test_each_side_keeps_its_own_changes_and_the_winner_takes_the_conflicts() -> None:
    erp = Item(Kind.APPOINTMENT, "ERP", location="Raum 2", reminder_minutes=15,
               start=BASE.start, equipment=("Beamer",))
    exchange = Item(Kind.APPOINTMENT, "Outlook", location="Raum 1", reminder_minutes=30,
                    start=BASE.start, equipment=("Beamer",))
    for winner, subject in ((Side.ERP, "ERP"), (Side.EXCHANGE, "Outlook")):
        merged = merge(4, BASE, erp, exchange, winner=winner)
        assert (merged.item.subject, merged.item.location, merged.item.reminder_minutes) == (
            subject, "Raum 2", 30
        )
        assert merged.conflicts == (Conflict(4, "subject", "ERP", "Outlook", winner),)


def test_the_same_change_on_both_sides_is_taken_without_a_conflict() -> None:
    same = Item(Kind.APPOINTMENT, "Neu", location="Raum 1", reminder_minutes=15,
                start=BASE.start, equipment=("Beamer",))
    merged = merge(4, BASE, same, same, winner=Side.EXCHANGE)
    assert merged.item == same and merged.conflicts == ()


def test_erp_only_fields_are_never_taken_from_exchange() -> None:
    exchange = Item(Kind.APPOINTMENT, "Outlook", location="Raum 9", reminder_minutes=15,
                    start=BASE.start, equipment=())
    merged = merge(4, BASE, BASE, exchange, winner=Side.EXCHANGE,
                   erp_only=frozenset({"equipment", "subject"}))
    assert merged.item.equipment == ("Beamer",) and merged.item.subject == "Planung"
    assert merged.item.location == "Raum 9" and merged.conflicts == ()


def test_conflicts_show_times_lists_and_empty_values_as_text_sorted_by_field() -> None:
    later = datetime(2026, 11, 5, 10, tzinfo=UTC)
    erp = Item(Kind.APPOINTMENT, "Planung", location="Raum 1", reminder_minutes=None,
               start=later, equipment=("Beamer", "Flipchart"))
    exchange = Item(Kind.APPOINTMENT, "Planung", location="Raum 1", reminder_minutes=30,
                    start=later + timedelta(hours=1), equipment=("Tafel",))
    merged = merge(4, BASE, erp, exchange, winner=Side.ERP)
    assert merged.conflicts == (
        Conflict(4, "equipment", "Beamer, Flipchart", "Tafel", Side.ERP),
        Conflict(4, "reminder_minutes", "", "30", Side.ERP),
        Conflict(4, "start", "2026-11-05T10:00:00+00:00", "2026-11-05T11:00:00+00:00",
                 Side.ERP),
    )
    assert merged.item == erp


@pytest.mark.parametrize(("field", "erp_value", "exchange_value"), [
    ("subject", "Planung, Raum 2", ""), ("location", "Büro", "Raum 1"),
    ("start", datetime(2026, 12, 3, 13, 0, tzinfo=UTC), date(2026, 12, 3)),
    ("end", date(2026, 12, 4), datetime(2026, 12, 3, 15, 30, tzinfo=UTC)),
    ("importance", Importance.HIGH, Importance.LOW),
    ("activity_type_no", 20, None), ("reminder_minutes", 15, 0),
    ("due", date(2026, 12, 24), None), ("status", TaskStatus.WAITING, None),
    ("percent_complete", 50, 100),
])
def test_both_recorded_values_of_a_conflict_read_back_as_the_values(
    field: str, erp_value: object, exchange_value: object
) -> None:
    base = Item(Kind.TASK, "A", start=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
                importance=Importance.NORMAL, activity_type_no=10, reminder_minutes=5,
                due=date(2026, 12, 1), status=TaskStatus.IN_PROGRESS, percent_complete=25)
    merged = merge(1, base, replace(base, **{field: erp_value}),
                   replace(base, **{field: exchange_value}), winner=Side.ERP)
    [conflict] = merged.conflicts
    assert shown_value(field, conflict.erp_value) == erp_value
    assert shown_value(field, conflict.exchange_value) == exchange_value


def test_a_yes_or_no_reads_back() -> None:  # two values: never a conflict of its own
    assert (shown_value("private", "True"), shown_value("private", "False")) == (True, False)


def test_a_value_that_cannot_be_read_back_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'soon' is no due value"):
        shown_value("due", "soon")
    with pytest.raises(ValueError, match="equipment"):
        shown_value("equipment", "Beamer")
