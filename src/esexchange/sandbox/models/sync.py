"""Incremental sync of a folder: what changed since a client's state, each change once.

Changes are numbered per mailbox (``Mailbox.seq``). An item remembers the number of its
creation and of its last change, a deleted item leaves a tombstone; a sync state is the
number up to which a client has seen a folder. That is enough to answer exactly: creates,
updates and deletes after a state, each reported once. Like Exchange's ICS, a deletion is
reported only for an item the client could have been given, one that existed when its
state was made; an item created and deleted since then never shows.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass

from esexchange.sandbox.models.errors import StoreError
from esexchange.sandbox.models.items import Item, Tombstone


@dataclass(frozen=True)
class SyncChange:
    """One change of a sync answer: ``Create``/``Update``/``ReadFlagChange`` carry the item."""

    kind: str
    item_id: str
    item: Item | None


@dataclass(frozen=True)
class SyncPage:
    """One sync answer."""

    changes: tuple[SyncChange, ...]
    sync_state: str
    includes_last: bool


def changes_since(
    items: Iterable[Item],
    tombstones: Iterable[Tombstone],
    folder_id: str,
    since: int,
    now_seq: int,
    max_changes: int,
) -> tuple[list[SyncChange], int, bool]:
    """(changes oldest first, the number reached, whether that was the last one)."""
    pending: list[tuple[int, SyncChange]] = []
    for item in items:
        if item.folder_id != folder_id:
            continue
        if item.changed_seq > since:
            kind = "Create" if item.created_seq > since else "Update"
            seq = max(item.changed_seq, item.read_seq)
            pending.append((seq, SyncChange(kind, item.id, item)))
        elif item.read_seq > since:
            pending.append((item.read_seq, SyncChange("ReadFlagChange", item.id, item)))
    for stone in tombstones:  # only items that existed at the state (see above)
        if stone.folder_id == folder_id and stone.deleted_seq > since >= stone.created_seq:
            pending.append((stone.deleted_seq, SyncChange("Delete", stone.item_id, None)))
    pending.sort(key=lambda entry: entry[0])
    page = pending[:max_changes]
    reached = page[-1][0] if len(page) < len(pending) else max(now_seq, since)
    return [change for _, change in page], reached, len(page) == len(pending)


def encode_state(folder_id: str, seq: int) -> str:
    """The opaque sync state of a folder seen up to change number ``seq``."""
    payload = json.dumps({"v": 1, "f": folder_id, "s": seq}, separators=(",", ":"))
    return base64.b64encode(payload.encode()).decode()


def decode_state(state: str, folder_id: str, now_seq: int) -> int:
    """The change number of a state; ErrorInvalidSyncStateData unless it is of this folder."""
    try:
        data = json.loads(base64.b64decode(state, validate=True))
        if data["v"] == 1 and data["f"] == folder_id and 0 <= int(data["s"]) <= now_seq:
            return int(data["s"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        pass
    raise StoreError(
        "ErrorInvalidSyncStateData",
        "Synchronization state data is corrupt or otherwise invalid.",
    )
