"""RFC 5545 ``RRULE`` text <-> ``Recurrence``.

``parse_rrule`` reads the parts FREQ (DAILY, WEEKLY, MONTHLY, YEARLY), INTERVAL, BYDAY
(with ordinals in monthly and yearly rules), BYMONTHDAY, BYMONTH, BYSETPOS (one
position), WKST, UNTIL and COUNT, plus ``X-REGENERATE=1``: a task that comes back
INTERVAL units of FREQ after it was completed (Outlook's "regenerate new task"). A rule
whose dates Outlook cannot produce raises ``RecurrenceRefused`` naming the part; text
that is not a rule at all raises ``RecurrenceInvalid``. Nothing is approximated.

Two readings are fixed here because the ERP's times are naive local times:

- ``UNTIL=20270630`` (a date) includes the occurrences of 30 June 2027; an UNTIL with a
  time (local, or UTC with ``Z``) includes the occurrences that start at or before it.
- A day of month that some months lack (``BYMONTHDAY=31``) is refused: RFC 5545 skips
  those months, Outlook moves them to the last day. Outlook's own reading is written
  ``BYMONTHDAY=-1`` (day 31) or ``BYMONTHDAY=28,29,30;BYSETPOS=-1`` (day 30).

``format_rrule`` writes the canonical text, which ``parse_rrule`` reads back to the
same value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from esexchange.domain.errors import RecurrenceInvalid, RecurrenceRefused
from esexchange.domain.recurrence.model import (
    AbsoluteMonthly,
    AbsoluteYearly,
    Daily,
    EndDate,
    NoEnd,
    Numbered,
    Pattern,
    Range,
    Recurrence,
    Regenerating,
    RelativeMonthly,
    RelativeYearly,
    Unit,
    Weekday,
    WeekIndex,
    Weekly,
    month_lengths,
)

DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
_UNITS = dict(zip(_FREQUENCIES, Unit, strict=True))
_SUPPORTED = frozenset({"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY",
                        "BYMONTH", "BYSETPOS", "WKST", "X-REGENERATE"})
_RFC_UNSUPPORTED = frozenset({"BYSECOND", "BYMINUTE", "BYHOUR", "BYYEARDAY", "BYWEEKNO",
                              "RSCALE", "SKIP"})
_BYDAY = re.compile(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_UNTIL = re.compile(r"(\d{8})(?:T(\d{6})(Z?))?")


@dataclass(frozen=True)
class _Parts:
    """The rule parts, syntax-checked, before they are made into a pattern."""

    freq: str
    interval: int
    by_day: tuple[tuple[int | None, Weekday], ...]
    by_month_day: tuple[int, ...]
    by_month: tuple[int, ...]
    by_set_pos: tuple[int, ...]
    wkst: Weekday
    regenerate: bool


def parse_rrule(text: str, *, start: datetime, time_zone: str) -> Recurrence:
    """The series ``text`` describes, first occurring at ``start`` (naive, in ``time_zone``)."""
    raw = _split(text)
    parts = _Parts(
        freq=_frequency(raw["FREQ"]),
        interval=_positive(raw, "INTERVAL", default=1),
        by_day=tuple(_weekday_entry(v) for v in _list(raw, "BYDAY")),
        by_month_day=tuple(_integer("BYMONTHDAY", v, -31, 31) for v in _list(raw, "BYMONTHDAY")),
        by_month=tuple(_integer("BYMONTH", v, 1, 12) for v in _list(raw, "BYMONTH")),
        by_set_pos=tuple(_integer("BYSETPOS", v, -366, 366) for v in _list(raw, "BYSETPOS")),
        wkst=_day_code(raw["WKST"], "WKST") if "WKST" in raw else Weekday.MONDAY,
        regenerate=_regenerate(raw),
    )
    if "COUNT" in raw and "UNTIL" in raw:
        raise RecurrenceInvalid(f"{text!r}: COUNT and UNTIL exclude each other")
    range_: Range = NoEnd()
    if "COUNT" in raw:
        range_ = Numbered(_positive(raw, "COUNT", default=1))
    elif "UNTIL" in raw:
        range_ = EndDate(_until(raw["UNTIL"], start, time_zone))
    pattern = _regenerating(parts) if parts.regenerate else _pattern(parts, start)
    return Recurrence(start=start, pattern=pattern, range=range_, time_zone=time_zone)


def format_rrule(recurrence: Recurrence) -> str:
    """The canonical RRULE text of a series (without the ``RRULE:`` prefix)."""
    pattern = recurrence.pattern
    parts: list[tuple[str, str]] = []
    if isinstance(pattern, Regenerating):
        parts.append(("FREQ", _FREQUENCIES[pattern.unit - 1]))
    else:
        parts.append(("FREQ", _PATTERN_FREQ[type(pattern)]))
    if pattern.interval > 1:
        parts.append(("INTERVAL", str(pattern.interval)))
    if isinstance(pattern, Weekly):
        parts.append(("BYDAY", ",".join(DAY_CODES[d] for d in pattern.days)))
        if pattern.first_day_of_week is not Weekday.MONDAY:
            parts.append(("WKST", DAY_CODES[pattern.first_day_of_week]))
    elif isinstance(pattern, AbsoluteMonthly | AbsoluteYearly):
        month = pattern.month if isinstance(pattern, AbsoluteYearly) else None
        if month is not None:
            parts.append(("BYMONTH", str(month)))
        parts.extend(_month_day_parts(pattern.day_of_month, month))
    elif isinstance(pattern, RelativeMonthly | RelativeYearly):
        if isinstance(pattern, RelativeYearly):
            parts.append(("BYMONTH", str(pattern.month)))
        if len(pattern.days) == 1:
            parts.append(("BYDAY", f"{int(pattern.index)}{DAY_CODES[pattern.days[0]]}"))
        else:
            parts.append(("BYDAY", ",".join(DAY_CODES[d] for d in pattern.days)))
            parts.append(("BYSETPOS", str(int(pattern.index))))
    range_ = recurrence.range
    if isinstance(range_, Numbered):
        parts.append(("COUNT", str(range_.count)))
    elif isinstance(range_, EndDate):
        parts.append(("UNTIL", range_.last.strftime("%Y%m%d")))
    if isinstance(pattern, Regenerating):
        parts.append(("X-REGENERATE", "1"))
    return ";".join(f"{name}={value}" for name, value in parts)


_PATTERN_FREQ: dict[type, str] = {
    Daily: "DAILY", Weekly: "WEEKLY", AbsoluteMonthly: "MONTHLY", RelativeMonthly: "MONTHLY",
    AbsoluteYearly: "YEARLY", RelativeYearly: "YEARLY",
}


# --- month days ---------------------------------------------------------------------


def _month_day_parts(day: int, month: int | None) -> list[tuple[str, str]]:
    shortest, longest = month_lengths(month)
    if day <= shortest:
        return [("BYMONTHDAY", str(day))]
    if day >= longest:
        return [("BYMONTHDAY", "-1")]
    days = ",".join(str(d) for d in range(shortest, day + 1))
    return [("BYMONTHDAY", days), ("BYSETPOS", "-1")]


def _month_day(days: tuple[int, ...], set_pos: tuple[int, ...], month: int | None) -> int:
    """Outlook's day of month for BYMONTHDAY (and BYSETPOS), or a refusal."""
    shortest, longest = month_lengths(month)
    if len(days) == 1 and not set_pos:
        (day,) = days
        if 1 <= day <= shortest:
            return day
        if day == -1:
            return longest
        raise RecurrenceRefused(
            f"day {day} of the month, which some months lack (RFC 5545 skips those months, "
            "Outlook moves them to the last day; write BYMONTHDAY=-1 for the last day)",
            part="BYMONTHDAY")
    last = max(days, default=0)
    if set_pos == (-1,) and days == tuple(range(shortest, last + 1)) and last <= longest:
        return last
    if len(set_pos) > 1:
        raise RecurrenceRefused("several positions", part="BYSETPOS")
    raise RecurrenceRefused(f"several days of the month ({','.join(map(str, days))})",
                            part="BYMONTHDAY")


