"""The Graph sandbox on a free loopback port, and an httpx client with an app token for it.

Every test gets fresh mailboxes and the sandbox validates every request and response
body against Graph's description; a test fails if one did not follow it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from esexchange.inprocess import BackgroundServer
from esexchange.sandbox.directory import AppEntry, Directory, MailboxEntry
from esexchange.sandbox.graph.app import GraphSandbox, create_graph_sandbox
from esexchange.sandbox.oauth import GRAPH_RESOURCE, TokenIssuer
from tests.support.graph_sandbox import Checked

ANNA = "anna.berger@example.test"
BEN = "ben.kraus@example.test"
TENANT = "7e1c0a42-0000-4000-8000-0000000000a1"
APP_ID = "5a0c7d1e-0000-4000-8000-0000000000a2"
NARROW_APP_ID = "5a0c7d1e-0000-4000-8000-0000000000a3"
SECRET = "graph-sandbox-secret"

DIRECTORY = Directory(
    mailboxes=(
        MailboxEntry(ANNA, "Anna Berger", "Europe/Berlin"),
        MailboxEntry(BEN, "Ben Kraus", "Europe/Berlin"),
    ),
    apps=(
        AppEntry(TENANT, APP_ID, SECRET, ("*",)),
        AppEntry(TENANT, NARROW_APP_ID, SECRET, (BEN,)),
    ),
)


@dataclass
class Graph:
    """A running sandbox and a client that talks to it as an app."""

    sandbox: GraphSandbox
    base_url: str
    checked: Checked

    def token(self, client_id: str = APP_ID, secret: str = SECRET) -> str:
        answer = httpx.post(
            f"{self.base_url}/{TENANT}/oauth2/v2.0/token",
            data={"grant_type": "client_credentials", "client_id": client_id,
                  "client_secret": secret, "scope": f"{GRAPH_RESOURCE}/.default"},
        )  # fmt: skip
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def client(self, client_id: str = APP_ID, **headers: str) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.base_url}/v1.0",
            headers={"Authorization": f"Bearer {self.token(client_id)}", **headers},
            timeout=10,
        )


@pytest.fixture(scope="session")
def issuer() -> TokenIssuer:
    return TokenIssuer.generate()  # one key for the session: generating it takes a while


@pytest.fixture
def graph(issuer: TokenIssuer) -> Iterator[Graph]:
    checked = Checked()
    sandbox = create_graph_sandbox(DIRECTORY, validator=checked, issuer=issuer)
    with BackgroundServer(sandbox) as server:
        yield Graph(sandbox, server.base_url, checked)
    assert checked.violations == [], checked.violations


@pytest.fixture
def client(graph: Graph) -> Iterator[httpx.Client]:
    with graph.client() as http:
        yield http
