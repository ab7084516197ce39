"""A fault-injecting HTTP proxy for the EWS adapter's tests (issue 10).

``FaultyProxy`` sits between the adapter and a sandbox on loopback. Each request it
receives either passes through or meets one fault, chosen at random with the proxy's
own seeded ``random.Random``:

- ``refused_5xx``: answered 500 or 503 without reaching the sandbox;
- ``dropped_before``: the connection is closed before the request reaches the sandbox;
- ``dropped_after``: the request reaches the sandbox (a write happens) and the
  connection is closed before any answer: the client cannot know;
- ``cut_mid_response``: half of the sandbox's answer, then the connection is closed;
- ``stalled``: nothing is answered for longer than the client's timeout.

``faults`` counts what was injected, ``passed`` what went through untouched.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

FAULTS = ("refused_5xx", "dropped_before", "dropped_after", "cut_mid_response", "stalled")


@dataclass
class FaultyProxy:
    """Forward ``127.0.0.1:<port>`` to ``upstream``, injecting faults at ``rate``."""

    upstream: tuple[str, int]
    seed: int = 0
    rate: float = 0.0
    stall_seconds: float = 2.5
    faults: Counter[str] = field(default_factory=Counter)
    passed: int = 0

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self._stopping.set()
        self._listener.close()

    # -- serving -----------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            while True:
                request = _read_message(client)
                if request is None:
                    return
                fault = self._choose()
                if fault is None:
                    answer = self._forward(request)
                    if answer is None:
                        return
                    client.sendall(answer)
                    continue
                self._inject(fault, client, request)
                return

    def _choose(self) -> str | None:
        with self._lock:
            if self._random.random() >= self.rate:
                self.passed += 1
                return None
            fault = self._random.choice(FAULTS)
            self.faults[fault] += 1
            return fault

    def _inject(self, fault: str, client: socket.socket, request: bytes) -> None:
        if fault == "refused_5xx":
            status = self._random.choice([b"500 Internal Server Error", b"503 Service Unavailable"])
            client.sendall(b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\n"
                           b"connection: close\r\n\r\n")
        elif fault == "dropped_after":
            self._forward(request)
        elif fault == "cut_mid_response":
            answer = self._forward(request) or b""
            client.sendall(answer[: len(answer) // 2])
        elif fault == "stalled":
            time.sleep(self.stall_seconds)
        # dropped_before: nothing at all. Every fault ends with the connection closed.
        with contextlib.suppress(OSError):
            client.shutdown(socket.SHUT_RDWR)

    def _forward(self, request: bytes) -> bytes | None:
        with socket.create_connection(self.upstream, timeout=30) as upstream:
            upstream.sendall(request)
            return _read_message(upstream)


def _read_message(sock: socket.socket) -> bytes | None:
    """One HTTP/1.1 message (head and a ``content-length`` body), or ``None`` at EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = sock.recv(65536)
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head + b"\r\n\r\n" + body
