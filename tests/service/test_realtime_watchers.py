"""The watchers that wake the scheduler between intervals, on a real ERP of each
dialect and the EWS sandbox: which mailboxes an ERP change wakes (PostgreSQL's
LISTEN/NOTIFY, SQLite's journal sequence), and a lost streaming subscription made
again."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator

import pytest
from sqlalchemy import text

from esexchange.erp.port import Scope
from esexchange.service.realtime import JournalWatcher, RealtimeSettings
from esexchange.service.streaming import MailboxStreams
from tests.e2e.conftest import Person, World
from tests.support.service import wait_for


class Woken:
    """A ``wake`` that records what it was told."""

    def __init__(self) -> None:
        self.scopes: list[Scope] = []
        self.lock = threading.Lock()

    def __call__(self, scopes: Iterable[Scope]) -> None:
        with self.lock:
            self.scopes.extend(scopes)

    def seen(self) -> set[Scope]:
        with self.lock:
            return set(self.scopes)

    def clear(self) -> None:
        with self.lock:
            self.scopes.clear()

    def settle(self) -> None:
        """Forget what was woken, once the wake-ups already under way have come."""
        self.clear()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(0.5)
            if not self.seen():
                return
            self.clear()


def _scope(world: World, person: Person) -> Scope:
    rows = world.query("SELECT id FROM esx_connection WHERE name = :c", c=world.connection)
    return Scope(rows[0]["id"], person.id)


@pytest.fixture
def woken() -> Woken:
    return Woken()


@pytest.fixture
def journal(world: World, woken: Woken) -> Iterator[JournalWatcher]:
    stop = threading.Event()
    watcher = JournalWatcher(world.engine, RealtimeSettings(journal_poll=0.2), woken, stop)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    yield watcher
    stop.set()
    thread.join(timeout=10)


def test_an_erp_change_wakes_the_mailboxes_of_its_participants_only(
    world: World, journal: JournalWatcher, woken: Woken
) -> None:
    """A changed employee row wakes that mailbox; a shared appointment wakes both
    participants' mailboxes and no other; a change of someone not synchronized wakes
    nobody; removing a participant wakes the one removed."""
    wait_for(lambda: world.engine.dialect.name == "sqlite" or journal_listening(world), 10,
             "the LISTEN connection")
    anna, ben, carl = world.employee(), world.employee(), world.employee()
    outsider = world.employee(listed=False)
    with world.engine.begin() as db:
        db.execute(text("UPDATE employee SET name = 'Carl' WHERE id = :e"), {"e": carl.id})
    wait_for(lambda: _scope(world, carl) in woken.seen(), 10, "the changed employee's mailbox")
    woken.settle()
    activity = world.add("appointment", "Shared", anna, ben)
    wait_for(lambda: woken.seen() >= {_scope(world, anna), _scope(world, ben)}, 10,
             "the participants woken")
    assert _scope(world, carl) not in woken.seen()

    woken.settle()
    world.add("task", "Not ours", outsider)
    with world.engine.begin() as db:
        db.execute(text("DELETE FROM activity_participant WHERE activity_id = :a "
                        "AND employee_id = :e"), {"a": activity, "e": ben.id})
    wait_for(lambda: _scope(world, ben) in woken.seen(), 10, "the removed participant woken")
    assert woken.seen() <= {_scope(world, anna), _scope(world, ben)}


def journal_listening(world: World) -> bool:
    rows = world.query("SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE 'LISTEN %'")
    return int(rows[0]["n"]) > 0


def test_a_lost_streaming_subscription_is_made_again_and_still_wakes(
    world: World, woken: Woken
) -> None:
    """When the server forgets the subscription (a restart), the stream subscribes
    again, wakes its mailbox once for what it may have missed, and goes on hearing."""
    anna = world.employee()
    stop = threading.Event()
    streams = MailboxStreams(world.engine, RealtimeSettings(retry_seconds=0.2), woken, stop)
    thread = threading.Thread(target=streams.run, daemon=True)
    thread.start()
    try:
        mailbox = world.sandbox.sandbox.backend.mailbox(anna.email)
        wait_for(lambda: mailbox.subscriptions, 20, "the subscription")
        first = set(mailbox.subscriptions)
        woken.clear()
        with mailbox.lock:
            mailbox.subscriptions.clear()  # what a server restart does
        wait_for(lambda: set(mailbox.subscriptions) - first, 20, "a new subscription")
        wait_for(lambda: _scope(world, anna) in woken.seen(), 10, "the catch-up wake")
        woken.clear()
        anna.outlook.add("task", "After the restart")
        wait_for(lambda: _scope(world, anna) in woken.seen(), 10, "the Outlook change heard")
    finally:
        stop.set()
        streams.close()
        thread.join(timeout=10)
