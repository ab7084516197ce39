"""All mailboxes of one sandbox, created on first use from the directory."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator

from esexchange.sandbox.models.errors import StoreError
from esexchange.sandbox.models.mailbox import Clock, IdSource, Mailbox, system_clock


class Backend:
    """All mailboxes of one sandbox, created on first use from the directory."""

    def __init__(
        self,
        lookup: Callable[[str], tuple[str, str] | None],
        *,
        clock: Clock = system_clock,
        ids: IdSource = lambda: os.urandom(16),
        restore: Callable[[Mailbox], None] | None = None,
    ) -> None:
        self._lookup = lookup
        self._restore = restore
        self._clock = clock
        self._ids = ids
        self._lock = threading.Lock()
        self.mailboxes: dict[str, Mailbox] = {}

    def mailbox(self, email: str) -> Mailbox:
        """The mailbox of an address in the directory; ErrorNonExistentMailbox otherwise."""
        key = email.lower()
        with self._lock:
            found = self.mailboxes.get(key)
            if found is None:
                entry = self._lookup(email)
                if entry is None:
                    raise StoreError(
                        "ErrorNonExistentMailbox", f"No mailbox with such guid or address: {email}"
                    )
                found = Mailbox(entry[0], entry[1], clock=self._clock, ids=self._ids)
                if self._restore is not None:
                    self._restore(found)
                self.mailboxes[key] = found
            return found

    @contextlib.contextmanager
    def locked(self, email: str) -> Iterator[Mailbox]:
        """The mailbox of ``email``, held exclusively for one request."""
        mailbox = self.mailbox(email)
        with mailbox.lock:
            yield mailbox

    def reset(self) -> None:
        """Forget every mailbox (tests call this between cases)."""
        with self._lock:
            self.mailboxes.clear()
