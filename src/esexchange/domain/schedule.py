"""When the service runs the next pass over a mailbox: at the connection's interval, and
later and later while the mailbox keeps failing (never dropped, never disabled for good).
"""

from __future__ import annotations

from datetime import datetime, timedelta

MAX_BACK_OFF = timedelta(hours=1)


def back_off(interval: timedelta, failures: int) -> timedelta:
    """The wait after ``failures`` failed passes in a row: the interval, doubled per
    failure, at most an hour (or the interval, if that is longer)."""
    if failures <= 0:
        return interval
    grown: timedelta = interval * (2 ** min(failures, 16))
    return min(grown, max(MAX_BACK_OFF, interval))


def next_pass_at(
    last_started: datetime | None, failures: int, interval: timedelta
) -> datetime | None:
    """When the mailbox is due again; ``None`` when it never had a pass (due at once)."""
    if last_started is None:
        return None
    return last_started + back_off(interval, failures)


def is_due(last_started: datetime | None, failures: int, interval: timedelta,
           now: datetime) -> bool:
    """Whether a pass over the mailbox should start at ``now``."""
    due = next_pass_at(last_started, failures, interval)
    return due is None or due <= now
