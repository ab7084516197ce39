"""$batch (at most 20, dependsOn, per-item status), throttling, faults, concurrency limit."""

from __future__ import annotations

import concurrent.futures
import threading

import httpx

from esexchange.sandbox.graph.knobs import GraphKnobs
from tests.sandbox_graph.conftest import ANNA, Graph
from tests.sandbox_graph.test_events import an_event

JSON = {"Content-Type": "application/json"}


def a_create(number: int) -> dict[str, object]:
    return {"id": str(number), "method": "POST", "url": f"/users/{ANNA}/events",
            "headers": JSON, "body": an_event(f"E{number}")}  # fmt: skip


def test_a_batch_answers_each_request_with_its_own_status(client: httpx.Client) -> None:
    answer = client.post("/$batch", json={"requests": [
        a_create(1),
        {"id": "2", "method": "GET", "url": f"/users/{ANNA}/events/AAMkAGnope"},
        {"id": "3", "method": "GET", "url": f"users/{ANNA}/events", "dependsOn": ["1"]},
        {"id": "4", "method": "GET", "url": f"/users/{ANNA}/calendar", "dependsOn": ["2"]},
    ]})  # fmt: skip
    assert answer.status_code == 200
    statuses = {r["id"]: r["status"] for r in answer.json()["responses"]}
    assert statuses == {"1": 201, "2": 404, "3": 200, "4": 424}


def test_a_batch_of_more_than_twenty_or_with_repeated_ids_is_refused(
    client: httpx.Client,
) -> None:
    assert client.post("/$batch", json={"requests": [a_create(n) for n in range(21)]}
                       ).status_code == 400  # fmt: skip
    assert client.post("/$batch", json={"requests": [a_create(1), a_create(1)]}
                       ).status_code == 400  # fmt: skip
    no_type = {**a_create(1), "headers": {}}
    assert client.post("/$batch", json={"requests": [no_type]}).status_code == 400
    assert client.get(f"/users/{ANNA}/events").json()["value"] == []


def test_a_throttled_item_carries_its_own_retry_after_and_the_rest_are_applied(
    graph: Graph, client: httpx.Client
) -> None:
    graph.sandbox.injector.knobs = GraphKnobs(throttle_rate=0.3, retry_after_s=7, seed=4)
    answer = client.post("/$batch", json={"requests": [a_create(n) for n in range(10)]})
    responses = answer.json()["responses"]
    throttled = [r for r in responses if r["status"] == 429]
    assert throttled and all(r["headers"]["Retry-After"] == "7" for r in throttled)
    applied = [r for r in responses if r["status"] == 201]
    assert len(applied) + len(throttled) == 10
    stored = graph.sandbox.backend.events(ANNA)
    assert sorted(e.data["subject"] for e in stored) == sorted(
        r["body"]["subject"] for r in applied)  # fmt: skip


def test_faults_are_injected_repeatably(graph: Graph, client: httpx.Client) -> None:
    graph.sandbox.injector.knobs = GraphKnobs(http_503_rate=0.5, seed=1)
    first = [client.get(f"/users/{ANNA}/calendar").status_code for _ in range(8)]
    graph.sandbox.injector.knobs = GraphKnobs(http_503_rate=0.5, seed=1)
    again = [client.get(f"/users/{ANNA}/calendar").status_code for _ in range(8)]
    assert first == again and set(first) == {200, 503}


def test_a_dropped_connection_gets_no_answer(graph: Graph, client: httpx.Client) -> None:
    graph.sandbox.injector.knobs = GraphKnobs(drop_rate=1.0)
    try:
        client.get(f"/users/{ANNA}/calendar")
    except httpx.TransportError:
        pass
    else:
        raise AssertionError("the connection was answered")


def test_a_fifth_concurrent_request_to_one_mailbox_is_throttled(graph: Graph) -> None:
    # The latency holds each admitted request long enough that all six overlap even when a
    # loaded machine starts the threads late; the barrier sends them together.
    graph.sandbox.injector.knobs = GraphKnobs(latency_ms=1500)
    token = graph.token()
    start = threading.Barrier(6)

    def one(user: str) -> int:
        with httpx.Client(base_url=f"{graph.base_url}/v1.0", timeout=10,
                          headers={"Authorization": f"Bearer {token}"}) as http:  # fmt: skip
            start.wait()
            return http.get(f"/users/{user}/calendar").status_code

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(one, [ANNA] * 6))
    assert sorted(statuses) == [200] * 4 + [429] * 2
