"""pytest plugin: the service as an administrator runs it, ``esexchange run`` as a real
process on a test's ERP database (``start_service``), and ``wait_for`` a condition."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from esexchange.sandbox.tls import TlsFiles
from tests.support.ports import free_port


@dataclass
class ServiceProcess:
    """One ``esexchange run`` child process and its console's address."""

    process: subprocess.Popen[str]
    url: str
    log: Path
    ca_file: Path | None = None  # served over HTTPS with a certificate of this CA

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", timeout=10, verify=self._verify())

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.post(f"{self.url}{path}", timeout=10, verify=self._verify(), **kwargs)

    def _verify(self) -> ssl.SSLContext | bool:
        return ssl.create_default_context(cafile=str(self.ca_file)) if self.ca_file else True

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def wait_for(condition: Callable[[], object], timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.1)


@contextmanager
def services(folder: Path) -> Iterator[Callable[..., ServiceProcess]]:
    """``start(engine, *args)`` runs ``esexchange run`` on ``engine``'s database (on
    ``port``, any free one by default; over HTTPS with ``tls``); every process started is
    killed at the end if it still runs."""
    started: list[ServiceProcess] = []

    def start(engine: Engine, *args: str, port: int | None = None,
              tls: TlsFiles | None = None) -> ServiceProcess:
        port = port or free_port()
        log = folder / f"service-{len(started)}.log"
        url = engine.url.render_as_string(hide_password=False)
        https = ["--tls-certfile", str(tls.certfile), "--tls-keyfile", str(tls.keyfile)] \
            if tls else []
        process = subprocess.Popen(
            [sys.executable, "-m", "esexchange", "run", "--db", url, "--port", str(port),
             *https, *args],
            stdout=log.open("w"), stderr=subprocess.STDOUT, text=True, env=dict(os.environ),
        )
        scheme = "https" if tls else "http"
        service = ServiceProcess(process, f"{scheme}://127.0.0.1:{port}", log,
                                 tls.ca_file if tls else None)
        started.append(service)

        def answers() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"the service exited:\n{service.output()}")
            try:
                return service.get("/healthz").status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(answers, 90, "the service to answer /healthz")
        return service

    try:
        yield start
    finally:
        _stop_all(started)


def _stop_all(started: list[ServiceProcess]) -> None:
    for service in started:
        if service.process.poll() is None:
            service.process.kill()
            service.process.wait()
        print(f"--- {service.log.name}\n{service.output()[-4000:]}")  # shown when a test fails


@pytest.fixture
def start_service(tmp_path: Path) -> Iterator[Callable[..., ServiceProcess]]:
    """``start_service(engine, *args)``: run ``esexchange run`` on ``engine``'s database."""
    with services(tmp_path) as start:
        yield start
