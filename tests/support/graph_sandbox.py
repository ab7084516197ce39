"""pytest plugin: the Graph sandbox over HTTPS in this process, and Graph connections
(msal + httpx) to it.

Every request and response body the sandbox sees is checked against Graph's description;
a test fails if one did not follow it.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from esexchange.exchange.graph import GraphConnection, GraphSettings
from esexchange.inprocess import BackgroundServer
from esexchange.sandbox.directory import AppEntry, Directory, MailboxEntry
from esexchange.sandbox.graph import schema
from esexchange.sandbox.graph.app import GraphSandbox, create_graph_sandbox
from esexchange.sandbox.graph.routes import GraphResponse
from esexchange.sandbox.oauth import TokenIssuer
from esexchange.sandbox.tls import ensure_tls_files

ANNA = "anna.berger@example.test"
BEN = "ben.kraus@example.test"
TENANT = "7e1c0a42-0000-4000-8000-0000000000b1"
APP_ID = "5a0c7d1e-0000-4000-8000-0000000000b2"
BEN_ONLY_APP_ID = "5a0c7d1e-0000-4000-8000-0000000000b3"
SECRET = "graph-adapter-secret"

DIRECTORY = Directory(
    mailboxes=(MailboxEntry(ANNA, "Anna Berger", "Europe/Berlin"),
               MailboxEntry(BEN, "Ben Kraus", "Europe/Berlin")),
    apps=(AppEntry(TENANT, APP_ID, SECRET, ("*",)),
          AppEntry(TENANT, BEN_ONLY_APP_ID, SECRET, (BEN,))),
)


@dataclass
class Checked:
    """Checks every body the sandbox sees against Graph's description; collects failures."""

    violations: list[str] = field(default_factory=list)
    checked: int = 0
    allow_invalid_requests: bool = False  # for tests that send bad input on purpose

    def __call__(self, method: str, path: str, body: Any, response: GraphResponse) -> None:
        self.checked += 1
        try:
            schema.validate_exchange(method, path, body, response)
        except schema.SchemaViolation as violation:
            if not (self.allow_invalid_requests and " request" in str(violation)):
                self.violations.append(str(violation))


@dataclass
class GraphHarness:
    sandbox: GraphSandbox
    settings: GraphSettings
    checked: Checked
    opened: list[GraphConnection] = field(default_factory=list)

    def connect(self, **changes: object) -> GraphConnection:
        """A connection (closed after the test) with these settings changed."""
        connection = GraphConnection(replace(self.settings, **changes))  # type: ignore[arg-type]
        self.opened.append(connection)
        return connection


@pytest.fixture(scope="session")
def graph_issuer() -> TokenIssuer:
    return TokenIssuer.generate()


@pytest.fixture(scope="session")
def graph_tls(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("graph-tls")


@pytest.fixture
def graph(graph_issuer: TokenIssuer, graph_tls: Path) -> Iterator[GraphHarness]:
    files = ensure_tls_files(graph_tls)
    checked = Checked()
    sandbox = create_graph_sandbox(DIRECTORY, issuer=graph_issuer, validator=checked)
    with BackgroundServer(sandbox, ssl_certfile=str(files.certfile),
                          ssl_keyfile=str(files.keyfile)) as server:
        settings = GraphSettings(
            TENANT, APP_ID, SECRET, name="online",
            token_url=f"{server.base_url}/{{tenant}}/oauth2/v2.0/token",
            graph_url=f"{server.base_url}/v1.0", ca_bundle=str(files.ca_file),
            time_zone="Europe/Berlin", max_wait_seconds=5,
        )
        harness = GraphHarness(sandbox, settings, checked)
        yield harness
        for connection in harness.opened:  # open keep-alive connections delay the shutdown
            connection.close()
    assert checked.violations == [], checked.violations


@pytest.fixture
def online(graph: GraphHarness) -> Iterator[GraphConnection]:
    connection = graph.connect()
    yield connection
    connection.close()


@pytest.fixture
def graph_http(graph: GraphHarness) -> Iterator[httpx.Client]:
    """Graph's own requests to the sandbox as the app (immutable ids), for a test to make
    what a user would make in Outlook."""
    settings = graph.settings
    token = httpx.post(
        settings.token_url.replace("{tenant}", settings.tenant_id),
        data={"grant_type": "client_credentials", "client_id": settings.client_id,
              "client_secret": settings.client_secret,
              "scope": "https://graph.microsoft.com/.default"},
        verify=ssl.create_default_context(cafile=settings.ca_bundle),
    ).json()["access_token"]  # fmt: skip
    tls = ssl.create_default_context(cafile=settings.ca_bundle)
    with httpx.Client(base_url=settings.graph_url, verify=tls, timeout=10,
                      headers={"Authorization": f"Bearer {token}",
                               "Prefer": 'IdType="ImmutableId"'}) as client:
        yield client
