"""Properties of series over generated values, with python-dateutil's rrule as oracle.

For every pattern and range: the RRULE text round-trips, Graph's form round-trips, and
the occurrence starts over two years (local wall time and UTC, Europe/Berlin and
America/New_York) are the ones dateutil computes from the same text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import event, given
from hypothesis import strategies as st

from esexchange.domain.errors import RecurrenceInvalid, RecurrenceRefused
from esexchange.domain.recurrence import (
    Recurrence,
    format_rrule,
    from_graph,
    occurrences,
    occurrences_utc,
    parse_rrule,
    to_graph,
)
from tests.domain.recurrence_support import TWO_YEARS, ZONES, oracle, recurrences, starts


@given(recurrences())
def test_rrule_text_round_trips(series: Recurrence) -> None:
    text = format_rrule(series)
    again = parse_rrule(text, start=series.start, time_zone=series.time_zone)
    assert again == series
    assert format_rrule(again) == text


@given(recurrences())
def test_graph_form_round_trips(series: Recurrence) -> None:
    assert from_graph(to_graph(series), start=series.start,
                      time_zone=series.time_zone) == series


@given(recurrences())
def test_occurrences_over_two_years_are_dateutils(series: Recurrence) -> None:
    before = series.start + TWO_YEARS
    expected = oracle(format_rrule(series), series.start, before=before)
    assert occurrences(series, before=before) == expected
    zone = ZoneInfo(series.time_zone)
    assert occurrences_utc(series, before=before) == [
        d.replace(tzinfo=zone).astimezone(UTC) for d in expected]


@given(recurrences())
def test_occurrences_keep_the_wall_time_whatever_the_offset(series: Recurrence) -> None:
    for moment in occurrences_utc(series, before=series.start + TWO_YEARS):
        local = moment.astimezone(series.zone)
        # A wall time a DST switch skips is the moment an hour later on the clock.
        assert local.time() == series.start.time() or local.hour == series.start.hour + 1


_PARTS = st.fixed_dictionaries({
    "FREQ": st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]),
}, optional={
    "INTERVAL": st.integers(1, 4).map(str),
    "BYDAY": st.lists(
        st.tuples(st.sampled_from(["", "1", "2", "3", "4", "5", "-1", "-2"]),
                  st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU"])),
        min_size=1, max_size=7, unique_by=lambda t: t[1],
    ).map(lambda days: ",".join(o + d for o, d in days)),
    "BYMONTHDAY": st.lists(st.sampled_from([1, 15, 28, 29, 30, 31, -1, -2]), min_size=1,
                           max_size=4, unique=True).map(lambda v: ",".join(map(str, v))),
    "BYMONTH": st.lists(st.integers(1, 12), min_size=1, max_size=2, unique=True)
    .map(lambda v: ",".join(map(str, v))),
    "BYSETPOS": st.sampled_from(["1", "2", "4", "-1", "5", "1,2"]),
    "WKST": st.sampled_from(["MO", "SU", "WE"]),
    "COUNT": st.integers(1, 40).map(str),
})


@given(_PARTS, starts, st.sampled_from(ZONES))
def test_an_accepted_rule_is_never_approximated(parts: dict[str, str], start: datetime,
                                               zone: str) -> None:
    """Whatever RRULE text is accepted has exactly the dates RFC 5545 gives it."""
    text = ";".join(f"{name}={value}" for name, value in parts.items())
    try:
        series = parse_rrule(text, start=start, time_zone=zone)
    except (RecurrenceRefused, RecurrenceInvalid) as exc:
        event(f"refused: {type(exc).__name__}")
        return  # refused or not a rule: nothing to compare
    event(f"accepted: {type(series.pattern).__name__}")
    before = start + TWO_YEARS
    assert occurrences(series, before=before) == oracle(text, start, before=before)


_RELATIVE = st.one_of(
    st.tuples(st.sampled_from(["1", "2", "3", "4", "-1", "5", "-2"]),
              st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU"]))
    .map(lambda t: {"BYDAY": t[0] + t[1]}),
    st.tuples(st.sampled_from(["MO,TU,WE,TH,FR", "SA,SU", "MO,TU,WE,TH,FR,SA,SU", "TU",
                               "MO,WE"]),
              st.sampled_from(["1", "2", "3", "4", "-1", "-2"]))
    .map(lambda t: {"BYDAY": t[0], "BYSETPOS": t[1]}),
)


@given(st.sampled_from(["MONTHLY", "YEARLY"]), _RELATIVE, st.integers(1, 12),
       st.integers(1, 3), starts, st.sampled_from(ZONES))
def test_relative_rules_are_dateutils(freq: str, parts: dict[str, str], month: int,
                                      interval: int, start: datetime, zone: str) -> None:
    text = ";".join([f"FREQ={freq}", f"INTERVAL={interval}",
                     *(f"{k}={v}" for k, v in parts.items()),
                     *([f"BYMONTH={month}"] if freq == "YEARLY" else [])])
    try:
        series = parse_rrule(text, start=start, time_zone=zone)
    except RecurrenceRefused as exc:
        assert exc.part in ("BYDAY", "BYSETPOS")
        return
    before = start + TWO_YEARS
    assert occurrences(series, before=before) == oracle(text, start, before=before)
    assert format_rrule(parse_rrule(format_rrule(series), start=start, time_zone=zone)) \
        == format_rrule(series)
