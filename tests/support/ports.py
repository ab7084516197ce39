"""Loopback ports for tests that need one nothing listens on."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port on 127.0.0.1 that the OS just handed out and nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
