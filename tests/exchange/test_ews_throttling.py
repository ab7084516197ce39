"""Throttling: ErrorServerBusy back-off, connection limits, transient errors, a budget."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from esexchange.domain.model import ExchangeItem, Kind
from esexchange.exchange.errors import MailboxUnreachable
from esexchange.exchange.ews import EwsConnection
from esexchange.sandbox.ews.knobs import Knobs
from tests.exchange.ews_helpers import Served, connected, serve, user_settings
from tests.support.sandbox import ANNA, BEN

START = datetime(2026, 11, 2, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with serve(knobs=Knobs()) as running:
        yield running


@pytest.fixture
def sandbox(served: Served) -> Iterator[Served]:
    served.sandbox.backend.reset()
    yield served
    assert served.knobs is not None
    served.knobs.knobs = Knobs()


def _knobs(served: Served, knobs: Knobs) -> None:
    """Turn the sandbox's realism knobs (counters start again at zero)."""
    assert served.knobs is not None
    served.knobs.knobs = knobs
    served.knobs.counters.__init__()  # type: ignore[misc]


def _warm(connection: EwsConnection) -> None:
    """Learn auth type and version before the knobs bite (as after the first pass)."""
    connection.check()


def _items(count: int) -> list[ExchangeItem]:
    return [ExchangeItem(kind=Kind.APPOINTMENT, subject=f"Busy {n}", erp_id=n,
                         start=START + timedelta(hours=n), end=START + timedelta(hours=n + 1))
            for n in range(count)]


def test_server_busy_answers_are_waited_out(sandbox: Served) -> None:
    with connected(user_settings(sandbox.ews_url, batch_size=3)) as connection:
        _warm(connection)
        _knobs(sandbox, Knobs(server_busy_rate=0.4, back_off_ms=50, seed=7))
        anna = connection.mailbox(ANNA)
        results = anna.create(_items(9))
        assert all(result.ok for result in results)
        page = anna.changes(Kind.APPOINTMENT, None)
        assert sorted(c.remote.item.subject for c in page.changes if c.remote) == sorted(
            f"Busy {n}" for n in range(9)
        )
    assert sandbox.knobs is not None and sandbox.knobs.counters.server_busy > 0
    assert anna.requests.count > 1 + 3 + 1 + 3  # the retries are counted too


def test_a_server_busy_for_longer_than_the_budget_makes_the_mailbox_unreachable(
    sandbox: Served,
) -> None:
    settings = user_settings(sandbox.ews_url, max_wait_seconds=1.0)
    with connected(settings) as connection:
        _warm(connection)
        _knobs(sandbox, Knobs(server_busy_rate=1.0, back_off_ms=5000))
        started = time.monotonic()
        with pytest.raises(MailboxUnreachable, match="throttling"):
            connection.mailbox(ANNA).changes(Kind.APPOINTMENT, None)
        assert time.monotonic() - started < 3


def test_transient_server_errors_are_retried(sandbox: Served) -> None:
    with connected(user_settings(sandbox.ews_url, max_wait_seconds=30)) as connection:
        _warm(connection)
        _knobs(sandbox, Knobs(http_503_rate=0.3, http_500_rate=0.2, seed=3))
        anna = connection.mailbox(ANNA)
        assert all(result.ok for result in anna.create(_items(4)))
        assert len(anna.changes(Kind.APPOINTMENT, None).changes) == 4
    assert sandbox.knobs is not None
    assert sandbox.knobs.counters.http_503 + sandbox.knobs.counters.http_500 > 0


def test_a_connection_limit_is_waited_out_and_mailboxes_go_on(sandbox: Served) -> None:
    # Two connections with the same service account, each working on its own mailbox at
    # the same time, against a server that allows the account one request at a time.
    settings = user_settings(sandbox.ews_url, max_wait_seconds=20)
    with connected(settings) as first, connected(settings) as second:
        _warm(first)
        _warm(second)
        _knobs(sandbox, Knobs(max_concurrent_per_account=1, latency_ms=150))
        outcomes: dict[str, object] = {}

        def work(connection: EwsConnection, address: str) -> None:
            try:
                mailbox = connection.mailbox(address)
                created = mailbox.create(_items(2))
                outcomes[address] = [r.ok for r in created]
            except Exception as error:  # reported below
                outcomes[address] = error

        threads = [threading.Thread(target=work, args=(first, ANNA)),
                   threading.Thread(target=work, args=(second, BEN))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert outcomes == {ANNA: [True, True], BEN: [True, True]}
    assert sandbox.knobs is not None and sandbox.knobs.counters.connection_limit > 0


def test_a_batch_cut_short_keeps_what_was_written_and_fails_the_rest(sandbox: Served) -> None:
    settings = user_settings(sandbox.ews_url, batch_size=2, max_wait_seconds=1.0)
    with connected(settings) as connection:
        _warm(connection)
        anna = connection.mailbox(ANNA)
        anna.check()
        # Seed 10 lets the first request through and answers the second "busy for 5 s",
        # longer than this connection waits.
        _knobs(sandbox, Knobs(server_busy_rate=0.5, back_off_ms=5000, seed=10))
        results = anna.create(_items(4))
        _knobs(sandbox, Knobs())
        assert [result.ok for result in results] == [True, True, False, False]
        assert "throttling" in str(results[2].error)
        written = anna.find_by_erp_id(Kind.APPOINTMENT, [0, 1, 2, 3])
        assert sorted(written) == [0, 1]
        assert [written[n].ref for n in (0, 1)] == [r.value for r in results[:2]]


def test_a_batch_refused_from_the_start_raises(sandbox: Served) -> None:
    settings = user_settings(sandbox.ews_url, batch_size=2, max_wait_seconds=1.0)
    with connected(settings) as connection:
        _warm(connection)
        anna = connection.mailbox(ANNA)
        anna.check()
        _knobs(sandbox, Knobs(server_busy_rate=1.0, back_off_ms=5000))
        with pytest.raises(MailboxUnreachable, match="throttling"):
            anna.create(_items(4))
