"""What a plan does to one pair, in the words of the sync rules.

The rule tests (``test_planner_rules_*.py``) read plans only through ``fate``: which
sides get a new copy, an update or a deletion, whether the pair is detached or its link
dropped, and the link kept after the writes. When the planner's output changes shape,
this file changes and the tests do not. The inputs are built with the builders of
``test_planner.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from esexchange.domain.actions import (
    DELETIONS,
    Action,
    CreateInErp,
    CreateInExchange,
    DeleteInErp,
    DeleteInExchange,
    Detach,
    DropLink,
    Plan,
    SaveLink,
    SkipReason,
    UpdateInErp,
    UpdateInExchange,
    UpdateOccurrence,
)
from esexchange.domain.model import ErpActivity, ExchangeItem, Side
from esexchange.domain.state import Link


@dataclass(frozen=True)
class Fate:
    """What the plan does to the pair (or, without a filter, to everything planned)."""

    created: frozenset[Side]
    updated: dict[Side, frozenset[str]]  # the fields written, per side
    deleted: frozenset[Side]
    held: frozenset[Side]  # deletions the circuit breaker withheld
    detached: Side | None  # the side whose deletion is not followed
    link_dropped: bool
    link: Link | None  # the link kept once the writes succeed
    erp_written: ErpActivity | None  # what is written to the ERP
    exchange_written: ExchangeItem | None  # what is written to Exchange
    skipped: frozenset[SkipReason]
    conflicts: frozenset[str]  # fields changed on both sides to different values
    rejected: bool

    @property
    def untouched(self) -> bool:
        """Nothing written, deleted, detached or re-linked on either side."""
        return not (
            self.created or self.updated or self.deleted or self.held or self.link_dropped
            or self.link is not None or self.detached is not None
        )


def _erp_id(action: Action) -> int | None:
    if isinstance(action, CreateInErp):
        return action.replaces
    if isinstance(action, SaveLink | Detach):
        return action.link.erp_id
    return action.erp_id


def _exchange_id(action: Action) -> str | None:
    if isinstance(action, CreateInErp | DeleteInErp):
        return action.exchange_id
    if isinstance(action, UpdateInExchange | DeleteInExchange):
        return action.ref.id
    if isinstance(action, UpdateOccurrence):
        return str(action.key)
    if isinstance(action, SaveLink | Detach):
        return action.link.exchange_id
    return None


def fate(plan: Plan, *, erp_id: int | None = None, exchange_id: str | None = None) -> Fate:
    """What ``plan`` does to the pair of ``erp_id`` or ``exchange_id`` (both: either)."""

    def ours(action: Action) -> bool:
        if erp_id is None and exchange_id is None:
            return True
        return (erp_id is not None and _erp_id(action) == erp_id) or (
            exchange_id is not None and _exchange_id(action) == exchange_id
        )

    keys = {str(erp_id), exchange_id} if erp_id is not None or exchange_id is not None else None
    actions = [a for a in plan.actions if ours(a)]
    held = [a for a in plan.held if ours(a)]
    created: set[Side] = set()
    updated: dict[Side, frozenset[str]] = {}
    deleted: set[Side] = set()
    detached: Side | None = None
    dropped = False
    link: Link | None = None
    erp_written: ErpActivity | None = None
    exchange_written: ExchangeItem | None = None
    for action in actions:
        if isinstance(action, CreateInExchange):
            created.add(Side.EXCHANGE)
            link, exchange_written = action.link, action.item
        elif isinstance(action, CreateInErp):
            created.add(Side.ERP)
            link, erp_written = action.link, action.activity
        elif isinstance(action, UpdateInExchange):
            updated[Side.EXCHANGE] = action.fields
            exchange_written = action.item
        elif isinstance(action, UpdateOccurrence):
            # One occurrence of a series written by its key; its link, if the pair lives on.
            updated[Side.EXCHANGE] = action.fields
            exchange_written, link = action.item, action.link or link
        elif isinstance(action, UpdateInErp):
            updated[Side.ERP] = action.fields
            erp_written = action.activity
        elif isinstance(action, DeleteInExchange):
            deleted.add(Side.EXCHANGE)
        elif isinstance(action, DeleteInErp):
            deleted.add(Side.ERP)
        elif isinstance(action, Detach):
            detached, link = action.link.detached, action.link
        elif isinstance(action, DropLink):
            dropped = True
        elif isinstance(action, SaveLink):
            link = action.link
    assert all(isinstance(a, DELETIONS) for a in held)
    return Fate(
        created=frozenset(created),
        updated=updated,
        deleted=frozenset(deleted),
        held=frozenset(Side.EXCHANGE if isinstance(a, DeleteInExchange) else Side.ERP
                       for a in held),
        detached=detached,
        link_dropped=dropped,
        link=link,
        erp_written=erp_written,
        exchange_written=exchange_written,
        skipped=frozenset(s.reason for s in plan.skipped if keys is None or s.key in keys),
        conflicts=frozenset(
            c.field for c in plan.conflicts if erp_id is None or c.erp_id == erp_id
        ),
        rejected=any(r.key in keys for r in plan.rejected) if keys else bool(plan.rejected),
    )


def deletions(plan: Plan) -> tuple[int, int]:
    """(deletions planned, deletions held by the circuit breaker)."""
    return sum(isinstance(a, DELETIONS) for a in plan.actions), len(plan.held)


def as_stored(link: Link, *, erp_id: int | None = None, exchange_id: str | None = None,
              version: str | None = None) -> Link:
    """``link`` as the engine stores it after the writes: with the id of a created copy
    and the Exchange version the write returned."""
    return replace(
        link,
        erp_id=link.erp_id if erp_id is None else erp_id,
        exchange_id=link.exchange_id if exchange_id is None else exchange_id,
        version=link.version if version is None else version,
    )


def same_pairing(a: Link, b: Link) -> bool:
    """Equal but for the version tokens, which move with every write on either side."""
    return (a.erp_id, a.exchange_id, a.erp_hash, a.exchange_hash, a.synced, a.detached) == (
        b.erp_id, b.exchange_id, b.erp_hash, b.exchange_hash, b.synced, b.detached
    )


def skips(plan: Plan) -> set[tuple[Side, str, SkipReason]]:
    """What the plan leaves alone, as the user reads it: side, item id, reason."""
    return {(s.side, s.key, s.reason) for s in plan.skipped}
