"""Serving the sandbox with uvicorn, in the foreground (CLI) or in a background thread (tests).

The listening socket is made here with ``TCP_NODELAY``: uvicorn writes a response's
headers and body separately, and without it every answer waits for the client's delayed
ACK (about 40 ms on Linux), which would make a test suite of a few hundred requests slow.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket (port 0: any free port) whose connections send at once."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by accepted sockets
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    return sock


def _server(app: Any, certfile: str | None, keyfile: str | None) -> uvicorn.Server:
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off",
        ssl_certfile=certfile, ssl_keyfile=keyfile,
    )  # fmt: skip
    return uvicorn.Server(config)


def serve_forever(
    app: Any, sock: socket.socket, *, certfile: str | None = None, keyfile: str | None = None
) -> None:
    """Serve ``app`` on ``sock`` until interrupted (HTTPS with ``certfile``/``keyfile``)."""
    _server(app, certfile, keyfile).run(sockets=[sock])


@contextmanager
def serving_in_background(
    app: Any, host: str = "127.0.0.1", *, certfile: str | None = None, keyfile: str | None = None
) -> Iterator[int]:
    """Serve ``app`` on a free port of ``host`` in a daemon thread; yield the port."""
    sock = listening_socket(host, 0)
    server = _server(app, certfile, keyfile)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the EWS sandbox did not start")
        time.sleep(0.01)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