# --- patterns -----------------------------------------------------------------------


def _pattern(p: _Parts, start: datetime) -> Pattern:
    if p.freq in ("DAILY", "WEEKLY"):
        _refuse_present(p, "BYMONTH", "BYMONTHDAY", "BYSETPOS", context=p.freq)
        if any(ordinal is not None for ordinal, _ in p.by_day):
            raise RecurrenceInvalid(f"BYDAY with an ordinal in a {p.freq} rule")
        days = tuple(sorted({day for _, day in p.by_day}))
        if p.freq == "DAILY" and not days:
            return Daily(p.interval)
        if p.freq == "DAILY" and p.interval > 1:
            raise RecurrenceRefused("every few days, but only on some weekdays", part="BYDAY")
        return Weekly(days or (Weekday(start.weekday()),), p.interval, p.wkst)
    month: int | None = None
    if p.freq == "MONTHLY":
        _refuse_present(p, "BYMONTH", context="MONTHLY")
    else:
        if len(p.by_month) > 1:
            raise RecurrenceRefused("several months", part="BYMONTH")
        month = p.by_month[0] if p.by_month else None
    if p.by_day and p.by_month_day:
        raise RecurrenceRefused("both days of the week and days of the month", part="BYDAY")
    if p.by_day:
        if month is None and p.freq == "YEARLY":
            raise RecurrenceRefused("a weekday counted in the whole year (no BYMONTH)",
                                    part="BYDAY")
        days, index = _relative(p)
        if month is None:
            return RelativeMonthly(days, index, p.interval)
        return RelativeYearly(month, days, index, p.interval)
    if p.by_month_day and month is None and p.freq == "YEARLY":
        raise RecurrenceRefused("days of the month in a yearly rule without BYMONTH "
                                "(that repeats every month)", part="BYMONTHDAY")
    if p.freq == "YEARLY" and month is None:
        month = start.month
    day = _month_day(p.by_month_day or (start.day,), p.by_set_pos, month)
    if month is None:
        return AbsoluteMonthly(day, p.interval)
    return AbsoluteYearly(month, day, p.interval)


