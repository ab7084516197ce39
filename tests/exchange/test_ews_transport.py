"""The wire path under exchangelib: answers are handed to its parser in large chunks."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest
import requests

from esexchange.exchange.ews.transport import READ_CHUNK
from tests.exchange.ews_helpers import connected, user_settings
from tests.support.sandbox import RunningSandbox


def test_an_answer_reaches_the_parser_in_one_piece_not_byte_by_byte(
    ews: RunningSandbox,
) -> None:
    # exchangelib parses response.iter_content() with requests' default chunk of ONE byte;
    # a 75 KB answer then costs 75,000 parser calls (transport.WholeBodyResponse).
    with connected(user_settings(ews.url)) as connection:
        session = connection.protocol.get_session()
        try:
            response = session.post(ews.url, data=b"<not-soap/>",
                                    headers={"Content-Type": "text/xml"})
        finally:
            connection.protocol.release_session(session)
    assert 1 < len(response.content) < READ_CHUNK
    assert list(response.iter_content()) == [response.content]


def test_a_throttled_thread_shrinking_an_exhausted_pool_does_not_hang(
    ews: RunningSandbox,
) -> None:
    # exchangelib shrinks the session pool when the server throttles; with every session
    # checked out it grows the pool under the lock it already holds. A 1,000-mailbox
    # first pass hung there for ever (all mailbox threads behind that lock).
    with connected(user_settings(ews.url, max_connections=3)) as connection:
        protocol = connection.protocol
        held = [protocol.get_session() for _ in range(2)]  # the pool holds 2, both out
        shrinking = threading.Thread(target=protocol.decrease_poolsize, daemon=True)
        shrinking.start()
        shrinking.join(timeout=10)
        assert not shrinking.is_alive(), "decrease_poolsize waits for itself"
        for session in held:
            protocol.release_session(session)
        again = protocol.get_session()  # and the pool still hands out sessions
        protocol.release_session(again)


class _RecordingProxy:
    """A plain-HTTP forward proxy that notes each request's target and passes it on."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                proxy.seen.append(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "proxy-connection")}
                answer = requests.post(self.path, data=body, headers=headers, timeout=30,
                                       proxies={"http": "", "https": ""})
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding",
                                            "connection", "content-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recording_proxy() -> Iterator[_RecordingProxy]:
    proxy = _RecordingProxy()
    yield proxy
    proxy.close()


def _check_through(url: str) -> None:
    with connected(user_settings(url)) as connection:
        connection.check()


def test_the_proxy_of_the_environment_carries_the_requests(
    ews: RunningSandbox, recording_proxy: _RecordingProxy, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The sessions read HTTP_PROXY / NO_PROXY once (transport._environment_read_once),
    # not on every request; a proxy the administrator set must still carry every one.
    for name in ("NO_PROXY", "no_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", recording_proxy.url)
    _check_through(ews.url)
    assert recording_proxy.seen, "no request went through the proxy"
    assert all(path == ews.url for path in recording_proxy.seen)


def test_no_proxy_keeps_the_requests_off_the_proxy(
    ews: RunningSandbox, recording_proxy: _RecordingProxy, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("http_proxy", raising=False)
    monkeypatch.setenv("HTTP_PROXY", recording_proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    _check_through(ews.url)
    assert recording_proxy.seen == []
