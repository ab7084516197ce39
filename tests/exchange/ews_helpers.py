"""Helpers of the EWS adapter tests: settings for the sandbox, and sandboxes of their own.

Most tests use the shared session sandbox (``tests/support/sandbox.py``, plain HTTP).
TLS, OAuth apps and throttling need a sandbox started differently; ``serve`` starts one
for a test module.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from esexchange.exchange.ews import EwsConnection, EwsSettings, UserAuth
from esexchange.inprocess import BackgroundServer
from esexchange.sandbox.directory import AppEntry, Directory
from esexchange.sandbox.ews.app import Sandbox, create_sandbox
from esexchange.sandbox.ews.knobs import Knobs, KnobsMiddleware
from esexchange.sandbox.tls import ensure_tls_files
from tests.support.sandbox import SANDBOX_DIRECTORY, SERVICE_PASSWORD, SERVICE_UPN

TENANT = "7d0f3a52-9c1e-4b7a-8f55-1e2d3c4b5a69"
CLIENT_ID = "3b6e1f0a-2c4d-4e8f-9a1b-5c6d7e8f9a0b"
CLIENT_SECRET = "Sandbox-App-Secret-1"

DIRECTORY_WITH_APP = replace(
    SANDBOX_DIRECTORY,
    apps=(AppEntry(TENANT, CLIENT_ID, CLIENT_SECRET, ("*",)),),
)


def user_settings(url: str, **overrides: Any) -> EwsSettings:
    """Settings for the sandbox's service account (Basic, impersonates everyone)."""
    values: dict[str, Any] = {
        "ews_url": url,
        "auth": UserAuth(SERVICE_UPN, SERVICE_PASSWORD),
        "name": "sandbox",
        "time_zone": "Europe/Berlin",
        "max_wait_seconds": 5.0,
    }
    return EwsSettings(**(values | overrides))


def connected(settings: EwsSettings) -> closing[EwsConnection]:
    """``with connected(settings) as connection:`` closes its HTTP sessions afterwards."""
    return closing(EwsConnection(settings))


@dataclass
class Served:
    """A sandbox of a test module's own: where it listens and its parts."""

    base_url: str
    sandbox: Sandbox
    knobs: KnobsMiddleware | None
    ca_file: Path | None

    @property
    def ews_url(self) -> str:
        return f"{self.base_url}/EWS/Exchange.asmx"


@contextmanager
def serve(
    directory: Directory = DIRECTORY_WITH_APP, *, tls_dir: Path | None = None,
    knobs: Knobs | None = None,
) -> Iterator[Served]:
    """Start a sandbox on a free loopback port (HTTPS with its own CA when ``tls_dir``).

    With ``knobs`` the app is wrapped in a knobs middleware even when they start inactive,
    so that tests can turn them while it serves (``Served.knobs.knobs = ...``).
    """
    sandbox = create_sandbox(directory, validate_responses=True)
    app: Any = sandbox.app
    middleware = None
    if knobs is not None:
        middleware = KnobsMiddleware(app, knobs)
        app = middleware
    tls = ensure_tls_files(tls_dir) if tls_dir is not None else None
    with BackgroundServer(
        app, port=0,
        ssl_certfile=str(tls.certfile) if tls else None,
        ssl_keyfile=str(tls.keyfile) if tls else None,
    ) as server:
        yield Served(server.base_url, sandbox, middleware, tls.ca_file if tls else None)

