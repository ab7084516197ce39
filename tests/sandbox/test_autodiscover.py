"""Autodiscover, SOAP and POX, driven by the real exchangelib where it speaks the dialect."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from exchangelib import Configuration, Credentials
from exchangelib.autodiscover import autodiscover_cache, discover
from exchangelib.autodiscover.protocol import AutodiscoverProtocol
from exchangelib.errors import ErrorNonExistentMailbox
from exchangelib.transport import BASIC
from lxml import etree
from starlette.applications import Starlette

from esexchange.sandbox.ews.autodiscover import POX_BASE, POX_OUTLOOK, autodiscover_routes
from esexchange.sandbox.oauth import TokenIssuer
from tests.sandbox.edges import ANNA, DIRECTORY, SERVICE, SERVICE_PASSWORD, serve

CREDENTIALS = Credentials(SERVICE, SERVICE_PASSWORD)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    app = Starlette(routes=autodiscover_routes(DIRECTORY, TokenIssuer.generate()))
    with serve(app) as url:
        yield url


def soap_protocol(base_url: str) -> AutodiscoverProtocol:
    endpoint = f"{base_url}/autodiscover/autodiscover.svc"
    return AutodiscoverProtocol(
        config=Configuration(service_endpoint=endpoint, credentials=CREDENTIALS)
    )


def test_exchangelib_reads_the_ews_url_of_a_known_mailbox(base_url: str) -> None:
    protocol = soap_protocol(base_url)

    settings = protocol.get_user_settings(user=ANNA.upper())
    settings.raise_errors()  # unserved settings are SettingIsNotAvailable, which it ignores

    assert protocol.auth_type == BASIC  # probed from the 401 challenge
    assert settings.ews_url == f"{base_url}/EWS/Exchange.asmx"
    assert settings.user_settings["internal_ews_url"] == settings.ews_url
    assert settings.autodiscover_smtp_address == ANNA
    assert settings.user_settings["user_display_name"] == "Anna Berger"
    assert settings.version is not None and settings.version.api_version == "Exchange2016"
    protocol.close()


def test_an_unknown_mailbox_is_an_invalid_user(base_url: str) -> None:
    protocol = soap_protocol(base_url)

    settings = protocol.get_user_settings(user="ghost@example.test")

    assert settings.error_code == "InvalidUser"
    with pytest.raises(ErrorNonExistentMailbox):
        settings.raise_errors()
    protocol.close()


def test_wrong_credentials_get_no_settings(base_url: str) -> None:
    answer = requests.post(
        f"{base_url}/autodiscover/autodiscover.svc", data=b"<x/>", auth=(SERVICE, "wrong")
    )

    assert answer.status_code == 401
    assert "Basic" in answer.headers["www-authenticate"]


def test_account_autodiscovery_through_a_seeded_cache(
    base_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recipe of docs/sandbox-auth.md: tell exchangelib where the domain's Autodiscover is."""
    monkeypatch.setattr(
        "exchangelib.autodiscover.cache.AUTODISCOVER_PERSISTENT_STORAGE", tmp_path / "ad-cache"
    )
    domain = ANNA.split("@")[1]
    autodiscover_cache[(domain, CREDENTIALS)] = AutodiscoverProtocol(
        config=Configuration(
            service_endpoint=f"{base_url}/autodiscover/autodiscover.svc",
            credentials=CREDENTIALS,
            auth_type=BASIC,
        )
    )
    try:
        ad_response, protocol = discover(ANNA, credentials=CREDENTIALS)
    finally:
        autodiscover_cache.close()
        autodiscover_cache.clear()

    assert protocol.service_endpoint == f"{base_url}/EWS/Exchange.asmx"
    assert ad_response.autodiscover_smtp_address == ANNA


def pox_request(address: str) -> bytes:
    return (
        f'<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/'
        f'requestschema/2006"><Request><EMailAddress>{address}</EMailAddress>'
        f"<AcceptableResponseSchema>{POX_OUTLOOK}</AcceptableResponseSchema></Request>"
        f"</Autodiscover>"
    ).encode()


def test_pox_gives_the_outlook_provider_settings(base_url: str) -> None:
    answer = requests.post(
        f"{base_url}/autodiscover/autodiscover.xml",
        data=pox_request(ANNA),
        auth=(SERVICE, SERVICE_PASSWORD),
    )

    assert answer.status_code == 200
    root = etree.fromstring(answer.content)
    ns = {"o": POX_OUTLOOK}
    protocols = {
        p.findtext("o:Type", namespaces=ns): p.findtext("o:EwsUrl", namespaces=ns)
        for p in root.iterfind("o:Response/o:Account/o:Protocol", ns)
    }
    assert protocols == {
        "EXCH": f"{base_url}/EWS/Exchange.asmx",
        "EXPR": f"{base_url}/EWS/Exchange.asmx",
    }
    assert root.findtext("o:Response/o:User/o:AutoDiscoverSMTPAddress", namespaces=ns) == ANNA


def test_pox_names_an_unknown_address(base_url: str) -> None:
    answer = requests.post(
        f"{base_url}/autodiscover/autodiscover.xml",
        data=pox_request("ghost@example.test"),
        auth=(SERVICE, SERVICE_PASSWORD),
    )

    root = etree.fromstring(answer.content)
    ns = {"b": POX_BASE}
    assert root.findtext("b:Response/b:Error/b:ErrorCode", namespaces=ns) == "500"
    assert root.findtext("b:Response/b:Error/b:Message", namespaces=ns) == (
        "The email address can't be found."
    )
