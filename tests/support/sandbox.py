"""pytest plugin: the EWS sandbox on a free loopback port, and exchangelib accounts for it.

One sandbox serves the whole session (fast); every test that asks for ``ews`` starts with
empty mailboxes. The sandbox validates every request *and* every response it produces
against Microsoft's schema; the session fails if any response was invalid, and the
terminal summary reports how many of each were validated.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from exchangelib import BASIC, IMPERSONATION, Account, Configuration, Credentials, EWSTimeZone
from exchangelib.version import Build, Version

from esexchange.exchange.ews.memo import forget_servers
from esexchange.inprocess import BackgroundServer
from esexchange.sandbox.directory import AccountEntry, Directory, MailboxEntry
from esexchange.sandbox.ews.app import Sandbox, create_sandbox
from esexchange.sandbox.models import Mailbox
from esexchange.service.claims import forget_claims

ANNA = "anna.berger@example.test"
BEN = "ben.kraus@example.test"
CARL = "carl.schmidt@example.test"
SERVICE_UPN = "svc-esx@example.test"
SERVICE_PASSWORD = "Sandbox-Service-1"
NARROW_UPN = "narrow@example.test"
NARROW_PASSWORD = "Sandbox-Narrow-1"

SANDBOX_DIRECTORY = Directory(
    mailboxes=(
        MailboxEntry(ANNA, "Anna Berger", "Europe/Berlin"),
        MailboxEntry(BEN, "Ben Kraus", "Europe/Berlin"),
        MailboxEntry(CARL, "Carl Schmidt", "America/New_York"),
    ),
    accounts=(
        AccountEntry(SERVICE_UPN, SERVICE_PASSWORD, ("*",)),
        AccountEntry(NARROW_UPN, NARROW_PASSWORD, (BEN,)),
    ),
    apps=(),
)


@dataclass
class RunningSandbox:
    """A sandbox serving on loopback: its EWS URL and its parts."""

    url: str
    sandbox: Sandbox

    def account(
        self,
        email: str,
        *,
        upn: str = SERVICE_UPN,
        password: str = SERVICE_PASSWORD,
        probe_version: bool = False,
    ) -> Account:
        """An exchangelib account for ``email`` reached by impersonation with Basic auth."""
        version = None if probe_version else Version(build=Build(15, 1, 2507, 6))
        config = Configuration(
            service_endpoint=self.url,
            credentials=Credentials(upn, password),
            auth_type=BASIC,
            version=version,
            max_connections=4,  # an open GetStreamingEvents holds one
        )
        return Account(
            primary_smtp_address=email,
            config=config,
            autodiscover=False,
            access_type=IMPERSONATION,
            default_timezone=EWSTimeZone("Europe/Berlin"),
        )

    def mailbox(self, email: str) -> Mailbox:
        """The model of a mailbox, to assert on state a client cannot see."""
        return self.sandbox.backend.mailbox(email)


_session_sandbox: RunningSandbox | None = None


@pytest.fixture(scope="session")
def ews_session() -> Iterator[RunningSandbox]:
    """The session's sandbox (validating its own responses)."""
    global _session_sandbox
    sandbox = create_sandbox(SANDBOX_DIRECTORY, validate_responses=True)
    with BackgroundServer(sandbox.app) as server:
        _session_sandbox = RunningSandbox(f"{server.base_url}/EWS/Exchange.asmx", sandbox)
        yield _session_sandbox
    invalid = sandbox.endpoint.stats.invalid_responses
    assert not invalid, f"the sandbox produced schema-invalid responses: {invalid[:5]}"


@pytest.fixture
def ews(ews_session: RunningSandbox) -> RunningSandbox:
    """The sandbox with empty mailboxes (a new server: this process forgets the old one)."""
    ews_session.sandbox.backend.reset()
    forget_servers()
    forget_claims()
    return ews_session


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Report how many requests and responses the sandbox validated against the schema."""
    if _session_sandbox is None:
        return
    stats = _session_sandbox.sandbox.endpoint.stats
    terminalreporter.write_line(
        f"EWS sandbox: {stats.requests} requests and {stats.responses} responses validated "
        f"against the EWS schema, {len(stats.invalid_responses)} invalid responses"
    )
