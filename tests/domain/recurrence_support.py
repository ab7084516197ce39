"""Hypothesis strategies for series, and python-dateutil's ``rrule`` as the oracle."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from dateutil.rrule import rrulestr
from hypothesis import strategies as st

from esexchange.domain.recurrence import (
    AbsoluteMonthly,
    AbsoluteYearly,
    Daily,
    EndDate,
    NoEnd,
    Numbered,
    Recurrence,
    RelativeMonthly,
    RelativeYearly,
    Weekday,
    WeekIndex,
    Weekly,
)
from esexchange.domain.recurrence.model import DAY_GROUPS, month_lengths

ZONES = ("Europe/Berlin", "America/New_York")
TWO_YEARS = timedelta(days=731)

weekdays = st.sampled_from(list(Weekday))
day_groups = st.sampled_from(sorted(DAY_GROUPS))
indexes = st.sampled_from(list(WeekIndex))
months = st.integers(1, 12)


@st.composite
def _yearly_absolute(draw: st.DrawFn) -> AbsoluteYearly:
    month = draw(months)
    return AbsoluteYearly(month, draw(st.integers(1, month_lengths(month)[1])),
                          draw(st.integers(1, 3)))


patterns = st.one_of(
    st.builds(Daily, st.integers(1, 15)),
    st.builds(Weekly, st.sets(weekdays, min_size=1).map(lambda s: tuple(sorted(s))),
              st.integers(1, 4), weekdays),
    st.builds(AbsoluteMonthly, st.integers(1, 31), st.integers(1, 6)),
    st.builds(RelativeMonthly, day_groups, indexes, st.integers(1, 6)),
    _yearly_absolute(),
    st.builds(RelativeYearly, months, day_groups, indexes, st.integers(1, 3)),
)

starts = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31)).map(
    lambda d: d.replace(second=0, microsecond=0, minute=d.minute // 15 * 15))


@st.composite
def recurrences(draw: st.DrawFn) -> Recurrence:
    start = draw(starts)
    range_ = draw(st.one_of(
        st.just(NoEnd()),
        st.integers(0, 800).map(lambda n: EndDate(start.date() + timedelta(days=n))),
        st.integers(1, 80).map(Numbered),
    ))
    return Recurrence(start=start, pattern=draw(patterns), range=range_,
                      time_zone=draw(st.sampled_from(ZONES)))


def oracle(text: str, start: datetime, *, before: datetime) -> list[datetime]:
    """dateutil's occurrences of RRULE ``text`` from ``start`` up to ``before``.

    A date UNTIL means "through that day" here (see rrule.py); dateutil reads a bare date
    as its midnight, so the oracle is given the day's last second.
    """
    text = re.sub(r"UNTIL=(\d{8})(?=;|$)", r"UNTIL=\1T235959", text)
    rule = rrulestr(f"RRULE:{text}", dtstart=start)
    return [d for d in rule.between(start, before, inc=True) if d < before]


def last_day(day: date) -> datetime:
    return datetime.combine(day, datetime.max.time())
