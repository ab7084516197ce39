"""Change notifications: subscriptions on /subscriptions, the validation handshake, the
payload Graph POSTs to the notification URL, expiry, lifecycle events.

A small HTTPS receiver (its certificate from a CA the sandbox is told to trust) stands
for a subscriber's endpoint; it answers the handshake as Microsoft documents it unless
a test tells it otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from esexchange.inprocess import BackgroundServer
from esexchange.sandbox.graph import schema
from esexchange.sandbox.graph.app import create_graph_sandbox
from esexchange.sandbox.oauth import TokenIssuer
from esexchange.sandbox.tls import ensure_tls_files
from tests.sandbox_graph.conftest import ANNA, BEN, DIRECTORY, NARROW_APP_ID, Graph
from tests.support.graph_sandbox import Checked
from tests.support.service import wait_for


@dataclass
class Receiver:
    """The subscriber's endpoint: what it was sent, and how it answers."""

    url: str = ""
    handshake: str = "echo"  # "echo", "wrong" (another body), "refuse" (403), "html"
    status: int = 202  # how notifications are answered (lifecycle ones: always 202)
    validations: list[str] = field(default_factory=list)
    payloads: list[dict[str, Any]] = field(default_factory=list)

    async def endpoint(self, request: Request) -> Response:
        token = request.query_params.get("validationToken")
        if token is not None:
            self.validations.append(token)
            if self.handshake == "refuse":
                return PlainTextResponse("no", status_code=403)
            if self.handshake == "html":
                return Response(token, media_type="text/html")
            return PlainTextResponse(token if self.handshake == "echo" else token[::-1])
        self.payloads.append(await request.json())
        lifecycle = "lifecycle" in request.query_params
        return Response(status_code=202 if lifecycle else self.status)

    def entries(self) -> list[dict[str, Any]]:
        return [entry for payload in self.payloads for entry in payload["value"]]


@pytest.fixture
def hooked(issuer: TokenIssuer, tmp_path: Any) -> Iterator[tuple[Graph, Receiver]]:
    files = ensure_tls_files(tmp_path)
    receiver = Receiver()
    app = Starlette(routes=[Route("/hook", receiver.endpoint, methods=["POST"])])
    checked = Checked()
    sandbox = create_graph_sandbox(DIRECTORY, validator=checked, issuer=issuer,
                                   notification_trust=files.ca_file)
    with BackgroundServer(app, host="127.0.0.1", ssl_certfile=str(files.certfile),
                          ssl_keyfile=str(files.keyfile)) as hook, \
            BackgroundServer(sandbox) as server:
        receiver.url = f"{hook.base_url}/hook"
        yield Graph(sandbox, server.base_url, checked), receiver
        sandbox.close()
    assert checked.violations == [], checked.violations


def _in(minutes: float) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _subscription(receiver: Receiver, resource: str = f"users/{ANNA}/events",
                  **changes: Any) -> dict[str, Any]:
    return {"changeType": "created,updated,deleted", "notificationUrl": receiver.url,
            "lifecycleNotificationUrl": receiver.url, "resource": resource,
            "expirationDateTime": _in(60), "clientState": "a-secret-of-the-subscriber",
            **changes}


def _event(client: httpx.Client, user: str, subject: str) -> dict[str, Any]:
    made = client.post(f"/users/{user}/events", json={
        "subject": subject, "start": {"dateTime": "2026-12-03T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-03T10:00:00", "timeZone": "UTC"}})
    assert made.status_code == 201, made.text
    result: dict[str, Any] = made.json()
    return result


