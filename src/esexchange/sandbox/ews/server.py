"""Serving the sandbox with uvicorn in the foreground (CLI); ``esexchange.inprocess`` serves
it from a background thread with the same socket and server.

The listening socket is made here with ``TCP_NODELAY``: uvicorn writes a response's
headers and body separately, and without it every answer waits for the client's delayed
ACK (about 40 ms on Linux), which would make a test suite of a few hundred requests slow.
"""

from __future__ import annotations

import socket
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


def uvicorn_server(app: Any, certfile: str | None, keyfile: str | None) -> uvicorn.Server:
    """A quiet uvicorn server for ``app`` (HTTPS with ``certfile``/``keyfile``)."""
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off",
        ssl_certfile=certfile, ssl_keyfile=keyfile,
    )  # fmt: skip
    return uvicorn.Server(config)


def serve_forever(
    app: Any, sock: socket.socket, *, certfile: str | None = None, keyfile: str | None = None
) -> None:
    """Serve ``app`` on ``sock`` until interrupted (HTTPS with ``certfile``/``keyfile``)."""
    uvicorn_server(app, certfile, keyfile).run(sockets=[sock])
