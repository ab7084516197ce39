"""Mapping rules for times: ERP zone <-> UTC across DST, all-day spans, bad bounds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest

from esexchange.domain.errors import InvalidOption, ItemRejected
from esexchange.domain.mapping import (
    erp_to_item,
    exchange_to_item,
    item_to_erp,
    item_to_exchange,
    make_context,
)
from esexchange.domain.model import ErpActivity, ExchangeItem, Item, Kind, Reference
from esexchange.domain.options import ConnectionOptions
from tests.domain.mapping_support import REFERENCE, context, local, utc

A = Kind.APPOINTMENT


def appointment(start: str, end: str, *, all_day: bool = False) -> ErpActivity:
    return ErpActivity(
        id=1, kind=A, subject="Meeting", start_at=local(start), end_at=local(end), all_day=all_day
    )


def test_timed_erp_times_become_utc_with_winter_and_summer_offsets() -> None:
    ctx = context()
    winter = erp_to_item(appointment("2026-01-15T09:00", "2026-01-15T10:30"), ctx)
    summer = erp_to_item(appointment("2026-07-15T09:00", "2026-07-15T10:30"), ctx)
    assert (winter.start, winter.end) == (utc("2026-01-15T08:00"), utc("2026-01-15T09:30"))
    assert (summer.start, summer.end) == (utc("2026-07-15T07:00"), utc("2026-07-15T08:30"))


def test_utc_times_are_written_to_the_erp_as_naive_local_times() -> None:
    item = Item(kind=A, subject="x", start=utc("2026-07-15T07:00"), end=utc("2026-07-15T08:30"))
    row = item_to_erp(item, context())
    assert (row.start_at, row.end_at, row.all_day) == (
        local("2026-07-15T09:00"),
        local("2026-07-15T10:30"),
        False,
    )
    assert row.start_at is not None and row.start_at.tzinfo is None


def test_nonexistent_berlin_spring_forward_time_reads_with_the_offset_before_the_change() -> None:
    # 2026-03-29 02:00 -> 03:00 in Berlin: 02:30 never shows on a clock; fold=0 reads it
    # as 02:30 winter time = 01:30 UTC (03:30 summer time).
    item = erp_to_item(appointment("2026-03-29T02:30", "2026-03-29T04:00"), context())
    assert item.start == utc("2026-03-29T01:30")
    assert item.end == utc("2026-03-29T02:00")


def test_ambiguous_berlin_fall_back_time_reads_as_its_first_occurrence() -> None:
    # 2026-10-25 03:00 -> 02:00 in Berlin: 02:30 happens twice; fold=0 is the summer one.
    item = erp_to_item(appointment("2026-10-25T02:30", "2026-10-25T02:45"), context())
    assert item.start == utc("2026-10-25T00:30")
    assert item.end == utc("2026-10-25T00:45")


def test_second_occurrence_of_an_ambiguous_time_is_written_as_the_same_naive_time() -> None:
    item = Item(kind=A, subject="x", start=utc("2026-10-25T01:30"), end=utc("2026-10-25T01:45"))
    row = item_to_erp(item, context())
    assert row.start_at == local("2026-10-25T02:30")


def test_us_zone_gap_and_overlap_resolve_with_fold_zero() -> None:
    ctx = context("America/New_York")
    # 2026-03-08 02:00 -> 03:00 (EST -5 before), 2026-11-01 02:00 -> 01:00 (EDT -4 first).
    gap = erp_to_item(appointment("2026-03-08T02:30", "2026-03-08T04:00"), ctx)
    overlap = erp_to_item(appointment("2026-11-01T01:30", "2026-11-01T01:45"), ctx)
    assert gap.start == utc("2026-03-08T07:30")
    assert overlap.start == utc("2026-11-01T05:30")


def test_appointment_starting_in_the_gap_and_ending_just_after_shrinks_to_its_start() -> None:
    # 02:30 (gap) reads as 01:30 UTC, 03:15 summer time is 01:15 UTC: never end before start.
    item = erp_to_item(appointment("2026-03-29T02:30", "2026-03-29T03:15"), context())
    assert item.start == item.end == utc("2026-03-29T01:30")


def test_fractions_of_a_second_are_not_part_of_the_canonical_time() -> None:
    row = ErpActivity(
        id=1,
        kind=A,
        subject="x",
        start_at=datetime(2026, 1, 15, 9, 0, 0, 500_000),
        end_at=datetime(2026, 1, 15, 10, 0, 0, 999_999),
    )
    item = erp_to_item(row, context())
    assert (item.start, item.end) == (utc("2026-01-15T08:00"), utc("2026-01-15T09:00"))
    # Graph sends seven decimal places: the Exchange side reads as whole seconds too.
    start = utc("2026-01-15T08:00").replace(microsecond=250_000)
    outlook = ExchangeItem(kind=A, subject="x", start=start, end=start.replace(hour=9))
    read = exchange_to_item(outlook, context())
    assert (read.start, read.end) == (utc("2026-01-15T08:00"), utc("2026-01-15T09:00"))


def test_exchange_times_in_another_offset_are_normalised_to_utc() -> None:
    start = datetime.fromisoformat("2026-01-15T09:00+01:00")
    end = datetime.fromisoformat("2026-01-15T10:00+01:00")
    item = exchange_to_item(ExchangeItem(kind=A, subject="x", start=start, end=end), context())
    assert (item.start, item.end) == (utc("2026-01-15T08:00"), utc("2026-01-15T09:00"))
    assert item.start is not None and item.start.utcoffset() is not None


@pytest.fixture
def host_in_new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's own zone is New York for the test (the ERP's stays Berlin)."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("host_in_new_york")
def test_canonical_times_are_utc_whatever_the_machines_own_zone() -> None:
    # The canonical times, and with them the links' content hashes, are the same on
    # every host: UTC, not the zone the service happens to run in.
    erp = erp_to_item(appointment("2026-01-15T09:00", "2026-01-15T10:30"), context())
    start = datetime.fromisoformat("2026-01-15T09:00+01:00")
    exchange = exchange_to_item(ExchangeItem(kind=A, subject="x", start=start,
                                             end=start + timedelta(hours=1)), context())
    for moment in (erp.start, erp.end, exchange.start, exchange.end):
        assert isinstance(moment, datetime) and moment.utcoffset() == timedelta(0)
    assert erp.start == utc("2026-01-15T08:00") and exchange.start == utc("2026-01-15T08:00")


def test_all_day_erp_midnight_bounds_become_dates_with_exclusive_end() -> None:
    item = erp_to_item(appointment("2026-05-01T00:00", "2026-05-02T00:00", all_day=True), context())
    assert (item.start, item.end, item.all_day) == (date(2026, 5, 1), date(2026, 5, 2), True)


@pytest.mark.parametrize("last_moment", ["2026-05-03T23:59", "2026-05-03T23:59:59"])
def test_all_day_erp_end_late_on_the_last_day_is_inclusive(last_moment: str) -> None:
    item = erp_to_item(appointment("2026-05-01T00:00", last_moment, all_day=True), context())
    assert (item.start, item.end) == (date(2026, 5, 1), date(2026, 5, 4))
    row = item_to_erp(item, context())
    assert (row.start_at, row.end_at) == (local("2026-05-01T00:00"), local("2026-05-04T00:00"))


def test_all_day_erp_end_on_its_start_midnight_is_one_day() -> None:
    item = erp_to_item(appointment("2026-05-01T00:00", "2026-05-01T00:00", all_day=True), context())
    assert (item.start, item.end) == (date(2026, 5, 1), date(2026, 5, 2))


def test_all_day_event_spanning_the_berlin_dst_change_keeps_its_days() -> None:
    ctx = context()
    row = appointment("2026-03-28T00:00", "2026-03-31T00:00", all_day=True)
    item = erp_to_item(row, ctx)
    outgoing = item_to_exchange(item, ctx)
    assert (outgoing.start, outgoing.end) == (date(2026, 3, 28), date(2026, 3, 31))
    back = item_to_erp(exchange_to_item(outgoing, ctx), ctx)
    assert (back.start_at, back.end_at, back.all_day) == (row.start_at, row.end_at, True)


def test_all_day_event_in_a_zone_west_of_utc_keeps_its_days() -> None:
    ctx = context("America/Los_Angeles")
    incoming = ExchangeItem(kind=A, subject="Fair", start=date(2026, 11, 1), end=date(2026, 11, 3))
    row = item_to_erp(exchange_to_item(incoming, ctx), ctx)
    assert (row.start_at, row.end_at, row.all_day) == (
        local("2026-11-01T00:00"),
        local("2026-11-03T00:00"),
        True,
    )
    assert item_to_exchange(erp_to_item(row, ctx), ctx).start == date(2026, 11, 1)


def test_erp_appointment_ending_before_its_start_is_rejected_naming_end_at() -> None:
    with pytest.raises(ItemRejected) as caught:
        erp_to_item(appointment("2026-05-01T10:00", "2026-05-01T09:00"), context())
    assert caught.value.field == "end_at"
    assert "ERP activity 1" in caught.value.item


def test_exchange_appointment_ending_before_its_start_is_rejected_naming_end() -> None:
    item = ExchangeItem(
        kind=A, subject="Backwards", start=utc("2026-05-01T10:00"), end=utc("2026-05-01T09:00")
    )
    with pytest.raises(ItemRejected) as caught:
        exchange_to_item(item, context())
    assert caught.value.field == "end"
    assert "Backwards" in caught.value.item


def test_exchange_all_day_ending_before_its_start_is_rejected() -> None:
    item = ExchangeItem(kind=A, subject="x", start=date(2026, 5, 2), end=date(2026, 5, 1))
    with pytest.raises(ItemRejected, match="before the start"):
        exchange_to_item(item, context())


def test_exchange_time_without_zone_is_rejected() -> None:
    item = ExchangeItem(
        kind=A, subject="x", start=local("2026-05-01T10:00"), end=utc("2026-05-01T11:00")
    )
    with pytest.raises(ItemRejected) as caught:
        exchange_to_item(item, context())
    assert caught.value.field == "start"


def test_all_day_start_with_timed_end_is_rejected() -> None:
    item = ExchangeItem(kind=A, subject="x", start=date(2026, 5, 1), end=utc("2026-05-01T11:00"))
    with pytest.raises(ItemRejected) as caught:
        exchange_to_item(item, context())
    assert caught.value.field == "end"


def test_appointment_without_start_is_rejected_from_either_side() -> None:
    with pytest.raises(ItemRejected) as from_erp:
        erp_to_item(ErpActivity(id=3, kind=A, subject="x"), context())
    with pytest.raises(ItemRejected) as from_exchange:
        exchange_to_item(ExchangeItem(kind=A, subject="x"), context())
    assert (from_erp.value.field, from_exchange.value.field) == ("start_at", "start")


def test_erp_appointment_without_end_lasts_no_time() -> None:
    row = ErpActivity(id=1, kind=A, subject="x", start_at=local("2026-01-15T09:00"))
    item = erp_to_item(row, context())
    assert item.start == item.end == utc("2026-01-15T08:00")


def test_unknown_erp_time_zone_is_rejected_naming_the_option() -> None:
    options = ConnectionOptions(erp_time_zone="Europe/Atlantis")
    with pytest.raises(InvalidOption, match=r"erp_time_zone.*Europe/Atlantis"):
        make_context(options, REFERENCE, "UTC")


def test_invalid_host_zone_is_rejected_naming_the_option() -> None:
    with pytest.raises(InvalidOption, match=r"erp_time_zone.*host"):
        make_context(ConnectionOptions(), REFERENCE, "../etc/passwd")


def test_host_zone_is_used_when_no_erp_time_zone_is_set() -> None:
    ctx = make_context(ConnectionOptions(), Reference(), "America/New_York")
    assert ctx.erp_zone.key == "America/New_York"
    ctx = make_context(ConnectionOptions(erp_time_zone="Asia/Tokyo"), Reference(), "UTC")
    assert ctx.erp_zone.key == "Asia/Tokyo"
