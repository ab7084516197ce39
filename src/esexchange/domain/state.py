"""What the planner reads: changes from each side and the links between them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from esexchange.domain.model import ErpActivity, Item, Kind, RemoteItem, Side


@dataclass(frozen=True)
class ErpChange:
    """An activity of one employee changed in the ERP after the cursor.

    ``activity`` is ``None`` when it was deleted, or when the employee is no longer a
    participant (for that employee it is gone). ``seq`` is the change journal's sequence
    number of the newest journal row behind this change; ``modified_at`` is UTC.
    """

    erp_id: int
    kind: Kind
    activity: ErpActivity | None
    seq: int
    modified_at: datetime | None = None


@dataclass(frozen=True)
class MailboxChange:
    """An item of one mailbox folder changed after the sync state.

    ``remote`` is ``None`` for a deletion (Exchange reports it once, by id).
    """

    exchange_id: str
    kind: Kind
    remote: RemoteItem | None


@dataclass(frozen=True)
class Link:
    """The pairing of one ERP activity with one Exchange item, for one mailbox.

    Per side it keeps the stable id, the version token and the content hash as that side
    last had it; ``synced`` is the canonical content both sides agreed on at the last
    pass (the base of a three-way merge). ``detached`` names the side whose copy is gone
    when a deletion was not propagated: the survivor is kept and never resurrects or
    re-imports the other one. A detached link is a tombstone, not a pairing.
    """

    kind: Kind
    erp_id: int
    exchange_id: str
    change_key: str
    erp_seq: int
    erp_hash: str
    exchange_hash: str
    synced: Item
    detached: Side | None = None
