"""--state: mailboxes and delta tokens survive a restart of the sandbox."""

from __future__ import annotations

from pathlib import Path

import httpx

from esexchange.inprocess import BackgroundServer
from esexchange.sandbox.graph.app import create_graph_sandbox
from esexchange.sandbox.oauth import TokenIssuer
from tests.sandbox_graph.conftest import ANNA, DIRECTORY, Graph
from tests.sandbox_graph.test_delta import DELTA, WINDOW, a_round
from tests.sandbox_graph.test_events import an_event


def test_events_and_delta_tokens_survive_a_restart(tmp_path: Path, issuer: TokenIssuer) -> None:
    state = tmp_path / "graph-state.json"

    def serving() -> BackgroundServer:
        return BackgroundServer(create_graph_sandbox(DIRECTORY, state_file=state, issuer=issuer))

    with serving() as server:
        graph = Graph(None, server.base_url, None)  # type: ignore[arg-type]
        with graph.client() as client:
            client.post(f"/users/{ANNA}/events", json=an_event("kept"))
            _, delta_link, _ = a_round(client, DELTA, **WINDOW)
    with serving() as server:
        graph = Graph(None, server.base_url, None)  # type: ignore[arg-type]
        with graph.client() as client:
            assert [e["subject"] for e in client.get(f"/users/{ANNA}/events").json()["value"]
                    ] == ["kept"]  # fmt: skip
            client.post(f"/users/{ANNA}/events", json=an_event("after restart"))
            link = delta_link.replace(delta_link.split("/v1.0")[0], server.base_url)
            entries, _, _ = a_round(client, link)
    assert [e["subject"] for e in entries] == ["after restart"]
    _ = httpx
