"""Realism knobs: injected latency, throttling, HTTP errors and drops, repeatable by seed."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from exchangelib import BASIC, IMPERSONATION, Account, Configuration, Credentials, FaultTolerance
from exchangelib.errors import ErrorServerBusy, ErrorTimeoutExpired
from exchangelib.version import Build, Version
from lxml import etree
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from esexchange.sandbox.ews.app import create_sandbox
from esexchange.sandbox.ews.knobs import KnobCounters, Knobs, KnobsMiddleware
from tests.sandbox.edges import ANNA, DIRECTORY, LIMITED, SERVICE, SERVICE_PASSWORD, serve

ERRORS = "http://schemas.microsoft.com/exchange/services/2006/errors"
TYPES = "http://schemas.microsoft.com/exchange/services/2006/types"


def echo_app() -> Starlette:
    async def ok(request: object) -> PlainTextResponse:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[Route(p, ok, methods=["POST"]) for p in ("/EWS/Exchange.asmx", "/other")]
    )


@pytest.fixture
def knobbed(request: pytest.FixtureRequest) -> Iterator[tuple[str, KnobsMiddleware]]:
    middleware = KnobsMiddleware(echo_app(), request.param)
    with serve(middleware) as base_url:
        yield base_url, middleware


def outcome(
    base_url: str, path: str = "/EWS/Exchange.asmx", auth: tuple[str, str] | None = None
) -> str:
    try:
        answer = requests.post(base_url + path, data=b"<x/>", auth=auth, timeout=10)
    except requests.exceptions.ConnectionError:
        return "dropped"
    if answer.status_code == 500 and answer.content.startswith(b"<?xml"):
        return etree.fromstring(answer.content).findtext(f".//{{{ERRORS}}}ResponseCode") or "?"
    return str(answer.status_code)


MIXED = Knobs(server_busy_rate=0.2, http_500_rate=0.1, http_503_rate=0.1, drop_rate=0.1, seed=7)


@pytest.mark.parametrize("knobbed", [MIXED], indirect=True)
def test_failures_are_injected_at_their_rates_and_counted(knobbed: tuple[str, KnobsMiddleware]):
    base_url, middleware = knobbed

    outcomes = [outcome(base_url) for _ in range(60)]

    counters = middleware.counters
    assert counters == KnobCounters(
        requests=60,
        server_busy=outcomes.count("ErrorServerBusy"),
        http_500=outcomes.count("500"),
        http_503=outcomes.count("503"),
        dropped=outcomes.count("dropped"),
    )
    assert set(outcomes) == {"200", "ErrorServerBusy", "500", "503", "dropped"}
    assert 20 <= outcomes.count("200") <= 40  # half of the requests, give or take chance


def test_the_same_seed_injects_the_same_failures() -> None:
    runs = []
    for _ in range(2):
        with serve(KnobsMiddleware(echo_app(), MIXED)) as base_url:
            runs.append([outcome(base_url) for _ in range(25)])

    assert runs[0] == runs[1]


def test_knobs_turned_while_serving_draw_from_their_seed_again() -> None:
    middleware = KnobsMiddleware(echo_app(), Knobs())
    with serve(middleware) as base_url:
        quiet = [outcome(base_url) for _ in range(3)]
        middleware.knobs = MIXED
        first = [outcome(base_url) for _ in range(25)]
        middleware.knobs = MIXED
        again = [outcome(base_url) for _ in range(25)]

    assert quiet == ["200"] * 3
    assert first == again
    assert set(first) != {"200"}


@pytest.mark.parametrize("knobbed", [Knobs(drop_rate=1.0, http_503_rate=0.0)], indirect=True)
def test_knobs_touch_only_ews_paths(knobbed: tuple[str, KnobsMiddleware]) -> None:
    base_url, middleware = knobbed

    assert outcome(base_url, "/other") == "200"
    assert outcome(base_url) == "dropped"
    assert middleware.counters.requests == 1


@pytest.mark.parametrize("knobbed", [Knobs(latency_ms=300)], indirect=True)
def test_latency_is_added_to_every_request(knobbed: tuple[str, KnobsMiddleware]) -> None:
    base_url, middleware = knobbed
    started = time.monotonic()

    assert outcome(base_url) == "200"

    assert time.monotonic() - started >= 0.3
    assert middleware.counters.delayed == 1


@pytest.mark.parametrize(
    "knobbed", [Knobs(latency_ms=400, max_concurrent_per_account=1)], indirect=True
)
def test_concurrent_requests_beyond_the_limit_exceed_the_connection_count(
    knobbed: tuple[str, KnobsMiddleware],
) -> None:
    base_url, middleware = knobbed
    service, other = (SERVICE, SERVICE_PASSWORD), (LIMITED, "limited-pw")

    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(outcome, base_url, auth=service)
        time.sleep(0.1)
        same_account = pool.submit(outcome, base_url, auth=service)
        other_account = pool.submit(outcome, base_url, auth=other)
        results = (first.result(), same_account.result(), other_account.result())

    assert results == ("200", "ErrorExceededConnectionCount", "200")
    assert middleware.counters.connection_limit == 1
    assert outcome(base_url, auth=service) == "200"  # the budget is free again


def test_knob_values_are_checked() -> None:
    with pytest.raises(ValueError, match="server_busy_rate must be between 0 and 1"):
        Knobs(server_busy_rate=1.5)
    with pytest.raises(ValueError, match="must add up to at most 1"):
        Knobs(http_500_rate=0.6, http_503_rate=0.6)
    with pytest.raises(ValueError, match="max_concurrent_per_account must be at least 1"):
        Knobs(max_concurrent_per_account=0)
    with pytest.raises(ValueError, match="unknown knob 'latency=5'"):
        Knobs.from_string("latency=5")
    with pytest.raises(ValueError, match="knob drop_rate needs a number, not 'often'"):
        Knobs.from_string("drop_rate=often")
    assert Knobs.from_string(" latency_ms=20, server_busy_rate=0.05,seed=3 ") == Knobs(
        latency_ms=20, server_busy_rate=0.05, seed=3
    )
    assert not Knobs(seed=3).active
    assert Knobs(latency_ms=1).active


# --- with the real exchangelib against the sandbox -----------------------------------------


class ArrivalLog:
    """Outermost ASGI layer: when each EWS request arrived."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.arrivals: list[float] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> object:
        if scope["type"] == "http" and scope["path"].lower().startswith("/ews/"):
            self.arrivals.append(time.monotonic())
        return await self.app(scope, receive, send)  # type: ignore[func-returns-value]


