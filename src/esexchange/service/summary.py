"""What moved in a pass, in each direction: the figures a person reads after a run."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from esexchange.domain.model import Side
from esexchange.engine import Outcome, PassReport

MOVES = (Outcome.CREATED, Outcome.UPDATED, Outcome.DELETED, Outcome.DETACHED)


@dataclass(frozen=True)
class Movement:
    """Counts per direction (``created``/``updated``/``deleted``/``detached``), conflicts,
    and notes on anything held, skipped or failed."""

    to_exchange: dict[str, int]
    to_erp: dict[str, int]
    conflicts: int
    notes: tuple[str, ...]
    held: int = 0

    @property
    def total(self) -> int:
        return sum(self.to_exchange.values()) + sum(self.to_erp.values())


def movement(report: PassReport) -> Movement:
    """Sum a pass report over both kinds, by the side that was written."""

    def counts(side: Side) -> dict[str, int]:
        return {
            outcome.value: sum(k.count(side, outcome) for k in report.kinds.values())
            for outcome in MOVES
        }

    def total(outcome: Outcome) -> int:
        return sum(k.count(side, outcome) for k in report.kinds.values() for side in Side)

    notes: list[str] = []
    if held := total(Outcome.HELD):
        notes.append(f"{held} deletions held for approval "
                     "(sync --approve-deletions or --reject-deletions)")
    if skipped := total(Outcome.SKIPPED):
        notes.append(f"{skipped} skipped: " + skip_reasons(report))
    if failed := len(report.failures):
        notes.append(f"{failed} failed: " + "; ".join(report.failures[:3]))
    return Movement(counts(Side.EXCHANGE), counts(Side.ERP), total(Outcome.CONFLICTS),
                    tuple(notes), held=total(Outcome.HELD))


def skip_reasons(report: PassReport) -> str:
    """Why items were skipped, each reason once with how many it concerns."""
    reasons = Counter(skipped.reason for skipped in report.skipped)
    return "; ".join(f"{n} × {reason}" if n > 1 else reason for reason, n in reasons.items())
