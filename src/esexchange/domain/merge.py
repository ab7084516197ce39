"""The three-way merge of one pair, field by field, against the last synced content."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime

from esexchange.domain.actions import Conflict
from esexchange.domain.model import SYNC_FIELDS, Importance, Item, Side, TaskStatus
from esexchange.domain.options import ConflictPolicy


@dataclass(frozen=True)
class Merged:
    """The merged content and the conflicts met on the way."""

    item: Item
    conflicts: tuple[Conflict, ...]


def changed_fields(base: Item, current: Item) -> frozenset[str]:
    """The sync fields in which ``current`` differs from ``base``."""
    return frozenset(f for f in SYNC_FIELDS if getattr(base, f) != getattr(current, f))


def conflict_winner(
    policy: ConflictPolicy, erp_modified: datetime | None, exchange_modified: datetime | None
) -> Side:
    """Who wins a field changed on both sides. ``newer_wins`` falls back to the ERP on a
    tie or when either time is unknown: the ERP is the system of record."""
    if policy is ConflictPolicy.ERP_WINS:
        return Side.ERP
    if policy is ConflictPolicy.EXCHANGE_WINS:
        return Side.EXCHANGE
    if erp_modified is not None and exchange_modified is not None:
        return Side.EXCHANGE if exchange_modified > erp_modified else Side.ERP
    return Side.ERP


def merge(
    erp_id: int,
    base: Item,
    erp: Item,
    exchange: Item,
    *,
    winner: Side,
    erp_only: frozenset[str] = frozenset(),
) -> Merged:
    """Merge ``erp`` and ``exchange`` against ``base``.

    A field changed on one side only takes that side's value; changed on both to the
    same value is no conflict; changed on both to different values goes to ``winner``
    and is reported. Fields in ``erp_only`` are never taken from Exchange.
    """
    erp_changed = changed_fields(base, erp)
    exchange_changed = changed_fields(base, exchange) - erp_only
    values: dict[str, object] = {}
    conflicts: list[Conflict] = []
    for name in erp_changed | exchange_changed:
        erp_value, exchange_value = getattr(erp, name), getattr(exchange, name)
        if name not in exchange_changed:
            values[name] = erp_value
        elif name not in erp_changed:
            values[name] = exchange_value
        elif erp_value == exchange_value:
            values[name] = erp_value
        else:
            values[name] = erp_value if winner is Side.ERP else exchange_value
            conflicts.append(
                Conflict(erp_id, name, _show(erp_value), _show(exchange_value), winner)
            )
    conflicts.sort(key=lambda c: c.field)
    return Merged(replace(base, **values), tuple(conflicts))  # type: ignore[arg-type]


def _show(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _when(text: str) -> date | None:
    """A bound as ``_show`` wrote it: an ISO instant, an ISO date (all day), or nothing."""
    if not text:
        return None
    return datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)


def _optional(read: Callable[[str], object]) -> Callable[[str], object]:
    return lambda text: read(text) if text else None


_READERS: dict[str, Callable[[str], object]] = {
    "subject": str, "body": str, "location": str, "priority_name": str,
    "start": _when, "end": _when, "due": _optional(date.fromisoformat),
    "private": lambda text: {"True": True, "False": False}[text],
    "importance": Importance, "status": _optional(TaskStatus),
    "activity_type_no": _optional(int), "reminder_minutes": _optional(int),
    "percent_complete": int,
}


def shown_value(field: str, text: str) -> object:
    """The value of ``field`` that a conflict recorded as ``text``, back in its type (to
    apply the side that lost). Raises ``ValueError`` for a text that is not one, or for a
    field whose value cannot be read back (the ERP-owned equipment list)."""
    read = _READERS.get(field)
    if read is None:
        raise ValueError(f"the {field} of a conflict cannot be applied from its text")
    try:
        return read(text)
    except (KeyError, ValueError) as error:
        raise ValueError(f"{text!r} is no {field} value") from error
