"""The end-to-end world: one sandbox per backend per module (EWS over HTTP, Graph over
HTTPS), one ERP per dialect per module, and a fresh connection with fresh employees and
mailboxes for every test.

Tests drive the ERP through plain SQL on the reference tables, Exchange as a user would
(``outlook.Outlook`` speaks EWS through exchangelib, ``graph_outlook.GraphOutlook`` speaks
Graph with the same methods), and esExchange through ``sync_connection``. A test taking
``world`` runs on both backends (the ``backend`` parameter) and both dialects; a test or
module marked ``backends("ews")`` runs on EWS only and says why. Sharing the sandboxes
and the ERP between the tests of a module keeps the suite fast; fresh employees,
mailboxes and connections keep the tests independent.
"""

from __future__ import annotations

import itertools
import os
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, text

from esexchange import config
from esexchange.config import Auth, Backend, ConnectionConfig
from esexchange.domain.model import Kind
from esexchange.erp.db import open_engine
from esexchange.erp.script import install
from esexchange.inprocess import BackgroundServer
from esexchange.sandbox.directory import AppEntry, Directory, MailboxEntry
from esexchange.sandbox.graph.app import GraphSandbox, create_graph_sandbox
from esexchange.sandbox.graph.knobs import GraphKnobs
from esexchange.sandbox.oauth import GRAPH_RESOURCE
from esexchange.sandbox.tls import TlsFiles, ensure_tls_files
from esexchange.secrets import KEY_ENV
from esexchange.service.adapter import open_connection
from esexchange.service.runner import MailboxOutcome, sync_connection
from tests.e2e.graph_outlook import GraphOutlook
from tests.e2e.sandbox import SERVICE_PASSWORD, SERVICE_UPN, RunningSandbox, start_sandbox
from tests.support.graph_sandbox import Checked

ERP_ZONE = ZoneInfo("Europe/Berlin")
ACTIVITY_TYPES = ((10, "Besuch"), (20, "Telefonat"), (30, "Schulung"))
PRIORITIES = ((1, "niedrig", 1), (2, "normal", 2), (3, "hoch", 3), (4, "dringend", 4))
TYPE_COLORS = {10: 4, 20: 7}  # Outlook presets: Green, Blue; type 30 has none
EQUIPMENT = ((1, "Beamer"), (2, "Laptop"), (3, "Flipchart"))
GRAPH_TENANT = "7e1c0a42-0000-4000-8000-0000000000c1"
GRAPH_APP_ID = "5a0c7d1e-0000-4000-8000-0000000000c2"
GRAPH_SECRET = "graph-e2e-secret"
GRAPH_MAILBOXES = 200


@pytest.fixture(scope="session", autouse=True)
def _secret_key() -> Iterator[None]:
    """Secrets are encrypted with a throwaway key, never the developer's own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(KEY_ENV, Fernet.generate_key().decode())
        yield


BACKENDS = ("ews", "graph")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``backend`` (module-scoped): both, unless the test or its module is marked
    ``backends(...)``."""
    if "backend" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("backends")
        metafunc.parametrize("backend", marker.args if marker else BACKENDS, scope="module")


@pytest.fixture(scope="module")
def backend() -> str:
    """EWS for the modules outside tests/e2e that use the world (the service's, the
    console's); in tests/e2e ``pytest_generate_tests`` parametrizes it instead."""
    return "ews"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    with start_sandbox(tmp_path_factory.mktemp("sandbox")) as running:
        yield running


