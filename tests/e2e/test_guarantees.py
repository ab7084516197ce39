"""DESIGN.md §4: no duplicates and no loss across a crash, nothing ping-pongs, the circuit
breaker, throttling honoured, one failing mailbox never stopping the others; and an
invalid sync state answered by a full resync without duplicates."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, text, update

from esexchange import config
from esexchange.domain.model import Employee
from esexchange.erp.schema import esx_lease
from esexchange.sandbox.ews.knobs import Knobs
from esexchange.service.runner import MailboxOutcome
from esexchange.service.summary import movement
from tests.e2e.conftest import World

CRASH = "simulated crash between the Exchange create and the link"
WRONG_SECRET = {  # what each backend tells the administrator
    "ews": "wrong user name or password",
    "graph": "(AADSTS7000215): the client secret is wrong",
}


@contextmanager
def erp_refuses_links(engine: Engine, erp_id: int | None = None) -> Iterator[None]:
    """The database refuses every link write of a pass (after its Exchange writes), or
    only the link of activity ``erp_id``."""
    if engine.dialect.name == "sqlite":
        when = f"WHEN NEW.erp_id = {erp_id} " if erp_id is not None else ""
        create = [f"CREATE TRIGGER e2e_crash BEFORE INSERT ON esx_link {when}"
                  f"BEGIN SELECT RAISE(ABORT, '{CRASH}'); END"]
        drop = ["DROP TRIGGER e2e_crash"]
    else:
        when = f"IF NEW.erp_id = {erp_id} THEN " if erp_id is not None else "IF TRUE THEN "
        create = [f"CREATE FUNCTION e2e_crash() RETURNS trigger LANGUAGE plpgsql AS "
                  f"$$ BEGIN {when}RAISE EXCEPTION '{CRASH}'; END IF; RETURN NEW; END $$",
                  "CREATE TRIGGER e2e_crash BEFORE INSERT ON esx_link FOR EACH ROW "
                  "EXECUTE FUNCTION e2e_crash()"]
        drop = ["DROP TRIGGER e2e_crash ON esx_link", "DROP FUNCTION e2e_crash()"]
    with engine.begin() as db:
        for statement in create:
            db.execute(text(statement))
    try:
        yield
    finally:
        with engine.begin() as db:
            for statement in drop:
                db.execute(text(statement))


def test_crash_between_create_and_link_is_adopted_without_duplicate(world: World) -> None:
    anna = world.employee()
    appointment = world.add("appointment", "Created before the crash", anna)
    task = world.add("task", "Task created before the crash", anna)

    with erp_refuses_links(world.engine):
        (crashed,) = world.sync()
    # Each pair's link is refused in its own savepoint: the pass reports both items.
    assert not crashed.ok and crashed.report is not None
    assert sum(CRASH in failure for failure in crashed.report.failures) == 2
    assert anna.outlook.subjects("appointment") == ["Created before the crash"]
    assert world.query("SELECT * FROM esx_link WHERE erp_id IN (:a, :t)",
                       a=appointment, t=task) == []

    # The two pairs are parked; once due, they are retried by id (the stamps adopt the
    # copies), and a pass after that has nothing left to do.
    due = datetime.now(UTC) + timedelta(minutes=2)
    for outcome in (*world.sync(now=due), *world.sync(now=due)):
        assert outcome.ok, outcome.report

    assert anna.outlook.subjects("appointment") == ["Created before the crash"]
    assert anna.outlook.subjects("task") == ["Task created before the crash"]
    assert world.subjects(anna, "appointment") == ["Created before the crash"]
    links = world.query("SELECT exchange_id FROM esx_link WHERE erp_id = :a", a=appointment)
    assert [link["exchange_id"] for link in links] == [
        anna.outlook.appointment("Created before the crash").id
    ]


def test_nothing_ping_pongs_a_second_pass_writes_nothing(world: World) -> None:
    anna = world.employee()
    world.add("appointment", "From the ERP", anna, text="Agenda:\n1. Numbers\n2. Plans")
    world.add("task", "ERP task", anna, priority_id=3)
    anna.outlook.add("appointment", "From Outlook", categories=["Mine"], importance="High")
    anna.outlook.add("task", "Outlook task", body="Call back")
    world.sync_ok()
    change_keys = {i.id: i.changekey for k in ("appointment", "task")
                   for i in anna.outlook.items(k)}
    modified = {a["id"]: a["modified_at"] for k in ("appointment", "task")
                for a in world.activities(anna, k)}

    (second,) = world.sync_ok()

    assert second.report is not None
    moved = {key: n for kind in second.report.kinds.values() for key, n in kind.counts.items()
             if key[1].value in ("created", "updated", "deleted")}
    assert sum(moved.values()) == 0, moved
    assert {i.id: i.changekey for k in ("appointment", "task")
            for i in anna.outlook.items(k)} == change_keys
    assert {a["id"]: a["modified_at"] for k in ("appointment", "task")
            for a in world.activities(anna, k)} == modified


def test_an_erp_row_deleted_because_of_outlook_is_archived_first(world: World) -> None:
    anna = world.employee()
    anna.outlook.add("appointment", "Deleted in Outlook")
    world.sync_ok()
    outlook_row = world.activity_named(anna, "appointment", "Deleted in Outlook")

    anna.outlook.delete(anna.outlook.appointment("Deleted in Outlook"))
    world.sync_ok()

    assert world.activity(outlook_row["id"]) is None
    archived = world.query("SELECT row_json FROM esx_archive WHERE activity_id = :i",
                           i=outlook_row["id"])
    assert len(archived) == 1 and "Deleted in Outlook" in archived[0]["row_json"]


@pytest.mark.backends("ews")  # the Graph sandbox keeps no Deleted Items (docs/graph.md)
def test_an_exchange_copy_deleted_because_of_the_erp_goes_to_deleted_items(
    world: World,
) -> None:
    anna = world.employee()
    from_erp = world.add("appointment", "Deleted in the ERP", anna)
    world.sync_ok()

    world.delete_activity(from_erp)
    world.sync_ok()

    trash = [i.subject for i in anna.outlook.account.trash.all()]
    assert "Deleted in the ERP" in trash


def test_mass_deletion_is_held_for_approval(world: World) -> None:
    """Deleting more than ``delete_guard_percent`` (and more than 10) holds the deletions
    until an administrator approves them."""
    anna = world.employee()
    ids = [world.add("task", f"Task {n:02d}", anna) for n in range(14)]
    world.sync_ok()

    for erp_id in ids[:12]:
        world.delete_activity(erp_id)
    (held,) = world.sync()

    assert held.report is not None and not held.ok
    assert any("held" in failure for failure in held.report.failures)
    assert len(anna.outlook.tasks()) == 14

    world.sync(approve_deletions=True)

    assert anna.outlook.subjects("task") == ["Task 12", "Task 13"]


def test_rejected_mass_deletion_keeps_the_copies_and_stops_synchronizing_them(
    world: World,
) -> None:
    anna = world.employee()
    ids = [world.add("task", f"Task {n:02d}", anna) for n in range(14)]
    world.sync_ok()
    for erp_id in ids[:12]:
        world.delete_activity(erp_id)
    (held,) = world.sync()
    assert held.report is not None and movement(held.report).held == 12

    (rejected,) = world.sync(reject_deletions=True)

    assert rejected.ok, rejected.problem
    assert len(anna.outlook.tasks()) == 14  # nothing deleted
    world.update_activity(ids[13], subject="Task 13 renamed")
    kept = anna.outlook.task("Task 00")
    anna.outlook.edit(kept, subject="Task 00 edited in Outlook")
    (after,) = world.sync()
    assert after.ok and after.report is not None and movement(after.report).held == 0
    # The rejected pairs are no longer synchronized: the edit stays in Outlook, nothing
    # comes back into the ERP; the pairs still linked go on as before.
    assert "Task 13 renamed" in anna.outlook.subjects("task")
    assert world.subjects(anna, "task") == ["Task 12", "Task 13 renamed"]


def test_throttling_is_honoured_and_the_pass_completes(world: World) -> None:
    anna = world.employee()
    for n in range(6):
        world.add("appointment", f"Busy day {n}", anna)
        anna.outlook.add("task", f"Outlook task {n}")

    with world.sandbox.throttling(rate=0.3, seed=4) as throttled:
        world.sync_ok()

    assert throttled() > 0
    assert anna.outlook.subjects("appointment") == [f"Busy day {n}" for n in range(6)]
    assert world.subjects(anna, "task") == [f"Outlook task {n}" for n in range(6)]


def test_invalid_sync_state_resyncs_fully_without_duplicates(world: World) -> None:
    anna = world.employee()
    world.add("appointment", "ERP before", anna)
    anna.outlook.add("appointment", "Outlook before")
    world.sync_ok()

    with world.engine.begin() as db:
        db.execute(text("UPDATE esx_cursor SET sync_state = :s WHERE employee_id = :e"),
                   {"s": "bm90IGEgc3luYyBzdGF0ZQ==", "e": anna.id})
    anna.outlook.add("appointment", "Outlook after")
    world.sync_ok()
    world.sync_ok()

    expected = ["ERP before", "Outlook after", "Outlook before"]
    assert anna.outlook.subjects("appointment") == expected
    assert world.subjects(anna, "appointment") == expected


def test_unreachable_mailbox_does_not_stop_the_others(world: World) -> None:
    anna = world.employee()
    ghost = world.employee(mailbox=False)
    ben = world.employee()
    for person in (anna, ghost, ben):
        world.add("appointment", f"Meeting of {person.email}", person)

    outcomes = {o.employee.email: o for o in world.sync()}

    assert not outcomes[ghost.email].ok
    assert ghost.email in outcomes[ghost.email].problem
    for person in (anna, ben):
        assert outcomes[person.email].ok
        assert person.outlook.subjects("appointment") == [f"Meeting of {person.email}"]
    recorded = world.query("SELECT p.outcome FROM esx_pass p JOIN employee e "
                           "ON e.id = p.employee_id WHERE e.email = :m", m=ghost.email)
    assert [r["outcome"] for r in recorded] == ["failed"]


def test_wrong_password_is_a_clear_error(world: World) -> None:
    anna = world.employee()
    world.add("appointment", "Never sent", anna)
    config.set_connection_secret(world.engine, world.connection, "not-the-password")

    (outcome,) = world.sync()

    assert not outcome.ok
    assert WRONG_SECRET[world.backend] in outcome.problem
    assert world.query("SELECT * FROM esx_link WHERE employee_id = :e", e=anna.id) == []


def test_a_mailbox_is_never_worked_on_by_two_passes_at_once(world: World) -> None:
    """A pass leaves a mailbox alone while another pass holds its lease (until it ends or
    expires)."""
    anna, ben = world.employee(), world.employee()
    world.add("appointment", "Waits for the other pass", anna)
    world.add("appointment", "Not held up", ben)
    connection_id = config.get_connection(world.engine, world.connection).id
    lease = {"connection_id": connection_id, "employee_id": anna.id,
             "holder": "other-host:4242:cafe"}
    with world.engine.begin() as db:
        db.execute(insert(esx_lease).values(
            **lease, expires_at=datetime.now(UTC) + timedelta(minutes=5)))

    outcomes = {o.employee.email: o for o in world.sync()}

    assert outcomes[anna.email].busy and "other-host:4242:cafe" in outcomes[anna.email].problem
    assert anna.outlook.subjects("appointment") == []
    assert ben.outlook.subjects("appointment") == ["Not held up"]

    with world.engine.begin() as db:
        db.execute(update(esx_lease).where(esx_lease.c.employee_id == anna.id)
                   .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    world.sync_ok()

    assert anna.outlook.subjects("appointment") == ["Waits for the other pass"]
    assert world.query("SELECT * FROM esx_lease WHERE employee_id = :e", e=anna.id) == []


def test_a_lease_left_by_a_dead_process_of_this_host_is_taken_over(world: World) -> None:
    anna = world.employee()
    world.add("appointment", "After a killed pass", anna)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    connection_id = config.get_connection(world.engine, world.connection).id
    with world.engine.begin() as db:
        db.execute(insert(esx_lease).values(
            connection_id=connection_id, employee_id=anna.id,
            holder=f"{socket.gethostname()}:{dead}:dead",
            expires_at=datetime.now(UTC) + timedelta(minutes=10)))

    world.sync_ok()

    assert anna.outlook.subjects("appointment") == ["After a killed pass"]


def test_two_runs_at_once_create_nothing_twice(world: World) -> None:
    """The service and an administrator's ``esexchange sync`` overlap: each mailbox is
    worked on by one of them, and every item exists once."""
    anna = world.employee()
    for n in range(8):
        world.add("appointment", f"Overlap {n}", anna)

    with world.sandbox.slowed(latency_ms=40), ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(world.sync) for _ in range(2)]
        outcomes = [run.result()[0] for run in runs]

    assert sorted(o.busy for o in outcomes) == [False, True]
    assert anna.outlook.subjects("appointment") == [f"Overlap {n}" for n in range(8)]
    world.sync_ok()
    assert len(anna.outlook.appointments()) == 8


class InFlight:
    """Counts the mailboxes whose pass has started and not ended (a runner ``Progress``)."""

    def __init__(self) -> None:
        self.now = self.most = 0
        self._lock = threading.Lock()

    def begin(self, total: int) -> None:
        pass

    def mailbox_started(self, employee: Employee) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def mailbox_done(self, outcome: MailboxOutcome) -> None:
        with self._lock:
            self.now -= 1


@pytest.mark.backends("ews")  # the bound is EWS's per-account limit (EWSMaxConcurrency)
def test_mailboxes_are_synchronized_several_at_once_within_the_bound(world: World) -> None:
    people = [world.employee() for _ in range(6)]
    for person in people:
        world.add("appointment", f"Meeting of {person.email}", person)
    # The server refuses a fourth request in flight for the account (EWSMaxConcurrency).
    knobs = Knobs(latency_ms=60, max_concurrent_per_account=3)
    in_flight = InFlight()

    with world.sandbox.realism(knobs) as injected:
        outcomes = world.sync(parallel=3, progress=in_flight)

    listed = [e.email for e, _ in config.personnel(world.engine, world.connection)]
    assert [o.employee.email for o in outcomes] == listed  # in the personnel's order
    assert sorted(listed) == sorted(p.email for p in people)
    assert all(o.ok for o in outcomes)
    assert 2 <= in_flight.most <= 3
    assert injected.connection_limit == 0  # never more than three requests at once
    for person in people:
        assert person.outlook.subjects("appointment") == [f"Meeting of {person.email}"]
    world.sync_ok()
    assert all(len(p.outlook.appointments()) == 1 for p in people)


def test_a_link_the_database_refuses_fails_only_its_pair_in_a_batch(world: World) -> None:
    """Links and audit lines of many pairs go to the database together; one the database
    refuses undoes that batch, and its pairs are recorded again one by one."""
    anna = world.employee()
    ids = [world.add("appointment", f"Batch {n}", anna) for n in range(6)]

    with erp_refuses_links(world.engine, ids[2]):
        (outcome,) = world.sync()

    assert outcome.report is not None
    [failure] = outcome.report.failures
    assert f"ERP activity {ids[2]}" in failure and CRASH in failure
    linked = world.query("SELECT erp_id FROM esx_link WHERE employee_id = :e", e=anna.id)
    assert sorted(r["erp_id"] for r in linked) == sorted(set(ids) - {ids[2]})
    audited = world.query("SELECT erp_id FROM esx_audit WHERE employee_id = :e "
                          "AND action = 'CreateInExchange'", e=anna.id)
    assert sorted(r["erp_id"] for r in audited) == sorted(set(ids) - {ids[2]})
    # Once its retry is due, the refused pair's copy is adopted by its stamp.
    (retried,) = world.sync(now=datetime.now(UTC) + timedelta(days=1))
    assert retried.ok, retried.problem
    assert sorted(anna.outlook.subjects("appointment")) == [f"Batch {n}" for n in range(6)]
