"""The service's /graph/notifications endpoint on its own: the validation handshake as
Graph demands it, and which notifications it accepts (the rest is dropped and counted)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from starlette.applications import Starlette

from esexchange.erp.port import Scope
from esexchange.exchange.graph.subscriptions import Subscription
from esexchange.inprocess import BackgroundServer
from esexchange.service.webhooks import PATH, Note, NotificationInbox

SECRET = "the-subscription's-own-secret"


Served = tuple[NotificationInbox, httpx.Client, Counter[str]]


@pytest.fixture
def served() -> Iterator[Served]:
    """The inbox with one subscription, on the web server, and a client to it."""
    counted: Counter[str] = Counter()
    inbox = NotificationInbox(lambda outcome: counted.update([outcome]))
    inbox.register(Subscription("sub-1", "anna@example.test", "calendar", SECRET,
                                datetime(2026, 12, 9, tzinfo=UTC)), Scope(1, 7))
    with BackgroundServer(Starlette(routes=inbox.routes())) as server, \
            httpx.Client(base_url=server.base_url, timeout=10) as client:
        yield inbox, client, counted


def _entry(**changes: object) -> dict[str, object]:
    return {"subscriptionId": "sub-1", "clientState": SECRET, "changeType": "updated",
            "subscriptionExpirationDateTime": "2026-12-09T00:00:00Z", "tenantId": "t",
            "resource": "Users/anna@example.test/Events/AAk", **changes}


def test_the_handshake_echoes_the_decoded_token_as_plain_text(served: Served) -> None:
    _inbox, client, _counted = served
    token = "Validation: Testing client application reachability for subscription Request-Id: 1"
    answer = client.post(PATH, params={"validationToken": token},
                         headers={"Content-Type": "text/plain"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text == token


def test_only_notifications_with_the_subscriptions_client_state_are_queued(
    served: Served
) -> None:
    inbox, client, counted = served
    answer = client.post(PATH, json={"value": [
        _entry(),
        _entry(clientState="guessed"),
        _entry(clientState=None),
        _entry(subscriptionId="someone-elses"),
        _entry(lifecycleEvent="missed", changeType=None),
        "not an object",
    ]})
    assert answer.status_code == 202
    queued = []
    while not inbox.notes.empty():
        queued.append(inbox.notes.get_nowait())
    assert queued == [Note("sub-1", None), Note("sub-1", "missed")]
    assert counted == Counter(accepted=1, lifecycle=1, bad_client_state=2,
                              unknown_subscription=1, malformed=1)


def test_a_body_that_is_no_notification_collection_is_refused(served: Served) -> None:
    inbox, client, _counted = served
    assert client.post(PATH, content=b"{not json").status_code == 400
    assert client.post(PATH, json={"values": []}).status_code == 400
    assert inbox.notes.empty()


def test_a_forgotten_subscription_is_heard_no_more(served: Served) -> None:
    inbox, client, counted = served
    inbox.forget("sub-1")
    client.post(PATH, json={"value": [_entry()]})
    assert inbox.notes.empty() and counted == Counter(unknown_subscription=1)
