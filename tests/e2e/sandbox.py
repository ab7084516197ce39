"""The EWS sandbox the end-to-end tests talk to over HTTP (or HTTPS), in this process.

Its directory holds ``MAILBOXES`` mailboxes that tests take one by one, a service
account that may impersonate all of them, and an OAuth app registration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

from esexchange.inprocess import BackgroundServer
from esexchange.sandbox.directory import AccountEntry, AppEntry, Directory, MailboxEntry
from esexchange.sandbox.ews.app import Sandbox, create_sandbox
from esexchange.sandbox.ews.knobs import KnobCounters, Knobs, KnobsMiddleware
from esexchange.sandbox.models import SentMessage
from esexchange.sandbox.tls import ensure_tls_files
from tests.e2e.outlook import Outlook

MAILBOXES = 400
SERVICE_UPN = "svc-esx@example.test"
SERVICE_PASSWORD = "Sandbox-Passw0rd!"
TENANT_ID = "7e1c0a42-0000-4000-8000-00000000e2e0"
CLIENT_ID = "5a0c7d1e-0000-4000-8000-00000000e2e1"
CLIENT_SECRET = "e2e-client-secret"


def mailbox_address(number: int, prefix: str) -> str:
    return f"{prefix}{number:04d}@example.test"


def directory(prefix: str) -> Directory:
    return Directory(
        mailboxes=tuple(
            MailboxEntry(mailbox_address(n, prefix), f"User {n}", "Europe/Berlin")
            for n in range(MAILBOXES)
        ),
        accounts=(AccountEntry(SERVICE_UPN, SERVICE_PASSWORD, ("*",)),),
        apps=(AppEntry(TENANT_ID, CLIENT_ID, CLIENT_SECRET, ("*",)),),
    )


class AppSwitch:
    """An ASGI app that serves through whichever app is set now (plain, or with knobs)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> object:
        return await self.app(scope, receive, send)


@dataclass
class RunningSandbox:
    """A sandbox serving on loopback, and what the tests reach into."""

    sandbox: Sandbox
    server: BackgroundServer
    switch: AppSwitch
    prefix: str
    ca_file: Path | None = None
    _taken: Iterator[int] = field(default_factory=lambda: iter(range(MAILBOXES)))

    @property
    def ews_url(self) -> str:
        return f"{self.server.base_url}/EWS/Exchange.asmx"

    @property
    def endpoint(self) -> str:
        """Where a connection's check says it connects."""
        return self.ews_url

    @property
    def token_url(self) -> str:
        return f"{self.server.base_url}/{TENANT_ID}/oauth2/v2.0/token"

    def take_mailbox(self) -> str:
        """The address of a mailbox no test has used yet."""
        number = next(self._taken, None)
        assert number is not None, f"all {MAILBOXES} sandbox mailboxes are taken"
        return mailbox_address(number, self.prefix)

    def outlook(self, email: str) -> Outlook:
        """The mailbox as its user's Outlook sees it."""
        return Outlook(self.ews_url, SERVICE_UPN, SERVICE_PASSWORD, email)

    @contextmanager
    def realism(self, knobs: Knobs) -> Iterator[KnobCounters]:
        """Serve with these knobs (throttling, failures) inside the block; counts what was
        injected."""
        throttled = KnobsMiddleware(self.sandbox.app, knobs)
        self.switch.app = throttled
        try:
            yield throttled.counters
        finally:
            self.switch.app = self.sandbox.app

    @contextmanager
    def throttling(self, rate: float, seed: int) -> Iterator[Callable[[], int]]:
        """Answer a share of the requests ErrorServerBusy (with a short back-off); yields
        how many were throttled so far."""
        with self.realism(Knobs(server_busy_rate=rate, back_off_ms=20, seed=seed)) as injected:
            yield lambda: injected.server_busy

    @contextmanager
    def slowed(self, latency_ms: int) -> Iterator[None]:
        with self.realism(Knobs(latency_ms=latency_ms)):
            yield

    def sent_messages(self, *emails: str) -> list[SentMessage]:
        """Every meeting invitation, update or cancellation these mailboxes would have sent."""
        boxes = self.sandbox.backend.mailboxes
        return [m for email in emails if email.lower() in boxes for m in boxes[email.lower()].sent]


@contextmanager
def start_sandbox(state_dir: Path, *, tls: bool = False) -> Iterator[RunningSandbox]:
    """A sandbox in memory on a free loopback port; HTTPS with its own CA when ``tls``."""
    # Distinct addresses per sandbox: two sandboxes of one module share the ERP.
    prefix = "tls-user" if tls else "user"
    # Every response of the end-to-end runs is checked against the EWS schema too.
    sandbox = create_sandbox(directory(prefix), validate_responses=True)
    app = AppSwitch(sandbox.app)
    if tls:
        files = ensure_tls_files(state_dir / "tls")
        server = BackgroundServer(app, ssl_certfile=str(files.certfile),
                                  ssl_keyfile=str(files.keyfile))
        ca_file: Path | None = files.ca_file
    else:
        server = BackgroundServer(app)
        ca_file = None
    with server:
        yield RunningSandbox(sandbox, server, app, prefix, ca_file)
    invalid = sandbox.endpoint.stats.invalid_responses
    assert not invalid, f"the sandbox produced schema-invalid responses: {invalid[:3]}"