def test_a_subscription_is_made_after_the_handshake_and_notifies_every_change(
    hooked: tuple[Graph, Receiver]
) -> None:
    graph, receiver = hooked
    with graph.client() as client:
        made = client.post("/subscriptions", json=_subscription(receiver))
        assert made.status_code == 201, made.text
        subscription = made.json()
        assert len(receiver.validations) == 2  # the notification and the lifecycle URL
        event = _event(client, ANNA, "Visit")
        client.patch(f"/users/{ANNA}/events/{event['id']}", json={"subject": "Moved"})
        client.delete(f"/users/{ANNA}/events/{event['id']}")
        _event(client, BEN, "Elsewhere")  # another mailbox: not notified
    wait_for(lambda: len(receiver.entries()) >= 3, 10, "three notifications")
    time.sleep(0.3)
    for payload in receiver.payloads:
        schema.check(schema.component("ChangeNotificationCollection"), payload, "notification")
    entries = receiver.entries()
    assert [e["changeType"] for e in entries] == ["created", "updated", "deleted"]
    for entry in entries:
        assert entry["subscriptionId"] == subscription["id"]
        assert entry["clientState"] == "a-secret-of-the-subscriber"
        assert entry["subscriptionExpirationDateTime"] == subscription["expirationDateTime"]
        assert entry["resourceData"]["id"] == event["id"]
        assert entry["resource"] == f"Users/{ANNA}/Events/{event['id']}"
        assert entry["resourceData"]["@odata.type"] == "#Microsoft.Graph.Event"
        assert entry["tenantId"]


def test_to_do_tasks_notify_their_own_list_only(hooked: tuple[Graph, Receiver]) -> None:
    graph, receiver = hooked
    with graph.client() as client:
        lists = client.get(f"/users/{ANNA}/todo/lists").json()["value"]
        tasks = f"users/{ANNA}/todo/lists/{lists[0]['id']}/tasks"
        made = client.post("/subscriptions", json=_subscription(
            receiver, tasks, changeType="created", expirationDateTime=_in(4000)))
        assert made.status_code == 201, made.text
        task = client.post(f"/{tasks}", json={"title": "Call back"}).json()
        client.patch(f"/{tasks}/{task['id']}", json={"title": "Not notified: created only"})
    wait_for(lambda: receiver.entries(), 10, "the task's notification")
    time.sleep(0.5)
    entries = receiver.entries()
    assert [(e["changeType"], e["resourceData"]["id"]) for e in entries] == [
        ("created", task["id"])]
    assert entries[0]["resourceData"]["@odata.type"] == "#Microsoft.Graph.todoTask"


@pytest.mark.parametrize("handshake", ["wrong", "refuse", "html"])
def test_a_failed_handshake_refuses_the_subscription(
    hooked: tuple[Graph, Receiver], handshake: str
) -> None:
    graph, receiver = hooked
    receiver.handshake = handshake
    with graph.client() as client:
        refused = client.post("/subscriptions", json=_subscription(receiver))
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "ValidationError"
        assert "Subscription validation request failed" in refused.json()["error"]["message"]
        assert client.get("/subscriptions").json()["value"] == []


def test_a_subscription_needs_https_a_known_resource_and_a_lifetime_within_the_maximum(
    hooked: tuple[Graph, Receiver]
) -> None:
    graph, receiver = hooked
    graph.checked.allow_invalid_requests = True
    with graph.client() as client:
        plain = client.post("/subscriptions", json=_subscription(
            receiver, notificationUrl=receiver.url.replace("https:", "http:")))
        assert plain.status_code == 400 and "HTTPS" in plain.json()["error"]["message"]
        too_long = client.post("/subscriptions", json=_subscription(
            receiver, expirationDateTime=_in(10081)))
        assert too_long.status_code == 400
        assert too_long.json()["error"]["message"] == (
            "Subscription expiration can only be 10080 minutes in the future.")
        lists = client.get(f"/users/{ANNA}/todo/lists").json()["value"]
        tasks_too_long = client.post("/subscriptions", json=_subscription(
            receiver, f"users/{ANNA}/todo/lists/{lists[0]['id']}/tasks",
            expirationDateTime=_in(4231)))
        assert "4230 minutes" in tasks_too_long.json()["error"]["message"]
        past = client.post("/subscriptions", json=_subscription(
            receiver, expirationDateTime=_in(-1)))
        assert past.status_code == 400
        unknown = client.post("/subscriptions", json=_subscription(
            receiver, f"users/{ANNA}/messages"))
        assert unknown.status_code == 400
        no_type = client.post("/subscriptions", json={
            k: v for k, v in _subscription(receiver).items() if k != "changeType"})
        assert "changeType" in no_type.json()["error"]["message"]
    assert receiver.validations == []  # nothing was tried before the request was sound
    with graph.client(NARROW_APP_ID) as narrow:  # scoped to Ben: Anna's calendar is not its
        assert narrow.post("/subscriptions", json=_subscription(receiver)).status_code == 403


