"""HTTPS with the sandbox's own CA, OAuth 2.0 app sign-in, and Autodiscover."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from esexchange.domain.model import ExchangeItem, Kind
from esexchange.domain.state import WHOLE_FOLDER
from esexchange.exchange.errors import AccessDenied, MailboxNotFound, MailboxUnreachable
from esexchange.exchange.ews import AppAuth, EwsSettings, discover_ews_url
from tests.exchange.ews_helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    TENANT,
    Served,
    connected,
    serve,
    user_settings,
)
from tests.support.sandbox import ANNA, BEN

START = datetime(2026, 10, 5, 8, tzinfo=UTC)


@pytest.fixture(scope="module")
def https(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tls_dir=tmp_path_factory.mktemp("tls")) as served:
        yield served


@pytest.fixture
def trusted(https: Served) -> EwsSettings:
    https.sandbox.backend.reset()
    assert https.ca_file is not None
    return user_settings(https.ews_url, ca_bundle=str(https.ca_file), name="trusted")


def _app_settings(https: Served, secret: str = CLIENT_SECRET) -> EwsSettings:
    token_url = f"{https.base_url}/{{tenant}}/oauth2/v2.0/token"
    return EwsSettings(
        ews_url=https.ews_url, name="app", ca_bundle=str(https.ca_file),
        auth=AppAuth(TENANT, CLIENT_ID, secret, token_url=token_url),
        time_zone="Europe/Berlin", max_wait_seconds=5,
    )


def _item(n: int) -> ExchangeItem:
    return ExchangeItem(kind=Kind.APPOINTMENT, subject=f"Over TLS {n}", erp_id=n,
                        start=START, end=START + timedelta(hours=1))


def test_a_certificate_from_the_configured_ca_is_trusted(trusted: EwsSettings) -> None:
    with connected(trusted) as connection:
        connection.check()
        anna = connection.mailbox(ANNA)
        assert anna.create([_item(1)])[0].ok
        assert len(anna.changes(Kind.APPOINTMENT, None).changes) == 1


def test_an_unknown_ca_is_refused_and_the_fix_is_named(
    https: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The environment's CA bundle is not what the administrator configured: not used.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(https.ca_file))
    with (
        connected(user_settings(https.ews_url, name="untrusting")) as connection,
        pytest.raises(MailboxUnreachable) as refused,
    ):
        connection.mailbox(ANNA).check()
    message = str(refused.value)
    assert "not trusted" in message and "--ca-bundle" in message
    assert https.ews_url in message


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_accepting_untrusted_certificates_works_and_is_logged_loudly(
    https: Served, caplog: pytest.LogCaptureFixture
) -> None:
    settings = user_settings(https.ews_url, accept_untrusted=True, name="lab-exchange")
    with caplog.at_level(logging.WARNING, logger="esexchange"), connected(settings) as connection:
        connection.mailbox(ANNA).check()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("lab-exchange" in r.getMessage() and "verification is OFF" in r.getMessage()
               for r in warnings)


def test_connections_with_different_trust_do_not_share_it(
    https: Served, trusted: EwsSettings
) -> None:
    untrusting = user_settings(https.ews_url, name="untrusting")
    with connected(trusted) as good, connected(untrusting) as bad:
        good.mailbox(ANNA).check()
        with pytest.raises(MailboxUnreachable, match="not trusted"):
            bad.mailbox(ANNA).check()
        good.mailbox(BEN).check()
        with pytest.raises(MailboxUnreachable, match="not trusted"):
            bad.mailbox(BEN).check()


def test_an_app_signs_in_with_client_credentials_and_reuses_its_token(https: Served) -> None:
    https.sandbox.backend.reset()
    with connected(_app_settings(https)) as connection:
        token = connection.token()
        assert token.roles == ("full_access_as_app",)
        assert token.expires_at - datetime.now(UTC) > timedelta(minutes=50)
        issued = connection.protocol.credentials.access_token["access_token"]
        anna, ben = connection.mailbox(ANNA), connection.mailbox(BEN)
        assert anna.create([_item(1)])[0].ok
        assert ben.changes(Kind.APPOINTMENT, None).changes == ()
        assert connection.protocol.credentials.access_token["access_token"] == issued
        # exchangelib closes a session after any error answer; the token survives that.
        connection.protocol.retire_session(connection.protocol.get_session())
        assert ben.changes(Kind.TASK, None).complete == WHOLE_FOLDER
        assert connection.protocol.credentials.access_token["access_token"] == issued


def test_a_wrong_client_secret_is_refused_by_the_token_endpoint(https: Served) -> None:
    with (
        connected(_app_settings(https, secret="wrong")) as connection,
        pytest.raises(AccessDenied, match="invalid_client"),
    ):
        connection.mailbox(ANNA).check()


def test_autodiscover_finds_the_ews_url(https: Served, trusted: EwsSettings) -> None:
    found = discover_ews_url(
        ANNA, replace(trusted, ews_url=None),
        autodiscover_url=f"{https.base_url}/autodiscover/autodiscover.svc",
    )
    assert found == https.ews_url


def test_autodiscover_for_an_unknown_address_says_so(
    https: Served, trusted: EwsSettings
) -> None:
    with pytest.raises(MailboxNotFound, match=r"does not know nobody@example\.test.*--ews-url"):
        discover_ews_url(
            "nobody@example.test", trusted,
            autodiscover_url=f"{https.base_url}/autodiscover/autodiscover.svc",
        )


def test_autodiscover_without_a_reachable_endpoint_names_what_it_tried(
    trusted: EwsSettings,
) -> None:
    started = time.monotonic()
    with pytest.raises(MailboxUnreachable) as failed:
        discover_ews_url("anna@nowhere.invalid", trusted)
    assert "https://nowhere.invalid/autodiscover/autodiscover.svc" in str(failed.value)
    assert "https://autodiscover.nowhere.invalid/" in str(failed.value)
    assert "couldn't be located" in str(failed.value) and "--ews-url" in str(failed.value)
    assert time.monotonic() - started < 30
