"""Serve an ASGI app (the EWS sandbox, the console) from a background thread.

The demo, the benchmark and the end-to-end tests run the sandbox inside their own
process: no second command to start, and it stops with them. The socket is bound here,
before uvicorn starts, so a port already in use is a clear error instead of a log line
from a dying thread.
"""

from __future__ import annotations

import errno
import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

from esexchange.domain.errors import EsExchangeError
from esexchange.sandbox.ews.server import listening_socket, uvicorn_server

LOOPBACK = "127.0.0.1"


class PortInUse(EsExchangeError):
    """The requested loopback port is taken by another program."""


class BackgroundServer:
    """``with BackgroundServer(app, port=0) as server: server.base_url`` (0 = any free port)."""

    def __init__(
        self,
        app: Any,
        *,
        port: int = 0,
        host: str = LOOPBACK,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
    ) -> None:
        self._app = app
        self.host = host
        self._requested_port = port
        self._ssl = (ssl_certfile, ssl_keyfile)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = port

    @property
    def base_url(self) -> str:
        scheme = "https" if self._ssl[0] else "http"
        shown = LOOPBACK if self.host in ("0.0.0.0", "") else self.host
        return f"{scheme}://{shown}:{self.port}"

    def start(self) -> BackgroundServer:
        sock = _bind(self.host, self._requested_port)
        self.port = sock.getsockname()[1]
        self._server = uvicorn_server(self._app, *self._ssl)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="esx-sandbox",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise EsExchangeError(f"the server did not start on {self.base_url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


def _bind(host: str, port: int) -> socket.socket:
    try:
        return listening_socket(host, port)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise PortInUse(
                f"port {port} on {host} is already in use by another program; "
                "choose another with --port (or --port 0 for any free port)"
            ) from None
        raise
