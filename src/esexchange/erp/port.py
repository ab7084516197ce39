"""The ``ErpStore`` port: what the engine needs from the ERP database.

``erp/store.py`` implements it with SQLAlchemy on SQLite and PostgreSQL; the engine's
property tests use an in-memory fake with the same behaviour.

Scope: one store serves every connection; a *scope* is (connection id, employee id).
Links, cursors and sync states belong to a scope. Everything written in one
``ErpTransaction`` becomes durable together at ``commit()``, or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from esexchange.domain.errors import ItemRejected
from esexchange.domain.model import ErpActivity, Kind, Reference, Side
from esexchange.domain.recurrence.series import ErpSeries
from esexchange.domain.state import ErpChange, Link, Parked


@dataclass(frozen=True)
class Scope:
    """One employee's mailbox on one connection."""

    connection_id: int
    employee_id: int


@dataclass(frozen=True)
class Cursor:
    """Where a scope's last durable pass ended, per kind.

    ``erp_seq``: the newest change-journal sequence number already synchronized.
    ``sync_state``: the Exchange sync state of the kind's folder (``None`` = never read).
    """

    erp_seq: int = 0
    sync_state: str | None = None


class ErpTransaction(Protocol):
    """Writes of one unit of work; nothing is durable before ``commit()``."""

    def create_activity(self, activity: ErpActivity, owner_employee_id: int) -> int:
        """Insert an activity with the owner as its only participant; returns its id."""
        ...

    def update_activity(self, erp_id: int, activity: ErpActivity, fields: frozenset[str]) -> None:
        """Write the named ``ErpActivity`` fields (columns); all others are kept.

        Participants and equipment are never changed by the sync.
        """
        ...

    def delete_activity(self, erp_id: int, *, employee_id: int) -> None:
        """Archive the activity (``esx_archive``, restorable), then delete it."""
        ...

    def save_link(self, scope: Scope, link: Link) -> None:
        """Insert or replace the link of ``(scope, link.kind, link.erp_id)``."""
        ...

    def drop_link(self, scope: Scope, kind: Kind, erp_id: int) -> None:
        """Forget a link (both copies are gone)."""
        ...

    def save_cursor(self, scope: Scope, kind: Kind, cursor: Cursor) -> None:
        """Store where the pass ended for this kind."""
        ...

    def reset_cursors(self, scope: Scope) -> None:
        """Read everything again at the scope's next pass: every ERP activity and a full
        listing (after a settings change that widens what is synchronized)."""
        ...

    def park(self, scope: Scope, parked: Parked) -> None:
        """Insert or replace the retry record of ``parked``'s pair (by ``parked.key``)."""
        ...

    def unpark(self, scope: Scope, kind: Kind, key: str) -> None:
        """Forget the retry record of pair ``key``; nothing happens when there is none."""
        ...

    def record_conflict(
        self, scope: Scope, erp_id: int, field: str, erp_value: str, exchange_value: str,
        winner: Side,
    ) -> None:
        """Record a field changed on both sides and who won, for the admin to see."""
        ...

    def audit(self, scope: Scope, action: str, erp_id: int | None, exchange_id: str | None,
              detail: str) -> None:
        """Append one line to the audit log (what happened to which item and why)."""
        ...

    def savepoint(self) -> AbstractContextManager[None]:
        """Writes of one pair (or of several): when the block raises, they (and only
        they) are undone.

        A database error inside the block is raised as ``PairWriteFailed``; the
        transaction goes on and may still commit the other pairs. Link and audit writes
        inside may reach the database only at the block's end (batched); their errors
        are raised there, still as ``PairWriteFailed`` of this block.
        """
        ...

    def commit(self) -> None:
        """Make everything written so far durable at once."""
        ...


class ErpStore(Protocol):
    """The ERP database with esExchange's sync tables."""

    def reference(self) -> Reference:
        """Activity types (with colours) and priorities."""
        ...

    def changes(self, employee_id: int, kind: Kind, after_seq: int) -> tuple[list[ErpChange], int]:
        """Changes of the employee's activities of ``kind`` after ``after_seq``.

        One ``ErpChange`` per activity (the newest state), and the newest sequence number
        seen (``after_seq`` when nothing changed). With ``after_seq == 0`` (first pass)
        every current activity of the employee counts as changed, and nothing is said
        of activities that are gone.
        """
        ...

    def activities(self, erp_ids: Sequence[int]) -> dict[int, ErpActivity]:
        """The current rows of these activities (absent ids are deleted)."""
        ...

    def last_changed(self, erp_ids: Sequence[int]) -> dict[int, datetime]:
        """When each of these activities last changed (aware UTC, the ``modified_at`` of
        its newest change); ids the journal never saw are left out."""
        ...

    def series(self, master_ids: Sequence[int], *, time_zone: str
               ) -> dict[int, ErpSeries | ItemRejected]:
        """Series masters with their modified occurrences and deleted ones, by master id;
        a series whose rows do not fit together is an ``ItemRejected`` naming row and
        field. Ids that are not series masters are left out."""
        ...

    def links(self, scope: Scope, kind: Kind) -> list[Link]:
        """Every link (and detached tombstone) of the scope for ``kind``."""
        ...

    def cursor(self, scope: Scope, kind: Kind) -> Cursor:
        """Where the scope's last durable pass for ``kind`` ended."""
        ...

    def parked(self, scope: Scope, kind: Kind) -> list[Parked]:
        """The scope's parked pairs of ``kind`` (failed steps waiting to be retried)."""
        ...

    def transaction(self) -> AbstractContextManager[ErpTransaction]:
        """A unit of work that rolls back unless ``commit()`` was called."""
        ...

