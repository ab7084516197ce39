"""The sandbox's OAuth 2.0 authority: the client-credentials flow of Microsoft Entra ID.

Routes (mounted by the sandbox app; ``{tenant}`` is an app registration's tenant id):

- ``POST /{tenant}/oauth2/v2.0/token``: grant_type=client_credentials with client_id and
  client_secret (in the form, or as HTTP Basic) and scope ``<resource>/.default``, where
  the resource is Exchange Online (``https://outlook.office365.com``), Microsoft Graph, or
  the sandbox's own origin (``https://host:port``, as for an on-premises Exchange with
  hybrid modern authentication; it gets Exchange's roles). Answers
  ``{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": ...}``
  or Entra's error JSON (``invalid_client`` AADSTS7000215 for a wrong secret,
  ``unauthorized_client`` AADSTS700016 for an unknown client, ``invalid_request``
  AADSTS90002 for an unknown tenant, ...).
- ``GET /{tenant}/v2.0/.well-known/openid-configuration`` and
  ``GET /{tenant}/discovery/v2.0/keys``: the discovery documents msal reads.

Access tokens are v1.0 JWTs as Entra issues them for Exchange: signed RS256 with a key the
sandbox generates (kept in a file when the sandbox has state, so tokens survive a restart),
``iss`` = ``https://sts.windows.net/{tenant}/``, ``aud`` = the requested resource, and the
app's roles (``full_access_as_app`` for Exchange).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from esexchange.sandbox.directory import AppEntry, Directory

EXCHANGE_RESOURCE = "https://outlook.office365.com"
GRAPH_RESOURCE = "https://graph.microsoft.com"
# The application permissions each resource grants an app registration of the directory.
ROLES: Mapping[str, tuple[str, ...]] = {
    EXCHANGE_RESOURCE: ("full_access_as_app",),
    GRAPH_RESOURCE: ("Calendars.ReadWrite", "Tasks.ReadWrite.All", "MailboxSettings.ReadWrite",
                     "User.Read.All"),
}
TOKEN_LIFETIME_SECONDS = 3599
SIGNING_KEY_FILE = "sandbox-token-key.pem"  # beside the state file of `esexchange sandbox ews`
_CLOCK_SKEW_SECONDS = 300  # the skew Entra tolerates


class InvalidToken(Exception):
    """A bearer token that is not one the sandbox issued, or no longer valid."""


@dataclass(frozen=True)
class TokenIssuer:
    """Signs access tokens for app registrations and verifies them again."""

    private_key: rsa.RSAPrivateKey
    clock: Callable[[], float] = time.time
    key_id: str = field(init=False)
    issued: Counter[str] = field(default_factory=Counter, compare=False)
    """Tokens issued so far, by client id (what a test of the clients asserts on)."""

    def __post_init__(self) -> None:
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        object.__setattr__(self, "key_id", _b64(hashlib.sha1(public).digest()))

    @classmethod
    def generate(cls, clock: Callable[[], float] = time.time) -> TokenIssuer:
        """An issuer with a fresh key (tokens die with the process)."""
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048), clock)

    @classmethod
    def load_or_create(
        cls, path: str | Path, clock: Callable[[], float] = time.time
    ) -> TokenIssuer:
        """An issuer whose key lives in `path` (created on first use, owner-readable only)."""
        path = Path(path)
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, rsa.RSAPrivateKey):
                raise ValueError(f"{path}: not an RSA private key")
            return cls(key, clock)
        issuer = cls.generate(clock)
        pem = issuer.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
        return issuer

    def issue(self, app: AppEntry, resource: str) -> str:
        """A signed access token for `app` to call `resource` with its application roles.

        A resource other than Microsoft Graph is an Exchange server (Online or on premises).
        """
        now = int(self.clock())
        self.issued[app.client_id] += 1
        claims = {
            "aud": resource,
            "iss": f"https://sts.windows.net/{app.tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME_SECONDS + 1,
            "appid": app.client_id,
            "appidacr": "1",  # the app proved itself with a client secret
            "idtyp": "app",
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"app:{app.tenant_id}:{app.client_id}")),
            "roles": list(ROLES.get(resource, ROLES[EXCHANGE_RESOURCE])),
            "tid": app.tenant_id,
            "ver": "1.0",
        }
        headers = {"kid": self.key_id, "x5t": self.key_id}
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers=headers)

    def verify(self, token: str, audience: str | list[str]) -> dict[str, Any]:
        """The claims of `token` if it is ours, meant for (one of) `audience`, and current."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.private_key.public_key(),
                algorithms=["RS256"],
                audience=audience,
                options={
                    "require": ["exp", "nbf", "iat", "iss", "aud", "tid", "appid"],
                    # PyJWT would read the wall clock; the issuer's clock decides below.
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from None
        now = self.clock()
        if claims["exp"] + _CLOCK_SKEW_SECONDS < now:
            raise InvalidToken("Signature has expired")
        if claims["nbf"] - _CLOCK_SKEW_SECONDS > now:
            raise InvalidToken("The token is not yet valid (nbf)")
        if claims["iss"] != f"https://sts.windows.net/{claims['tid']}/":
            raise InvalidToken("Invalid issuer")
        return claims

    def jwks(self) -> dict[str, Any]:
        """The public key set, as ``/discovery/v2.0/keys`` serves it."""
        numbers = self.private_key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "use": "sig",
                    "kid": self.key_id,
                    "x5t": self.key_id,
                    "n": _b64(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
                    "e": _b64(numbers.e.to_bytes(3, "big")),
                }
            ]
        }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# --- the HTTP endpoints -----------------------------------------------------------------


