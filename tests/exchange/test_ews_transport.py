"""The wire path under exchangelib: answers are handed to its parser in large chunks, the
proxies are read once, and a POST prepared the lean way is the one requests would send."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator

import pytest
import requests
from oauthlib.oauth2 import BackendApplicationClient
from requests.auth import HTTPBasicAuth
from requests_ntlm import HttpNtlmAuth
from requests_oauthlib import OAuth2Session

from esexchange.exchange.ews.transport import READ_CHUNK, LeanOAuth2Session, LeanSession
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


class _Recorder(requests.adapters.BaseAdapter):
    """An adapter that keeps what it was asked to send and answers 200."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[requests.PreparedRequest, dict[str, object]]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        self.sent.append((request, kwargs))
        response = requests.Response()
        response.status_code, response.url, response.request = 200, request.url, request
        response._content = b"<ok/>"
        return response

    def close(self) -> None:
        pass


def _sent(session: requests.Session, post: Callable[[], object]) -> dict[str, object]:
    recorder = _Recorder()
    session.mount("https://", recorder)
    post()
    (request, kwargs), = recorder.sent
    return {
        "method": request.method, "url": request.url, "headers": dict(request.headers),
        "body": request.body,
        "hooks": {event: [getattr(h, "__qualname__", h) for h in hooks]
                  for event, hooks in request.hooks.items()},
        "cookies": sorted((c.name, c.value) for c in request._cookies or []),
        **kwargs,
    }


def _configured(session: requests.Session, auth: object) -> requests.Session:
    """A session set up as exchangelib and ``_TlsSessions`` set theirs up."""
    session.headers.update({"Content-Type": "text/xml; charset=utf-8", "Accept-Encoding": "gzip"})
    session.auth = auth  # type: ignore[assignment]
    session.trust_env = False
    session.proxies = {"https": "http://proxy.example.test:3128"}
    session.cookies.set("X-BackEndCookie", "anna=u56Lnp2ejJqBx8", domain="mail.example.test")
    session.hooks["response"].append(_response_hook)
    return session


def _response_hook(response: requests.Response, **_kwargs: object) -> None:
    """A session's own response hook (none of ours has one; requests keeps them)."""


@pytest.mark.parametrize("auth", [None, HTTPBasicAuth("svc", "pw"), HttpNtlmAuth("svc", "pw")],
                         ids=["none", "basic", "ntlm"])
def test_a_lean_post_is_sent_as_requests_would_send_it(auth: object) -> None:
    # LeanSession prepares EWS's POSTs in fewer steps; what goes out must not differ: the
    # headers (None removes one), the affinity cookie Exchange set, the auth (NTLM
    # registers a hook), the proxies, and a URL requests re-quotes.
    url = "https://Mail.Example.test/EWS/Exchange.asmx?a=b c"
    body = b"<s:Envelope>\xc3\xa4</s:Envelope>"
    headers = {"X-AnchorMailbox": "anna@example.test", "Accept-Encoding": None}

    def post(session: requests.Session) -> Callable[[], object]:
        return lambda: session.post(url, data=body, headers=headers, allow_redirects=False,
                                    timeout=(5, 120), stream=False)

    lean = _configured(LeanSession(), auth)
    plain = _configured(requests.Session(), auth)
    assert _sent(lean, post(lean)) == _sent(plain, post(plain))


def test_a_lean_oauth_post_carries_the_token_as_requests_oauthlib_sends_it() -> None:
    token = {"access_token": "app-token", "token_type": "Bearer", "expires_in": 3600}

    def session(cls: type[OAuth2Session]) -> requests.Session:
        return _configured(cls(client=BackendApplicationClient("app"), token=token), None)

    lean, plain = session(LeanOAuth2Session), session(OAuth2Session)
    url, body = "https://mail.example.test/EWS/Exchange.asmx", b"<s:Envelope/>"
    sent = _sent(lean, lambda: lean.post(url, data=body, allow_redirects=False))
    assert sent == _sent(plain, lambda: plain.post(url, data=body, allow_redirects=False))
    assert sent["headers"]["Authorization"] == "Bearer app-token"  # type: ignore[index]


@pytest.mark.parametrize("call", [
    lambda s, url: s.get(url, params={"q": "1"}),
    lambda s, url: s.post(url, data={"form": "field"}),
    lambda s, url: s.post(url, data=b"<x/>", verify=False),
], ids=["get", "form", "verify"])
def test_anything_but_a_plain_post_goes_the_ordinary_way(
    call: Callable[[requests.Session, str], object],
) -> None:
    lean = _configured(LeanSession(), None)
    plain = _configured(requests.Session(), None)
    url = "https://mail.example.test/EWS/Exchange.asmx"
    assert _sent(lean, lambda: call(lean, url)) == _sent(plain, lambda: call(plain, url))
