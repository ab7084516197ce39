"""Outlook importance <-> ERP priority.

The options ``priority_low/normal/high`` name the ERP priority of each importance. An
unset one is derived by rank: priorities sorted by rank (then id), low = the first,
high = the last, normal = the middle one, the lower of two middles (index
``(len - 1) // 2``, so Low/Normal/High/Urgent map Normal to Normal); one priority serves
all three; with none there is no priority to write.

Reading an ERP priority checks Normal first, then High, then Low, so when the map sends
two importances to one priority (few priorities) it reads as the gentler Normal. A
priority outside the map goes out as Normal.
"""

from __future__ import annotations

from esexchange.domain.mapping.context import MappingContext
from esexchange.domain.model import Importance

_READ_ORDER = (Importance.NORMAL, Importance.HIGH, Importance.LOW)


def priority_for_importance(importance: Importance, ctx: MappingContext) -> int | None:
    """The ERP priority id for an Outlook importance (``None`` when the ERP has none)."""
    return _priority_map(ctx).get(importance)


def importance_for_priority(priority_id: int | None, ctx: MappingContext) -> Importance:
    """The Outlook importance of an ERP priority; unmapped or no priority is Normal."""
    mapped = _priority_map(ctx)
    for importance in _READ_ORDER:
        if priority_id is not None and mapped.get(importance) == priority_id:
            return importance
    return Importance.NORMAL


def priority_name(priority_id: int | None, ctx: MappingContext) -> str:
    """The ERP's name of a priority ("" for none or an unknown id)."""
    for priority in ctx.reference.priorities:
        if priority.id == priority_id:
            return priority.name
    return ""


def _priority_map(ctx: MappingContext) -> dict[Importance, int]:
    ranked = sorted(ctx.reference.priorities, key=lambda p: (p.rank, p.id))
    options = ctx.options
    chosen = {
        Importance.LOW: options.priority_low,
        Importance.NORMAL: options.priority_normal,
        Importance.HIGH: options.priority_high,
    }
    derived = {}
    if ranked:
        derived = {
            Importance.LOW: ranked[0].id,
            Importance.NORMAL: ranked[(len(ranked) - 1) // 2].id,
            Importance.HIGH: ranked[-1].id,
        }
    result: dict[Importance, int] = {}
    for importance, option in chosen.items():
        value = option if option is not None else derived.get(importance)
        if value is not None:
            result[importance] = value
    return result
