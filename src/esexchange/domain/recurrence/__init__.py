"""Recurring series: the ``Recurrence`` value, RRULE text, Graph's form, occurrences.

See ``model.py`` for what a value means, ``rrule.py`` for the RFC 5545 text the ERP
stores, ``graph.py`` for Microsoft Graph's ``patternedRecurrence`` and ``expand.py``
for the dates a series has.
"""

from esexchange.domain.recurrence.expand import (
    continued_from,
    generated,
    is_generated,
    last_start,
    next_regeneration,
    next_start,
    occurrence_index,
    occurrences,
    occurrences_utc,
)
from esexchange.domain.recurrence.graph import from_graph, to_graph
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
    deletions_to_add,
    require_ews_expressible,
    require_fixed_dates,
    same_series,
)
from esexchange.domain.recurrence.rrule import format_rrule, parse_rrule

__all__ = [
    "AbsoluteMonthly",
    "AbsoluteYearly",
    "Daily",
    "EndDate",
    "NoEnd",
    "Numbered",
    "Pattern",
    "Range",
    "Recurrence",
    "Regenerating",
    "RelativeMonthly",
    "RelativeYearly",
    "Unit",
    "WeekIndex",
    "Weekday",
    "Weekly",
    "continued_from",
    "deletions_to_add",
    "format_rrule",
    "from_graph",
    "generated",
    "is_generated",
    "last_start",
    "next_regeneration",
    "next_start",
    "occurrence_index",
    "occurrences",
    "occurrences_utc",
    "parse_rrule",
    "require_ews_expressible",
    "require_fixed_dates",
    "same_series",
    "to_graph",
]
