"""Exchange's incremental change sync (ICS, EWS ``SyncFolderItems``) after our own writes.

Exchange never reports the deletion of an item created after a stored sync state, so a
state from before a pass's creates would hide a user deleting one of them before the
next pass. ``state_past_own_writes`` reads on from the state: if what follows is only
the pass's own writes, the state after them is the one to store; if anyone else changed
the folder meanwhile (or the read fails), ``None``: the next pass lists the whole folder.

The read after the writes needs ids and versions only (``VersionPage``; on EWS an
IdOnly SyncFolderItems and no GetItem): the versions the writes returned recognise the
echo of the pass's own writes, so nothing it just wrote is read back in full.

Used by the EWS adapter, whose sync states behave like ICS; the engine knows none of
this (tests/contract checks it on the EWS sandbox).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from esexchange.exchange.errors import MailboxError
from esexchange.exchange.port import ChangePage, OwnWrites


@dataclass(frozen=True)
class VersionPage:
    """One read of a folder's changes by id and version alone: ``versions`` maps each
    changed item's id to its version, ``None`` for an item deleted."""

    versions: tuple[tuple[str, str | None], ...]
    state: str
    more: bool

    @classmethod
    def of(cls, page: ChangePage) -> VersionPage:
        """The ids and versions of a page read in full."""
        return cls(tuple((c.exchange_id, c.remote.ref.version if c.remote else None)
                         for c in page.changes), page.state, page.more)


def state_past_own_writes(
    read: Callable[[str], VersionPage], state: str, writes: OwnWrites
) -> str | None:
    """The sync state after ``writes`` (reading pages with ``read``), or ``None``.

    Only creates need it: a pass that created nothing keeps ``state`` (no request).
    """
    if not writes.created:
        return state
    own = {ref.id: ref.version for ref in (*writes.created, *writes.updated)}
    deleted = set(writes.deleted)
    try:
        page = read(state)
        pages = [page]
        while page.more:
            page = read(page.state)
            pages.append(page)
    except MailboxError:
        return None
    for item_id, version in (change for p in pages for change in p.versions):
        if version is None:
            if item_id not in deleted:
                return None
        elif own.get(item_id) != version:
            return None
    return pages[-1].state
