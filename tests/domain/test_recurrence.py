"""Series as a user writes them: RRULE text, Graph's form, occurrences across DST."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from esexchange.domain.errors import RecurrenceInvalid, RecurrenceRefused
from esexchange.domain.recurrence import (
    AbsoluteMonthly,
    AbsoluteYearly,
    Daily,
    EndDate,
    Numbered,
    Recurrence,
    Regenerating,
    RelativeMonthly,
    RelativeYearly,
    Unit,
    Weekday,
    WeekIndex,
    Weekly,
    format_rrule,
    from_graph,
    is_generated,
    last_start,
    next_regeneration,
    occurrences,
    occurrences_utc,
    parse_rrule,
    require_ews_expressible,
    same_series,
    to_graph,
)
from esexchange.domain.recurrence.model import WEEKDAYS

MO, TU, TH, FR = Weekday.MONDAY, Weekday.TUESDAY, Weekday.THURSDAY, Weekday.FRIDAY
BERLIN, NEW_YORK = "Europe/Berlin", "America/New_York"


def parse(text: str, start: datetime = datetime(2026, 1, 5, 9), zone: str = BERLIN
          ) -> Recurrence:
    return parse_rrule(text, start=start, time_zone=zone)


def test_the_issues_example_is_a_fortnightly_series_until_end_of_june() -> None:
    series = parse("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;UNTIL=20270630",
                   start=datetime(2026, 3, 2, 9))
    assert series.pattern == Weekly((MO, TH), interval=2)
    assert series.range == EndDate(date(2027, 6, 30))
    assert occurrences(series, before=datetime(2026, 3, 20)) == [
        datetime(2026, 3, 2, 9), datetime(2026, 3, 5, 9), datetime(2026, 3, 16, 9),
        datetime(2026, 3, 19, 9)]
    assert last_start(series) == datetime(2027, 6, 24, 9)  # 28 June is in an off week


def test_a_berlin_meeting_keeps_nine_oclock_across_both_dst_switches() -> None:
    series = parse("FREQ=WEEKLY;BYDAY=MO", start=datetime(2026, 3, 23, 9))
    utc = occurrences_utc(series, before=datetime(2026, 11, 3))
    assert utc[:2] == [datetime(2026, 3, 23, 8, tzinfo=UTC), datetime(2026, 3, 30, 7, tzinfo=UTC)]
    assert utc[-2:] == [datetime(2026, 10, 26, 8, tzinfo=UTC),
                        datetime(2026, 11, 2, 8, tzinfo=UTC)]
    assert all(moment.astimezone(series.zone).hour == 9 for moment in utc)


def test_a_new_york_daily_call_moves_an_hour_in_utc_on_8_march() -> None:
    series = parse("FREQ=DAILY;COUNT=3", start=datetime(2026, 3, 7, 9), zone=NEW_YORK)
    assert occurrences_utc(series, before=datetime(2027, 1, 1)) == [
        datetime(2026, 3, 7, 14, tzinfo=UTC), datetime(2026, 3, 8, 13, tzinfo=UTC),
        datetime(2026, 3, 9, 13, tzinfo=UTC)]


@pytest.mark.parametrize(("text", "start", "pattern", "canonical"), [
    ("FREQ=DAILY;INTERVAL=3", datetime(2026, 1, 5, 9), Daily(3), "FREQ=DAILY;INTERVAL=3"),
    ("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", datetime(2026, 1, 5, 9), Weekly(WEEKDAYS),
     "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
    ("FREQ=WEEKLY", datetime(2026, 1, 8, 9), Weekly((TH,)), "FREQ=WEEKLY;BYDAY=TH"),
    ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU;WKST=SU", datetime(2026, 1, 5, 9),
     Weekly((MO, Weekday.SUNDAY), 2, Weekday.SUNDAY),
     "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU;WKST=SU"),
    ("FREQ=MONTHLY", datetime(2026, 1, 15, 9), AbsoluteMonthly(15),
     "FREQ=MONTHLY;BYMONTHDAY=15"),
    ("FREQ=MONTHLY;BYMONTHDAY=-1", datetime(2026, 1, 31, 9), AbsoluteMonthly(31),
     "FREQ=MONTHLY;BYMONTHDAY=-1"),
    ("FREQ=MONTHLY;BYMONTHDAY=28,29,30;BYSETPOS=-1", datetime(2026, 1, 30, 9),
     AbsoluteMonthly(30), "FREQ=MONTHLY;BYMONTHDAY=28,29,30;BYSETPOS=-1"),
    ("FREQ=MONTHLY;BYDAY=TU;BYSETPOS=2", datetime(2026, 1, 13, 9),
     RelativeMonthly((TU,), WeekIndex.SECOND), "FREQ=MONTHLY;BYDAY=2TU"),
    ("FREQ=MONTHLY;INTERVAL=3;BYDAY=-1FR", datetime(2026, 1, 30, 9),
     RelativeMonthly((FR,), WeekIndex.LAST, 3), "FREQ=MONTHLY;INTERVAL=3;BYDAY=-1FR"),
    ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", datetime(2026, 1, 30, 9),
     RelativeMonthly(WEEKDAYS, WeekIndex.LAST),
     "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"),
    ("FREQ=YEARLY", datetime(2026, 5, 14, 9), AbsoluteYearly(5, 14),
     "FREQ=YEARLY;BYMONTH=5;BYMONTHDAY=14"),
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1", datetime(2026, 2, 28, 9), AbsoluteYearly(2, 29),
     "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1"),
    ("rrule:freq=yearly;bymonth=11;byday=4th", datetime(2026, 11, 26, 9),
     RelativeYearly(11, (TH,), WeekIndex.FOURTH), "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH"),
])
def test_rules_read_as_exchange_patterns_and_write_back_canonically(
    text: str, start: datetime, pattern: object, canonical: str
) -> None:
    series = parse(text, start=start)
    assert series.pattern == pattern
    assert format_rrule(series) == canonical
    assert parse(canonical, start=start) == series


def test_day_30_falls_on_the_last_day_of_shorter_months_as_in_outlook() -> None:
    series = parse("FREQ=MONTHLY;BYMONTHDAY=28,29,30;BYSETPOS=-1", start=datetime(2028, 1, 30, 9))
    assert [d.date() for d in occurrences(series, before=datetime(2028, 4, 1))] == [
        date(2028, 1, 30), date(2028, 2, 29), date(2028, 3, 30)]


@pytest.mark.parametrize(("until", "last", "end"), [
    ("20260119", date(2026, 1, 19), date(2026, 1, 19)),  # a date includes its day
    ("20260119T090000", date(2026, 1, 19), date(2026, 1, 19)),  # at the start: included
    ("20260119T085959", date(2026, 1, 12), date(2026, 1, 18)),  # before it: the 19th is out
    ("20260119T080000Z", date(2026, 1, 19), date(2026, 1, 19)),  # 09:00 in Berlin
    ("20260119T075959Z", date(2026, 1, 12), date(2026, 1, 18)),
])
def test_until_includes_occurrences_starting_at_or_before_it(until: str, last: date,
                                                             end: date) -> None:
    series = parse(f"FREQ=WEEKLY;BYDAY=MO;UNTIL={until}")
    assert occurrences(series, before=datetime(2027, 1, 1))[-1].date() == last
    assert series.range == EndDate(end)  # the last day an occurrence may start


@pytest.mark.parametrize(("text", "part"), [
    ("FREQ=HOURLY", "FREQ"),
    ("FREQ=WEEKLY;BYHOUR=9,14", "BYHOUR"),
    ("FREQ=YEARLY;BYWEEKNO=20", "BYWEEKNO"),
    ("FREQ=MONTHLY;BYMONTHDAY=1,15", "BYMONTHDAY"),
    ("FREQ=MONTHLY;BYMONTHDAY=31", "BYMONTHDAY"),
    ("FREQ=MONTHLY;BYMONTHDAY=-2", "BYMONTHDAY"),
    ("FREQ=MONTHLY;BYDAY=MO,FR;BYSETPOS=1,2", "BYSETPOS"),
    ("FREQ=MONTHLY;BYDAY=MO,WE;BYSETPOS=1", "BYDAY"),
    ("FREQ=MONTHLY;BYDAY=5MO", "BYDAY"),
    ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=-2", "BYSETPOS"),
    ("FREQ=MONTHLY;BYDAY=MO", "BYDAY"),
    ("FREQ=MONTHLY;BYDAY=1MO,3MO", "BYDAY"),
    ("FREQ=MONTHLY;BYMONTH=3", "BYMONTH"),
    ("FREQ=YEARLY;BYMONTH=1,7", "BYMONTH"),
    ("FREQ=YEARLY;BYDAY=1MO", "BYDAY"),
    ("FREQ=YEARLY;BYMONTHDAY=15", "BYMONTHDAY"),
    ("FREQ=DAILY;INTERVAL=2;BYDAY=MO", "BYDAY"),
    ("FREQ=WEEKLY;BYSETPOS=1", "BYSETPOS"),
    ("FREQ=DAILY;COUNT=1000", "COUNT"),
    ("FREQ=DAILY;INTERVAL=1000", "INTERVAL"),
    ("FREQ=WEEKLY;X-NAME=1", "X-NAME"),
    ("FREQ=WEEKLY;BYDAY=MO;X-REGENERATE=1", "BYDAY"),
])
def test_rules_outlook_cannot_show_are_refused_naming_the_part(text: str, part: str) -> None:
    with pytest.raises(RecurrenceRefused) as refused:
        parse(text)
    assert refused.value.part == part
    assert str(refused.value).startswith("this series repeats in a way Outlook cannot show: ")
    assert str(refused.value).endswith(f"({part})")


@pytest.mark.parametrize("text", [
    "", "BYDAY=MO", "FREQ=WEEKLY;FREQ=DAILY", "FREQ=FORTNIGHTLY", "FREQ=WEEKLY;INTERVAL=0",
    "FREQ=WEEKLY;INTERVAL=two", "FREQ=DAILY;COUNT=3;UNTIL=20270101", "FREQ=WEEKLY;BYDAY=XX",
    "FREQ=WEEKLY;UNTIL=2027", "FREQ=WEEKLY;UNTIL=20270231", "FREQ=WEEKLY;FOO=1",
    "FREQ=WEEKLY;BYDAY=1MO", "FREQ=WEEKLY;X-REGENERATE=2", "FREQ=MONTHLY;BYMONTHDAY=0",
])
def test_text_that_is_no_rule_is_invalid(text: str) -> None:
    with pytest.raises(RecurrenceInvalid):
        parse(text)


def test_a_series_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(RecurrenceRefused) as refused:
        parse("FREQ=DAILY;UNTIL=20260101")
    assert refused.value.part == "UNTIL"


def test_a_task_that_regenerates_two_weeks_after_completion() -> None:
    series = parse("FREQ=WEEKLY;INTERVAL=2;X-REGENERATE=1;COUNT=5")
    assert series.pattern == Regenerating(Unit.WEEK, 2)
    assert series.regenerating and series.range == Numbered(5)
    assert format_rrule(series) == "FREQ=WEEKLY;INTERVAL=2;COUNT=5;X-REGENERATE=1"
    assert next_regeneration(series.pattern, date(2026, 5, 29)) == date(2026, 6, 12)
    assert next_regeneration(Regenerating(Unit.MONTH), date(2026, 1, 31)) == date(2026, 2, 28)
    assert next_regeneration(Regenerating(Unit.YEAR), date(2028, 2, 29)) == date(2029, 2, 28)
    assert occurrences(series, before=datetime(2030, 1, 1)) == [series.start]
    with pytest.raises(RecurrenceRefused) as refused:
        to_graph(series)
    assert refused.value.part == "X-REGENERATE"


def test_deleted_occurrences_are_left_out_but_still_count() -> None:
    base = parse("FREQ=WEEKLY;BYDAY=MO;COUNT=3")
    series = Recurrence(start=base.start, pattern=base.pattern, range=base.range,
                        time_zone=base.time_zone, deleted=frozenset({datetime(2026, 1, 12, 9)}),
                        modified=frozenset({datetime(2026, 1, 19, 9)}))
    assert occurrences(series, before=datetime(2027, 1, 1)) == [
        datetime(2026, 1, 5, 9), datetime(2026, 1, 19, 9)]
    assert is_generated(series, datetime(2026, 1, 12, 9))
    assert not is_generated(series, datetime(2026, 1, 13, 9))
    assert not is_generated(series, datetime(2026, 1, 26, 9))  # after COUNT=3


def test_graph_reads_what_microsoft_returns_with_its_defaults() -> None:
    returned = {
        "pattern": {"type": "relativeMonthly", "interval": 1, "month": 0, "dayOfMonth": 0,
                    "daysOfWeek": ["tuesday"], "firstDayOfWeek": "sunday", "index": "second"},
        "range": {"type": "noEnd", "startDate": "2026-01-13", "endDate": "0001-01-01",
                  "recurrenceTimeZone": "W. Europe Standard Time", "numberOfOccurrences": 0},
    }
    series = from_graph(returned, start=datetime(2026, 1, 13, 10, 30), time_zone=BERLIN)
    assert series.pattern == RelativeMonthly((TU,), WeekIndex.SECOND)
    assert format_rrule(series) == "FREQ=MONTHLY;BYDAY=2TU"
    assert series.start == datetime(2026, 1, 13, 10, 30)


def test_graph_writes_the_documented_shape() -> None:
    series = parse("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;COUNT=10", start=datetime(2026, 3, 2, 9))
    assert to_graph(series) == {
        "pattern": {"type": "weekly", "interval": 2, "daysOfWeek": ["monday", "thursday"],
                    "firstDayOfWeek": "monday"},
        "range": {"type": "numbered", "numberOfOccurrences": 10, "startDate": "2026-03-02",
                  "recurrenceTimeZone": BERLIN},
    }


def test_graph_text_that_is_no_recurrence_is_invalid() -> None:
    with pytest.raises(RecurrenceInvalid):
        from_graph({"pattern": {"type": "hourly"}, "range": {"type": "noEnd"}},
                   start=datetime(2026, 1, 1, 9), time_zone=BERLIN)


def test_ews_has_no_interval_for_yearly_patterns() -> None:
    every_other_year = parse("FREQ=YEARLY;INTERVAL=2", start=datetime(2026, 5, 14, 9))
    with pytest.raises(RecurrenceRefused) as refused:
        require_ews_expressible(every_other_year)
    assert refused.value.part == "INTERVAL"
    require_ews_expressible(parse("FREQ=MONTHLY;INTERVAL=2"))


def test_same_series_compares_what_generates_the_dates_not_the_changed_occurrences() -> None:
    weekly = parse_rrule("FREQ=WEEKLY;BYDAY=MO;COUNT=10", start=datetime(2026, 3, 23, 9),
                         time_zone="Europe/Berlin")
    edited = replace(weekly, modified=frozenset({datetime(2026, 3, 30, 9)}),
                     deleted=frozenset({datetime(2026, 4, 6, 9)}))
    assert same_series(weekly, edited)
    assert not same_series(weekly, replace(weekly, range=Numbered(4)))
    assert not same_series(weekly, replace(weekly, time_zone="America/New_York"))
    assert not same_series(weekly, replace(weekly, start=datetime(2026, 3, 23, 10)))
    assert not same_series(weekly, replace(weekly, pattern=Weekly((Weekday.TUESDAY,))))
