"""Who is calling EWS, and which mailbox a request acts on.

- Accounts sign in with HTTP Basic (UPN and password). A request without credentials is
  answered 401 with ``WWW-Authenticate`` challenges, the way clients like exchangelib
  probe the authentication method before their first real request.
- Apps send ``Authorization: Bearer <token>`` with an access token from the sandbox's
  token endpoint: signed by the sandbox, within its lifetime, with the
  ``full_access_as_app`` role. The audience is ``https://outlook.office365.com`` (the
  resource of Exchange Online) or the sandbox's own origin ``http(s)://host:port`` (the
  resource of an on-premises Exchange with hybrid modern authentication).

The challenge offers ``Bearer`` and ``Basic`` only. Exchange on premises also offers
``Negotiate`` and ``NTLM``; the sandbox cannot perform them, and exchangelib would pick
NTLM over Basic if it were offered.

`resolve_target` enforces the ``ExchangeImpersonation`` header with Exchange's own codes.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from starlette.responses import Response

from esexchange.sandbox.directory import Directory
from esexchange.sandbox.ews.errors import EwsError
from esexchange.sandbox.oauth import EXCHANGE_RESOURCE, InvalidToken

APP_ROLE = "full_access_as_app"


class TokenVerifier(Protocol):
    """Checks a bearer token (see `esexchange.sandbox.oauth.TokenIssuer`)."""

    def verify(self, token: str, audience: str | list[str]) -> dict[str, Any]:
        """The token's claims; raises `InvalidToken` unless it is valid for an `audience`."""
        ...


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: an account (by UPN) or an app (by client id)."""

    name: str
    kind: Literal["account", "app"]
    may_access: Callable[[str], bool]


class AuthChallenge(Exception):
    """The request is not authenticated; answer 401 with the challenges (`unauthorized`)."""

    def __init__(self, reason: str, *, diagnostics: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.diagnostics = diagnostics


def authenticate(
    headers: Mapping[str, str], directory: Directory, token_verifier: TokenVerifier
) -> Principal:
    """The caller named by the ``Authorization`` header; `AuthChallenge` if there is none."""
    authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() == "basic":
        return _basic(credentials.strip(), directory)
    if scheme.lower() == "bearer":
        host = next((v for k, v in headers.items() if k.lower() == "host"), "")
        audiences = [EXCHANGE_RESOURCE] + ([f"https://{host}", f"http://{host}"] if host else [])
        return _bearer(credentials.strip(), audiences, directory, token_verifier)
    raise AuthChallenge("no credentials" if not authorization else f"unsupported scheme {scheme}")


def _basic(credentials: str, directory: Directory) -> Principal:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthChallenge("malformed Basic credentials") from None
    upn, _, password = decoded.partition(":")
    account = directory.account(upn)
    if account is None or account.password != password:
        raise AuthChallenge("wrong user name or password")
    own = directory.mailbox(account.upn)

    def may_access(email: str) -> bool:
        is_own = own is not None and own.email.casefold() == email.casefold()
        return is_own or account.may_impersonate(email)

    return Principal(account.upn, "account", may_access)


def _bearer(
    token: str, audiences: list[str], directory: Directory, verifier: TokenVerifier
) -> Principal:
    try:
        claims = verifier.verify(token, audiences)
    except InvalidToken as error:
        raise AuthChallenge(
            f"invalid token: {error}",
            diagnostics=f'2000001;reason="{error}";error_category="invalid_token"',
        ) from None
    app = directory.app(str(claims["appid"]))
    if app is None or app.tenant_id.casefold() != str(claims["tid"]).casefold():
        raise AuthChallenge(
            "the token's app is not registered",
            diagnostics=(
                '2000003;reason="The app is not registered.";error_category="invalid_token"'
            ),
        )
    if APP_ROLE not in claims.get("roles", ()):
        raise AuthChallenge(
            f"the token lacks the {APP_ROLE} role",
            diagnostics=(
                '2000008;reason="The token contains no permissions, or permissions can not be '
                'understood.";error_category="invalid_grant"'
            ),
        )
    return Principal(app.client_id, "app", app.may_access)


def unauthorized(challenge: AuthChallenge, host: str) -> Response:
    """The 401 answer to `challenge`: one ``WWW-Authenticate`` line per offered scheme."""
    response = Response(status_code=401)
    bearer = f'Bearer authorization_uri="https://{host}/common/oauth2/authorize"'
    if challenge.diagnostics:
        bearer += ', error="invalid_token"'
        response.headers["x-ms-diagnostics"] = challenge.diagnostics
    response.raw_headers.append((b"www-authenticate", bearer.encode("latin-1")))
    response.raw_headers.append((b"www-authenticate", f'Basic realm="{host}"'.encode("latin-1")))
    return response


def resolve_target(
    principal: Principal,
    impersonated_smtp: str | None,
    directory: Directory,
    *,
    delegate_smtp: str | None = None,
) -> str:
    """The address of the mailbox the request acts on; `EwsError` if it may not.

    `impersonated_smtp` comes from the ``ExchangeImpersonation`` header; `delegate_smtp`
    is a mailbox named without it (in a ``DistinguishedFolderId``), which an account may
    reach with the same grant, but an app-only token never: Exchange insists on the header.
    """
    if impersonated_smtp is None and principal.kind == "app":
        raise EwsError(
            "ErrorInvalidExchangeImpersonationHeaderData",
            "ExchangeImpersonation SOAP header must be present for this type of OAuth token.",
        )
    named = impersonated_smtp if impersonated_smtp is not None else delegate_smtp
    if named is None:
        own = directory.mailbox(principal.name)
        if own is None:
            raise EwsError(
                "ErrorMissingEmailAddress",
                "When making a request as an account that does not have a mailbox, you must "
                "specify the mailbox primary SMTP address for any distinguished folder Ids.",
            )
        return own.email
    mailbox = directory.mailbox(named.strip())
    if mailbox is None:
        raise EwsError(
            "ErrorNonExistentMailbox", "The SMTP address has no mailbox associated with it."
        )
    if principal.may_access(mailbox.email):
        return mailbox.email
    if impersonated_smtp is None:
        raise EwsError("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
    raise EwsError(
        "ErrorImpersonateUserDenied",
        "The account does not have permission to impersonate the requested user.",
    )