def oauth_routes(directory: Directory, issuer: TokenIssuer) -> list[Route]:
    """Starlette routes of the token endpoint and the discovery documents."""

    async def token(request: Request) -> JSONResponse:
        tenant = request.path_params["tenant"]
        body = (await request.body()).decode("utf-8", errors="replace")
        form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
        form.update(_basic_client_credentials(request.headers.get("authorization", "")))
        own_origin = str(request.base_url).rstrip("/")
        return _token_response(directory, issuer, tenant, form, own_origin)

    async def openid_configuration(request: Request) -> JSONResponse:
        tenant = request.path_params["tenant"]
        if not _tenant_known(directory, tenant):
            return _unknown_tenant(tenant)
        base = str(request.base_url).rstrip("/") + f"/{tenant}"
        return JSONResponse(
            {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "client_secret_basic",
                ],
                "grant_types_supported": ["client_credentials"],
                "response_types_supported": ["token"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "subject_types_supported": ["pairwise"],
                "scopes_supported": [f"{r}/.default" for r in ROLES],
                "tenant_region_scope": "EU",
            }
        )

    async def keys(request: Request) -> JSONResponse:
        return JSONResponse(issuer.jwks())

    return [
        Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
        Route("/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration),
        Route("/{tenant}/discovery/v2.0/keys", keys),
    ]


def _token_response(
    directory: Directory,
    issuer: TokenIssuer,
    tenant: str,
    form: Mapping[str, str],
    own_origin: str,
) -> JSONResponse:
    grant_type = form.get("grant_type", "")
    client_id = form.get("client_id", "")
    if not _tenant_known(directory, tenant):
        return _unknown_tenant(tenant)
    if not grant_type:
        return _aad_error(400, "invalid_request", 900144, _missing("grant_type"))
    if grant_type != "client_credentials":
        return _aad_error(
            400,
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant_type}'.",
        )
    if not client_id:
        return _aad_error(400, "invalid_request", 900144, _missing("client_id"))
    app = directory.app(client_id)
    if app is None or app.tenant_id.casefold() != tenant.casefold():
        return _aad_error(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory "
            f"'{tenant}'. This can happen if the application has not been installed by the "
            "administrator of the tenant or consented to by any user in the tenant. You may "
            "have sent your authentication request to the wrong tenant.",
        )
    if "client_secret" not in form:
        return _aad_error(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or "
            "'client_secret'.",
        )
    if form["client_secret"] != app.client_secret:
        return _aad_error(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is "
            "the client secret value, not the client secret ID, for a secret added to app "
            f"'{app.client_id}'.",
        )
    scope = form.get("scope", "")
    resource = _resource_of(scope)
    if not scope:
        return _aad_error(400, "invalid_request", 900144, _missing("scope"))
    if resource is None:
        return _aad_error(
            400,
            "invalid_scope",
            1002012,
            f"The provided value for scope {scope} is not valid. Client credential flows must "
            "have a scope value with /.default suffixed to the resource identifier "
            "(application ID URI).",
        )
    if resource not in ROLES and resource.casefold() != own_origin.casefold():
        return _aad_error(
            400,
            "invalid_resource",
            500011,
            f"The resource principal named {resource} was not found in the tenant named "
            f"{tenant}. This can happen if the application has not been installed by the "
            "administrator of the tenant or consented to by any user in the tenant. You might "
            "have sent your authentication request to the wrong tenant.",
        )
    return JSONResponse(
        {
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECONDS,
            "ext_expires_in": TOKEN_LIFETIME_SECONDS,
            "access_token": issuer.issue(app, resource),
        },
        headers={"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"},
    )


def _resource_of(scope: str) -> str | None:
    """The resource of a client-credentials scope (``<resource>/.default``), else None."""
    scopes = scope.split()
    if len(scopes) != 1 or not scopes[0].endswith("/.default"):
        return None
    resource = scopes[0].removesuffix("/.default").rstrip("/")
    # Entra treats outlook.office.com and outlook.office365.com as the same resource.
    return EXCHANGE_RESOURCE if resource == "https://outlook.office.com" else resource


def _basic_client_credentials(authorization: str) -> dict[str, str]:
    """client_id/client_secret sent as HTTP Basic (client_secret_basic), if any."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic" or not value:
        return {}
    try:
        client_id, _, secret = base64.b64decode(value).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return {}
    return {"client_id": client_id, "client_secret": secret}


def _tenant_known(directory: Directory, tenant: str) -> bool:
    return any(app.tenant_id.casefold() == tenant.casefold() for app in directory.apps)


def _unknown_tenant(tenant: str) -> JSONResponse:
    return _aad_error(
        400,
        "invalid_request",
        90002,
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and "
        "are signing into the correct cloud. Check with your subscription administrator, this "
        "may happen if there are no active subscriptions for the tenant.",
    )


def _missing(parameter: str) -> str:
    return f"The request body must contain the following parameter: '{parameter}'."


def _aad_error(status: int, error: str, code: int, description: str) -> JSONResponse:
    """An error in the JSON form Entra ID answers the token endpoint with."""
    trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    timestamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return JSONResponse(
        {
            "error": error,
            "error_description": (
                f"AADSTS{code}: {description}\r\nTrace ID: {trace_id}\r\n"
                f"Correlation ID: {correlation_id}\r\nTimestamp: {timestamp}"
            ),
            "error_codes": [code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"https://login.microsoftonline.com/error?code={code}",
        },
        status_code=status,
    )
