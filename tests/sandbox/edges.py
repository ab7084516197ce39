"""Shared pieces of the sandbox-edge tests: a directory, and a real server in a thread."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests.adapters
from exchangelib.protocol import close_connections
from starlette.types import ASGIApp

from esexchange.inprocess import BackgroundServer
from esexchange.sandbox.directory import AccountEntry, AppEntry, Directory, MailboxEntry
from esexchange.sandbox.tls import TlsFiles

TENANT = "0b5c3b1e-7f7e-4d53-9d0e-5a4f6f3c2a10"
CLIENT_ID = "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
CLIENT_SECRET = "app-secret-value"
NARROW_CLIENT_ID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"

ANNA = "anna.berger@example.test"
BEN = "ben.kraus@example.test"
SERVICE = "svc-esx@example.test"
SERVICE_PASSWORD = "Service-Pa55"
LIMITED = "limited@example.test"

DIRECTORY = Directory(
    mailboxes=(
        MailboxEntry(ANNA, "Anna Berger", "Europe/Berlin"),
        MailboxEntry(BEN, "Ben Kraus", "Europe/Berlin"),
        MailboxEntry(LIMITED, "Lim Ited", "UTC"),
    ),
    accounts=(
        AccountEntry(SERVICE, SERVICE_PASSWORD, ("*",)),
        AccountEntry(LIMITED, "limited-pw", (ANNA,)),
    ),
    apps=(
        AppEntry(TENANT, CLIENT_ID, CLIENT_SECRET, ("*",)),
        AppEntry(TENANT, NARROW_CLIENT_ID, "narrow-secret", (BEN,)),
    ),
)


@contextmanager
def serve(app: ASGIApp, tls: TlsFiles | None = None) -> Iterator[str]:
    """Run `app` on a free loopback port (HTTPS with `tls`); yield its base URL."""
    certfile, keyfile = (str(tls.certfile), str(tls.keyfile)) if tls else (None, None)
    with BackgroundServer(app, ssl_certfile=certfile, ssl_keyfile=keyfile) as server:
        yield server.base_url


def trusting_adapter(ca_file: Path) -> type[requests.adapters.HTTPAdapter]:
    """An HTTP adapter class for exchangelib's `HTTP_ADAPTER_CLS` that trusts `ca_file`.

    It pins `verify` per request: a session's own `verify` would lose against the
    REQUESTS_CA_BUNDLE environment variable, which requests prefers when it is set.
    """

    class TrustSandboxCA(requests.adapters.HTTPAdapter):
        def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
            kwargs["verify"] = str(ca_file)
            return super().send(request, **kwargs)

    return TrustSandboxCA


@contextmanager
def exchangelib_closed() -> Iterator[None]:
    """Forget exchangelib's process-wide protocol cache (and its sessions) afterwards."""
    try:
        yield
    finally:
        close_connections()
