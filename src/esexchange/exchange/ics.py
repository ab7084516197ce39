"""Exchange's incremental change sync (ICS, EWS ``SyncFolderItems``) after our own writes.

Exchange never reports the deletion of an item created after a stored sync state, so a
state from before a pass's creates would hide a user deleting one of them before the
next pass. ``state_past_own_writes`` reads on from the state: if what follows is only
the pass's own writes, the state after them is the one to store; if anyone else changed
the folder meanwhile (or the read fails), ``None``: the next pass lists the whole folder.

Used by the adapters whose sync states behave like ICS (EWS, and ``MemoryMailbox``,
which models it); the engine knows none of this.
"""

from __future__ import annotations

from collections.abc import Callable

from esexchange.exchange.errors import MailboxError
from esexchange.exchange.port import ChangePage, OwnWrites


def state_past_own_writes(
    read: Callable[[str], ChangePage], state: str, writes: OwnWrites
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
    for change in (change for p in pages for change in p.changes):
        remote = change.remote
        if remote is None:
            if change.exchange_id not in deleted:
                return None
        elif own.get(change.exchange_id) != remote.ref.version:
            return None
    return pages[-1].state
