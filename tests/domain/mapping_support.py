"""Reference data and contexts shared by the mapping tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from esexchange.domain.mapping import MappingContext, make_context
from esexchange.domain.model import ActivityType, Priority, Reference
from esexchange.domain.options import ConnectionOptions

CALL, TASK, VISIT = 1, 5, 7
LOW, NORMAL, HIGH = 10, 20, 30

REFERENCE = Reference(
    activity_types=(
        ActivityType(TASK, "Task", 7),
        ActivityType(CALL, "Call", 4),
        ActivityType(VISIT, "Site visit"),
    ),
    priorities=(
        Priority(HIGH, "High", 3),
        Priority(LOW, "Low", 1),
        Priority(NORMAL, "Normal", 2),
    ),
)

BERLIN = ZoneInfo("Europe/Berlin")


def context(
    zone: str = "Europe/Berlin", reference: Reference = REFERENCE, **options: Any
) -> MappingContext:
    """A context with the test reference data, the ERP in ``zone``."""
    return make_context(ConnectionOptions(erp_time_zone=zone, **options), reference, "UTC")


def local(text: str) -> datetime:
    """A naive ERP time from ISO text."""
    return datetime.fromisoformat(text)


def utc(text: str) -> datetime:
    """An aware UTC time from ISO text without offset."""
    return datetime.fromisoformat(text + "+00:00")
