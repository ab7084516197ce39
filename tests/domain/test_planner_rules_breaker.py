"""The circuit breaker (DESIGN.md §3): without approval, a plan deleting more than 10
items and more than the guard's share (``delete_guard_percent``, 20 %) of the linked
pairs holds every deletion; each deletion counts once, tombstones are not pairs."""

from __future__ import annotations

from dataclasses import replace

import pytest

from esexchange.domain.actions import Detach, Plan
from esexchange.domain.model import Kind, Side
from esexchange.domain.state import Link, MailboxChange
from tests.domain.planner_support import deletions, fate
from tests.domain.test_planner import (
    OPTIONS,
    activity,
    changed_erp,
    deleted_erp,
    link,
    run,
)


def pairs(count: int) -> tuple[Link, ...]:
    return tuple(link(activity(i), exchange_id=f"EX{i}") for i in range(1, count + 1))


def delete_in_erp(deleted: int, linked: int, **more: object) -> Plan:
    """``deleted`` of ``linked`` pairs deleted in the ERP."""
    links = more.pop("links", pairs(linked))
    return run(erp=tuple(deleted_erp(i) for i in range(1, deleted + 1)),
               links=links, **more)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("deleted", "linked", "held"),
    [
        (10, 10, False),  # never more than 10
        (11, 11, True),
        (11, 55, False),  # 11 is exactly 20 % of 55: not more than the share
        (11, 54, True),
        (12, 60, False),
        (13, 60, True),
    ],
)
def test_the_breaker_holds_more_than_10_and_more_than_the_share(
    deleted: int, linked: int, held: bool
) -> None:
    result = delete_in_erp(deleted, linked)
    assert deletions(result) == ((0, deleted) if held else (deleted, 0))


def test_a_held_plan_still_does_everything_but_deleting() -> None:
    edited = activity(60, location="Raum 2")
    result = run(
        erp=(*(deleted_erp(i) for i in range(1, 12)), changed_erp(edited)),
        links=(*pairs(11), link(activity(60), exchange_id="EX60")),
    )
    assert deletions(result) == (0, 11)
    assert Side.EXCHANGE in fate(result, erp_id=60).updated
    assert fate(result, erp_id=1).held == {Side.EXCHANGE}


def test_tombstones_do_not_count_as_linked_pairs() -> None:
    tombstones = tuple(
        replace(link(activity(i), exchange_id=f"EX{i}"), detached=Side.ERP)
        for i in range(100, 110)
    )
    # 11 of 50 pairs is more than 20 %; with the 10 tombstones counted it would be 11 of 60.
    result = delete_in_erp(11, 50, links=pairs(50) + tombstones)
    assert deletions(result) == (0, 11)


def test_deletions_toward_both_sides_count_together() -> None:
    links = pairs(40)
    gone_in_exchange = tuple(MailboxChange(f"EX{i}", Kind.APPOINTMENT, None) for i in range(7, 13))
    result = run(
        erp=tuple(deleted_erp(i) for i in range(1, 7)), exchange=gone_in_exchange, links=links,
        erp_current={i: activity(i) for i in range(7, 13)},
    )
    assert deletions(result) == (0, 12)
    assert fate(result, erp_id=1).held == {Side.EXCHANGE}
    assert fate(result, erp_id=7).held == {Side.ERP}


def test_approved_deletions_all_go_through() -> None:
    assert deletions(delete_in_erp(40, 40, approve_deletions=True)) == (40, 0)


def test_rejected_deletions_detach_every_pair_and_delete_nothing() -> None:
    links = pairs(40)
    gone_in_exchange = tuple(MailboxChange(f"EX{i}", Kind.APPOINTMENT, None) for i in range(7, 13))
    result = run(
        erp=tuple(deleted_erp(i) for i in range(1, 7)), exchange=gone_in_exchange, links=links,
        erp_current={i: activity(i) for i in range(7, 13)}, reject_deletions=True,
    )
    assert deletions(result) == (0, 0) and result.held == ()
    detached = {step.record.link.erp_id: step.record.link.detached for step in result.steps
                if isinstance(step.record, Detach)}
    assert detached == {**dict.fromkeys(range(1, 7), Side.ERP),
                        **dict.fromkeys(range(7, 13), Side.EXCHANGE)}


def test_rejecting_changes_nothing_when_the_breaker_would_not_hold() -> None:
    assert deletions(delete_in_erp(5, 40, reject_deletions=True)) == (5, 0)


@pytest.mark.parametrize(("percent", "held"), [(100, False), (0, True), (50, False)])
def test_the_guard_percent_sets_the_share(percent: int, held: bool) -> None:
    options = replace(OPTIONS, delete_guard_percent=percent)
    result = delete_in_erp(11, 22, options=options)
    assert deletions(result) == ((0, 11) if held else (11, 0))
