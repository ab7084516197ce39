"""The HTTP layer under exchangelib: TLS per connection, request counting, bounded waits.

exchangelib keeps its knobs on classes (``BaseProtocol.HTTP_ADAPTER_CLS``) and caches
protocols process-wide by (URL, credentials). Two esExchange connections to the same
server with different CA bundles would then share one TLS setting. So each
``EwsConnection`` owns an uncached protocol whose sessions mount a ``TlsAdapter`` built
from that connection's own settings, and nothing process-global of exchangelib is changed
(the User-Agent names the worker process: ``name_this_worker``).

Requests are counted per mailbox operation through a context variable that the mailbox
sets around each call (``mailbox_call``); the same context carries the operation's
throttling budget, so one mailbox's wait never eats another's.

The one patch point in exchangelib's wire path: it parses every answer from
``response.iter_content()``, whose default chunk size in requests is ONE byte, so lxml is
fed a 75 KB answer in 75,000 calls (about 20 times slower than in one piece). An answer
that was not streamed is already in memory; ``TlsAdapter`` hands it out in large chunks
(``WholeBodyResponse``). Streamed answers (streaming notifications) are left as they are.

Every EWS request is a POST of bytes to one URL, yet requests prepares each one from
scratch: cookie jars copied, headers merged twice, the URL parsed and re-quoted, the body
probed through runtime protocol checks; more client CPU than the answer's parsing on an
idle pass. ``LeanSession`` prepares such a POST with requests' own steps, in requests'
order, minus what cannot change between two of them (the URL's preparation is kept per
URL); anything else goes the ordinary way.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import requests.adapters
from exchangelib.autodiscover.protocol import AutodiscoverProtocol
from exchangelib.credentials import OAuth2Credentials
from exchangelib.errors import RateLimitError, UnauthorizedError
from exchangelib.protocol import CachingProtocol, FailFast, FaultTolerance, Protocol
from exchangelib.transport import DEFAULT_HEADERS, get_service_authtype
from requests.cookies import RequestsCookieJar, merge_cookies
from requests.structures import CaseInsensitiveDict
from requests.utils import get_auth_from_url
from requests_oauthlib import OAuth2Session
from urllib3.util import parse_url

_user_agent = "esExchange"


def name_this_worker(name: str) -> None:
    """Sign this process's EWS requests with the worker's name in the User-Agent, so an
    Exchange administrator sees in the server's logs which worker sent what."""
    global _user_agent
    _user_agent = f"esExchange ({name})"


@dataclass
class RequestCounter:
    """EWS requests (HTTP POSTs to the EWS endpoint) sent for one mailbox, in all and by
    EWS operation (``FindItem``, ``CreateItem``, ...; for the service's metrics)."""

    count: int = 0
    by_operation: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, operation: str = "unknown") -> None:
        with self._lock:
            self.count += 1
            self.by_operation[operation] += 1


_OPERATION = re.compile(rb"<(?:\w+:)?Body[^>]*>\s*<(?:\w+:)?(\w+)")


def _operation(body: object) -> str:
    """The EWS operation a SOAP request asks for: the first element inside its Body."""
    data = body.encode() if isinstance(body, str) else body if isinstance(body, bytes) else b""
    found = _OPERATION.search(data)
    return found.group(1).decode() if found else "unknown"


@dataclass
class _Call:
    """One public mailbox operation: where its requests are counted, what it has waited."""

    counter: RequestCounter
    endpoint: str
    waited: float = 0.0


_CURRENT_CALL: ContextVar[_Call | None] = ContextVar("esexchange_ews_call", default=None)


@contextmanager
def mailbox_call(counter: RequestCounter, endpoint: str) -> Iterator[None]:
    """Count the EWS requests made inside the block, and give it a fresh throttling budget."""
    token = _CURRENT_CALL.set(_Call(counter=counter, endpoint=_normalized(endpoint)))
    try:
        yield
    finally:
        _CURRENT_CALL.reset(token)


