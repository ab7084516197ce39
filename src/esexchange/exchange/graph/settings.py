"""How esExchange reaches Exchange Online through Microsoft Graph: plain, frozen settings.

A Graph connection signs in as an app registration of Microsoft Entra ID (client
credentials: tenant id, client id, client secret) with the application permissions in
``NEEDED_ROLES``. The secret arrives here decrypted and is never logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

GRAPH_URL = "https://graph.microsoft.com/v1.0"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com/{tenant}"
NEEDED_ROLES = ("Calendars.ReadWrite", "Tasks.ReadWrite.All", "MailboxSettings.ReadWrite")
"""The application permissions (with admin consent) a Graph connection needs."""


# Microsoft's national clouds: the authority host and the Graph root that go together.
_CLOUDS = {
    "login.microsoftonline.com": GRAPH_URL,
    "login.microsoftonline.us": "https://graph.microsoft.us/v1.0",
    "login.chinacloudapi.cn": "https://microsoftgraph.chinacloudapi.cn/v1.0",
}


def graph_root_for(token_url: str | None, graph_url: str | None = None) -> str:
    """The Graph v1.0 root of a connection: its ``graph_url`` when set (``/v1.0`` added
    unless given), else the one that belongs to its token endpoint.

    Microsoft's clouds pair an authority with a Graph host; any other token endpoint (the
    Graph sandbox, a test proxy) serves Graph at its own origin, below ``/v1.0``.
    """
    if graph_url:
        root = graph_url.rstrip("/")
        return root if root.endswith("/v1.0") else f"{root}/v1.0"
    if not token_url:
        return GRAPH_URL
    parts = urlsplit(token_url)
    return _CLOUDS.get(parts.netloc.lower(), f"{parts.scheme}://{parts.netloc}/v1.0")


@dataclass(frozen=True)
class GraphSettings:
    """One Graph connection.

    ``token_url`` is the token endpoint (``https://login.microsoftonline.com/{tenant}/
    oauth2/v2.0/token`` unless one is configured, e.g. the sandbox's); msal's authority is
    derived from it. ``graph_url`` is the Graph root. ``window_past_days`` and
    ``window_future_days`` bound the calendarView the appointments are read through;
    ``time_zone`` (IANA) is where all-day items begin and end at midnight. ``batch_size``
    is the sub-requests per ``$batch`` (20 at most), ``page_size`` the delta page size,
    ``max_in_flight`` the requests per mailbox at once (Exchange Online allows 4),
    ``max_wait_seconds`` how long one request may wait for a throttling server in total.
    """

    tenant_id: str
    client_id: str
    client_secret: str = field(repr=False)
    name: str = "graph"
    token_url: str | None = None
    graph_url: str = GRAPH_URL
    ca_bundle: str | None = None
    accept_untrusted: bool = False
    time_zone: str = "UTC"
    window_past_days: int = 30
    window_future_days: int = 365
    batch_size: int = 20
    page_size: int = 200
    max_in_flight: int = 4
    max_wait_seconds: float = 60.0
    timeout_seconds: float = 30.0

    @property
    def authority(self) -> str:
        """msal's authority: the token URL without ``/oauth2/v2.0/token``."""
        if self.token_url:
            url = self.token_url.replace("{tenant}", self.tenant_id)
            return url.removesuffix("/").removesuffix("/oauth2/v2.0/token")
        return DEFAULT_AUTHORITY.replace("{tenant}", self.tenant_id)

    @property
    def resolved_token_url(self) -> str:
        return f"{self.authority}/oauth2/v2.0/token"