def seed_for(pattern: list[bool], rate: float) -> int:
    """A seed whose draws hit `rate` exactly where `pattern` is True."""
    return next(
        seed
        for seed in range(100_000)
        if [r < rate for r in (lambda g: [g.random() for _ in pattern])(random.Random(seed))]
        == pattern
    )


def account(base_url: str, retry_policy: FaultTolerance | None = None) -> Account:
    config = Configuration(
        service_endpoint=f"{base_url}/EWS/Exchange.asmx",
        credentials=Credentials(SERVICE, SERVICE_PASSWORD),
        auth_type=BASIC,
        version=Version(build=Build(15, 1, 2507, 6)),
        **({"retry_policy": retry_policy} if retry_policy else {}),
    )
    return Account(ANNA, config=config, autodiscover=False, access_type=IMPERSONATION)


def test_exchangelib_fault_tolerance_waits_the_announced_back_off() -> None:
    """ErrorServerBusy carries BackOffMilliseconds; FaultTolerance retries only after it."""
    knobs = Knobs(
        server_busy_rate=0.5, back_off_ms=1500, seed=seed_for([True, False, False, False], 0.5)
    )
    middleware = KnobsMiddleware(create_sandbox(DIRECTORY).app, knobs)
    log = ArrivalLog(middleware)

    with serve(log) as base_url:
        mailbox = account(base_url, FaultTolerance(max_wait=30))
        total = mailbox.calendar.total_count
        mailbox.protocol.close()

    assert (total, middleware.counters.server_busy) == (0, 1)
    first, retry = log.arrivals[:2]  # the busy answer, then the same request again
    assert retry - first >= 1.5


def test_without_fault_tolerance_exchangelib_reports_the_back_off() -> None:
    knobs = Knobs(server_busy_rate=1.0, back_off_ms=2500)

    with serve(KnobsMiddleware(create_sandbox(DIRECTORY).app, knobs)) as base_url:
        mailbox = account(base_url)
        with pytest.raises(ErrorServerBusy) as caught:
            mailbox.calendar.refresh()
        mailbox.protocol.close()

    assert caught.value.back_off == 2.5


def test_exchangelib_sees_a_dropped_connection_as_a_timeout() -> None:
    """The connection closes without an answer; exchangelib (one session) gives up at once.

    The client sees the close as an end without an answer, or as a reset when the
    server closed before reading the whole request (the kernel then answers with RST):
    which one is a race, and both are the same dropped connection."""
    knobs = Knobs(drop_rate=1.0)

    with serve(KnobsMiddleware(create_sandbox(DIRECTORY).app, knobs)) as base_url:
        mailbox = account(base_url, FaultTolerance(max_wait=30))
        with pytest.raises(ErrorTimeoutExpired,
                           match=r"closed connection without response|Connection reset by peer"):
            mailbox.calendar.refresh()
        mailbox.protocol.close()