def _relative(p: _Parts) -> tuple[tuple[Weekday, ...], WeekIndex]:
    ordinals = {ordinal for ordinal, _ in p.by_day}
    days = tuple(sorted({day for _, day in p.by_day}))
    if ordinals != {None}:
        if len(p.by_day) > 1 or p.by_set_pos:
            raise RecurrenceRefused("several weekdays with ordinals", part="BYDAY")
        (ordinal,) = ordinals
        assert ordinal is not None
        return days, _week_index(ordinal, "BYDAY")
    if not p.by_set_pos:
        raise RecurrenceRefused("every such weekday of the month (Outlook repeats monthly "
                                "on one of them: add an ordinal or BYSETPOS)", part="BYDAY")
    if len(p.by_set_pos) > 1:
        raise RecurrenceRefused("several positions", part="BYSETPOS")
    return days, _week_index(p.by_set_pos[0], "BYSETPOS")  # the pattern checks the days


def _week_index(value: int, part: str) -> WeekIndex:
    try:
        return WeekIndex(value)
    except ValueError:
        raise RecurrenceRefused(f"position {value} (Outlook counts the first to fourth and "
                                "the last)", part=part) from None


def _regenerating(p: _Parts) -> Regenerating:
    for name, value in (("BYDAY", p.by_day), ("BYMONTHDAY", p.by_month_day),
                        ("BYMONTH", p.by_month), ("BYSETPOS", p.by_set_pos)):
        if value:
            raise RecurrenceRefused("a regenerating task with fixed days", part=name)
    return Regenerating(_UNITS[p.freq], p.interval)