def test_renewal_moves_the_expiry_and_an_expired_subscription_is_gone(
    hooked: tuple[Graph, Receiver]
) -> None:
    graph, receiver = hooked
    with graph.client() as client:
        made = client.post("/subscriptions", json=_subscription(receiver)).json()
        renewed = client.patch(f"/subscriptions/{made['id']}",
                               json={"expirationDateTime": _in(600)})
        assert renewed.status_code == 200
        assert renewed.json()["expirationDateTime"] > made["expirationDateTime"]
        with graph.client(NARROW_APP_ID) as other:  # another app's subscription: not there
            assert other.get(f"/subscriptions/{made['id']}").status_code == 404
            assert other.get("/subscriptions").json()["value"] == []
        subscriptions = graph.sandbox.backend.subscriptions
        clock = subscriptions.clock
        subscriptions.clock = lambda: clock() + timedelta(minutes=601)
        try:
            _event(client, ANNA, "After the expiry")
            gone = client.get(f"/subscriptions/{made['id']}")
            assert gone.status_code == 404
            assert client.patch(f"/subscriptions/{made['id']}",
                                json={"expirationDateTime": _in(700)}).status_code == 404
        finally:
            subscriptions.clock = clock
        assert client.get("/subscriptions").json()["value"] == []
    time.sleep(0.5)
    assert receiver.entries() == []


def test_a_deleted_subscription_notifies_no_more(hooked: tuple[Graph, Receiver]) -> None:
    graph, receiver = hooked
    with graph.client() as client:
        made = client.post("/subscriptions", json=_subscription(receiver)).json()
        assert client.delete(f"/subscriptions/{made['id']}").status_code == 204
        _event(client, ANNA, "Unheard")
    time.sleep(0.5)
    assert receiver.entries() == []


def test_lifecycle_events_go_to_the_lifecycle_url_and_a_removed_subscription_is_gone(
    hooked: tuple[Graph, Receiver]
) -> None:
    graph, receiver = hooked
    with graph.client() as client:
        made = client.post("/subscriptions", json=_subscription(receiver)).json()
        assert graph.sandbox.send_lifecycle("reauthorizationRequired") == 1
        assert graph.sandbox.send_lifecycle("missed", made["id"]) == 1
        assert graph.sandbox.send_lifecycle("subscriptionRemoved") == 1
        wait_for(lambda: len(receiver.entries()) == 3, 10, "three lifecycle events")
        assert client.get(f"/subscriptions/{made['id']}").status_code == 404
    for payload in receiver.payloads:
        schema.check(schema.component("ChangeNotificationCollection"), payload, "lifecycle")
    assert sorted(e["lifecycleEvent"] for e in receiver.entries()) == [
        "missed", "reauthorizationRequired", "subscriptionRemoved"]
    assert {e["clientState"] for e in receiver.entries()} == {"a-secret-of-the-subscriber"}


def test_a_notification_the_endpoint_keeps_refusing_is_reported_missed(
    hooked: tuple[Graph, Receiver]
) -> None:
    graph, receiver = hooked
    graph.sandbox.outbox.retry_delays = (0.1, 0.1)
    with graph.client() as client:
        lifecycle = f"{receiver.url}?lifecycle=1"
        client.post("/subscriptions", json=_subscription(
            receiver, lifecycleNotificationUrl=lifecycle))
        receiver.status = 503
        _event(client, ANNA, "Lost")
        wait_for(lambda: any(e.get("lifecycleEvent") == "missed" for e in receiver.entries()),
                 10, "the missed event")
    assert graph.sandbox.outbox.counters.failed_posts == 3  # the first try and two retries

