"""The database script: idempotent, versioned, upgrades in place, leaves an ERP's own
tables and rows alone."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, Engine, inspect, text

from esexchange.erp import schema
from esexchange.erp.db import open_engine
from esexchange.erp.errors import ScriptNotInstalled, ScriptTooNew
from esexchange.erp.script import (
    SCRIPT_VERSION,
    STEPS,
    Step,
    database_status,
    install,
    installed_version,
    require_current,
)


def schema_snapshot(conn: Connection) -> list[tuple[object, ...]]:
    """Every table, column, index and trigger as the database itself describes them."""
    if conn.dialect.name == "sqlite":
        return [tuple(r) for r in conn.execute(text(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"))]
    return [tuple(r) for r in conn.execute(text(
        "SELECT 'column', table_name, column_name, data_type, column_default "
        "FROM information_schema.columns WHERE table_schema = 'public' "
        "UNION ALL SELECT 'index', tablename, indexname, indexdef, NULL "
        "FROM pg_indexes WHERE schemaname = 'public' "
        "UNION ALL SELECT 'trigger', event_object_table, trigger_name, event_manipulation, "
        "action_statement FROM information_schema.triggers "
        "UNION ALL SELECT 'function', proname, prosrc, NULL, NULL FROM pg_proc "
        "WHERE proname LIKE 'esx%' ORDER BY 1, 2, 3, 4"))]


def journal(conn: Connection) -> list[tuple[object, ...]]:
    return [tuple(r) for r in conn.execute(text("SELECT * FROM esx_change ORDER BY seq"))]


@pytest.fixture
def bare(erp_url: str) -> Engine:
    """An engine on an empty database, nothing installed."""
    return open_engine(erp_url)


def test_install_twice_changes_nothing(bare: Engine) -> None:
    first = install(bare)
    with bare.begin() as conn:
        conn.execute(text("INSERT INTO employee (number, name, email) VALUES ('7', 'Eva', 'e@x')"))
    with bare.connect() as conn:
        schema_before, journal_before = schema_snapshot(conn), journal(conn)

    second = install(bare)

    with bare.connect() as conn:
        assert schema_snapshot(conn) == schema_before
        assert journal(conn) == journal_before
    assert (first.before, first.after) == (0, SCRIPT_VERSION)
    assert (second.before, second.after, second.applied) == (SCRIPT_VERSION, SCRIPT_VERSION, ())
    assert len(journal_before) == 1


def test_an_older_install_is_upgraded_in_place(bare: Engine) -> None:
    install(bare, upto=1)
    with bare.connect() as conn:
        assert installed_version(conn) == 1
        assert not inspect(conn).has_table("esx_pass")
        with pytest.raises(ScriptNotInstalled, match="db install"):
            require_current(conn)
    with bare.begin() as conn:
        conn.execute(text(
            "INSERT INTO esx_connection (name, backend, auth) VALUES ('Zentrale', 'ews', 'user')"))
        conn.execute(text("INSERT INTO employee (number, name) VALUES ('1', 'Anna')"))

    report = install(bare)

    assert [step.version for step in report.applied] == list(range(2, SCRIPT_VERSION + 1))
    with bare.connect() as conn:
        assert installed_version(conn) == SCRIPT_VERSION
        assert inspect(conn).has_table("esx_pass")
        assert inspect(conn).has_table("esx_admin") and inspect(conn).has_table("esx_worker")
        require_current(conn)
        assert conn.execute(text("SELECT name, options_json FROM esx_connection")).all() == [
            ("Zentrale", "{}")
        ]
        # The triggers of version 1 still journal after the upgrade.
        assert conn.execute(text("SELECT count(*) FROM esx_change")).scalar() == 1


def test_a_version_2_install_gains_the_autodiscover_url_and_keeps_its_connections(
    bare: Engine,
) -> None:
    install(bare, upto=2)
    with bare.connect() as conn:
        assert "autodiscover_url" not in _columns(conn, "esx_connection")
    with bare.begin() as conn:
        conn.execute(text(
            "INSERT INTO esx_connection (name, backend, ews_url, autodiscover_email, auth, upn) "
            "VALUES ('Zentrale', 'ews', 'https://mail.example.test/EWS/Exchange.asmx', "
            "'anna@example.test', 'user', 'svc@example.test')"))

    report = install(bare)

    assert [step.version for step in report.applied] == list(range(3, SCRIPT_VERSION + 1))
    with bare.connect() as conn:
        require_current(conn)
        assert conn.execute(text(
            "SELECT name, ews_url, autodiscover_email, upn, autodiscover_url FROM esx_connection"
        )).all() == [("Zentrale", "https://mail.example.test/EWS/Exchange.asmx",
                      "anna@example.test", "svc@example.test", None)]
    with bare.begin() as conn:
        conn.execute(text("UPDATE esx_connection SET autodiscover_url = "
                          "'https://ad.example.test/autodiscover/autodiscover.svc'"))
        assert conn.execute(text("SELECT autodiscover_url FROM esx_connection")).scalar() == (
            "https://ad.example.test/autodiscover/autodiscover.svc")


def test_a_version_3_install_keeps_its_links_with_the_change_key_as_their_version(
    bare: Engine,
) -> None:
    install(bare, upto=3)
    with bare.begin() as conn:
        # The esx_link of releases before step 4 (step 1 now creates it from schema.py).
        conn.execute(text("ALTER TABLE esx_link RENAME COLUMN version TO change_key"))
        conn.execute(text(
            "INSERT INTO esx_connection (name, backend, auth) VALUES ('Zentrale', 'ews', 'user')"))
        conn.execute(text(
            "INSERT INTO esx_link (connection_id, employee_id, kind, erp_id, exchange_id, "
            "change_key, erp_seq, erp_hash, exchange_hash, synced_json) "
            "VALUES (1, 1, 'task', 7, 'AAMk-7', 'CK-7', 3, 'e', 'x', '{}')"))

    report = install(bare)

    assert [step.version for step in report.applied] == list(range(4, SCRIPT_VERSION + 1))
    with bare.connect() as conn:
        require_current(conn)
        assert _columns(conn, "esx_link") == [c.name for c in schema.esx_link.columns]
        assert conn.execute(text("SELECT erp_id, exchange_id, version FROM esx_link")).all() == [
            (7, "AAMk-7", "CK-7")
        ]


@pytest.mark.parametrize("start", [0, 1, 2, 3])
def test_every_path_ends_with_the_declared_connection_columns(bare: Engine, start: int) -> None:
    if start:
        install(bare, upto=start)
    install(bare)
    with bare.connect() as conn:
        assert _columns(conn, "esx_connection") == [c.name for c in schema.esx_connection.columns]


@pytest.mark.parametrize("start", [0, 1, 7])
def test_every_path_ends_with_the_declared_conflict_columns(bare: Engine, start: int) -> None:
    if start:
        install(bare, upto=start)
    install(bare)
    with bare.connect() as conn:
        assert _columns(conn, "esx_conflict") == [c.name for c in schema.esx_conflict.columns]


def test_a_later_step_runs_once_on_top_of_the_current_version(bare: Engine) -> None:
    install(bare)
    calls: list[int] = []

    def add_index(conn: Connection) -> None:
        calls.append(1)
        conn.execute(text("CREATE INDEX ix_test_audit_action ON esx_audit (action)"))

    steps = (*STEPS, Step(SCRIPT_VERSION + 1, "test-only: an index", add_index))
    install(bare, steps=steps)
    install(bare, steps=steps)

    assert calls == [1]
    with bare.connect() as conn:
        assert installed_version(conn) == SCRIPT_VERSION + 1
        assert "ix_test_audit_action" in {i["name"] for i in inspect(conn).get_indexes("esx_audit")}
    # This release's code meets a database from that newer release.
    with pytest.raises(ScriptTooNew, match="upgrade esExchange"):
        install(bare)


def test_a_failing_step_leaves_the_database_as_it_was(bare: Engine) -> None:
    install(bare, upto=1)

    def broken(conn: Connection) -> None:
        schema.esx_pass.create(conn)
        conn.execute(text("SELECT no_such_column FROM esx_meta"))

    with pytest.raises(Exception, match="no_such_column"):
        install(bare, steps=(STEPS[0], Step(2, "broken", broken)))

    with bare.connect() as conn:
        assert installed_version(conn) == 1
        assert not inspect(conn).has_table("esx_pass")


def test_an_existing_erp_keeps_its_tables_and_rows(bare: Engine) -> None:
    # An ERP with its own reference tables (no optional recurrence column, extra columns).
    with bare.begin() as conn:
        conn.execute(text(
            "CREATE TABLE employee (id INTEGER PRIMARY KEY, number VARCHAR(20), "
            "name VARCHAR(200), email VARCHAR(255), employment_status VARCHAR(10), "
            "may_create_appointments BOOLEAN, cost_centre VARCHAR(10))"))
        conn.execute(text(
            "INSERT INTO employee VALUES (5, '5', 'Max', 'max@example.test', 'active', "
            "TRUE, 'K100')"))

    install(bare)

    with bare.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("employee")}
        assert "cost_centre" in columns
        assert conn.execute(text("SELECT name, cost_centre FROM employee")).all() == [
            ("Max", "K100")
        ]
        assert inspect(conn).has_table("activity")
    with bare.begin() as conn:
        conn.execute(text("UPDATE employee SET email = 'MAX@example.test' WHERE id = 5"))
        assert conn.execute(text("SELECT table_name, employee_id, op FROM esx_change")).all() == [
            ("employee", 5, "U")
        ]


def test_status_counts_rows_and_the_journal(bare: Engine) -> None:
    install(bare)
    with bare.begin() as conn:
        conn.execute(text("INSERT INTO employee (number, name) VALUES ('1', 'Anna')"))
        conn.execute(text("INSERT INTO employee (number, name) VALUES ('2', 'Ben')"))

    status = database_status(bare)

    assert status.script_version == SCRIPT_VERSION
    assert (status.journal_rows, status.rows["employee"], status.rows["activity"]) == (2, 2, 0)
    assert status.journal_last_seq >= 2


def test_two_installs_at_once_install_once(bare: Engine) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(lambda _: install(bare), range(2)))

    assert sorted(len(r.applied) for r in reports) == [0, len(STEPS)]
    with bare.begin() as conn:
        conn.execute(text("INSERT INTO employee (number, name) VALUES ('1', 'Anna')"))
        assert conn.execute(text("SELECT count(*) FROM esx_change")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM esx_meta")).scalar() == 1


def _columns(conn: Connection, table: str) -> list[str]:
    return [c["name"] for c in inspect(conn).get_columns(table)]
