"""``config.update_connection`` on real SQLite and PostgreSQL databases: a connection's
server, sign-in and TLS trust change; its personnel, links and sync states stay."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select

from esexchange import config
from esexchange.config import (
    Auth,
    Backend,
    ConnectionChange,
    ConnectionConfig,
    ConnectionNotFound,
    InvalidConnection,
)
from esexchange.erp.db import open_engine
from esexchange.erp.schema import esx_cursor, esx_link

PASSWORD = "S3cret-pa55word"
ANNA = "anna.berg@example.com"  # employee 1 of tests.support.config_db
CONTOSO = ConnectionConfig(
    name="contoso",
    backend=Backend.EWS,
    auth=Auth.USER,
    ews_url="https://mail.contoso.com/EWS/Exchange.asmx",
    upn="svc-esx@contoso.com",
)
NEW_URL = "https://mail2.contoso.com/EWS/Exchange.asmx"


@pytest.fixture
def engine(config_db_url: str) -> Iterator[Engine]:
    engine = open_engine(config_db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def contoso(engine: Engine) -> int:
    """The connection with Anna on its list, one link and a sync state; returns its id."""
    connection_id = config.add_connection(engine, CONTOSO, PASSWORD)
    config.add_personnel(engine, CONTOSO.name, [ANNA])
    with engine.begin() as db:
        db.execute(insert(esx_link).values(
            connection_id=connection_id, employee_id=1, kind="appointment", erp_id=7,
            exchange_id="AAMkAD-item-7", version="CK1", erp_seq=3, erp_hash="e",
            exchange_hash="x", synced_json="{}",
        ))
        db.execute(insert(esx_cursor).values(
            connection_id=connection_id, employee_id=1, kind="appointment", erp_seq=3,
            sync_state="H4sIA-state",
        ))
    return connection_id


def _kept(engine: Engine, connection_id: int) -> tuple[list[str], int, list[str | None]]:
    """Personnel emails, the number of links and the sync states of the connection."""
    with engine.connect() as db:
        links = db.scalar(select(func.count()).select_from(esx_link)
                          .where(esx_link.c.connection_id == connection_id))
        states = db.scalars(select(esx_cursor.c.sync_state)
                            .where(esx_cursor.c.connection_id == connection_id)).all()
    emails = [person.email for person, _ in config.personnel(engine, CONTOSO.name)]
    return emails, int(links or 0), list(states)


def test_a_new_ews_url_keeps_personnel_links_and_sync_states(
    engine: Engine, contoso: int
) -> None:
    changed = config.update_connection(engine, "contoso", ConnectionChange(ews_url=NEW_URL))

    assert changed.ews_url == NEW_URL
    assert config.get_connection(engine, "contoso") == changed
    assert changed.upn == CONTOSO.upn and changed.auth is Auth.USER
    assert config.connection_secret(engine, "contoso") == PASSWORD
    assert _kept(engine, contoso) == ([ANNA], 1, ["H4sIA-state"])


def test_switching_to_autodiscover_drops_the_stored_url_until_it_is_found(
    engine: Engine, contoso: int
) -> None:
    service = "https://ad.contoso.com/autodiscover/autodiscover.svc"
    changed = config.update_connection(engine, "contoso", ConnectionChange(
        autodiscover_email="admin@contoso.com", autodiscover_url=service))
    assert (changed.ews_url, changed.autodiscover_email, changed.autodiscover_url) == (
        None, "admin@contoso.com", service)

    config.store_ews_url(engine, "contoso", NEW_URL)  # what the next pass does
    other = "https://ad2.contoso.com/autodiscover/autodiscover.svc"
    again = config.update_connection(engine, "contoso", ConnectionChange(autodiscover_url=other))
    assert (again.ews_url, again.autodiscover_email, again.autodiscover_url) == (
        None, "admin@contoso.com", other)

    typed = config.update_connection(engine, "contoso", ConnectionChange(ews_url=NEW_URL))
    assert (typed.ews_url, typed.autodiscover_email, typed.autodiscover_url) == (
        NEW_URL, None, None)
    assert _kept(engine, contoso) == ([ANNA], 1, ["H4sIA-state"])


def test_another_account_needs_its_secret_and_nothing_changes_without_it(
    engine: Engine, contoso: int
) -> None:
    to_app = ConnectionChange(auth=Auth.APP, tenant_id="tenant-1", client_id="client-1")
    with pytest.raises(InvalidConnection, match="needs its client secret"):
        config.update_connection(engine, "contoso", to_app)
    other = "svc-other@contoso.com"
    with pytest.raises(InvalidConnection, match=re.escape(f"{other} needs its password")):
        config.update_connection(engine, "contoso", ConnectionChange(upn=other))
    assert config.get_connection(engine, "contoso").auth is Auth.USER

    changed = config.update_connection(engine, "contoso", to_app, secret="app-secret")

    assert (changed.auth, changed.upn, changed.tenant_id, changed.client_id) == (
        Auth.APP, None, "tenant-1", "client-1")
    assert config.connection_secret(engine, "contoso") == "app-secret"
    assert _kept(engine, contoso) == ([ANNA], 1, ["H4sIA-state"])


def test_the_same_account_in_other_letters_keeps_its_password(
    engine: Engine, contoso: int
) -> None:
    changed = config.update_connection(engine, "contoso",
                                       ConnectionChange(upn="SVC-ESX@contoso.com"))
    assert changed.upn == "SVC-ESX@contoso.com"
    assert config.connection_secret(engine, "contoso") == PASSWORD


def test_ca_bundle_and_certificate_verification_are_switched(
    engine: Engine, contoso: int, tmp_path: Path
) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    on = config.update_connection(engine, "contoso", ConnectionChange(ca_bundle=str(bundle)))
    assert on.ca_bundle == str(bundle)
    untrusted = config.update_connection(engine, "contoso",
                                         ConnectionChange(accept_untrusted=True))
    assert untrusted.accept_untrusted and untrusted.ca_bundle == str(bundle)
    off = config.update_connection(engine, "contoso", ConnectionChange(
        drop_ca_bundle=True, accept_untrusted=False))
    assert off.ca_bundle is None and not off.accept_untrusted


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (ConnectionChange(ews_url="mail.contoso.com"), "--ews-url 'mail.contoso.com' is not"),
        (ConnectionChange(ews_url=NEW_URL, autodiscover_email="a@contoso.com"), "not both"),
        (ConnectionChange(autodiscover_url="https://ad.contoso.com/x"),
         "needs --autodiscover EMAIL too"),
        (ConnectionChange(tenant_id="tenant-1"), "--tenant-id is not used with --auth user"),
        (ConnectionChange(upn="CONTOSO\\svc-esx"), "down-level logon name"),
        (ConnectionChange(ca_bundle="/nonexistent/ca.pem"), "no such file"),
    ],
)
def test_a_change_that_cannot_be_used_is_refused_and_nothing_changes(
    engine: Engine, contoso: int, change: ConnectionChange, words: str
) -> None:
    before = config.get_connection(engine, "contoso")
    with pytest.raises(InvalidConnection, match=re.escape(words)):
        config.update_connection(engine, "contoso", change, secret=PASSWORD)
    assert config.get_connection(engine, "contoso") == before


def test_an_empty_change_is_refused(engine: Engine, contoso: int) -> None:
    with pytest.raises(InvalidConnection, match="nothing to change"):
        config.update_connection(engine, "contoso", ConnectionChange())


def test_an_unknown_connection_lists_the_known(engine: Engine, contoso: int) -> None:
    with pytest.raises(ConnectionNotFound, match="contoso"):
        config.update_connection(engine, "fabrikam", ConnectionChange(ews_url=NEW_URL))
