"""A throwaway PostgreSQL cluster for the tests, started from ``initdb``/``pg_ctl`` on PATH.

Each pytest process (each xdist worker) starts its own cluster in a fresh temporary
directory, listening on 127.0.0.1 on a free port with its socket in that directory, trust
authentication, fsync off. Both binaries refuse to run as root, so under root (CI) the
directory belongs to the ``postgres`` OS user and the binaries run via ``runuser``.
The cluster is stopped and its directory removed at the end of the session.

Fixtures:
- ``fresh_postgres_url``: URL of a new empty database for one test (dropped after it).
- ``sqlite_url``: URL of a new SQLite file for one test.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support.ports import free_port

_OS_USER = "postgres"
_counter = itertools.count(1)


class Cluster:
    """One running PostgreSQL server in a temporary directory."""

    def __init__(self) -> None:
        missing = [tool for tool in ("initdb", "pg_ctl") if shutil.which(tool) is None]
        if missing:
            pytest.fail(
                f"{' and '.join(missing)} not found on PATH: install the PostgreSQL server "
                "binaries (e.g. apt-get install postgresql, then add its bin directory, "
                "such as /usr/lib/postgresql/15/bin, to PATH)",
                pytrace=False,
            )
        self._as_root = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="esx-pg-"))
        if self._as_root:
            account = pwd.getpwnam(_OS_USER)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self.data = self.root / "data"
        self.port = 0

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--no-sync", "--no-instructions")
        for _attempt in range(5):  # another worker may take the free port first
            self.port = free_port()
            options = (f"-h 127.0.0.1 -p {self.port} -k {self.root} -F "
                       "-c full_page_writes=off -c synchronous_commit=off")
            result = self._run("pg_ctl", "-D", str(self.data), "-o", options,
                               "-l", str(self.root / "server.log"), "-w", "-t", "30", "start",
                               check=False)
            if result.returncode == 0:
                return
            time.sleep(0.2)
        log = (self.root / "server.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"the test PostgreSQL server did not start:\n{log}")

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop",
                      check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str) -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE)."""
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres",
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = ["runuser", "-u", _OS_USER, "--", *command] if self._as_root else list(command)
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        if check and result.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {result.stderr or result.stdout}")
        return result


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """This process's PostgreSQL cluster (one per xdist worker)."""
    cluster = Cluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def fresh_postgres_url(postgres_cluster: Cluster) -> Iterator[str]:
    """A new, empty database for one test."""
    name = f"test_{os.getpid()}_{next(_counter)}"
    postgres_cluster.execute(f"CREATE DATABASE {name} TEMPLATE template0")
    yield postgres_cluster.url(name)
    postgres_cluster.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A new SQLite database file for one test."""
    return f"sqlite:///{tmp_path / 'erp.db'}"
