"""The sandbox CA: generated once, reused, and trusted by clients that are told to trust it."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
import requests
from cryptography import x509
from exchangelib import IMPERSONATION, Account, Configuration, Credentials
from exchangelib.errors import TransportError
from exchangelib.protocol import BaseProtocol
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from esexchange.sandbox.ews.app import create_sandbox
from esexchange.sandbox.tls import ensure_tls_files
from tests.sandbox.edges import (
    ANNA,
    DIRECTORY,
    SERVICE,
    SERVICE_PASSWORD,
    exchangelib_closed,
    serve,
    trusting_adapter,
)


def names(path: Path) -> list[str]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    alternative = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(name.value) for name in alternative]


def test_server_certificate_covers_loopback_names_and_is_signed_by_the_ca(tmp_path: Path) -> None:
    files = ensure_tls_files(tmp_path)
    ca = x509.load_pem_x509_certificate(files.ca_file.read_bytes())
    server = x509.load_pem_x509_certificate(files.certfile.read_bytes())

    server.verify_directly_issued_by(ca)
    assert names(files.certfile) == ["localhost", "127.0.0.1", str(ipaddress.ip_address("::1"))]
    assert (
        files.keyfile.stat().st_mode & 0o077,
        (tmp_path / "ca-key.pem").stat().st_mode & 0o077,
    ) == (
        0,
        0,
    )


def test_files_are_reused_on_restart(tmp_path: Path) -> None:
    first = ensure_tls_files(tmp_path)
    before = (first.ca_file.read_bytes(), first.certfile.read_bytes(), first.keyfile.read_bytes())

    again = ensure_tls_files(tmp_path)

    assert (
        again.ca_file.read_bytes(),
        again.certfile.read_bytes(),
        again.keyfile.read_bytes(),
    ) == before


def test_an_extra_host_gets_a_new_server_certificate_from_the_same_ca(tmp_path: Path) -> None:
    first = ensure_tls_files(tmp_path)
    ca_before = first.ca_file.read_bytes()

    again = ensure_tls_files(tmp_path, ("ews.example.test",))

    assert again.ca_file.read_bytes() == ca_before
    assert "ews.example.test" in names(again.certfile)


def test_https_works_when_the_ca_is_trusted_and_fails_when_not(tmp_path: Path) -> None:
    files = ensure_tls_files(tmp_path)
    app = Starlette(routes=[Route("/", lambda request: PlainTextResponse("hello"))])

    with serve(app, files) as base_url:
        with requests.Session() as trusting:
            trusting.trust_env = False  # REQUESTS_CA_BUNDLE would override `verify`
            trusting.verify = str(files.ca_file)
            assert trusting.get(base_url).text == "hello"
            assert trusting.get(base_url.replace("127.0.0.1", "localhost")).text == "hello"
        with requests.Session() as default, pytest.raises(requests.exceptions.SSLError):
            default.get(base_url)


def test_exchangelib_over_https_needs_the_ca_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = ensure_tls_files(tmp_path)

    def calendar_count(base_url: str) -> int:
        config = Configuration(
            service_endpoint=f"{base_url}/EWS/Exchange.asmx",
            credentials=Credentials(SERVICE, SERVICE_PASSWORD),
        )
        anna = Account(ANNA, config=config, autodiscover=False, access_type=IMPERSONATION)
        return int(anna.calendar.total_count)

    with serve(create_sandbox(DIRECTORY).app, files) as base_url:
        with exchangelib_closed(), pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
            calendar_count(base_url)
        monkeypatch.setattr(BaseProtocol, "HTTP_ADAPTER_CLS", trusting_adapter(files.ca_file))
        with exchangelib_closed():
            assert calendar_count(base_url) == 0
