"""An ``activity`` row as stored, read into an ``ErpActivity`` without trusting it.

The ERP's own tables may be looser than the reference schema (a nullable subject, a
TEXT column on SQLite that holds anything), so every column is read raw and checked
here, one row at a time. What has an obvious meaning gets a documented default:

- ``subject``, ``text``, ``location``: NULL is the empty text; a number is its digits.
- ``all_day``, ``private``: NULL is off.
- ``percent_complete``: NULL is 0. ``status``: NULL or empty is no status.

Anything else that cannot be read (a time that is no time, a status the sync does not
know, a number that is no number) makes the activity *unreadable*: it carries the
column and the value in words, and the mapping rejects it, so that one activity fails
every pass until the row is corrected, and the rest of the pass goes on.

An activity whose ``kind`` is neither ``appointment`` nor ``task`` is not synchronized
at all (``None``), as if its kind had been changed to something the sync does not know.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

from esexchange.domain.model import ErpActivity, Kind, TaskStatus

T = TypeVar("T")

_INT_MAX = 2**31 - 1  # Exchange's xs:int, and what the ERP's integer columns hold


class _Unreadable(ValueError):
    pass


def activity_from_row(
    row: Any, participants: list[int], things: list[str], exdates: list[datetime]
) -> ErpActivity | None:
    """The activity of a raw ``activity`` row (columns read without type conversion),
    with its participants, equipment and the deleted occurrences of a series."""
    kind = _kind(row.kind)
    if kind is None:
        return None
    fields: dict[str, Any] = {}
    problem = ""
    for column, read in _READERS:
        value = getattr(row, column)
        try:
            fields[column] = read(value)
        except _Unreadable as error:
            problem = problem or f"activity.{column} holds {_shown(value)}, which is not {error}"
    if problem:
        return ErpActivity(
            id=int(row.id), kind=kind, subject=_safe(_text, row.subject, ""),
            participant_ids=tuple(participants), unreadable=problem,
            series_id=_safe(_optional_number, row.series_id, None),
            recurrence=_safe(_text, row.recurrence, "") or None,
        )
    recurrence = _safe(_text, row.recurrence, "") or None
    return ErpActivity(
        id=int(row.id), kind=kind, **fields, participant_ids=tuple(participants),
        equipment=tuple(_text(name) for name in things),
        recurring=recurrence is not None or fields["series_id"] is not None,
        recurrence=recurrence, exdates=tuple(exdates),
    )


def _percent(value: Any) -> int:
    return 0 if value is None else _number(value)


def _kind(value: Any) -> Kind | None:
    try:
        return Kind(_text(value).strip())
    except (ValueError, _Unreadable):
        return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, int | float):
        return str(value)
    raise _Unreadable("a text")


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise _Unreadable("a local time without a time zone")
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str) and value.strip():
        try:
            return _time(datetime.fromisoformat(value.strip()))
        except ValueError:
            pass
    raise _Unreadable("a date and time")


def _switch(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool | int):
        return bool(value)
    text = _text(value).strip().lower()
    if text in ("1", "true", "t", "yes", "on"):
        return True
    if text in ("0", "false", "f", "no", "off", ""):
        return False
    raise _Unreadable("on or off")


def _status(value: Any) -> TaskStatus | None:
    text = _text(value).strip()
    if not text:
        return None
    try:
        return TaskStatus(text)
    except ValueError:
        known = ", ".join(status.value for status in TaskStatus)
        raise _Unreadable(f"a task status ({known})") from None


def _number(value: Any) -> int:
    if isinstance(value, bool):
        raise _Unreadable("a whole number")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise _Unreadable("a whole number") from None
    if not isinstance(value, int):
        raise _Unreadable("a whole number")
    if not -_INT_MAX - 1 <= value <= _INT_MAX:
        raise _Unreadable("a whole number Exchange can store")
    return value


def _optional_number(value: Any) -> int | None:
    return None if value is None else _number(value)


def _minutes(value: Any) -> int | None:
    minutes = _optional_number(value)
    if minutes is not None and minutes < 0:
        raise _Unreadable("a number of minutes before the start")
    return minutes


def _safe(read: Callable[[Any], T], value: Any, default: T) -> T:
    try:
        return read(value)
    except _Unreadable:
        return default


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_READERS: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("subject", _text), ("text", _text), ("location", _text),
    ("start_at", _time), ("end_at", _time), ("due_at", _time), ("completed_at", _time),
    ("all_day", _switch), ("private", _switch), ("status", _status),
    ("percent_complete", _percent),
    ("priority_id", _optional_number), ("activity_type_no", _optional_number),
    ("reminder_minutes", _minutes),
    ("series_id", _optional_number), ("original_start", _time),
)
"""Each column of an activity row with the function that reads it, in this order."""
