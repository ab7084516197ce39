"""The service's parts on a real database: admin accounts, renewed leases, the
installation's identity, the metrics read from the database."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from esexchange import config
from esexchange.cli import app
from esexchange.config import Auth, Backend, ConnectionConfig
from esexchange.domain.model import Kind
from esexchange.domain.state import Parked
from esexchange.erp.db import end_abandoned_transactions, open_engine
from esexchange.erp.port import Scope
from esexchange.erp.schema import esx_admin, esx_lease
from esexchange.erp.store import SqlErpStore
from esexchange.service.adapter import OpenConnections
from esexchange.service.admins import AdminError, create_admin, sign_in
from esexchange.service.daemon import ServiceSettings, SyncService
from esexchange.service.installation import installation
from esexchange.service.leases import MailboxBusy, abandoned_after, mailbox_lease
from esexchange.service.metrics import ServiceMetrics
from esexchange.service.runner import SWITCH_INTERVAL, share_the_interpreter
from tests.support.postgres import Cluster

PASSWORD = "correct horse battery"


def test_admin_create_reads_the_password_from_stdin_and_stores_only_a_hash(
    config_db_url: str,
) -> None:
    result = CliRunner().invoke(app, ["admin", "create", "erika", "--password-stdin",
                                      "--db", config_db_url], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    engine = open_engine(config_db_url)
    with engine.connect() as db:
        stored = db.scalar(select(esx_admin.c.password_hash))
    assert stored and stored.startswith("$argon2") and PASSWORD not in stored
    assert sign_in(engine, "erika", PASSWORD).ok
    again = CliRunner().invoke(app, ["admin", "create", "erika", "--password-stdin",
                                     "--db", config_db_url], input=PASSWORD + "\n")
    assert again.exit_code == 2 and "exists already" in again.output


def test_a_short_password_is_refused_with_the_reason(config_sqlite_url: str) -> None:
    with pytest.raises(AdminError, match="at least 10 characters"):
        create_admin(open_engine(config_sqlite_url), "erika", "short")


def test_wrong_passwords_are_refused_and_then_slowed_down(config_sqlite_url: str) -> None:
    engine = open_engine(config_sqlite_url)
    create_admin(engine, "erika", PASSWORD)
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    assert not sign_in(engine, "nobody", PASSWORD, now).ok
    answers = [sign_in(engine, "erika", "wrong password", now) for _ in range(3)]
    assert not any(a.ok for a in answers)
    assert answers[-1].wait_seconds >= 2
    # While the account waits, even the right password is not checked.
    assert not sign_in(engine, "erika", PASSWORD, now + timedelta(seconds=1)).ok
    assert sign_in(engine, "erika", PASSWORD, now + timedelta(seconds=3)).ok
    # The count starts again after a right password.
    assert sign_in(engine, "erika", "wrong", now + timedelta(seconds=4)).wait_seconds == 0


def _with_connection_hq(url: str) -> Engine:
    """The database at ``url`` with an EWS connection ``hq`` (secret ``secret``)."""
    engine = open_engine(url)
    config.add_connection(engine, ConnectionConfig(
        name="hq", backend=Backend.EWS, auth=Auth.USER, upn="svc@example.test",
        ews_url="https://mail.example.test/EWS/Exchange.asmx"), "secret")
    return engine


def test_a_lease_is_renewed_while_its_pass_runs_longer_than_the_lease(
    config_db_url: str,
) -> None:
    engine = _with_connection_hq(config_db_url)
    scope = Scope(config.get_connection(engine, "hq").id or 0, 1)
    refused: list[str] = []
    with mailbox_lease(engine, scope, holder="elsewhere:1:a", now=datetime.now(UTC),
                       mailbox="anna@example.test", duration=timedelta(seconds=1.5)):
        for _ in range(4):  # 3 s: twice the lease
            time.sleep(0.75)
            try:
                with mailbox_lease(engine, scope, holder="other-host:2:b",
                                   now=datetime.now(UTC), mailbox="anna@example.test"):
                    pass
            except MailboxBusy as busy:
                refused.append(str(busy))
    assert len(refused) == 4 and "another pass is running" in refused[0]
    # Released at the end of the block: the next pass takes it.
    with mailbox_lease(engine, scope, holder="other-host:2:b", now=datetime.now(UTC),
                       mailbox="anna@example.test"):
        pass


def test_a_short_lease_taken_while_a_long_one_is_held_is_renewed_in_time(
    config_db_url: str,
) -> None:
    # One thread renews every lease of the process; taken while it waits out a 15-minute
    # lease's renewal, a 1.5 s lease must still be renewed before it lapses.
    engine = _with_connection_hq(config_db_url)
    connection_id = config.get_connection(engine, "hq").id or 0
    with mailbox_lease(engine, Scope(connection_id, 1), holder="here:1:a", now=datetime.now(UTC),
                       mailbox="anna@example.test"):
        time.sleep(0.2)  # the renewing thread now waits for the long lease's turn
        with mailbox_lease(engine, Scope(connection_id, 2), holder="here:1:b",
                           now=datetime.now(UTC), mailbox="bernd@example.test",
                           duration=timedelta(seconds=1.5)):
            time.sleep(2.5)
            with pytest.raises(MailboxBusy), mailbox_lease(
                engine, Scope(connection_id, 2), holder="there:2:c", now=datetime.now(UTC),
                mailbox="bernd@example.test",
            ):
                pass


def test_passes_on_several_threads_get_the_interpreter_in_short_turns() -> None:
    before = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)  # Python's default
        share_the_interpreter()
        assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL)
        sys.setswitchinterval(0.0002)  # someone else's shorter one is kept
        share_the_interpreter()
        assert sys.getswitchinterval() == pytest.approx(0.0002)
    finally:
        sys.setswitchinterval(before)


def test_a_copy_of_the_database_becomes_an_installation_of_its_own(
    config_sqlite_url: str, tmp_path: Path
) -> None:
    engine = open_engine(config_sqlite_url)
    original = installation(engine)
    assert installation(engine) == original  # stable
    copy = tmp_path / "copy.sqlite"
    shutil.copy(engine.url.database or "", copy)
    copied = installation(open_engine(f"sqlite:///{copy}"))
    assert copied.id != original.id
    assert installation(engine) == original


def test_a_lease_left_by_a_dead_process_of_this_host_does_not_keep_its_mailbox_waiting(
    config_sqlite_url: str,
) -> None:
    """A worker killed mid-pass leaves its lease behind; a worker on the same host takes
    the mailbox over at once instead of waiting for the lease to lapse. A lease held
    elsewhere (another host, which this one cannot see) still keeps its mailbox."""
    engine = _with_connection_hq(config_sqlite_url)
    config.add_personnel(engine, "hq", ["anna.berg@example.com", "bernd.lang@example.com"])
    connection = config.get_connection(engine, "hq").id
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    now = datetime.now(UTC)
    with engine.begin() as db:
        later = now + timedelta(minutes=15)
        db.execute(insert(esx_lease), [
            {"connection_id": connection, "employee_id": 1,
             "holder": f"{socket.gethostname()}:{dead.pid}:dead", "expires_at": later},
            {"connection_id": connection, "employee_id": 2,
             "holder": "other-host:1:alive", "expires_at": later},
        ])
    service = SyncService(engine, ServiceSettings(interval=timedelta(minutes=5)))
    due = [mailbox.email for mailbox in service.due(now)]
    assert due == ["anna.berg@example.com"]


def test_metrics_count_the_parked_items_by_kind(config_sqlite_url: str) -> None:
    engine = open_engine(config_sqlite_url)
    config.add_connection(engine, ConnectionConfig(
        name="hq", backend=Backend.EWS, auth=Auth.USER, ews_url="https://mail.example.test/EWS",
        upn="svc@example.test"), "secret-password")
    scope = Scope(config.get_connection(engine, "hq").id or 0, 7)
    later = datetime.now(UTC) + timedelta(hours=1)
    store = SqlErpStore(engine)
    with store.transaction() as tx:
        for erp_id, kind in ((1, Kind.APPOINTMENT), (2, Kind.APPOINTMENT), (3, Kind.TASK)):
            tx.park(scope, Parked(kind, erp_id, None, f"item {erp_id}", 1, "refused", later))
        tx.commit()

    text = generate_latest(ServiceMetrics(engine).registry).decode()

    assert 'esexchange_parked_items{kind="appointment"} 2.0' in text
    assert 'esexchange_parked_items{kind="task"} 1.0' in text


def test_a_hung_workers_transaction_is_ended_so_its_successor_is_not_blocked(
    postgres_cluster: Cluster,
) -> None:
    """A worker stopped mid-transaction (SIGSTOP, a frozen VM) keeps its row locks; the
    service has PostgreSQL end such a transaction, so the worker taking over its mailbox
    writes the same rows instead of waiting for ever."""
    name = f"hung_{os.getpid()}"
    postgres_cluster.execute(f"CREATE DATABASE {name}")
    hung_worker, successor = (open_engine(postgres_cluster.url(name)) for _ in range(2))
    try:
        with successor.begin() as db:
            db.execute(text("CREATE TABLE lease (mailbox text PRIMARY KEY, holder text)"))
            db.execute(text("INSERT INTO lease VALUES ('anna@example.test', 'first')"))
        end_abandoned_transactions(hung_worker, timedelta(seconds=1))
        hung = hung_worker.connect()
        hung.begin()
        hung.execute(text("UPDATE lease SET holder = 'first, renewing'"))  # then it hangs

        started = time.monotonic()
        with successor.begin() as db:
            db.execute(text("SET lock_timeout = '30s'"))
            db.execute(text("UPDATE lease SET holder = 'second'"))
        assert time.monotonic() - started < 20
        with successor.connect() as db:
            assert db.scalar(text("SELECT holder FROM lease")) == "second"
        with pytest.raises(DBAPIError, match="idle-in-transaction"):  # its session was ended
            hung.execute(text("SELECT 1"))
        hung.invalidate()
    finally:
        hung_worker.dispose()
        successor.dispose()
        postgres_cluster.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_a_live_pass_is_never_taken_for_a_hung_one() -> None:
    assert abandoned_after(timedelta(minutes=15)) == timedelta(minutes=15)
    assert abandoned_after(timedelta(seconds=3)) == timedelta(seconds=10)


class _Opened:
    """What the opener of ``OpenConnections`` hands out, remembering whether it closed."""

    def __init__(self, made_with: str) -> None:
        self.made_with, self.closed = made_with, False

    def close(self) -> None:
        self.closed = True


def test_the_service_opens_a_connection_again_only_when_what_it_was_opened_from_changed(
    config_sqlite_url: str,
) -> None:
    engine = _with_connection_hq(config_sqlite_url)
    opened: list[_Opened] = []

    def opener(engine: Any, conn: ConnectionConfig, zone: str) -> Any:
        opened.append(_Opened(config.connection_secret(engine, conn.name)))
        return opened[-1]

    connections = OpenConnections(opener)

    def current() -> Any:
        return connections.get(engine, config.get_connection(engine, "hq"), "Europe/Berlin")

    first = current()
    assert current() is first and len(opened) == 1  # kept between passes
    config.set_connection_secret(engine, "hq", "rotated")
    rotated = current()
    assert rotated is not first and rotated.made_with == "rotated"
    assert not first.closed  # a pass in flight may still use it
    config.set_option(engine, "hq", "window_future_days", "30")
    assert current() is not rotated
    assert connections.get(engine, config.get_connection(engine, "hq"), "UTC") is not opened[-2]
    connections.close()
    assert all(each.closed for each in opened) and len(opened) == 4