def _refuse_present(p: _Parts, *names: str, context: str) -> None:
    present = {"BYMONTH": p.by_month, "BYMONTHDAY": p.by_month_day, "BYSETPOS": p.by_set_pos}
    for name in names:
        if present[name]:
            raise RecurrenceRefused(f"{name} in a {context} rule", part=name)


# --- syntax -------------------------------------------------------------------------


def _split(text: str) -> dict[str, str]:
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    raw: dict[str, str] = {}
    for piece in body.split(";"):
        name, sep, value = piece.partition("=")
        name = name.strip().upper()
        if not sep or not name or not value.strip():
            raise RecurrenceInvalid(f"{text!r}: {piece!r} is not NAME=VALUE")
        if name in raw:
            raise RecurrenceInvalid(f"{text!r}: {name} is given twice")
        if name in _RFC_UNSUPPORTED or (name.startswith("X-") and name not in _SUPPORTED):
            raise RecurrenceRefused(f"the rule part {name}", part=name)
        if name not in _SUPPORTED:
            raise RecurrenceInvalid(f"{text!r}: {name} is not an RRULE part")
        raw[name] = value.strip().upper()
    if "FREQ" not in raw:
        raise RecurrenceInvalid(f"{text!r}: FREQ is missing")
    return raw


def _frequency(value: str) -> str:
    if value in ("SECONDLY", "MINUTELY", "HOURLY"):
        raise RecurrenceRefused(f"FREQ={value} (Outlook repeats daily at most)", part="FREQ")
    if value not in _FREQUENCIES:
        raise RecurrenceInvalid(f"FREQ={value} is not a frequency")
    return value


def _list(raw: dict[str, str], name: str) -> list[str]:
    return raw[name].split(",") if name in raw else []


def _integer(name: str, value: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise RecurrenceInvalid(f"{name}={value} is not a number") from None
    if number == 0 or not low <= number <= high:
        raise RecurrenceInvalid(f"{name}={value} is out of range")
    return number


def _positive(raw: dict[str, str], name: str, *, default: int) -> int:
    return _integer(name, raw[name], 1, 2**31) if name in raw else default


def _day_code(value: str, name: str) -> Weekday:
    if value not in DAY_CODES:
        raise RecurrenceInvalid(f"{name}={value} is not a weekday")
    return Weekday(DAY_CODES.index(value))


def _weekday_entry(value: str) -> tuple[int | None, Weekday]:
    match = _BYDAY.fullmatch(value)
    if not match:
        raise RecurrenceInvalid(f"BYDAY={value} is not a weekday")
    ordinal = int(match[1]) if match[1] else None
    if ordinal is not None and (ordinal == 0 or abs(ordinal) > 53):
        raise RecurrenceInvalid(f"BYDAY={value} has an ordinal out of range")
    return ordinal, Weekday(DAY_CODES.index(match[2]))


def _regenerate(raw: dict[str, str]) -> bool:
    value = raw.get("X-REGENERATE", "0")
    if value not in ("0", "1"):
        raise RecurrenceInvalid(f"X-REGENERATE={value} is neither 0 nor 1")
    return value == "1"


def _until(value: str, start: datetime, time_zone: str) -> date:
    """The last day with an occurrence, for occurrences at ``start``'s wall time."""
    match = _UNTIL.fullmatch(value)
    if not match:
        raise RecurrenceInvalid(f"UNTIL={value} is not a date or date-time")
    try:
        day = datetime.strptime(match[1], "%Y%m%d").date()
        if match[2] is None:
            return day
        moment = datetime.strptime(match[1] + match[2], "%Y%m%d%H%M%S")
    except ValueError:
        raise RecurrenceInvalid(f"UNTIL={value} is not a valid date") from None
    if match[3]:
        moment = moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(time_zone))
        moment = moment.replace(tzinfo=None)
    last = moment.date()
    return last if moment.time() >= start.time() else last - timedelta(days=1)
