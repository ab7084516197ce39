"""What a pass did, counted per kind and side: the ``PassReport`` the CLI and status show.

The dry run and the real pass count through the same ``count_step``: a dry run counts
every step of the plan, a pass only the steps it applied.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from esexchange.domain.actions import (
    Action,
    Conflict,
    CreateInErp,
    CreateInExchange,
    DeleteInErp,
    DeleteInExchange,
    Detach,
    PairStep,
    Plan,
    UpdateInErp,
    UpdateInExchange,
    UpdateOccurrence,
)
from esexchange.domain.model import Kind, Side
from esexchange.domain.state import Parked


class Outcome(StrEnum):
    """What happened to items, counted per kind and side in a ``PassReport``."""

    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    DETACHED = "detached"
    SKIPPED = "skipped"
    CONFLICTS = "conflicts"
    HELD = "held"
    FAILED = "failed"


@dataclass(frozen=True)
class SkippedItem:
    """An item a pass left alone, and why (``esexchange sync -v``, status, audit log)."""

    item: str
    """Names the mailbox and the item: its ERP id, or its subject and Exchange id."""
    reason: str

    def __str__(self) -> str:
        return f"{self.item}: {self.reason}"


@dataclass
class KindReport:
    """What one kind's part of a pass did. Counts are keyed by (side written, outcome);
    skipped items count on the side they live on; a conflict counts on the side that
    lost it. ``plan`` is the plan the pass applied (or, in a dry run, would apply)."""

    kind: Kind
    enabled: bool = True
    counts: Counter[tuple[Side, Outcome]] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    skipped: list[SkippedItem] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    cursor_advanced: bool = False
    plan: Plan | None = None
    parked: list[Parked] = field(default_factory=list)
    """Pairs waiting to be retried after the pass (failed now or earlier)."""

    def count(self, side: Side, outcome: Outcome) -> int:
        return self.counts[(side, outcome)]

    def count_step(self, step: PairStep) -> None:
        """Count one step as done: its writes and its conflicts."""
        for action in step.actions:
            self._count_action(action)
        for conflict in step.conflicts:
            self.conflicts.append(conflict)
            self.counts[(conflict.winner.other, Outcome.CONFLICTS)] += 1

    def count_plan(self, the_plan: Plan, mailbox: str, subjects: dict[str, str]) -> None:
        """What the plan itself reports before anything is applied: skipped items (named,
        with why), held deletions and rejected items. ``subjects`` are the subjects of
        the items read, by ERP id (as text) and Exchange id."""
        for skipped in the_plan.skipped:
            self.counts[(skipped.side, Outcome.SKIPPED)] += 1
            if skipped.side is Side.ERP:
                what = f"ERP activity {skipped.key}"
                if subjects.get(skipped.key):
                    what += f" ({subjects[skipped.key]})"
            else:
                what = f"{subjects.get(skipped.key, '')!r} ({skipped.key})"
            self.skipped.append(SkippedItem(
                f"mailbox {mailbox}, {self.kind} {what}", skipped.reason.value
            ))
        for held in the_plan.held:
            side = Side.EXCHANGE if isinstance(held, DeleteInExchange) else Side.ERP
            self.counts[(side, Outcome.HELD)] += 1
        if the_plan.held:
            self.failures.append(
                f"mailbox {mailbox}: {len(the_plan.held)} {self.kind} deletions "
                "held by the circuit breaker; approve or reject them"
            )
        for rejected in the_plan.rejected:
            self.counts[(rejected.side, Outcome.FAILED)] += 1
            self.failures.append(f"mailbox {mailbox}: {rejected.message}")

    def fail(self, side: Side, message: str) -> None:
        """One pair failed on ``side``; ``message`` names the item, mailbox and why."""
        self.counts[(side, Outcome.FAILED)] += 1
        self.failures.append(message)

    def _count_action(self, action: Action) -> None:
        if isinstance(action, Detach):
            assert action.link.detached is not None
            # Counted on the side the deletion did not go to.
            self.counts[(action.link.detached.other, Outcome.DETACHED)] += 1
        elif isinstance(action, UpdateOccurrence) and action.new_pair:
            # An ERP occurrence row gets its counterpart: created, like the ERP row an
            # occurrence moved in Outlook becomes.
            self.counts[(Side.EXCHANGE, Outcome.CREATED)] += 1
        elif type(action) in _OUTCOMES:
            self.counts[_OUTCOMES[type(action)]] += 1


_OUTCOMES: dict[type, tuple[Side, Outcome]] = {
    CreateInExchange: (Side.EXCHANGE, Outcome.CREATED),
    UpdateInExchange: (Side.EXCHANGE, Outcome.UPDATED),
    UpdateOccurrence: (Side.EXCHANGE, Outcome.UPDATED),
    DeleteInExchange: (Side.EXCHANGE, Outcome.DELETED),
    CreateInErp: (Side.ERP, Outcome.CREATED),
    UpdateInErp: (Side.ERP, Outcome.UPDATED),
    DeleteInErp: (Side.ERP, Outcome.DELETED),
}


@dataclass
class PassReport:
    """What a pass over one mailbox did, for the CLI's "what moved per employee"."""

    mailbox: str
    employee_id: int
    dry_run: bool = False
    kinds: dict[Kind, KindReport] = field(default_factory=dict)
    not_syncable: str | None = None
    error: str | None = None
    """Why the pass stopped early (the mailbox could not be read or written)."""

    def count(self, kind: Kind, side: Side, outcome: Outcome) -> int:
        report = self.kinds.get(kind)
        return 0 if report is None else report.count(side, outcome)

    def forget_plans(self) -> None:
        """Drop the plans once applied: each holds every item its kind's pass read and
        wrote, and a run over many mailboxes keeps every mailbox's report, so memory
        would grow with the whole run instead of with the mailboxes at work. The counts,
        failures, skipped and parked items stay."""
        for report in self.kinds.values():
            report.plan = None

    @property
    def failures(self) -> list[str]:
        return [f for report in self.kinds.values() for f in report.failures]

    @property
    def skipped(self) -> list[SkippedItem]:
        return [s for report in self.kinds.values() for s in report.skipped]

    @property
    def parked(self) -> list[Parked]:
        """Pairs waiting to be retried, of every kind."""
        return [p for report in self.kinds.values() for p in report.parked]

    @property
    def ok(self) -> bool:
        """Nothing failed and nothing waits to be retried."""
        return self.error is None and not self.failures and not self.parked
