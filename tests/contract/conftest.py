"""The implementations the port contracts run on, and a user's side of each.

``side`` gives a ``Mailbox`` and what the mailbox's user does to it, once per
implementation: the in-memory fake, the EWS adapter on the EWS sandbox, the Graph adapter
on the Graph sandbox. The user writes through a client of their own (exchangelib for
EWS, plain HTTP for Graph), never through the adapter under test.
``erp_side`` does the same for the ``ErpStore``: the in-memory fake, and the SQL store on
SQLite and on PostgreSQL, written to by the ERP with plain SQL.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import Engine

from esexchange.domain.model import ErpActivity, Kind
from esexchange.erp.db import open_engine
from esexchange.erp.port import ErpStore, Scope
from esexchange.erp.script import install
from esexchange.erp.store import SqlErpStore
from esexchange.exchange.port import Mailbox
from esexchange.sandbox.oauth import GRAPH_RESOURCE
from tests.e2e.outlook import Outlook
from tests.erp.conftest import Erp
from tests.exchange.ews_helpers import connected, user_settings
from tests.fake_erp import FakeErp
from tests.memory_mailbox import MemoryMailbox
from tests.support.graph_sandbox import ANNA, APP_ID, SECRET, TENANT, GraphHarness
from tests.support.sandbox import SERVICE_PASSWORD, SERVICE_UPN, RunningSandbox


class User(Protocol):
    """What the mailbox's user does in their own client."""

    def rename(self, kind: Kind, item_id: str, subject: str) -> None: ...

    def delete(self, kind: Kind, item_id: str) -> None: ...

    def master_categories(self) -> dict[str, int]: ...


@dataclass
class Side:
    name: str
    mailbox: Mailbox
    user: User


class MemoryUser:
    def __init__(self, mailbox: MemoryMailbox) -> None:
        self._mailbox = mailbox

    def rename(self, kind: Kind, item_id: str, subject: str) -> None:
        self._mailbox.user_update(kind, item_id, subject=subject)

    def delete(self, kind: Kind, item_id: str) -> None:
        self._mailbox.user_delete(kind, item_id)

    def master_categories(self) -> dict[str, int]:
        return {c.name: c.color for c in self._mailbox.categories.values()}


class EwsUser:
    def __init__(self, outlook: Outlook) -> None:
        self._outlook = outlook

    def _item(self, kind: Kind, item_id: str) -> Any:
        account = self._outlook.account
        folder = account.calendar if kind is Kind.APPOINTMENT else account.tasks
        return folder.get(id=item_id)

    def rename(self, kind: Kind, item_id: str, subject: str) -> None:
        self._outlook.edit(self._item(kind, item_id), subject=subject)

    def delete(self, kind: Kind, item_id: str) -> None:
        self._outlook.delete(self._item(kind, item_id))

    def master_categories(self) -> dict[str, int]:
        return self._outlook.master_categories()


class GraphUser:
    """Any Graph client of the mailbox's user: REST ids, the app's token."""

    def __init__(self, graph: GraphHarness, address: str) -> None:
        settings = graph.settings
        trust = ssl.create_default_context(cafile=settings.ca_bundle)
        token = httpx.post(
            settings.token_url.format(tenant=TENANT), verify=trust, timeout=30,
            data={"grant_type": "client_credentials", "client_id": APP_ID,
                  "client_secret": SECRET, "scope": f"{GRAPH_RESOURCE}/.default"},
        ).json()["access_token"]
        self._http = httpx.Client(
            base_url=settings.graph_url, verify=trust, timeout=30,
            headers={"Authorization": f"Bearer {token}"},
        )
        self._user = f"/users/{quote(address, safe='@')}"

    def _path(self, kind: Kind, item_id: str) -> str:
        if kind is Kind.APPOINTMENT:
            return f"{self._user}/events/{item_id}"
        lists = self._http.get(f"{self._user}/todo/lists").raise_for_status().json()["value"]
        default = next(t for t in lists if t.get("wellknownListName") == "defaultList")
        return f"{self._user}/todo/lists/{default['id']}/tasks/{item_id}"

    def rename(self, kind: Kind, item_id: str, subject: str) -> None:
        field = "subject" if kind is Kind.APPOINTMENT else "title"
        self._http.patch(self._path(kind, item_id), json={field: subject}).raise_for_status()

    def delete(self, kind: Kind, item_id: str) -> None:
        self._http.delete(self._path(kind, item_id)).raise_for_status()

    def master_categories(self) -> dict[str, int]:
        answer = self._http.get(f"{self._user}/outlook/masterCategories").raise_for_status()
        return {
            c["displayName"]: int(c["color"].removeprefix("preset")) if c["color"] != "none"
            else -1
            for c in answer.json()["value"]
        }

    def close(self) -> None:
        self._http.close()


