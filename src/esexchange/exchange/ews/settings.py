"""How esExchange reaches one Exchange organisation over EWS: plain, frozen settings.

A connection signs in either as a user (UPN and password; the account needs the
ApplicationImpersonation role) or as an OAuth 2.0 app (client credentials; the app needs
the ``full_access_as_app`` permission). Secrets arrive here decrypted; they are never
logged (``repr`` hides them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from esexchange.exchange.errors import AccessDenied

DEFAULT_TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
"""Microsoft Entra ID's token endpoint; ``{tenant}`` is replaced by the tenant id."""

EXCHANGE_ONLINE_RESOURCE = "https://outlook.office365.com"
"""The OAuth resource of EWS in Exchange Online (scope ``<resource>/.default``)."""

_UPN = re.compile(r"^[^@\s\\/]+@[^@\s\\/]+\.[^@\s\\/]+$")


def validate_upn(upn: str) -> str:
    """Return ``upn`` if it has the form ``user@domain``; else raise ``AccessDenied``.

    Exchange accepts ``DOMAIN\\user`` only for NTLM; esExchange signs in with the user
    principal name, so the down-level form is refused with an explanation.
    """
    value = upn.strip()
    if "\\" in value:
        domain, _, user = value.partition("\\")
        raise AccessDenied(
            f"the user name '{value}' is in the form DOMAIN\\user; give the user principal "
            f"name in the form user@domain instead (for example {user or 'svc-esx'}@contoso.com"
            f" rather than {domain or 'CONTOSO'}\\{user or 'svc-esx'}); Get-User "
            f"{user or 'svc-esx'} | Format-List UserPrincipalName shows it"
        )
    if not _UPN.match(value):
        raise AccessDenied(
            f"the user name {value!r} is not a user principal name; give it in the form "
            "user@domain (for example svc-esx@contoso.com)"
        )
    return value


@dataclass(frozen=True)
class UserAuth:
    """Sign in as a user with UPN and password (HTTP Basic over TLS)."""

    upn: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class AppAuth:
    """Sign in as an OAuth 2.0 app with the client-credentials grant.

    ``resource`` is what the token is requested for: Exchange Online's by default; with
    hybrid modern authentication on premises, the EWS server's ``https://host``.
    """

    tenant_id: str
    client_id: str
    client_secret: str = field(repr=False)
    token_url: str | None = None
    resource: str = EXCHANGE_ONLINE_RESOURCE

    @property
    def resolved_token_url(self) -> str:
        """The configured token endpoint, or Microsoft's for this tenant."""
        return (self.token_url or DEFAULT_TOKEN_URL).replace("{tenant}", self.tenant_id)


@dataclass(frozen=True)
class EwsSettings:
    """One connection to an Exchange organisation.

    ``ews_url`` is the EWS endpoint (found once by ``discover_ews_url`` and stored, or
    typed in). ``ca_bundle`` is a PEM file of certificate authorities to trust instead
    of the system's; ``accept_untrusted`` turns certificate verification off (logged
    loudly on every connect). ``version`` is an EWS version name such as
    ``"Exchange2016"`` to skip the version probe. ``time_zone`` (IANA) is where all-day
    items the sync writes start and end at midnight: the connection's ERP time zone.
    ``batch_size`` bounds the items per request; ``sync_page_size`` the changes per
    SyncFolderItems read (512 is the most Exchange returns); ``max_wait_seconds`` bounds
    how long a mailbox operation waits for a throttling server before giving up.
    ``max_connections`` bounds the connection's HTTP sessions, so the requests in flight
    (one per mailbox synchronized at once: ``service.runner.DEFAULT_PARALLEL_MAILBOXES``);
    10 is EWSMaxConcurrency in Exchange 2010, the lowest default Exchange documents.
    """

    ews_url: str
    auth: UserAuth | AppAuth
    name: str = "exchange"
    ca_bundle: str | None = None
    accept_untrusted: bool = False
    version: str | None = None
    time_zone: str = "UTC"
    batch_size: int = 100
    sync_page_size: int = 512
    max_wait_seconds: float = 60.0
    max_connections: int = 10
    timeout_seconds: int = 60
