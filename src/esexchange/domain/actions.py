"""The planner's output: a plan of per-pair steps, each of frozen actions.

An action says what to write on which side; it performs nothing itself (the engine
applies it). A ``PairStep`` holds everything one pair needs this pass: at most one
Exchange write, at most one ERP write, at most one link record, and the pair's
conflicts. The engine applies a step as a unit: the Exchange write first (batched with
other steps' writes), then the ERP write, the link and the conflicts in one savepoint,
so a failing pair rolls back only itself.

Links in actions that create an item carry no id for the side being created: the engine
fills it in from the write's result (``Link.exchange_id``/``version`` after an Exchange
create, ``Link.erp_id`` after an ERP create); a ``SaveLink`` after an Exchange update
records the version the update returned. Deletions forget their link themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from esexchange.domain.model import (
    ErpActivity,
    ExchangeItem,
    ItemRef,
    Kind,
    OccurrenceKey,
    Side,
)
from esexchange.domain.state import Link


@dataclass(frozen=True)
class CreateInExchange:
    """Create the Exchange copy of ERP activity ``erp_id`` (``item`` carries the stamp)."""

    erp_id: int
    item: ExchangeItem
    link: Link


@dataclass(frozen=True)
class UpdateInExchange:
    """Write ``fields`` (``ExchangeItem`` field names) of ``item`` to ``ref``."""

    erp_id: int
    ref: ItemRef
    item: ExchangeItem
    fields: frozenset[str]


@dataclass(frozen=True)
class DeleteInExchange:
    """Move the Exchange copy of ``erp_id`` to Deleted Items and forget the link."""

    erp_id: int
    ref: ItemRef


@dataclass(frozen=True)
class UpdateOccurrence:
    """Write ``fields`` of ``item`` to one occurrence of a series in Exchange
    (``Mailbox.update_occurrences``); ``erp_id`` is the ERP row of the modified
    occurrence, or of the series when the occurrence is given back the series' content.

    ``key.series_id`` is empty for a series this pass creates in Exchange: the engine
    takes it from the create of ERP activity ``series_erp_id``. ``link`` (the
    occurrence pair's, ``None`` when the pair ends) gets its Exchange id (``str(key)``)
    and version from the write. ``new_pair``: the ERP's occurrence row gets its Exchange
    counterpart now (counted as created, as Outlook's moved occurrence that becomes an
    ERP row is); else the write updates an occurrence already paired or given back.
    """

    erp_id: int
    series_erp_id: int
    key: OccurrenceKey
    ref: ItemRef | None
    item: ExchangeItem
    fields: frozenset[str]
    link: Link | None
    new_pair: bool = False


@dataclass(frozen=True)
class CreateInErp:
    """Create an activity from Exchange item ``exchange_id``.

    ``replaces`` is the ERP id of a link this one supersedes (an edit in Exchange beat a
    deletion in the ERP: the old activity is gone, the new one takes its place).
    ``series_exchange_id`` names the Exchange series of a modified occurrence whose ERP
    master this pass creates: the engine fills ``activity.series_id`` from it.
    """

    exchange_id: str
    activity: ErpActivity
    link: Link
    replaces: int | None = None
    series_exchange_id: str | None = None


@dataclass(frozen=True)
class UpdateInErp:
    """Write ``fields`` (``ErpActivity`` field names) of ``activity`` to ``erp_id``."""

    erp_id: int
    activity: ErpActivity
    fields: frozenset[str]


@dataclass(frozen=True)
class DeleteInErp:
    """Archive and delete activity ``erp_id`` and forget the link."""

    erp_id: int
    exchange_id: str


@dataclass(frozen=True)
class SaveLink:
    """Store a link without writing either side (adoption, a refreshed version token)."""

    link: Link


@dataclass(frozen=True)
class DropLink:
    """Forget the link of ``erp_id``: both copies are gone, or the pair stopped existing."""

    erp_id: int


@dataclass(frozen=True)
class Detach:
    """A deletion on ``link.detached``'s side is not propagated: keep the survivor.

    ``link`` is the tombstone to store; the surviving copy is never resurrected on, or
    re-imported from, the detached side.
    """

    link: Link


Action = (
    CreateInExchange
    | UpdateInExchange
    | UpdateOccurrence
    | DeleteInExchange
    | CreateInErp
    | UpdateInErp
    | DeleteInErp
    | SaveLink
    | DropLink
    | Detach
)

DELETIONS = (DeleteInExchange, DeleteInErp)

ExchangeWrite = CreateInExchange | UpdateInExchange | UpdateOccurrence | DeleteInExchange
ErpWrite = CreateInErp | UpdateInErp | DeleteInErp
LinkRecord = SaveLink | DropLink | Detach


@dataclass(frozen=True)
class PairStep:
    """One pair's part of a plan: what to write to Exchange, what to write to the ERP,
    the link to record after both, and the conflicts the merge decided."""

    exchange: ExchangeWrite | None = None
    erp: ErpWrite | None = None
    record: LinkRecord | None = None
    conflicts: tuple[Conflict, ...] = ()

    @classmethod
    def of(cls, actions: Sequence[Action], conflicts: Sequence[Conflict] = ()) -> PairStep:
        """The step of one pair's actions (at most one of each part)."""
        slots: dict[str, Action] = {}
        for action in actions:
            slot = ("exchange" if isinstance(action, ExchangeWrite)
                    else "erp" if isinstance(action, ErpWrite) else "record")
            assert slot not in slots, f"two {slot} actions for one pair: {actions}"
            slots[slot] = action
        return cls(**slots, conflicts=tuple(conflicts))  # type: ignore[arg-type]

    @property
    def actions(self) -> tuple[Action, ...]:
        """The step's actions in the order they apply to the ERP side."""
        return tuple(a for a in (self.erp, self.exchange, self.record) if a is not None)

    @property
    def erp_id(self) -> int | None:
        """The pair's ERP id; ``None`` for an import (its ERP id is made by the write)."""
        for part in (self.exchange, self.erp):
            if part is not None and not isinstance(part, CreateInErp):
                return part.erp_id
        if isinstance(self.record, SaveLink | Detach):
            return self.record.link.erp_id
        return None if self.record is None else self.record.erp_id

    @property
    def exchange_id(self) -> str | None:
        """The pair's Exchange id, when it has one before the step runs."""
        if isinstance(self.erp, CreateInErp):
            return self.erp.exchange_id
        if isinstance(self.erp, DeleteInErp):
            return self.erp.exchange_id
        if isinstance(self.exchange, UpdateInExchange | DeleteInExchange):
            return self.exchange.ref.id
        if isinstance(self.exchange, UpdateOccurrence) and self.exchange.key.series_id:
            return str(self.exchange.key)
        if isinstance(self.record, SaveLink | Detach):
            return self.record.link.exchange_id or None
        return None

    @property
    def deletion(self) -> DeleteInExchange | DeleteInErp | None:
        """The step's deletion, if it is one (what the circuit breaker may hold)."""
        if isinstance(self.exchange, DeleteInExchange):
            return self.exchange
        if isinstance(self.erp, DeleteInErp):
            return self.erp
        return None


class SkipReason(StrEnum):
    """Why an item was left alone."""

    SETTING_OFF = "the employee's setting for this kind is off"
    RECURRING = (
        "this recurring item is not synchronized (a series this backend cannot write yet, "
        "a series whose pattern could not be read, or an occurrence seen without its series)"
    )
    PRIVATE = "private items are not synchronized (no-private setting)"
    OUTSIDE_WINDOW = "outside the synchronized time window"
    BEFORE_START = "last modified before the start of synchronization"
    DETACHED = "its partner was deleted and the deletion was not propagated"
    CONFERENCE = (
        "a conference appointment is not changed from Exchange: the Outlook edit is "
        "undone, the mailbox copy restored to the ERP's version"
    )
    UNKNOWN_PARTNER = "the linked ERP activity could not be read"


@dataclass(frozen=True)
class Skipped:
    """An item the plan leaves alone. ``side`` is where the item lives; ``key`` its id."""

    side: Side
    key: str
    reason: SkipReason


@dataclass(frozen=True)
class Rejected:
    """An item that cannot be synchronized as it is; ``message`` names item and field."""

    side: Side
    key: str
    message: str


@dataclass(frozen=True)
class Conflict:
    """A field changed on both sides to different values, and who won by the policy."""

    erp_id: int
    field: str
    erp_value: str
    exchange_value: str
    winner: Side


@dataclass(frozen=True)
class Plan:
    """What one pass over one kind of one mailbox will do: ``steps``, one per pair.

    ``held`` are the deletions the circuit breaker withheld (their steps are not in
    ``steps``). A dry run reports this same object; a pass applies it.
    """

    kind: Kind
    steps: tuple[PairStep, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    held: tuple[DeleteInExchange | DeleteInErp, ...] = ()
    rejected: tuple[Rejected, ...] = ()

    @property
    def actions(self) -> tuple[Action, ...]:
        """Every action of every step, in plan order."""
        return tuple(action for step in self.steps for action in step.actions)

    @property
    def conflicts(self) -> tuple[Conflict, ...]:
        return tuple(conflict for step in self.steps for conflict in step.conflicts)
