"""One Graph connection: the app's token source and one HTTP pool for all its mailboxes."""

from __future__ import annotations

import logging
import ssl
from datetime import UTC, datetime

import httpx

from esexchange.exchange.graph.auth import TokenSource, token_claims
from esexchange.exchange.graph.client import GraphClient
from esexchange.exchange.graph.mailbox import GraphMailbox
from esexchange.exchange.graph.settings import NEEDED_ROLES, GraphSettings
from esexchange.exchange.port import AppToken

log = logging.getLogger(__name__)


class GraphConnection:
    """The Graph side of one esExchange connection (``exchange.port.Exchange``)."""

    def __init__(self, settings: GraphSettings) -> None:
        self.settings = settings
        verify: bool | ssl.SSLContext = True
        if settings.ca_bundle:
            verify = ssl.create_default_context(cafile=settings.ca_bundle)
        if settings.accept_untrusted:
            log.warning(
                "connection %s: TLS certificates are NOT verified (accept untrusted)", settings.name
            )
            verify = False
        self.http = httpx.Client(verify=verify, timeout=settings.timeout_seconds)
        self.tokens = TokenSource(settings, self.http)
        self.client = GraphClient(settings, self.http, self.tokens)

    @property
    def endpoint(self) -> str:
        return self.settings.graph_url

    @property
    def requests(self) -> int:
        """HTTP requests sent to Graph so far (a ``$batch`` counts once)."""
        return self.client.sent

    def mailbox(self, address: str) -> GraphMailbox:
        return GraphMailbox(self.client, address, self.settings)

    def check(self) -> None:
        """The app signs in (msal); the mailboxes are checked one by one."""
        self.tokens.token()

    def token(self) -> AppToken:
        answer = self.tokens.token()
        claims = token_claims(str(answer["access_token"]))
        expires = claims.get("exp") or 0
        return AppToken(
            token_url=self.settings.resolved_token_url,
            expires_at=datetime.fromtimestamp(float(expires), UTC),
            roles=tuple(str(role) for role in claims.get("roles", ())),
            needed_roles=NEEDED_ROLES,
        )

    def close(self) -> None:
        self.http.close()