DIALECTS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=DIALECTS)
def erp(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """An installed ERP with activity types (two coloured), priorities and equipment, on
    each dialect; one per module, shared by its tests."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('erp') / 'erp.sqlite'}"
    else:
        cluster = request.getfixturevalue("postgres_cluster")
        database = f"e2e_{os.getpid()}_{next(_serial)}"
        cluster.execute(f"CREATE DATABASE {database} TEMPLATE template0")
        url = cluster.url(database)
    engine = reference_erp(url)
    yield engine
    engine.dispose()


_serial = itertools.count(1)


def reference_erp(url: str) -> Engine:
    """The database at ``url`` installed, with activity types (two coloured), priorities
    and equipment."""
    engine = open_engine(url)
    install(engine)
    with engine.begin() as db:
        for no, description in ACTIVITY_TYPES:
            db.execute(
                text("INSERT INTO activity_type (no, description) VALUES (:no, :d)"),
                {"no": no, "d": description},
            )
        for id_, name, rank in PRIORITIES:
            db.execute(
                text("INSERT INTO priority (id, name, rank) VALUES (:i, :n, :r)"),
                {"i": id_, "n": name, "r": rank},
            )
        for id_, name in EQUIPMENT:
            db.execute(
                text("INSERT INTO equipment (id, name) VALUES (:i, :n)"), {"i": id_, "n": name}
            )
    for no, color in TYPE_COLORS.items():
        config.set_activity_type_color(engine, no, color)
    return engine


@dataclass
class Person:
    """An ERP employee and their mailbox."""

    id: int
    email: str
    outlook: Any  # Outlook (EWS) or GraphOutlook: the same methods


@dataclass
class World:
    """One test's connection, employees and mailboxes, and the ways a user changes them."""

    engine: Engine
    sandbox: Any  # RunningSandbox (EWS) or GraphWorld: take_mailbox, outlook, throttling, ...
    connection: str
    backend: str = "ews"
    people: list[Person] = field(default_factory=list)

    def cannot_hold(self, kind: str) -> frozenset[str]:
        """The fields the backend's folder for ``kind`` has no place for (the port's
        capabilities): the rows assert the backend's documented answer for those."""
        conn = config.get_connection(self.engine, self.connection)
        exchange = open_connection(self.engine, conn)
        try:
            return exchange.mailbox("capabilities@example.test").capabilities(
                Kind(kind)
            ).cannot_hold
        finally:
            exchange.close()

    # --- esExchange -----------------------------------------------------------------

    def sync(self, **kwargs: Any) -> list[MailboxOutcome]:
        return sync_connection(self.engine, self.connection, **kwargs)

    def sync_ok(self) -> list[MailboxOutcome]:
        """A pass that must succeed for every mailbox."""
        outcomes = self.sync()
        for outcome in outcomes:
            assert outcome.ok, (outcome.employee.email, outcome.problem, outcome.report)
        return outcomes

    def option(self, key: str, value: str) -> None:
        config.set_option(self.engine, self.connection, key, value)

    def setting(self, person: Person, key: str, on: bool) -> None:
        config.set_personnel_setting(self.engine, self.connection, person.email, key, on)

    # --- the ERP, by plain SQL --------------------------------------------------------

    def employee(self, *, listed: bool = True, mailbox: bool = True, **columns: Any) -> Person:
        """A new ERP employee with a mailbox of their own, on the connection's list."""
        serial = next(_serial)
        email = self.sandbox.take_mailbox() if mailbox else f"ghost{serial}@example.test"
        values = {
            "number": f"E{serial:05d}",
            "name": f"Employee {serial}",
            "email": email,
            "employment_status": "active",
            "may_create_appointments": True,
            **columns,
        }
        with self.engine.begin() as db:
            person_id = db.execute(
                text(
                    "INSERT INTO employee (number, name, email, employment_status, "
                    "may_create_appointments) VALUES (:number, :name, :email, "
                    ":employment_status, :may_create_appointments) RETURNING id"
                ),
                values,
            ).scalar_one()
        if listed:
            config.add_personnel(self.engine, self.connection, [email])
        person = Person(person_id, email, self.sandbox.outlook(email))
        self.people.append(person)
        return person

    def add_activity(self, kind: str, subject: str, *owners: Person, **columns: Any) -> int:
        values = {"kind": kind, "subject": subject, "text": "", **columns}
        names = ", ".join(values)
        marks = ", ".join(f":{name}" for name in values)
        with self.engine.begin() as db:
            activity_id = db.execute(
                text(f"INSERT INTO activity ({names}) VALUES ({marks}) RETURNING id"), values
            ).scalar_one()
            for owner in owners:
                db.execute(
                    text(
                        "INSERT INTO activity_participant (activity_id, employee_id) "
                        "VALUES (:a, :e)"
                    ),
                    {"a": activity_id, "e": owner.id},
                )
        return int(activity_id)

    def add_appointment(self, subject: str, *owners: Person, **columns: Any) -> int:
        start = columns.pop("start_at", tomorrow_at(10))
        end = columns.pop("end_at", start + timedelta(hours=1))
        return self.add_activity(
            "appointment", subject, *owners, start_at=start, end_at=end, **columns
        )

    def add_task(self, subject: str, *owners: Person, **columns: Any) -> int:
        due = columns.pop("due_at", tomorrow_at(0) + timedelta(days=3))
        return self.add_activity(
            "task",
            subject,
            *owners,
            due_at=due,
            status=columns.pop("status", "not_started"),
            **columns,
        )

    def add(self, kind: str, subject: str, *owners: Person, **columns: Any) -> int:
        """An ERP activity of ``kind`` (``"appointment"`` or ``"task"``)."""
        if kind == "appointment":
            return self.add_appointment(subject, *owners, **columns)
        return self.add_task(subject, *owners, **columns)

    def add_equipment(self, activity_id: int, *equipment_ids: int) -> None:
        with self.engine.begin() as db:
            for equipment_id in equipment_ids:
                db.execute(
                    text(
                        "INSERT INTO activity_equipment (activity_id, equipment_id) VALUES (:a, :e)"
                    ),
                    {"a": activity_id, "e": equipment_id},
                )

    def update_activity(self, activity_id: int, **columns: Any) -> None:
        sets = ", ".join(f"{name} = :{name}" for name in columns)
        with self.engine.begin() as db:
            db.execute(
                text(f"UPDATE activity SET {sets} WHERE id = :id"), {**columns, "id": activity_id}
            )

    def delete_activity(self, activity_id: int) -> None:
        with self.engine.begin() as db:
            db.execute(
                text("DELETE FROM activity_participant WHERE activity_id = :id"),
                {"id": activity_id},
            )
            db.execute(text("DELETE FROM activity WHERE id = :id"), {"id": activity_id})

    def activity(self, activity_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as db:
            row = (
                db.execute(text("SELECT * FROM activity WHERE id = :id"), {"id": activity_id})
                .mappings()
                .first()
            )
        return dict(row) if row else None

    def activities(self, person: Person, kind: str) -> list[dict[str, Any]]:
        """The person's activities of ``kind``, by id."""
        with self.engine.connect() as db:
            rows = (
                db.execute(
                    text(
                        "SELECT a.* FROM activity a JOIN activity_participant p "
                        "ON p.activity_id = a.id WHERE p.employee_id = :e AND a.kind = :k "
                        "ORDER BY a.id"
                    ),
                    {"e": person.id, "k": kind},
                )
                .mappings()
                .all()
            )
        return [dict(row) for row in rows]

    def activity_named(self, person: Person, kind: str, subject: str) -> dict[str, Any]:
        found = [a for a in self.activities(person, kind) if a["subject"] == subject]
        assert len(found) == 1, f"{len(found)} ERP {kind}s named {subject!r}"
        return found[0]

    def subjects(self, person: Person, kind: str) -> list[str]:
        return sorted(a["subject"] for a in self.activities(person, kind))

    def query(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as db:
            return [dict(r) for r in db.execute(text(sql), params).mappings().all()]


def new_world(
    erp: Engine, sandbox: RunningSandbox, *, secret: str = SERVICE_PASSWORD, **fields: Any
) -> World:
    """A new connection to ``sandbox`` (ERP zone Europe/Berlin) with no personnel yet;
    ``fields`` override the service-account sign-in of ``ConnectionConfig``."""
    name = f"t{next(_serial)}"
    settings: dict[str, Any] = {
        "auth": Auth.USER,
        "ews_url": sandbox.ews_url,
        "upn": SERVICE_UPN,
        **fields,
    }
    config.add_connection(erp, ConnectionConfig(name=name, backend=Backend.EWS, **settings), secret)
    config.set_option(erp, name, "erp_time_zone", "Europe/Berlin")
    return World(erp, sandbox, name)


def new_graph_world(
    erp: Engine, online: GraphWorld, *, secret: str = GRAPH_SECRET, **fields: Any
) -> World:
    """A new Graph connection to ``online`` (ERP zone Europe/Berlin), no personnel yet."""
    name = f"g{next(_serial)}"
    settings: dict[str, Any] = {
        "auth": Auth.APP,
        "tenant_id": GRAPH_TENANT,
        "client_id": GRAPH_APP_ID,
        "token_url": f"{online.base_url}/{{tenant}}/oauth2/v2.0/token",
        "ca_bundle": str(online.ca_file),
        **fields,
    }
    config.add_connection(
        erp, ConnectionConfig(name=name, backend=Backend.GRAPH, **settings), secret
    )
    config.set_option(erp, name, "erp_time_zone", "Europe/Berlin")
    return World(erp, online, name, backend="graph")


@pytest.fixture
def world(request: pytest.FixtureRequest, erp: Engine, backend: str) -> World:
    """A new connection (the service account on EWS, the app on Graph), no personnel yet."""
    if backend == "graph":
        return new_graph_world(erp, request.getfixturevalue("online"))
    return new_world(erp, request.getfixturevalue("sandbox"))


def assert_refused_and_parked(outcome: MailboxOutcome, person: Person, erp_id: int,
                              refusal: str) -> None:
    """The pass refused ERP activity ``erp_id`` in the words of ``refusal`` (naming the
    mailbox) and parked it, to be retried, in the same words."""
    assert outcome.report is not None
    [failure] = outcome.report.failures
    assert refusal in failure and person.email in failure
    [parked] = outcome.report.parked  # status shows it, in the same words
    assert (parked.erp_id, parked.last_error) == (erp_id, refusal)


def tomorrow_at(hour: int) -> datetime:
    """A naive ERP time (Europe/Berlin) tomorrow at ``hour`` o'clock."""
    day = datetime.now(ERP_ZONE).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour)


def utc(naive_erp_time: datetime) -> datetime:
    """The instant of a naive ERP time."""
    return naive_erp_time.replace(tzinfo=ERP_ZONE).astimezone(UTC)


def soon(days: int = 2, hour: int = 9) -> datetime:
    """An aware UTC instant a few days ahead, for items made in Outlook."""
    day = date.today() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


# --- the Graph world: a Graph sandbox over HTTPS and a Graph connection ------------------



@dataclass
class GraphWorld:
    """A Graph sandbox serving on loopback (HTTPS), and the user's side of its mailboxes."""

    sandbox: GraphSandbox
    base_url: str
    ca_file: Path
    numbers: Iterator[int]
    tls: TlsFiles | None = None  # the sandbox's CA and a loopback certificate it signed
    _user: httpx.Client | None = None

    @property
    def endpoint(self) -> str:
        """Where a connection's check says it connects: the Graph root."""
        return f"{self.base_url}/v1.0"

    def take_mailbox(self) -> str:
        number = next(self.numbers, None)
        assert number is not None, f"all {GRAPH_MAILBOXES} Graph sandbox mailboxes are taken"
        return f"online{number:03d}@example.test"

    def outlook(self, email: str) -> GraphOutlook:
        """The mailbox as its user's Outlook on the web sees it (one client for all)."""
        if self._user is None:
            self._user = self.user()
        return GraphOutlook(self._user, email)

    def sent_messages(self, *emails: str) -> list[str]:
        """Every invitation, update or cancellation these mailboxes would have sent."""
        return [m for email in emails for m in self.sandbox.backend.mailbox(email).sent]

    @contextmanager
    def throttling(self, rate: float, seed: int) -> Iterator[Callable[[], int]]:
        """Answer a share of the requests (and sub-requests) 429 with Retry-After 0;
        yields how many were throttled so far."""
        counters = self.sandbox.injector.counters
        before = counters.throttled
        with self._knobs(GraphKnobs(throttle_rate=rate, retry_after_s=0, seed=seed)):
            yield lambda: counters.throttled - before

    @contextmanager
    def slowed(self, latency_ms: int) -> Iterator[None]:
        with self._knobs(GraphKnobs(latency_ms=latency_ms)):
            yield

    @contextmanager
    def _knobs(self, knobs: GraphKnobs) -> Iterator[None]:
        self.sandbox.injector.knobs = knobs
        try:
            yield
        finally:
            self.sandbox.injector.knobs = GraphKnobs()

    def trust(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def user(self) -> httpx.Client:
        """What the mailbox's user (any Graph client) sends: app token, REST ids."""
        token = httpx.post(
            f"{self.base_url}/{GRAPH_TENANT}/oauth2/v2.0/token",
            timeout=30,
            verify=self.trust(),
            data={
                "grant_type": "client_credentials",
                "client_id": GRAPH_APP_ID,
                "client_secret": GRAPH_SECRET,
                "scope": f"{GRAPH_RESOURCE}/.default",
            },
        ).json()["access_token"]
        return httpx.Client(
            base_url=f"{self.base_url}/v1.0",
            verify=self.trust(),
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )


@pytest.fixture(scope="module")
def online(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphWorld]:
    directory = Directory(
        mailboxes=tuple(
            MailboxEntry(f"online{n:03d}@example.test", f"User {n}", "Europe/Berlin")
            for n in range(GRAPH_MAILBOXES)
        ),
        apps=(AppEntry(GRAPH_TENANT, GRAPH_APP_ID, GRAPH_SECRET, ("*",)),),
    )
    checked = Checked()
    files = ensure_tls_files(tmp_path_factory.mktemp("graph-e2e"))
    # Change notifications go to loopback endpoints with a certificate of the same CA.
    sandbox = create_graph_sandbox(directory, validator=checked, notification_trust=files.ca_file)
    with BackgroundServer(
        sandbox, ssl_certfile=str(files.certfile), ssl_keyfile=str(files.keyfile)
    ) as server:
        online = GraphWorld(sandbox, server.base_url, files.ca_file, iter(range(GRAPH_MAILBOXES)),
                            tls=files)
        yield online
        if online._user is not None:
            online._user.close()
        sandbox.close()
    assert checked.violations == [], checked.violations[:3]


@pytest.fixture
def graph_world(erp: Engine, online: GraphWorld) -> tuple[World, GraphWorld]:
    """A Graph connection, for the Graph-only tests (delta, ``$batch``, tokens)."""
    return new_graph_world(erp, online), online


def graph_events(online: GraphWorld, email: str) -> list[dict[str, Any]]:
    return [{"id": e.id, **e.data} for e in online.sandbox.backend.events(email)]


def graph_tasks(online: GraphWorld, email: str) -> list[dict[str, Any]]:
    box = online.sandbox.backend.mailbox(email)
    return [
        {"id": t.id, **t.data} for lst in box.task_lists.values() for t in lst.folder.items.values()
    ]
