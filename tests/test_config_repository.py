"""The configuration repository on real SQLite and PostgreSQL databases."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, select

from esexchange import config
from esexchange.config import (
    Auth,
    Backend,
    ConnectionConfig,
    ConnectionExists,
    ConnectionNotFound,
    EmployeeNotFound,
    InvalidConnection,
    ReferenceNotFound,
)
from esexchange.domain.errors import InvalidOption
from esexchange.domain.model import Importance
from esexchange.domain.options import ConflictPolicy, ConnectionOptions, EmployeeSettings
from esexchange.erp.db import open_engine
from esexchange.erp.schema import esx_connection, esx_personnel
from esexchange.secrets import SecretUnreadable

PASSWORD = "S3cret-pa55word"

CONTOSO = ConnectionConfig(
    name="contoso",
    backend=Backend.EWS,
    auth=Auth.USER,
    ews_url="https://mail.contoso.com/EWS/Exchange.asmx",
    upn="svc-esx@contoso.com",
    options=ConnectionOptions(erp_time_zone="Europe/Berlin"),
)
FABRIKAM = ConnectionConfig(
    name="fabrikam",
    backend=Backend.EWS,
    auth=Auth.APP,
    autodiscover_email="admin@fabrikam.com",
    tenant_id="tenant-1",
    client_id="client-1",
    token_url="https://127.0.0.1:8443/token",
)


@pytest.fixture
def engine(config_db_url: str) -> Iterator[Engine]:
    engine = open_engine(config_db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(config_sqlite_url: str) -> Iterator[Engine]:
    """For checks made before the database is touched: one dialect is enough."""
    engine = open_engine(config_sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture
def contoso(engine: Engine) -> str:
    config.add_connection(engine, CONTOSO, PASSWORD)
    return CONTOSO.name


# --- connections and secrets ----------------------------------------------------------------


def test_a_connection_reads_back_as_stored(engine: Engine) -> None:
    before = datetime.now(UTC)
    new_id = config.add_connection(engine, CONTOSO, PASSWORD)
    stored = config.get_connection(engine, "contoso")
    assert stored.id == new_id
    assert stored.ews_url == CONTOSO.ews_url
    assert (stored.backend, stored.auth, stored.upn) == (Backend.EWS, Auth.USER, CONTOSO.upn)
    assert stored.options.erp_time_zone == "Europe/Berlin"
    assert stored.secret_stored
    assert stored.created_at is not None
    assert stored.created_at.tzinfo is not None
    assert abs((stored.created_at - before).total_seconds()) < 120


def test_the_secret_is_encrypted_in_the_database_and_decrypts_for_sign_in(
    engine: Engine, contoso: str
) -> None:
    with engine.connect() as db:
        row = db.execute(select(esx_connection)).one()
    assert PASSWORD not in " ".join(str(value) for value in row)
    assert config.connection_secret(engine, contoso) == PASSWORD


def test_a_secret_under_another_key_names_the_connection(
    engine: Engine, contoso: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESEXCHANGE_SECRET_KEY", Fernet.generate_key().decode())
    with pytest.raises(SecretUnreadable, match=r"connection 'contoso'.*connection secret"):
        config.connection_secret(engine, contoso)
    config.set_connection_secret(engine, contoso, "new-password")
    assert config.connection_secret(engine, contoso) == "new-password"


def test_names_are_unique(engine: Engine, contoso: str) -> None:
    with pytest.raises(ConnectionExists, match=r"'contoso'"):
        config.add_connection(engine, CONTOSO, PASSWORD)


def test_an_unknown_name_lists_the_known_ones(engine: Engine, contoso: str) -> None:
    config.add_connection(engine, FABRIKAM, "client-secret")
    with pytest.raises(ConnectionNotFound, match=r"'northwind'.*contoso, fabrikam"):
        config.get_connection(engine, "northwind")
    assert [c.name for c in config.list_connections(engine)] == ["contoso", "fabrikam"]


def test_removing_a_connection_removes_its_personnel_only(engine: Engine, contoso: str) -> None:
    config.add_connection(engine, FABRIKAM, "client-secret")
    for name in ("contoso", "fabrikam"):
        config.add_personnel(engine, name, ["anna.berg@example.com"])
    config.remove_connection(engine, "contoso")
    assert [c.name for c in config.list_connections(engine)] == ["fabrikam"]
    with engine.connect() as db:
        assert len(db.execute(select(esx_personnel)).all()) == 1
    assert [p.email for p, _ in config.personnel(engine, "fabrikam")] == ["anna.berg@example.com"]


def test_the_autodiscovered_url_is_stored(engine: Engine) -> None:
    service = "https://ad.fabrikam.com/autodiscover/autodiscover.svc"
    config.add_connection(engine, replace(FABRIKAM, autodiscover_url=service), "client-secret")
    assert config.get_connection(engine, "fabrikam").ews_url is None
    config.store_ews_url(engine, "fabrikam", "https://outlook.fabrikam.com/EWS/Exchange.asmx")
    stored = config.get_connection(engine, "fabrikam")
    assert stored.ews_url == "https://outlook.fabrikam.com/EWS/Exchange.asmx"
    assert (stored.autodiscover_email, stored.autodiscover_url) == ("admin@fabrikam.com", service)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"upn": "CONTOSO\\svc-esx"}, r"down-level logon name.*user@domain.*svc-esx@contoso"),
        ({"upn": "svc-esx"}, "not a user principal name"),
        ({"autodiscover_email": "admin@contoso.com"}, "exactly one"),
        ({"ews_url": "mail.contoso.com/EWS"}, "not an http"),
        ({"name": "my connection"}, "connection name"),
        ({"ca_bundle": "/nonexistent/ca.pem"}, "--ca-bundle.*no such file"),
        ({"backend": Backend.GRAPH}, "Graph needs --auth app"),
        ({"tenant_id": "tenant-1"}, "--tenant-id is not used with --auth user"),
        ({"autodiscover_url": "https://ad.contoso.com/autodiscover/autodiscover.svc"},
         "--autodiscover-url names the Autodiscover service to ask for --autodiscover EMAIL"),
        ({"ews_url": None, "autodiscover_email": "admin@contoso.com",
          "autodiscover_url": "ad.contoso.com"}, "--autodiscover-url 'ad.contoso.com' is not"),
    ],
)
def test_unusable_settings_are_refused_with_what_to_fix(
    sqlite_engine: Engine, change: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidConnection, match=message):
        config.add_connection(sqlite_engine, replace(CONTOSO, **change), PASSWORD)  # type: ignore[arg-type]
    assert config.list_connections(sqlite_engine) == []


def test_an_app_connection_needs_tenant_and_client(engine: Engine) -> None:
    with pytest.raises(InvalidConnection, match=r"--auth app needs --client-id"):
        config.add_connection(engine, replace(FABRIKAM, client_id=None), "s")
    with pytest.raises(InvalidConnection, match=r"--autodiscover is not used with --backend graph"):
        config.add_connection(engine, replace(FABRIKAM, backend=Backend.GRAPH), "s")
    config.add_connection(
        engine, replace(FABRIKAM, backend=Backend.GRAPH, autodiscover_email=None), "s"
    )
    assert config.get_connection(engine, "fabrikam").backend is Backend.GRAPH


# --- options ------------------------------------------------------------------------------


def test_unset_options_have_the_design_defaults(engine: Engine, contoso: str) -> None:
    settings = {s.key: s for s in config.option_settings(engine, contoso)}
    assert settings["interval_minutes"].value == 5
    assert not settings["interval_minutes"].explicit
    assert settings["conflict_policy"].value is ConflictPolicy.NEWER_WINS
    assert settings["erp_time_zone"].explicit  # given when the connection was added


def test_options_are_typed_marked_as_set_and_reset_by_default(engine: Engine, contoso: str) -> None:
    config.set_option(engine, contoso, "appointment_sync", "off")
    config.set_option(engine, contoso, "interval_minutes", "15")
    config.set_option(engine, contoso, "start_sync_at", "2026-11-01T08:00:00+01:00")
    config.set_option(engine, contoso, "conflict_policy", "erp_wins")
    options = config.options(engine, contoso)
    assert options.appointment_sync is False
    assert options.interval_minutes == 15
    assert options.start_sync_at == datetime(2026, 11, 1, 7, 0, tzinfo=UTC)
    assert options.conflict_policy is ConflictPolicy.ERP_WINS
    config.set_option(engine, contoso, "interval_minutes", "default")
    settings = {s.key: s for s in config.option_settings(engine, contoso)}
    assert (settings["interval_minutes"].value, settings["interval_minutes"].explicit) == (5, False)
    assert settings["appointment_sync"].explicit


def test_a_start_time_without_offset_is_erp_local_time(engine: Engine, contoso: str) -> None:
    config.set_option(engine, contoso, "start_sync_at", "2026-11-20T08:00")  # Europe/Berlin
    assert config.options(engine, contoso).start_sync_at == datetime(2026, 11, 20, 7, 0,
                                                                     tzinfo=UTC)


def test_a_bad_option_value_names_the_key_and_what_is_accepted(
    engine: Engine, contoso: str
) -> None:
    with pytest.raises(InvalidOption, match=r"'delete_guard_percent'.*0 to 100"):
        config.set_option(engine, contoso, "delete_guard_percent", "150")
    with pytest.raises(InvalidOption, match=r"'conflict_policy'.*newer_wins, erp_wins"):
        config.set_option(engine, contoso, "conflict_policy", "mine")
    with pytest.raises(InvalidOption, match=r"unknown option 'interval'.*interval_minutes"):
        config.set_option(engine, contoso, "interval", "5")
    with pytest.raises(InvalidOption, match=r"'erp_time_zone'.*Mars/Olympus.*IANA"):
        config.set_option(engine, contoso, "erp_time_zone", "Mars/Olympus")
    assert config.options(engine, contoso) == CONTOSO.options


def test_priorities_and_activity_types_are_given_by_id_or_name(
    engine: Engine, contoso: str
) -> None:
    config.set_option(engine, contoso, "priority_high", "hoch")
    config.set_option(engine, contoso, "default_activity_type_task", "Task")
    config.set_option(engine, contoso, "default_activity_type_appointment", "7")
    options = config.options(engine, contoso)
    assert (options.priority_high, options.default_activity_type_task) == (3, 5)
    assert options.default_activity_type_appointment == 7
    with pytest.raises(ReferenceNotFound, match=r"'Urgent'.*1 Niedrig, 2 Mittel, 3 Hoch"):
        config.set_option(engine, contoso, "priority_low", "Urgent")
    with pytest.raises(ReferenceNotFound, match=r"'9'.*5 Task"):
        config.set_option(engine, contoso, "default_activity_type_task", "9")


# --- personnel ----------------------------------------------------------------------------


def test_personnel_are_added_by_email_in_any_case_with_every_setting_on(
    engine: Engine, contoso: str
) -> None:
    result = config.add_personnel(engine, contoso, ["ANNA.BERG@example.com",
                                                    "dora.exner@example.com"])
    assert [p.number for p in result.added] == ["1001", "1004"]
    again = config.add_personnel(engine, contoso, ["anna.berg@example.com"])
    assert (again.added, [p.number for p in again.already]) == ((), ["1001"])
    listed = config.personnel(engine, contoso)
    assert [(p.name, s) for p, s in listed] == [
        ("Anna Berg", EmployeeSettings()),
        ("Dora Exner", EmployeeSettings()),
    ]


def test_an_unknown_email_adds_no_one(engine: Engine, contoso: str) -> None:
    with pytest.raises(EmployeeNotFound, match=r"'nobody@example.com'"):
        config.add_personnel(engine, contoso, ["anna.berg@example.com", "nobody@example.com"])
    assert config.personnel(engine, contoso) == []


def test_employees_who_left_are_listed_but_not_syncable(engine: Engine, contoso: str) -> None:
    result = config.add_personnel(
        engine, contoso, ["bernd.lang@example.com", "clara.weiss@example.com"]
    )
    assert [(p.employment_status, p.syncable) for p in result.added] == [
        ("left", False), ("active", False),
    ]


def test_a_setting_is_switched_for_one_employee_on_one_connection(
    engine: Engine, contoso: str
) -> None:
    config.add_connection(engine, FABRIKAM, "client-secret")
    for name in ("contoso", "fabrikam"):
        config.add_personnel(engine, name, ["anna.berg@example.com", "dora.exner@example.com"])
    config.set_personnel_setting(engine, contoso, "anna.berg@example.com", "delete_tasks_in_erp",
                                 False)
    settings = {p.number: s for p, s in config.personnel(engine, contoso)}
    assert settings["1001"] == EmployeeSettings(delete_tasks_in_erp=False)
    assert settings["1004"] == EmployeeSettings()
    assert all(s == EmployeeSettings() for _, s in config.personnel(engine, "fabrikam"))
    with pytest.raises(InvalidOption, match=r"'delete_task'.*delete_tasks_in_erp"):
        config.set_personnel_setting(engine, contoso, "anna.berg@example.com", "delete_task",
                                     False)


def test_removing_personnel_needs_them_listed(engine: Engine, contoso: str) -> None:
    config.add_personnel(engine, contoso, ["anna.berg@example.com"])
    with pytest.raises(EmployeeNotFound, match=r"(?i)dora.exner.*not in the personnel.*.contoso."):
        config.remove_personnel(engine, contoso, ["anna.berg@example.com",
                                                  "dora.exner@example.com"])
    assert len(config.personnel(engine, contoso)) == 1  # all or nothing
    config.remove_personnel(engine, contoso, ["anna.berg@example.com"])
    assert config.personnel(engine, contoso) == []


# --- activity-type colours and the priority map ------------------------------------------


def test_activity_type_colours_are_set_and_replaced(engine: Engine) -> None:
    assert [t.color for t in config.activity_types(engine)] == [-1, -1, -1]
    config.set_activity_type_color(engine, 5, 4)
    config.set_activity_type_color(engine, 5, 19)
    assert [(t.no, t.color) for t in config.activity_types(engine)] == [(1, -1), (5, 19), (7, -1)]
    with pytest.raises(ReferenceNotFound, match=r"number 9; known numbers: 1, 5, 7"):
        config.set_activity_type_color(engine, 9, 4)


def test_the_priority_map_defaults_by_rank_and_takes_choices(engine: Engine, contoso: str) -> None:
    def shown() -> list[tuple[Importance, str | None, bool]]:
        return [(c.importance, c.priority.name if c.priority else None, c.explicit)
                for c in config.priority_map(engine, contoso)]

    assert shown() == [(Importance.LOW, "Niedrig", False), (Importance.NORMAL, "Mittel", False),
                       (Importance.HIGH, "Hoch", False)]
    config.set_priority_map(engine, contoso, {Importance.NORMAL: "Niedrig", Importance.HIGH: "2"})
    assert shown() == [(Importance.LOW, "Niedrig", False), (Importance.NORMAL, "Niedrig", True),
                       (Importance.HIGH, "Mittel", True)]
    with pytest.raises(ReferenceNotFound):
        config.set_priority_map(engine, contoso, {Importance.LOW: "Hoch",
                                                  Importance.HIGH: "Dringend"})
    assert shown()[0] == (Importance.LOW, "Niedrig", False)  # nothing changed
    config.set_priority_map(engine, contoso, {Importance.HIGH: "default"})
    assert shown()[2] == (Importance.HIGH, "Hoch", False)