PAGE = 3
"""Changes per page on every implementation, so that every read pages."""


@pytest.fixture(params=["memory", "ews", "graph"])
def side(request: pytest.FixtureRequest) -> Iterator[Side]:
    """One mailbox (Anna's, empty) on each implementation of the port."""
    if request.param == "memory":
        memory = MemoryMailbox(ANNA, seed=11, page_size=PAGE)
        yield Side("memory", memory, MemoryUser(memory))
    elif request.param == "ews":
        ews: RunningSandbox = request.getfixturevalue("ews")
        with connected(user_settings(ews.url, batch_size=4)) as connection:
            outlook = Outlook(ews.url, SERVICE_UPN, SERVICE_PASSWORD, ANNA)
            mailbox = connection.mailbox(ANNA)
            mailbox.page_size = PAGE
            yield Side("ews", mailbox, EwsUser(outlook))
    else:
        graph: GraphHarness = request.getfixturevalue("graph")
        user = GraphUser(graph, ANNA)
        yield Side("graph", graph.connect(page_size=PAGE).mailbox(ANNA), user)
        user.close()


# --- the ERP store ------------------------------------------------------------------------


class ErpUser(Protocol):
    """What ERP users (or other tools) do to the activity tables."""

    def employee(self, name: str) -> int: ...

    def create(self, activity: ErpActivity) -> int: ...

    def rename(self, erp_id: int, subject: str) -> None: ...

    def delete(self, erp_id: int) -> None: ...

    def remove_participant(self, erp_id: int, employee_id: int) -> None: ...


@dataclass
class ErpSide:
    name: str
    store: ErpStore
    user: ErpUser
    scope: Callable[[int], Scope]
    """The scope of an employee on a connection that exists."""


class FakeErpUser:
    def __init__(self, erp: FakeErp) -> None:
        self._erp = erp
        self._employees = 0

    def employee(self, name: str) -> int:
        self._employees += 1
        return 100 + self._employees

    def create(self, activity: ErpActivity) -> int:
        return self._erp.user_create(activity)

    def rename(self, erp_id: int, subject: str) -> None:
        self._erp.user_update(erp_id, subject=subject)

    def delete(self, erp_id: int) -> None:
        self._erp.user_delete(erp_id)

    def remove_participant(self, erp_id: int, employee_id: int) -> None:
        participants = self._erp.state.activities[erp_id].participant_ids
        self._erp.user_update(
            erp_id, participant_ids=tuple(p for p in participants if p != employee_id)
        )


class SqlErpUser:
    def __init__(self, erp: Erp) -> None:
        self._erp = erp

    def employee(self, name: str) -> int:
        return self._erp.employee(name)

    def create(self, activity: ErpActivity) -> int:
        columns: dict[str, Any] = {"location": activity.location}
        if activity.kind is Kind.APPOINTMENT:
            columns |= {"start_at": activity.start_at, "end_at": activity.end_at}
            return self._erp.appointment(activity.subject, *activity.participant_ids, **columns)
        return self._erp.task(activity.subject, *activity.participant_ids, **columns)

    def rename(self, erp_id: int, subject: str) -> None:
        self._erp.sql("UPDATE activity SET subject = :s WHERE id = :i", s=subject, i=erp_id)

    def delete(self, erp_id: int) -> None:
        self._erp.sql("DELETE FROM activity_participant WHERE activity_id = :i", i=erp_id)
        self._erp.sql("DELETE FROM activity WHERE id = :i", i=erp_id)

    def remove_participant(self, erp_id: int, employee_id: int) -> None:
        self._erp.sql("DELETE FROM activity_participant WHERE activity_id = :a "
                      "AND employee_id = :e", a=erp_id, e=employee_id)


def _sql_scope(erp: Erp) -> Callable[[int], Scope]:
    connection = int(erp.sql(
        "INSERT INTO esx_connection (name, backend, auth) VALUES ('contract', 'ews', 'user') "
        "RETURNING id"))
    return lambda employee_id: Scope(connection, employee_id)


@pytest.fixture(params=["fake", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def erp_side(request: pytest.FixtureRequest) -> Iterator[ErpSide]:
    """An empty ERP database on each implementation of the store port."""
    if request.param == "fake":
        fake = FakeErp(clock=lambda: datetime.now(UTC))
        yield ErpSide("fake", fake, FakeErpUser(fake), lambda employee: Scope(1, employee))
        return
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite"
                                  else "fresh_postgres_url")
    engine: Engine = open_engine(str(url))
    install(engine)
    erp = Erp(engine)
    yield ErpSide(request.param, SqlErpStore(engine), SqlErpUser(erp), _sql_scope(erp))
    engine.dispose()
