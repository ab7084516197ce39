"""App-only tokens for Graph by msal's client-credentials flow, cached until expiry.

msal keeps the token in its in-memory cache and hands out a new one shortly before the
old one expires; ``renew()`` drops it when Graph refused it early (revoked or expired
session). Entra's refusals are translated into what the administrator must do.
"""

from __future__ import annotations

import base64
import json
import ssl
import threading
from typing import Any

import httpx
import msal

from esexchange.exchange.errors import AccessDenied, MailboxUnreachable, causes
from esexchange.exchange.graph.settings import GRAPH_SCOPE, GraphSettings

# Entra error codes (AADSTS...) and what an administrator does about each.
_ADVICE = {
    7000215: "the client secret is wrong: create a new secret under App registrations > "
    "{app} > Certificates & secrets and store its value (not its id) with "
    "`esexchange connection secret {name}`",
    7000222: "the client secret has expired: create a new one under App registrations > "
    "{app} > Certificates & secrets and store it with `esexchange connection "
    "secret {name}`",
    700016: "the app registration {app} does not exist in tenant {tenant} (deleted, "
    "revoked, or the wrong tenant id): ask the Entra administrator to restore it or "
    "register a new one, then `esexchange connection set {name} --client-id ...`",
    90002: "the tenant {tenant} does not exist: check the tenant id (Entra admin center > "
    "Overview)",
    65001: "the app {app} has no admin consent: an Entra administrator must grant admin "
    "consent for its application permissions (API permissions > Grant admin consent)",
    7000112: "the app {app} is disabled in tenant {tenant}: an Entra administrator must "
    "enable it again (Enterprise applications > {app} > Properties)",
}


class TokenSource:
    """The app's access token for Graph, by msal, shared by every mailbox of a connection."""

    def __init__(self, settings: GraphSettings, http: httpx.Client) -> None:
        self.settings = settings
        self._http = http
        self._lock = threading.Lock()
        self._app: msal.ConfidentialClientApplication | None = None
        self.issued = 0  # tokens msal fetched from the authority (for tests)

    def token(self) -> dict[str, Any]:
        """msal's answer for the token (from its cache while valid)."""
        with self._lock:
            try:
                result = self._client().acquire_token_for_client([GRAPH_SCOPE])
            except (httpx.TransportError, ValueError) as error:
                raise self._unreachable(error) from None
        if "access_token" not in result:
            raise self._refused(result)
        if result.get("token_source") == "identity_provider":
            self.issued += 1
        return dict(result)

    def _client(self) -> msal.ConfidentialClientApplication:
        """msal's app, made on first use: it reads the authority's OpenID metadata at once,
        and an endpoint that cannot be reached is a pass's problem, not the connection's."""
        if self._app is None:
            settings = self.settings
            self._app = msal.ConfidentialClientApplication(
                settings.client_id,
                client_credential=settings.client_secret,
                authority=settings.authority,
                http_client=self._http,
                # msal checks the authority against Microsoft's known clouds; a configured
                # token URL (the sandbox, a sovereign cloud) is trusted as given.
                validate_authority=settings.token_url is None,
            )
        return self._app

    def access_token(self) -> str:
        return str(self.token()["access_token"])

    def renew(self) -> None:
        """Forget the cached token: the next ``token()`` asks Entra for a new one."""
        with self._lock:
            if self._app is None:
                return
            cache = self._app.token_cache
            for entry in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                cache.remove_at(entry)

    def _unreachable(self, error: Exception) -> MailboxUnreachable:
        url = self.settings.resolved_token_url
        verify = next(
            (e for e in causes(error) if isinstance(e, ssl.SSLCertVerificationError)), None
        )
        if verify is not None or "CERTIFICATE_VERIFY_FAILED" in str(error):
            reason = verify.verify_message if verify is not None else str(error)
            return MailboxUnreachable(
                f"connection {self.settings.name}: the certificate of {url} is not trusted "
                f"({reason}): add the certificate authority that issued it with --ca-bundle "
                "FILE, or (only for a test system) accept untrusted certificates for this "
                "connection"
            )
        return MailboxUnreachable(
            f"connection {self.settings.name}: the token endpoint {url} cannot be reached "
            f"({error})"
        )

    def _refused(self, result: dict[str, Any]) -> AccessDenied:
        codes = result.get("error_codes") or []
        settings = self.settings
        for code in codes:
            if code in _ADVICE:
                advice = _ADVICE[code].format(
                    app=settings.client_id, tenant=settings.tenant_id, name=settings.name
                )
                return AccessDenied(
                    f"connection {settings.name}: Entra refused the sign-in "
                    f"(AADSTS{code}): {advice}"
                )
        description = str(result.get("error_description", "")).split("\r\n")[0]
        return AccessDenied(
            f"connection {settings.name}: Entra refused the sign-in: "
            f"{result.get('error', 'unknown error')}: {description}"
        )


def token_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified (only to show expiry and roles)."""
    try:
        payload = token.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
