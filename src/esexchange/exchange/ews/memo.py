"""What this process learnt about an EWS server, kept for the life of the process.

``esexchange sync`` opens an ``EwsConnection`` per run, and the service opens one again
whenever the stored connection changed (``service.adapter.OpenConnections``); without a
memory each would pay the same fixed round trips again: the
authentication-scheme probe, the version probe (a ``ConvertId``), and per mailbox the
master category list (``GetUserConfiguration``) even when nothing about the categories
changed. With them (and the installation claim checked only before a pass's first write:
``service.claims``), an idle pass costs one ``SyncFolderItems`` per synchronized folder.
(User configurations, the category list and the claim, are addressed by the calendar's
well-known name, so no mailbox needs a ``GetFolder`` for its calendar's id.)

``ServerMemo`` is looked up by (EWS URL, signed-in identity). The category list is read
again only when the entries esExchange wants differ from those it last made sure of in
that mailbox (``category_digest``); an entry the user removes from the master list in
Outlook meanwhile comes back with the next change of the ERP's activity types (or the
next process). Items keep their categories either way.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from esexchange.domain.model import Category


@dataclass
class ServerMemo:
    """One server as seen by one identity: its auth scheme, version, and per mailbox
    (address in lower case) the digest of the category entries last made sure of."""

    auth_type: str | None = None
    version: Any = None
    """exchangelib's ``Version`` (build and API version) the server answered with."""
    categories: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def categories_known(self, mailbox: str, wanted: Sequence[Category]) -> bool:
        with self.lock:
            return self.categories.get(mailbox.lower()) == category_digest(wanted)

    def categories_made_sure(self, mailbox: str, wanted: Sequence[Category]) -> None:
        with self.lock:
            self.categories[mailbox.lower()] = category_digest(wanted)


_MEMOS: dict[tuple[str, str], ServerMemo] = {}
_MEMOS_LOCK = threading.Lock()


def server_memo(url: str, identity: str) -> ServerMemo:
    """The memo of ``url`` for ``identity`` (created empty the first time)."""
    key = (url.lower(), identity.lower())
    with _MEMOS_LOCK:
        return _MEMOS.setdefault(key, ServerMemo())


def category_digest(categories: Sequence[Category]) -> str:
    """A digest of the entries (names and colours, in any order)."""
    text = "\n".join(sorted(f"{c.name}\t{c.color}" for c in categories))
    return hashlib.sha256(text.encode()).hexdigest()


def forget_servers() -> None:
    """Forget every server (a test's sandbox that was reset is a new server)."""
    with _MEMOS_LOCK:
        _MEMOS.clear()
