"""``esexchange demo --backend graph``: the demo against the built-in Graph sandbox.

The same sample ERP as the EWS demo (``esexchange.demo``), but Exchange Online's side:
the Graph sandbox over HTTPS with its own CA (msal signs in only over HTTPS), an app
registration that may reach every sample mailbox, a ``demo-graph`` connection with
``--backend graph``, and a few events and To Do tasks put in as a user's Outlook would
(plain Graph requests). Its files sit in the demo folder beside the EWS demo's:
``graph-directory.toml``, ``graph-state.json`` and ``tls/``.
"""

from __future__ import annotations

import secrets
import ssl
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import Engine

from esexchange import config
from esexchange.config import Auth, Backend, ConnectionConfig
from esexchange.demo import esexchange_command
from esexchange.domain.errors import EsExchangeError
from esexchange.domain.model import Employee
from esexchange.sandbox.directory import (
    AppEntry,
    Directory,
    DirectoryError,
    MailboxEntry,
    load_directory,
    write_directory,
)
from esexchange.sandbox.oauth import GRAPH_RESOURCE

CONNECTION = "demo-graph"
MAILBOX_ZONE = "Europe/Berlin"


@dataclass(frozen=True)
class GraphApp:
    """The demo's app registration in the sandbox's directory."""

    tenant_id: str
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class GraphFiles:
    root: Path

    @property
    def directory(self) -> Path:
        return self.root / "graph-directory.toml"

    @property
    def state(self) -> Path:
        return self.root / "graph-state.json"

    @property
    def tls(self) -> Path:
        return self.root / "tls"


def graph_directory(files: GraphFiles, people: list[Employee]) -> tuple[Directory, GraphApp]:
    """One mailbox per employee and the demo's app (kept from an earlier run)."""
    app = None
    if files.directory.exists():
        try:
            earlier = load_directory(files.directory).apps
        except DirectoryError as error:
            raise EsExchangeError(str(error)) from None
        if earlier:
            app = GraphApp(earlier[0].tenant_id, earlier[0].client_id, earlier[0].client_secret)
    app = app or GraphApp(str(uuid.uuid4()), str(uuid.uuid4()), secrets.token_urlsafe(16))
    directory = Directory(
        mailboxes=tuple(MailboxEntry(p.email, p.name, MAILBOX_ZONE) for p in people),
        apps=(AppEntry(app.tenant_id, app.client_id, app.client_secret, ("*",)),),
    )
    write_directory(directory, files.directory)
    return directory, app


def configure_connection(
    engine: Engine, base_url: str, app: GraphApp, ca_file: Path, people: list[Employee]
) -> None:
    """The ``demo-graph`` connection; on a rerun only the token URL (the port) is updated."""
    token_url = f"{base_url}/{{tenant}}/oauth2/v2.0/token"
    names = {c.name for c in config.list_connections(engine)}
    if CONNECTION in names:
        config.update_connection(engine, CONNECTION, config.ConnectionChange(token_url=token_url))
        config.set_connection_secret(engine, CONNECTION, app.client_secret)
    else:
        config.add_connection(
            engine,
            ConnectionConfig(
                name=CONNECTION,
                backend=Backend.GRAPH,
                auth=Auth.APP,
                tenant_id=app.tenant_id,
                client_id=app.client_id,
                token_url=token_url,
                ca_bundle=str(ca_file),
            ),
            app.client_secret,
        )
        config.set_option(engine, CONNECTION, "erp_time_zone", MAILBOX_ZONE)
    config.add_personnel(engine, CONNECTION, [p.email for p in people])


@contextmanager
def graph_client(base_url: str, app: GraphApp, ca_file: Path) -> Iterator[httpx.Client]:
    """A Graph client of the sandbox at ``base_url`` (``/v1.0`` paths) signed in as the
    demo's app, as any other Graph client would be."""
    trust = ssl.create_default_context(cafile=str(ca_file))
    with httpx.Client(base_url=f"{base_url}/v1.0", verify=trust, timeout=30) as http:
        yield _signed_in(http, base_url, app)


def _signed_in(http: httpx.Client, base_url: str, app: GraphApp) -> httpx.Client:
    token = http.post(
        f"{base_url}/{app.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "scope": f"{GRAPH_RESOURCE}/.default",
        },
    ).json()["access_token"]
    http.headers["Authorization"] = f"Bearer {token}"
    return http


def seed_mailboxes(base_url: str, app: GraphApp, ca_file: Path, people: list[Employee]) -> int:
    """A few events and tasks made in Outlook, in the first mailboxes; returns how many."""
    with graph_client(base_url, app, ca_file) as http:
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
        made = 0
        for index, person in enumerate(people[:3]):
            begins = start + timedelta(days=index, hours=index)
            http.post(
                f"/users/{person.email}/events",
                json={
                    "subject": f"Lunch with a customer ({person.name})",
                    "start": {"dateTime": begins.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
                    "end": {
                        "dateTime": (begins + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"),
                        "timeZone": "UTC",
                    },
                    "location": {"displayName": "Café am Markt"},
                    "categories": ["Personal"],
                    "body": {"contentType": "text", "content": "Planned in Outlook."},
                },
            ).raise_for_status()
            lists = http.get(f"/users/{person.email}/todo/lists").json()["value"]
            due = (start + timedelta(days=5)).strftime("%Y-%m-%dT00:00:00")
            http.post(
                f"/users/{person.email}/todo/lists/{lists[0]['id']}/tasks",
                json={
                    "title": "Call back about the offer",
                    "importance": "high",
                    "dueDateTime": {"dateTime": due, "timeZone": "UTC"},
                    "body": {"contentType": "text", "content": "Entered in To Do."},
                },
            ).raise_for_status()
            made += 2
    return made


def instructions(
    files: GraphFiles, base_url: str, app: GraphApp, ca_file: Path, db_url: str, first_email: str
) -> str:
    """How to look at both sides while the demo runs."""
    port = base_url.rsplit(":", 1)[-1]
    esx = esexchange_command()
    return f"""\
Look at the Exchange Online side (the Graph sandbox at {base_url}/v1.0):
  app {app.client_id} in tenant {app.tenant_id} (a demo-only client secret: {app.client_secret})
  {sys.executable} - <<'PY'
  import httpx, ssl
  v = ssl.create_default_context(cafile="{ca_file}")
  t = httpx.post("{base_url}/{app.tenant_id}/oauth2/v2.0/token", verify=v, data={{
      "grant_type": "client_credentials", "client_id": "{app.client_id}",
      "client_secret": "{app.client_secret}", "scope": "https://graph.microsoft.com/.default"}})
  h = {{"Authorization": "Bearer " + t.json()["access_token"]}}
  for e in httpx.get("{base_url}/v1.0/users/{first_email}/events", headers=h, verify=v
                     ).json()["value"]: print(e["start"]["dateTime"], e["subject"], e["categories"])
  PY
After the demo stops, the same mailboxes are served by:
  {esx} sandbox graph --directory {files.directory} --state {files.state} --tls --port {port}
Look at the ERP side:
  {esx} status --db {db_url}
And at esExchange itself (while the demo runs):
  {esx} check assignment {CONNECTION} --db {db_url}
  {esx} token {CONNECTION} --db {db_url}
"""
