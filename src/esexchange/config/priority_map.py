"""The priority map: which ERP priority stands for each Outlook importance.

It is stored as the options ``priority_low``/``priority_normal``/``priority_high``; an
unset one is derived by rank by the domain's mapping rule
(``esexchange.domain.mapping.priorities``), which this shows rather than repeats. An
ERP priority that is not mapped goes out as Normal (docs/design.md §3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from esexchange.config.connections import get_connection, set_options
from esexchange.domain.mapping import MappingContext, priority_for_importance
from esexchange.domain.model import Importance, Priority, Reference
from esexchange.erp.store import read_priorities

PRIORITY_OPTIONS: dict[Importance, str] = {
    Importance.LOW: "priority_low",
    Importance.NORMAL: "priority_normal",
    Importance.HIGH: "priority_high",
}


@dataclass(frozen=True)
class PriorityChoice:
    """The ERP priority for one Outlook importance.

    ``explicit`` when an administrator chose it, else derived by rank. ``priority`` is
    ``None`` when the ERP has no priorities, or no longer has the chosen one
    (``missing_id`` then names it).
    """

    importance: Importance
    priority: Priority | None
    explicit: bool
    missing_id: int | None = None


def priority_map(engine: Engine, name: str) -> list[PriorityChoice]:
    """Low, Normal and High of a connection, each with its ERP priority."""
    chosen = get_connection(engine, name).options
    with engine.connect() as db:
        available = read_priorities(db)
    by_id = {p.id: p for p in available}
    # The zone plays no part in priorities; the context only carries options and reference.
    context = MappingContext(chosen, Reference(priorities=tuple(available)), ZoneInfo("UTC"))
    result = []
    for importance, key in PRIORITY_OPTIONS.items():
        explicit_id = getattr(chosen, key)
        mapped = priority_for_importance(importance, context)
        priority = by_id.get(mapped) if mapped is not None else None
        missing = explicit_id if explicit_id is not None and priority is None else None
        result.append(PriorityChoice(importance, priority, explicit_id is not None, missing))
    return result


def set_priority_map(
    engine: Engine, name: str, choices: Mapping[Importance, str]
) -> list[PriorityChoice]:
    """Map importances to ERP priorities given by id or name ("default" = by rank).

    Raises ``ReferenceNotFound`` naming the priority and listing the known ones; nothing
    is changed then.
    """
    set_options(engine, name, {PRIORITY_OPTIONS[imp]: text for imp, text in choices.items()})
    return priority_map(engine, name)
