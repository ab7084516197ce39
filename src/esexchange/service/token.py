"""``esexchange token NAME``: request an OAuth 2.0 token and say what it grants.

The token is requested exactly as a pass would request it (the adapter's own
credentials, scope and TLS settings), so a good answer here means the pass can sign in.
The token itself is a secret: only its expiry and roles leave this module, read from
its claims without verifying the signature (a diagnosis, not an authorization).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from esexchange import config
from esexchange.config import Auth
from esexchange.domain.errors import EsExchangeError
from esexchange.service.adapter import open_connection


class NotAnAppConnection(EsExchangeError):
    """The connection signs in with a user account, which has no token to show."""


@dataclass(frozen=True)
class TokenInfo:
    """What a token grants, without the token; ``missing_roles`` are the application
    roles the connection's backend needs that the token lacks."""

    token_url: str
    expires_at: datetime
    roles: tuple[str, ...]
    missing_roles: tuple[str, ...] = ()


def request_token(engine: Engine, name: str) -> TokenInfo:
    """Request a token for connection ``name`` (OAuth app authentication)."""
    conn = config.get_connection(engine, name)
    if conn.auth is not Auth.APP:
        raise NotAnAppConnection(
            f"connection {name!r} signs in as the user {conn.upn}, not as an OAuth app; "
            "there is no token to request"
        )
    exchange = open_connection(engine, conn)
    try:
        token = exchange.token()
    finally:
        exchange.close()
    return TokenInfo(token_url=token.token_url, expires_at=token.expires_at,
                     roles=token.roles, missing_roles=token.missing_roles)
