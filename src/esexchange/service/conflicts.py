"""Apply the other side of a conflict: the administrator overrides the conflict policy.

A conflict (``esx_conflict``) records a field both sides changed, both values, and the
side whose value both copies now hold. Applying the other side writes the losing value
into the ERP activity, as an edit in the ERP would (the change journal sees it), and
marks the conflict resolved; the next pass carries the value to Exchange like any ERP
edit. ``esexchange conflicts apply-other ID`` and the console's button both call
``apply_other_side``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from esexchange import config
from esexchange.domain.errors import EsExchangeError
from esexchange.domain.mapping import erp_to_item, item_to_erp, make_context
from esexchange.domain.merge import shown_value
from esexchange.domain.model import ErpActivity
from esexchange.erp.port import Scope
from esexchange.erp.schema import esx_conflict
from esexchange.erp.store import SqlErpStore
from esexchange.hostzone import host_time_zone


class ConflictNotApplied(EsExchangeError):
    """The other side of a conflict cannot be applied (unknown, resolved, item gone)."""


@dataclass(frozen=True)
class Applied:
    """What ``apply_other_side`` wrote: ``value`` (as the conflict showed it) into
    ``field`` of ERP activity ``erp_id``."""

    conflict_id: int
    erp_id: int
    field: str
    value: str
    side: str
    """The side whose value is applied now (``erp`` or ``exchange``)."""


def apply_other_side(engine: Engine, conflict_id: int, *, by: str) -> Applied:
    """Write the losing value of conflict ``conflict_id`` into the ERP activity and mark
    the conflict resolved by ``by`` (an admin's name, or the command line's user)."""
    with engine.connect() as db:
        row = db.execute(select(esx_conflict).where(esx_conflict.c.id == conflict_id)).first()
    if row is None:
        raise ConflictNotApplied(f"there is no conflict {conflict_id}; "
                                 "esexchange conflicts list shows them")
    if row.resolved_at is not None:
        raise ConflictNotApplied(
            f"conflict {conflict_id} was resolved already ({row.resolved_by}, "
            f"{row.resolved_at:%Y-%m-%d %H:%M} UTC)")
    side = "exchange" if row.winner == "erp" else "erp"
    value = row.exchange_value if side == "exchange" else row.erp_value
    what = f"conflict {conflict_id} (activity {row.erp_id}, {row.field})"
    store = SqlErpStore(engine)
    current = store.activities([row.erp_id]).get(row.erp_id)
    if current is None:
        raise ConflictNotApplied(f"{what}: the ERP activity no longer exists")
    conn = next((c for c in config.list_connections(engine) if c.id == row.connection_id),
                None)
    if conn is None:
        raise ConflictNotApplied(f"{what}: its connection no longer exists")
    ctx = make_context(conn.options, store.reference(), host_time_zone())
    try:
        values: dict[str, Any] = {row.field: shown_value(row.field, value)}
        wanted = replace(erp_to_item(current, ctx), **values)
        written = item_to_erp(wanted, ctx, current=current)
    except (ValueError, EsExchangeError) as error:
        raise ConflictNotApplied(f"{what}: {error}") from error
    changed = _changed_columns(current, written)
    scope = Scope(row.connection_id, row.employee_id)
    with store.transaction() as tx:
        if changed:
            tx.update_activity(row.erp_id, written, changed)
        tx.audit(scope, "ApplyOtherSide", row.erp_id, None,
                 f"conflict {conflict_id}: {row.field} = {value!r} ({side}) by {by}")
        tx.resolve_conflict(conflict_id, by=by, at=datetime.now(UTC))
        tx.commit()
    return Applied(conflict_id, row.erp_id, row.field, value, side)


def _changed_columns(before: ErpActivity, after: ErpActivity) -> frozenset[str]:
    return frozenset(f.name for f in fields(ErpActivity)
                     if getattr(before, f.name) != getattr(after, f.name))
