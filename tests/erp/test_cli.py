"""`esexchange db install|sample|status` through the real command line, on a SQLite file
and on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from esexchange.cli import app
from esexchange.erp.db import open_engine
from esexchange.erp.script import SCRIPT_VERSION

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

    code, _, error = run("db", "sample", "--db", erp_url, "--employees", "2",
                         "--activities", "4")
    assert code == 2 and "--force" in error and "6 employees" in error

    code, output, _ = run("db", "status", env={"ESEXCHANGE_DB": erp_url})
    assert code == 0
    assert f"database script version: {SCRIPT_VERSION}" in output
    assert "employee: 6" in output and "activity: 40" in output

    engine = open_engine(erp_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM activity")).scalar() == 40
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


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
