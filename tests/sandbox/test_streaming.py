"""Streaming notifications as "Stream notifications about mailbox events by using EWS in
Exchange" and the GetStreamingEvents operation page (learn.microsoft.com) describe them:
the connection stays open for ConnectionTimeout minutes, each notification batch comes
in its own envelope as it happens, keep-alives while nothing does, then Closed. Driven by
exchangelib, and by raw HTTP where the envelopes themselves are the point."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from exchangelib import Task
from exchangelib.errors import ErrorExpiredSubscription, ErrorSubscriptionNotFound
from exchangelib.properties import CreatedEvent, ModifiedEvent
from lxml import etree

from esexchange.sandbox.models.subscriptions import STREAMING_LIFETIME
from tests.sandbox.ews_support import envelope
from tests.support.sandbox import ANNA, SERVICE_PASSWORD, SERVICE_UPN, RunningSandbox

M = "{http://schemas.microsoft.com/exchange/services/2006/messages}"


@pytest.fixture
def short_minutes(ews: RunningSandbox) -> Iterator[RunningSandbox]:
    """A ConnectionTimeout minute of one second and keep-alives every 0.3 s."""
    endpoint = ews.sandbox.endpoint
    endpoint.minute, endpoint.keep_alive = 1.0, 0.3
    yield ews
    endpoint.minute, endpoint.keep_alive = 60.0, 30.0


def test_an_open_connection_streams_each_change_as_it_happens(ews: RunningSandbox) -> None:
    """Two changes a second apart arrive in two notifications over one connection, each
    within a fraction of a second of the change, long before the connection closes."""
    account = ews.account(ANNA)
    subscription_id = account.tasks.subscribe_to_streaming()
    received: list[tuple[float, list[object]]] = []

    failed: list[BaseException] = []

    def listen() -> None:
        try:
            for notification in account.tasks.get_streaming_events(
                    subscription_id, connection_timeout=1, max_notifications_returned=2):
                received.append((time.monotonic(), list(notification.events)))
        except Exception as error:  # reported by the assertion below
            failed.append(error)

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    time.sleep(0.3)  # the connection is open
    task = Task(account=account, folder=account.tasks, subject="eins")
    task.save()
    created_at = time.monotonic()
    time.sleep(1.0)
    task.subject = "zwei"
    task.save(update_fields=["subject"])
    modified_at = time.monotonic()
    listener.join(timeout=20)

    assert not failed
    assert not listener.is_alive(), "the two notifications did not arrive"
    (first_at, first), (second_at, second) = received
    assert [(type(e), e.item_id.id) for e in first] == [(CreatedEvent, task.id)]
    assert [(type(e), e.item_id.id) for e in second] == [(ModifiedEvent, task.id)]
    assert first_at - created_at < 0.5 and second_at - modified_at < 0.5
    assert first_at < modified_at  # streamed, not collected until the close


def _envelopes(ews: RunningSandbox, subscription_id: str) -> Iterator[tuple[float, bytes]]:
    body = (f"<m:GetStreamingEvents><m:SubscriptionIds><t:SubscriptionId>{subscription_id}"
            "</t:SubscriptionId></m:SubscriptionIds><m:ConnectionTimeout>1"
            "</m:ConnectionTimeout></m:GetStreamingEvents>")
    with httpx.stream("POST", ews.url, content=envelope(body, impersonate=ANNA).encode(),
                      headers={"Content-Type": "text/xml; charset=utf-8"},
                      auth=(SERVICE_UPN, SERVICE_PASSWORD), timeout=10) as response:
        assert response.headers.get("transfer-encoding") == "chunked"
        buffer = b""
        for chunk in response.iter_bytes():
            buffer += chunk
            while b"</s:Envelope>" in buffer:
                document, _, buffer = buffer.partition(b"</s:Envelope>")
                yield time.monotonic(), document + b"</s:Envelope>"


def _status(document: bytes) -> tuple[str, int]:
    root = etree.fromstring(document)
    return (root.findtext(f".//{M}ConnectionStatus") or "",
            len(root.findall(f".//{M}Notifications")))


def test_a_quiet_connection_sends_keep_alives_and_closes_after_its_timeout(
    short_minutes: RunningSandbox,
) -> None:
    """With nothing happening, the chunked answer carries keep-alive envelopes (status OK,
    no notifications) and, at ConnectionTimeout, a last one with status Closed."""
    account = short_minutes.account(ANNA)
    subscription_id = account.calendar.subscribe_to_streaming()
    opened = time.monotonic()
    documents = list(_envelopes(short_minutes, subscription_id))

    statuses = [_status(document) for _at, document in documents]
    assert statuses[-1] == ("Closed", 0)
    assert len(statuses) >= 3 and set(statuses[:-1]) == {("OK", 0)}
    closed_after = documents[-1][0] - opened
    assert 0.9 < closed_after < 3
    # The subscription outlives its connection: the next one opens on it.
    assert _status(next(_envelopes(short_minutes, subscription_id))[1])[0] == "OK"


def test_a_gone_subscription_fails_the_connection_at_once(ews: RunningSandbox) -> None:
    """An ended subscription is ErrorSubscriptionNotFound, answered at once (the client
    subscribes again)."""
    account = ews.account(ANNA)
    subscription_id = account.calendar.subscribe_to_streaming()
    account.calendar.unsubscribe(subscription_id)
    started = time.monotonic()
    with pytest.raises(ErrorSubscriptionNotFound):
        list(account.calendar.get_streaming_events(subscription_id, connection_timeout=1))
    assert time.monotonic() - started < 5


def test_a_streaming_subscription_expires_30_minutes_after_its_last_connection(
    ews: RunningSandbox,
) -> None:
    """"Handling notification-related errors in EWS in Exchange": without a connection a
    streaming subscription lives 30 minutes; then GetStreamingEvents answers
    ErrorExpiredSubscription."""
    account = ews.account(ANNA)
    subscription_id = account.calendar.subscribe_to_streaming()
    with ews.sandbox.backend.locked(ANNA) as mailbox:
        subscription = mailbox.subscription(subscription_id, streaming=True)
        subscription.polled_at -= STREAMING_LIFETIME - timedelta(minutes=1)
    with ews.sandbox.backend.locked(ANNA) as mailbox:  # 29 minutes: still there
        mailbox.subscription(subscription_id, streaming=True).polled_at -= timedelta(minutes=2)
    with pytest.raises(ErrorExpiredSubscription):
        list(account.calendar.get_streaming_events(subscription_id, connection_timeout=1))


def test_open_connections_leave_the_server_free_for_other_requests(
    ews: RunningSandbox,
) -> None:
    """More open connections than the server has worker threads (40) do not hold up a
    plain request: a connection holds no thread between two looks at its mailbox."""
    account = ews.account(ANNA)
    ids = [account.calendar.subscribe_to_streaming() for _ in range(45)]
    opened = threading.Barrier(len(ids) + 1, timeout=20)
    stop = threading.Event()

    def hold(subscription_id: str) -> None:
        for count, _document in enumerate(_envelopes(ews, subscription_id)):
            if count == 0:
                opened.wait()
            if stop.is_set():
                return

    ews.sandbox.endpoint.keep_alive = 0.2  # each connection answers at once, then idles
    threads = [threading.Thread(target=hold, args=(i,), daemon=True) for i in ids]
    try:
        for thread in threads:
            thread.start()
        opened.wait()
        started = time.monotonic()
        Task(account=account, folder=account.tasks, subject="still served").save()
        assert time.monotonic() - started < 2
    finally:
        stop.set()
        ews.sandbox.endpoint.keep_alive = 30.0
        for thread in threads:
            thread.join(timeout=5)
