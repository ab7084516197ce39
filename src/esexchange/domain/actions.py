"""The planner's output: frozen actions holding ids and payloads, and the plan around them.

An action says what to write on which side; it performs nothing itself (the engine
applies it). The actions of one pair share its ERP id; the pair's ``SaveLink`` comes
after its writes and is stored only when they all succeeded (with the version an
Exchange update returned). Links in actions that create an item carry no id for the
side being created: the engine fills it in from the write's result
(``Link.exchange_id``/``version`` after an Exchange create, ``Link.erp_id`` after an
ERP create). Deletions forget their link themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from esexchange.domain.model import ErpActivity, ExchangeItem, ItemRef, Kind, Side
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
class CreateInErp:
    """Create an activity from Exchange item ``exchange_id``.

    ``replaces`` is the ERP id of a link this one supersedes (an edit in Exchange beat a
    deletion in the ERP: the old activity is gone, the new one takes its place).
    """

    exchange_id: str
    activity: ErpActivity
    link: Link
    replaces: int | None = None


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
    | DeleteInExchange
    | CreateInErp
    | UpdateInErp
    | DeleteInErp
    | SaveLink
    | DropLink
    | Detach
)

DELETIONS = (DeleteInExchange, DeleteInErp)


class SkipReason(StrEnum):
    """Why an item was left alone."""

    SETTING_OFF = "the employee's setting for this kind is off"
    RECURRING = "recurring series are not synchronized"
    PRIVATE = "private items are not synchronized (no-private setting)"
    OUTSIDE_WINDOW = "outside the synchronized time window"
    BEFORE_START = "last modified before the start of synchronization"
    DETACHED = "its partner was deleted and the deletion was not propagated"
    CONFERENCE = "a conference appointment is not changed from Exchange"
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
    """What one pass over one kind of one mailbox will do.

    ``held`` are the deletions the circuit breaker withheld (they are not in
    ``actions``); ``deletions_held`` says the breaker tripped.
    """

    kind: Kind
    actions: tuple[Action, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    held: tuple[DeleteInExchange | DeleteInErp, ...] = ()
    rejected: tuple[Rejected, ...] = ()

    @property
    def deletions_held(self) -> bool:
        return bool(self.held)
