"""Connection options and per-employee settings, with the defaults of docs/design.md §3.

The option keys are shared by the CLI, the console and the docs: ``OPTION_KEYS`` lists
them in display order, and ``parse_option`` turns a user's text into a typed value with
an error that names the key.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from esexchange.domain.errors import InvalidOption


class ConflictPolicy(StrEnum):
    """Who wins a field that changed on both sides since the last pass."""

    NEWER_WINS = "newer_wins"
    ERP_WINS = "erp_wins"
    EXCHANGE_WINS = "exchange_wins"


START_SYNC_MAX_AGE = timedelta(days=30)


@dataclass(frozen=True)
class ConnectionOptions:
    """The options of one connection (one Exchange organisation).

    ``None`` for a default activity type or priority means "derive it": the lowest
    activity type number; the priorities by rank. ``start_sync_at`` and
    ``erp_time_zone`` are ``None`` until set, meaning "now minus 30 days" and "the
    host's zone"; callers resolve them with ``effective_start`` and at the edge.
    ``graph_notification_url`` (Graph connections) is the public HTTPS address at which
    Microsoft Graph reaches the service's ``/graph/notifications`` endpoint; unset, Graph
    changes are found by a short delta poll per mailbox instead.
    """

    appointment_sync: bool = True
    interval_minutes: int = 5
    start_sync_at: datetime | None = None
    default_activity_type_appointment: int | None = None
    default_activity_type_task: int | None = None
    priority_low: int | None = None
    priority_normal: int | None = None
    priority_high: int | None = None
    sync_activity_type: bool = True
    priority_as_text: bool = False
    equipment_as_text: bool = False
    alternative_text_sync: bool = False
    allow_address_book_sync: bool = False
    conflict_policy: ConflictPolicy = ConflictPolicy.NEWER_WINS
    erp_time_zone: str | None = None
    window_future_days: int = 365
    delete_guard_percent: int = 20
    graph_notification_url: str | None = None


OPTION_KEYS: tuple[str, ...] = tuple(f.name for f in fields(ConnectionOptions))

REMAPPING_KEYS: frozenset[str] = frozenset({
    "erp_time_zone", "priority_low", "priority_normal", "priority_high",
    "sync_activity_type", "priority_as_text", "equipment_as_text", "alternative_text_sync",
    "default_activity_type_appointment", "default_activity_type_task",
})
"""Options that change how items map: after a change every linked pair is re-mapped on
the next pass (which then writes only the fields whose mapped value changed)."""


def remaps(before: ConnectionOptions, after: ConnectionOptions) -> bool:
    """Whether going from ``before`` to ``after`` changes how items map."""
    return any(getattr(before, key) != getattr(after, key) for key in REMAPPING_KEYS)


def effective_start(requested: datetime | None, now: datetime) -> datetime:
    """The start-of-synchronization clamp of docs/design.md §3.

    A value in the future or more than 30 days back becomes now minus 30 days; so does
    an unset one. ``requested`` and ``now`` are aware UTC datetimes.
    """
    floor = now - START_SYNC_MAX_AGE
    if requested is None or requested > now or requested < floor:
        return floor
    return requested


def parse_option(options: ConnectionOptions, key: str, text: str) -> ConnectionOptions:
    """A copy of ``options`` with ``key`` set from the user's ``text``.

    Raises ``InvalidOption`` naming the key and the accepted values.
    """
    types = {f.name: f.type for f in fields(ConnectionOptions)}
    if key not in types:
        raise InvalidOption(f"unknown option {key!r}; known options: {', '.join(OPTION_KEYS)}")
    kind = str(types[key])
    raw = text.strip()
    value: object
    try:
        if kind == "bool":
            value = _parse_bool(raw)
        elif kind == "int":
            value = int(raw)
            if value < 0 or (key == "delete_guard_percent" and value > 100):
                raise ValueError
            if key == "interval_minutes" and value < 1:
                raise ValueError
        elif kind == "int | None":
            value = None if raw.lower() in ("", "default", "none") else int(raw)
        elif kind == "datetime | None":
            value = None if raw.lower() in ("", "default", "none") else _parse_time(raw)
        elif kind == "ConflictPolicy":
            value = ConflictPolicy(raw)
        elif key == "graph_notification_url":
            value = None if raw.lower() in ("", "default", "none", "off") else _https_url(raw)
        else:
            value = None if raw.lower() in ("", "default", "none") else raw
    except ValueError:
        raise InvalidOption(f"option {key!r}: {text!r} is not {_describe(key, kind)}") from None
    changes: dict[str, Any] = {key: value}
    return replace(options, **changes)


def _https_url(raw: str) -> str:
    """An absolute HTTPS URL (Graph delivers notifications over HTTPS only)."""
    parts = urlsplit(raw)
    if parts.scheme != "https" or not parts.hostname or parts.fragment:
        raise ValueError
    return raw


def _parse_bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("on", "true", "yes", "1"):
        return True
    if lowered in ("off", "false", "no", "0"):
        return False
    raise ValueError


def _parse_time(raw: str) -> datetime:
    value = datetime.fromisoformat(raw)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _describe(key: str, kind: str) -> str:
    if kind == "bool":
        return "on or off"
    if kind == "ConflictPolicy":
        return "one of " + ", ".join(p.value for p in ConflictPolicy)
    if kind == "datetime | None":
        return "an ISO time such as 2026-11-01T08:00:00+01:00 (or 'default')"
    if key == "delete_guard_percent":
        return "a whole number from 0 to 100"
    if key == "interval_minutes":
        return "a positive whole number"
    if key == "graph_notification_url":
        return ("an absolute https:// URL at which Microsoft Graph reaches this service's "
                "/graph/notifications (or 'off')")
    return "a whole number (or 'default')" if "None" in kind else "a whole number, 0 or more"


EMPLOYEE_SETTING_KEYS: tuple[str, ...] = (
    "appointments",
    "delete_appointments_in_exchange",
    "delete_appointments_in_erp",
    "no_private_appointments",
    "tasks",
    "delete_tasks_in_exchange",
    "delete_tasks_in_erp",
    "no_private_tasks",
    "transfer_contacts",
)


@dataclass(frozen=True)
class EmployeeSettings:
    """Per-employee settings; all on when an employee is added (docs/design.md §3)."""

    appointments: bool = True
    delete_appointments_in_exchange: bool = True
    delete_appointments_in_erp: bool = True
    no_private_appointments: bool = True
    tasks: bool = True
    delete_tasks_in_exchange: bool = True
    delete_tasks_in_erp: bool = True
    no_private_tasks: bool = True
    transfer_contacts: bool = True


def widens_sync(before: EmployeeSettings, after: EmployeeSettings) -> bool:
    """Whether a settings change brings in items that were skipped before.

    Items filtered by a "no private" setting did not change since they were skipped, so
    only reading everything again finds them when the setting is switched off. (A kind
    switched back on needs nothing: a disabled kind's cursor does not advance.)
    """
    return (before.no_private_appointments and not after.no_private_appointments) or (
        before.no_private_tasks and not after.no_private_tasks
    )


def with_setting(settings: EmployeeSettings, key: str, on: bool) -> EmployeeSettings:
    """A copy of ``settings`` with one key switched; ``InvalidOption`` for unknown keys."""
    if key not in EMPLOYEE_SETTING_KEYS:
        raise InvalidOption(
            f"unknown employee setting {key!r}; known: {', '.join(EMPLOYEE_SETTING_KEYS)}"
        )
    return replace(settings, **{key: on})