@lru_cache(maxsize=64)
def _normalized(url: str) -> str:
    """A URL as urllib3 sends it (host in lower case), to compare requests with it."""
    return str(parse_url(url).url).lower()


@dataclass(frozen=True)
class Answer:
    """What the server last answered in this context: told when it is not SOAP."""

    url: str
    status: int
    content_type: str


_LAST_ANSWER: ContextVar[Answer | None] = ContextVar("esexchange_ews_answer", default=None)


def last_answer() -> Answer | None:
    """The last HTTP answer received in this context (thread), if any."""
    return _LAST_ANSWER.get()


READ_CHUNK = 1 << 16
"""Bytes per chunk when exchangelib reads an answer that is already in memory."""


class WholeBodyResponse(requests.Response):
    """A response whose ``iter_content()`` yields large chunks unless told otherwise."""

    def iter_content(self, chunk_size: int | None = READ_CHUNK,
                     decode_unicode: bool = False) -> Iterator[Any]:
        # requests' stubs overload on a literal decode_unicode; exchangelib passes a bool.
        parent: Any = super()
        return iter(parent.iter_content(chunk_size=chunk_size, decode_unicode=decode_unicode))


class TlsAdapter(requests.adapters.HTTPAdapter):
    """An HTTP adapter that verifies certificates with the connection's own trust setting.

    ``verify`` is ``True`` (system CAs), a CA bundle path, or ``False``. It overrides
    whatever requests derives from the environment (``REQUESTS_CA_BUNDLE``), so what the
    administrator configured is what is used.
    """

    def __init__(self, *, verify: bool | str, **kwargs: Any) -> None:
        self._verify = verify
        super().__init__(**kwargs)

    def send(
        self, request: requests.PreparedRequest, stream: bool = False,
        timeout: Any = None, verify: bool | str = True, cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        call = _CURRENT_CALL.get()
        if (call is not None and request.method == "POST"
                and _normalized(request.url or "") == call.endpoint):
            call.counter.add(_operation(request.body))
        response = super().send(
            request, stream=stream, timeout=timeout, verify=self._verify, cert=cert,
            proxies=proxies,
        )
        _LAST_ANSWER.set(Answer(
            response.url or "", response.status_code, response.headers.get("content-type", "")
        ))
        if not stream:
            response.__class__ = WholeBodyResponse  # see the module docstring
        return response


class BoundedFaultTolerance(FaultTolerance):
    """exchangelib's ``FaultTolerance``, with the wait bounded per mailbox operation.

    ``FaultTolerance(max_wait)`` bounds each single back-off; a server that keeps
    answering ErrorServerBusy with short back-offs would be retried forever. Here the
    waits of one operation add up, and past ``max_wait`` exchangelib's ``RateLimitError``
    ends the operation (the adapter reports the mailbox unreachable for this pass).
    """

    def back_off(self, seconds: float | None) -> None:
        if seconds is None:
            seconds = self.DEFAULT_BACKOFF
        call = _CURRENT_CALL.get()
        spent = call.waited if call is not None else 0.0
        if spent + seconds > self.max_wait:
            raise RateLimitError("Max timeout reached", wait=spent + seconds)
        if call is not None:
            call.waited += seconds
        super().back_off(seconds)

    def raise_response_errors(self, response: requests.Response) -> None:
        # FaultTolerance retries a 401 as if it were throttling (old Exchange did that);
        # today it means the credentials are wrong, and waiting would only hide it.
        if response.status_code == 401:
            raise UnauthorizedError(f"Invalid credentials for {response.url}")
        super().raise_response_errors(response)


class _UncachedProtocolMeta(CachingProtocol):
    """Build protocols without exchangelib's process-wide cache (see the module docstring)."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return type.__call__(cls, *args, **kwargs)


class _TlsSessions:
    """Mount this connection's ``TlsAdapter`` on every session exchangelib creates."""

    verify: bool | str = True
    CONNECTIONS_PER_SESSION: int
    TIMEOUT: int
    listener = False
    """Only listens for notifications: its User-Agent says so (``esExchange listener``),
    so server logs tell it from the passes."""

    def raw_session(
        self, prefix: str, oauth2_client: Any = None, oauth2_session_params: Any = None,
        oauth2_token_endpoint: str | None = None,
    ) -> Any:
        # exchangelib's raw_session, with the lean session classes.
        session: requests.Session = (
            LeanOAuth2Session(client=oauth2_client, **(oauth2_session_params or {}))
            if oauth2_client else LeanSession()
        )
        session.headers.update(DEFAULT_HEADERS)
        session.headers["User-Agent"] = (
            _user_agent.replace("esExchange", "esExchange listener", 1) if self.listener
            else _user_agent)
        for mounted in (prefix, oauth2_token_endpoint):
            if mounted:
                session.mount(mounted, self._adapter())
        _environment_read_once(session, [u for u in (prefix, oauth2_token_endpoint) if u])
        return session

    def _adapter(self) -> TlsAdapter:
        # One connection per session, no urllib3 retries: exchangelib retries itself.
        return TlsAdapter(
            verify=self.verify, pool_block=True, pool_connections=self.CONNECTIONS_PER_SESSION,
            pool_maxsize=self.CONNECTIONS_PER_SESSION, max_retries=0,
        )


class LeanSession(requests.Session):
    """A session that prepares a plain POST of bytes in fewer steps (module docstring).

    What it prepares is what ``prepare_request`` would: the session's headers with the
    call's over them (``None`` removes one), the session's cookies, the body and its
    length, the session's auth (which may register hooks, as NTLM's does), then the
    session's hooks. It sends with the session's proxies, verify and cert, as
    ``merge_environment_settings`` does once the environment was read
    (``trust_env`` off, ``_environment_read_once``).
    """

    def request(
        self, method: str, url: Any, params: Any = None, data: Any = None,
        headers: Any = None, cookies: Any = None, files: Any = None, auth: Any = None,
        timeout: Any = None, allow_redirects: bool = True, proxies: Any = None,
        hooks: Any = None, stream: bool | None = None, verify: Any = None, cert: Any = None,
        json: Any = None,
    ) -> requests.Response:
        plain = (method == "POST" and isinstance(url, str) and isinstance(data, bytes)
                 and not self.trust_env and not (params or cookies or files or auth
                                                 or proxies or hooks or json is not None)
                 and verify is None and cert is None)
        if not plain:
            return super().request(
                method, url, params=params, data=data, headers=headers, cookies=cookies,
                files=files, auth=auth, timeout=timeout, allow_redirects=allow_redirects,
                proxies=proxies, hooks=hooks, stream=stream, verify=verify, cert=cert,
                json=json,
            )
        return self.send(
            self.prepare_post(url, data, headers), timeout=timeout,
            allow_redirects=allow_redirects,
            stream=self.stream if stream is None else stream,
            verify=self.verify, cert=self.cert, proxies=dict(self.proxies),
        )

    def prepare_post(self, url: str, data: bytes, headers: Any = None) -> requests.PreparedRequest:
        """The POST ``prepare_request`` would make of ``url``, ``data`` and ``headers``."""
        merged = CaseInsensitiveDict(self.headers)
        merged.update(headers or {})
        prepared = requests.PreparedRequest()
        prepared.prepare_method("POST")
        prepared.url = _prepared_url(url)
        prepared.prepare_headers({k: v for k, v in merged.items() if v is not None})
        if len(self.cookies):
            prepared.prepare_cookies(merge_cookies(RequestsCookieJar(), self.cookies))
        else:
            prepared._cookies = RequestsCookieJar()
        prepared.body = data
        prepared.prepare_content_length(data)
        if self.auth is not None or _has_credentials(url):
            prepared.prepare_auth(self.auth, url)
        prepared.prepare_hooks(self.hooks)
        return prepared


class LeanOAuth2Session(OAuth2Session, LeanSession):
    """``OAuth2Session`` (which adds the token, then prepares as ``LeanSession`` does)."""

    def __init__(self, **kwargs: Any) -> None:  # OAuth2Session's (untyped) arguments
        super().__init__(**kwargs)


@lru_cache(maxsize=64)
def _prepared_url(url: str) -> str:
    prepared = requests.PreparedRequest()
    prepared.prepare_url(url, None)
    return str(prepared.url)


@lru_cache(maxsize=64)
def _has_credentials(url: str) -> bool:
    return any(get_auth_from_url(url))


def _environment_read_once(session: requests.Session, urls: list[str]) -> None:
    """Take the proxy settings of the environment (``HTTPS_PROXY``, ``NO_PROXY``...) for
    the session's URLs now, instead of on every request: requests scans the whole
    environment per request, a fifth of the client's time on an idle pass. Left to
    requests when the URLs would not get the same proxies. The trust setting is the
    ``TlsAdapter``'s, and exchangelib always gives credentials, so nothing else that
    requests takes from the environment applies."""
    found = [requests.utils.get_environ_proxies(url) for url in urls]
    if any(proxies != found[0] for proxies in found):
        return
    session.proxies.update(found[0])
    session.trust_env = False


_TOKEN_MARGIN_SECONDS = 120  # renew an app token this long before it expires


class ConnectionProtocol(_TlsSessions, Protocol, metaclass=_UncachedProtocolMeta):
    """The EWS protocol (session pool, auth, version) of one ``EwsConnection``."""

    RETRY_WAIT = 1  # seconds before the first retry of a transient failure, doubling

    def __init__(self, *, config: Any, verify: bool | str, timeout: int) -> None:
        super().__init__(config=config)
        self.verify = verify
        self.TIMEOUT = timeout
        # exchangelib's decrease_poolsize (run when the server throttles) holds this lock
        # while it takes a session; when none is free, get_session grows the pool under
        # the same lock, and a plain Lock then waits for itself for ever, and every other
        # mailbox thread with it (seen at 1,000 mailboxes x 1,000 items). Re-entrant, the
        # throttled thread gets its session and the others go on.
        self._session_pool_lock = threading.RLock()

    def close_session(self, session: Any) -> None:
        # exchangelib forgets an app's token whenever it closes a session, which it does
        # after every error answer; a token that is still valid is kept (and reused).
        token = getattr(self.credentials, "access_token", None) or {}
        if float(token.get("expires_at", 0)) > time.time() + _TOKEN_MARGIN_SECONDS:
            session.close()
            return
        super().close_session(session)

    def get_auth_type(self) -> str:
        # exchangelib's probe retries an unreachable server with back-off as if it were
        # throttling; one attempt tells the auth type, or that the server is down now.
        return str(get_service_authtype(protocol=_SingleAttempt(self)))


class _SingleAttempt:
    """A protocol as exchangelib's auth probe sees it, with a fail-fast retry policy."""

    retry_policy = FailFast()

    def __init__(self, protocol: Protocol) -> None:
        object.__setattr__(self, "_protocol", protocol)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._protocol, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._protocol, name, value)  # the probe records the API version it used


class DiscoveryProtocol(_TlsSessions, AutodiscoverProtocol):
    """SOAP Autodiscover with the connection's TLS setting."""

    def __init__(self, *, config: Any, verify: bool | str) -> None:
        super().__init__(config=config)
        self.verify = verify


class AppCredentials(OAuth2Credentials):
    """Client credentials for an app, from a configurable token endpoint.

    The scope is ``<resource>/.default`` (see ``AppAuth.resource``). exchangelib keeps
    the token until it expires and then fetches a new one.
    """

    def __init__(self, *, token_url: str, resource: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._token_url = token_url
        self._resource = resource

    @property
    def token_url(self) -> str:
        return self._token_url

    @property
    def scope(self) -> list[str]:
        return [f"{self._resource}/.default"]
