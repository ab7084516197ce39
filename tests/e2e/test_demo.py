"""`esexchange demo --once`: a first pass moves items both ways, a rerun duplicates
nothing, and a port in use is a clear error."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from esexchange.cli import app
from esexchange.demo import DemoFolder, instructions

runner = CliRunner()


def _demo(folder: Path, port: int = 0) -> tuple[int, str]:
    result = runner.invoke(app, ["demo", "--once", "--dir", str(folder), "--port", str(port),
                                 "--console-port", "0"])
    return result.exit_code, result.output


def _count(folder: Path, sql: str) -> int:
    with sqlite3.connect(folder / "erp.sqlite") as db:
        return int(db.execute(sql).fetchone()[0])


def test_demo_moves_items_both_ways_and_a_rerun_duplicates_nothing(tmp_path: Path) -> None:
    code, first = _demo(tmp_path)

    assert code == 0, first
    rows = [line.split("│") for line in first.splitlines() if "@example.test>" in line]
    assert rows, first
    assert any("created" in row[2] for row in rows)  # ERP -> Exchange
    assert any("created" in row[3] for row in rows)  # Exchange -> ERP (seeded in Outlook)
    assert "esexchange status --db sqlite:///" in first
    assert "Admin console at http://127.0.0.1:" in first and "sign in as admin" in first
    activities = _count(tmp_path, "SELECT count(*) FROM activity")
    links = _count(tmp_path, "SELECT count(*) FROM esx_link")

    code, second = _demo(tmp_path)

    assert code == 0, second
    assert "created" not in second
    assert _count(tmp_path, "SELECT count(*) FROM activity") == activities
    assert _count(tmp_path, "SELECT count(*) FROM esx_link") == links


def test_demo_on_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        code, output = _demo(tmp_path, port)

    assert code == 2
    assert f"port {port}" in output and "already in use" in output


def test_the_graph_demo_moves_items_both_ways_and_a_rerun_duplicates_nothing(
    tmp_path: Path,
) -> None:
    command = ["demo", "--backend", "graph", "--once", "--dir", str(tmp_path), "--port", "0",
               "--console-port", "0"]
    first = runner.invoke(app, command)

    assert first.exit_code == 0, first.output
    rows = [line.split("│") for line in first.output.splitlines() if "@example.test>" in line]
    assert any("created" in row[2] for row in rows)  # ERP -> Exchange Online
    assert any("created" in row[3] for row in rows)  # Exchange Online -> ERP
    assert "esexchange token demo-graph" in first.output
    links = _count(tmp_path, "SELECT count(*) FROM esx_link")

    again = runner.invoke(app, command)  # another free port: stored delta links still work

    assert again.exit_code == 0, again.output
    assert "created" not in again.output and "did not answer" not in again.output
    assert _count(tmp_path, "SELECT count(*) FROM esx_link") == links


def test_every_hint_is_a_command_that_runs_without_an_activated_venv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # as after `make demo`: .venv not activated
    folder = DemoFolder(tmp_path)

    hints = instructions(folder, "http://127.0.0.1:8443/EWS/Exchange.asmx", "pw", "a@b.test")

    commands = [line.split()[0] for line in hints.splitlines()
                if " --db " in line or " sandbox ews " in line]
    assert len(commands) == 4, hints
    for command in commands:
        assert shutil.which(command, path=os.environ["PATH"]), (command, hints)
