"""The date and size values of an AQS ``QueryString``: ``sent:``, ``received:``, ``size:``.

"Query strings for FindItem" (learn.microsoft.com, QueryString) gives the date range
restriction with a day (``sent:1/1/2001``), a span of days (``sent:1/1/2001..1/31/2001``),
a comparison (``received:>=2026-11-01``) or a word relative to today (``received:yesterday``,
``sent:"last week"``), and ``size:`` a number of bytes (``size:>5000``). A day is read in
the request's time zone (its TimeZoneContext, else UTC), with its whole 24 hours; sizes take
KB, MB and GB (of 1024). The sandbox's choices where the documentation is silent: weeks
start on Monday; ``M/D/YYYY`` is month first, as in Microsoft's examples. A value it cannot
read is ``ErrorInvalidOperation``, never a search that ignores it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, tzinfo

from esexchange.sandbox.ews.errors import EwsError

Span = tuple[float, float]  # [low, high): seconds since the epoch, or bytes
_COMPARISON = re.compile(r"^(>=|<=|>|<|=)?(.+)$")
_UNITS = {"": 1, "b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}
_RELATIVE_DAYS = {"today": 0, "yesterday": -1, "tomorrow": 1}
_RELATIVE_SPANS = {"this": 0, "last": -1, "next": 1}


def date_span(keyword: str, value: str, now: datetime, zone: tzinfo) -> Span:
    """The instants a date value of ``keyword`` covers."""
    return _span(value, lambda text: _days(keyword, text, now.astimezone(zone).date(), zone))


def size_span(value: str) -> Span:
    """The sizes in bytes a ``size:`` value covers."""
    return _span(value, _bytes)


def _span(value: str, read: Callable[[str], Span]) -> Span:
    text = value.strip()
    if ".." in text:
        first, _, last = text.partition("..")
        return read(first)[0], read(last)[1]
    match = _COMPARISON.match(text)
    assert match is not None
    operator, operand = match.groups()
    low, high = read(operand)
    return {
        ">": (high, float("inf")), ">=": (low, float("inf")),
        "<": (float("-inf"), low), "<=": (float("-inf"), high),
    }.get(operator or "=", (low, high))  # fmt: skip


def _days(keyword: str, text: str, today: date, zone: tzinfo) -> Span:
    first, days = _calendar_span(keyword, text.strip().casefold(), today)
    start = datetime.combine(first, time(), zone)
    end = datetime.combine(first + timedelta(days=days), time(), zone)
    return start.timestamp(), end.timestamp()


def _calendar_span(keyword: str, text: str, today: date) -> tuple[date, int]:
    if text in _RELATIVE_DAYS:
        return today + timedelta(days=_RELATIVE_DAYS[text]), 1
    step, _, unit = text.partition(" ")
    if step in _RELATIVE_SPANS and unit in ("week", "month", "year"):
        offset = _RELATIVE_SPANS[step]
        if unit == "week":
            monday = today - timedelta(days=today.weekday()) + timedelta(weeks=offset)
            return monday, 7
        if unit == "month":
            month = today.month - 1 + offset
            first = date(today.year + month // 12, month % 12 + 1, 1)
            following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
            return first, (following - first).days
        first = date(today.year + offset, 1, 1)
        return first, (date(first.year + 1, 1, 1) - first).days
    for pattern in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(text, pattern).date(), 1
        except ValueError:
            pass
    raise EwsError("ErrorInvalidOperation", f"{keyword}:{text} is no date AQS reads.")


def _bytes(text: str) -> Span:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmg]?b?)", text.strip().casefold())
    if match is None:
        raise EwsError("ErrorInvalidOperation", f"size:{text} is no size in bytes.")
    number = float(match.group(1)) * _UNITS[match.group(2)]
    return number, number + 1
