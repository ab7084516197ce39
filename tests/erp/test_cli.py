"""`esexchange db install|sample|status` through the real command line, on a SQLite file
and on PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from esexchange.cli import app
from esexchange.erp.db import open_engine
from esexchange.erp.script import SCRIPT_VERSION
from tests.support.ports import free_port

runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env or {"ESEXCHANGE_DB": ""})
    return result.exit_code, result.stdout, result.stderr


def test_install_sample_and_status(erp_url: str) -> None:
    code, output, _ = run("db", "install", "--db", erp_url)
    assert code == 0 and f"version {SCRIPT_VERSION} installed" in output

    code, output, _ = run("db", "install", "--db", erp_url)
    assert code == 0 and "nothing to do" in output

    code, output, _ = run("db", "sample", "--db", erp_url, "--employees", "6",
                          "--activities", "40", "--seed", "5")
    assert code == 0 and output.startswith("added 6 employees")
    # A moved occurrence of a series is a row of its own.
    found = re.search(r"(\d+) moved", " ".join(output.split()))
    assert found, output
    moved = int(found.group(1))

    code, _, error = run("db", "sample", "--db", erp_url, "--employees", "2",
                         "--activities", "4")
    assert code == 2 and "--force" in error and "6 employees" in error

    code, output, _ = run("db", "status", env={"ESEXCHANGE_DB": erp_url})
    assert code == 0
    assert f"database script version: {SCRIPT_VERSION}" in output
    assert "employee: 6" in output and f"activity: {40 + moved}" in output

    engine = open_engine(erp_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM activity WHERE series_id IS NULL")
                            ).scalar() == 40
        assert conn.execute(text("SELECT count(*) FROM esx_change")).scalar() > 40
    engine.dispose()


def test_sample_on_a_fresh_database_installs_first(erp_url: str) -> None:
    code, output, _ = run("db", "sample", "--employees", "2", "--activities", "3",
                          env={"ESEXCHANGE_DB": erp_url})

    assert code == 0 and "added 2 employees" in output
    assert f"version: {SCRIPT_VERSION}" in run("db", "status", "--db", erp_url)[1]


def test_no_database_given() -> None:
    code, _, error = run("db", "install")

    assert code == 2
    assert "--db" in error and "ESEXCHANGE_DB" in error


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("sqlite:///{tmp}/no/such/dir/erp.db", "directory exists"),
        ("postgresql://esx:s3cret@127.0.0.1:{port}/erp", "server runs"),
        ("mysql://esx@localhost/erp", "SQLite and PostgreSQL"),
    ],
)
def test_an_unusable_database_says_what_to_fix(
    url: str, hint: str, tmp_path: object, unused_port: int
) -> None:
    code, _, error = run("db", "install", "--db", url.format(tmp=tmp_path, port=unused_port))

    assert code == 2
    assert hint in error
    assert "s3cret" not in error  # a password in the URL is never shown back


@pytest.mark.parametrize("command", [("status",), ("db", "status"), ("options", "list", "hq")])
def test_a_read_only_command_never_creates_the_file_it_was_pointed_at(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    missing = tmp_path / "does-not-exist.sqlite"

    code, _, error = run(*command, "--db", f"sqlite:///{missing}")

    assert code == 2
    assert f"no such database file {missing}" in error
    assert not missing.exists()


def test_a_file_that_is_not_sqlite_is_named_so(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(bytes(range(256)) * 16)

    code, _, error = run("status", "--db", f"sqlite:///{garbage}")

    assert code == 2
    assert f"{garbage} is not a SQLite database" in error


@pytest.fixture
def unused_port() -> int:
    return free_port()


def test_archive_restore_and_prune(erp_url: str) -> None:
    from esexchange.domain.model import Kind
    from esexchange.erp.port import Cursor, Scope
    from esexchange.erp.store import SqlErpStore

    run("db", "sample", "--db", erp_url, "--employees", "2", "--activities", "5")
    engine = open_engine(erp_url)
    store = SqlErpStore(engine)
    owner = store.employees()[0].id
    erp_id = store.changes(owner, Kind.APPOINTMENT, 0)[0][0].erp_id
    subject = store.activities([erp_id])[erp_id].subject
    with store.transaction() as tx:
        tx.delete_activity(erp_id, employee_id=owner)
        connection_id = tx.connection.execute(text(
            "INSERT INTO esx_connection (name, backend, auth) VALUES ('c', 'ews', 'user') "
            "RETURNING id")).scalar_one()
        tx.save_cursor(Scope(connection_id, owner), Kind.TASK, Cursor(erp_seq=3))
        tx.commit()

    code, output, _ = run("db", "archive", "--db", erp_url)
    assert code == 0 and subject in output and f"activity {erp_id}" in output
    archive_id = output.split()[0]
    code, output, _ = run("db", "restore", archive_id, "--db", erp_url)
    assert code == 0 and f"restored activity {erp_id}" in output
    assert store.activities([erp_id])[erp_id].subject == subject
    code, _, error = run("db", "restore", archive_id, "--db", erp_url)
    assert code == 2 and "no archive entry" in error

    with engine.connect() as conn:
        journal_before = conn.execute(text("SELECT count(*) FROM esx_change WHERE seq > 3")
                                      ).scalar()
    code, output, _ = run("db", "prune", "--db", erp_url)
    assert code == 0 and output.strip() == "deleted 3 journal rows"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT min(seq) FROM esx_change")).scalar() == 4
        assert conn.execute(text("SELECT count(*) FROM esx_change")).scalar() == journal_before
    engine.dispose()
