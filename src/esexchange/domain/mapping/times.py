"""ERP local time <-> UTC, all-day spans and task dates.

The ERP stores naive local times in the connection's ERP zone; Exchange and the
canonical form use aware UTC. Twice a year a local time is not a single moment:

- In the spring-forward gap (Europe/Berlin 2026-03-29 02:00-03:00) a local time does
  not exist. It is read with ``fold=0``, i.e. with the offset in force *before* the
  change, so 02:30 becomes 01:30 UTC (03:30 summer time): the moment the wall clock
  would have shown had it not been put forward.
- In the fall-back hour (Europe/Berlin 2026-10-25 02:00-03:00) a local time exists
  twice. It is read with ``fold=0``, the *first* occurrence (still summer time), so
  02:30 becomes 00:30 UTC. The second occurrence written back to the ERP is the same
  naive value; its reading then names the first. The naive column cannot say more.

Canonical times are whole seconds (Exchange keeps no fractions), so a fraction in the
ERP is not a change that Exchange could ever confirm.

All-day items never pass through UTC: they are ``date`` spans with an exclusive end,
so a DST change inside them, or a zone west of UTC, cannot move them by a day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ONE_DAY = timedelta(days=1)

EXCHANGE_FIRST_DAY = date(1601, 1, 1)
EXCHANGE_LAST_DAY = date(4500, 8, 31)
"""The days Exchange and Outlook can store (a FILETIME from 1601; Outlook's calendar
ends on 31 August 4500). Dates outside are refused before sending, never on the wire."""


def outside_exchange_range(value: date | datetime) -> bool:
    """Whether Exchange cannot store this day (or this moment, read as its day)."""
    day = value.date() if isinstance(value, datetime) else value
    return not EXCHANGE_FIRST_DAY <= day <= EXCHANGE_LAST_DAY


def erp_to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """The UTC moment of an ERP local time (``fold=0`` in gaps and overlaps, see above)."""
    return local.replace(tzinfo=zone, fold=0, microsecond=0).astimezone(UTC)


def utc_to_erp(moment: datetime, zone: ZoneInfo) -> datetime:
    """The naive ERP local time of an aware moment."""
    return moment.astimezone(zone).replace(tzinfo=None, fold=0)


def as_utc(moment: datetime) -> datetime:
    """An aware moment in UTC, whole seconds (the canonical form of a timed bound)."""
    return moment.astimezone(UTC).replace(microsecond=0)


def is_aware(moment: datetime) -> bool:
    return moment.utcoffset() is not None


def all_day_span(start_at: datetime, end_at: datetime) -> tuple[date, date]:
    """The days an ERP all-day activity covers, as ``(first, end)`` with ``end`` exclusive.

    An end at local midnight is exclusive (the reference form). An end with a time of
    day (23:59, 23:59:59, ...) covers its own day, so it ends at the next midnight. An end
    on the first day's midnight (zero length) is read as that one day. The caller has
    checked that ``end_at`` is not before ``start_at``.
    """
    first = start_at.date()
    end = end_at.date() if end_at.time() == time() else end_at.date() + ONE_DAY
    return first, max(end, first + ONE_DAY)


def local_midnight(day: date | None) -> datetime | None:
    """The naive ERP value of a date: its local midnight."""
    return None if day is None else datetime.combine(day, time())
