"""The OAuth 2.0 token endpoint answers like Entra ID, and msal obtains tokens from it."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import msal
import pytest
import requests
from exchangelib import IMPERSONATION, OAUTH2, Account, Configuration
from exchangelib.credentials import OAuth2AuthorizationCodeCredentials, OAuth2Credentials
from exchangelib.errors import ErrorImpersonateUserDenied
from exchangelib.protocol import BaseProtocol
from oauthlib.oauth2 import InvalidClientError, OAuth2Token
from starlette.applications import Starlette

from esexchange.sandbox.ews.app import create_sandbox
from esexchange.sandbox.oauth import (
    EXCHANGE_RESOURCE,
    GRAPH_RESOURCE,
    InvalidToken,
    TokenIssuer,
    oauth_routes,
)
from esexchange.sandbox.tls import ensure_tls_files
from tests.sandbox.edges import (
    ANNA,
    BEN,
    CLIENT_ID,
    CLIENT_SECRET,
    DIRECTORY,
    NARROW_CLIENT_ID,
    TENANT,
    exchangelib_closed,
    serve,
    trusting_adapter,
)

SCOPE = "https://outlook.office365.com/.default"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def issuer() -> TokenIssuer:
    return TokenIssuer.generate()


@pytest.fixture(scope="module")
def client(issuer: TokenIssuer) -> Iterator[Client]:
    app = Starlette(routes=oauth_routes(DIRECTORY, issuer))
    with serve(app) as base_url, Client(base_url) as session:
        yield session


class Client(requests.Session):
    """A session whose paths are relative to one server."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:  # type: ignore[override]
        return super().request(method, f"{self.base_url}{url!s}", *args, **kwargs)


def ask(client: Client, tenant: str = TENANT, **form: str) -> requests.Response:
    fields = {"grant_type": "client_credentials", "client_id": CLIENT_ID}
    fields |= {"client_secret": CLIENT_SECRET, "scope": SCOPE} | form
    return client.post(f"/{tenant}/oauth2/v2.0/token", data={k: v for k, v in fields.items() if v})


def test_client_credentials_give_a_signed_exchange_token(client: Client, issuer: TokenIssuer):
    answer = ask(client)

    assert answer.status_code == 200
    body = answer.json()
    assert (body["token_type"], body["expires_in"], body["ext_expires_in"]) == (
        "Bearer",
        3599,
        3599,
    )
    claims = issuer.verify(body["access_token"], EXCHANGE_RESOURCE)
    assert claims["iss"] == f"https://sts.windows.net/{TENANT}/"
    assert (claims["tid"], claims["appid"], claims["roles"]) == (
        TENANT,
        CLIENT_ID,
        ["full_access_as_app"],
    )
    assert claims["exp"] - claims["iat"] >= 3599
    assert claims["nbf"] <= claims["iat"]
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "RS256"


def test_the_graph_scope_gives_a_graph_token(client: Client, issuer: TokenIssuer) -> None:
    token = ask(client, scope="https://graph.microsoft.com/.default").json()["access_token"]

    assert issuer.verify(token, GRAPH_RESOURCE)["aud"] == GRAPH_RESOURCE
    with pytest.raises(InvalidToken):
        issuer.verify(token, EXCHANGE_RESOURCE)


def test_the_sandboxs_own_origin_is_an_exchange_resource(client: Client, issuer: TokenIssuer):
    """As for an on-premises Exchange with hybrid modern authentication."""
    token = ask(client, scope=f"{client.base_url}/.default").json()["access_token"]

    claims = issuer.verify(token, client.base_url)
    assert claims["roles"] == ["full_access_as_app"]


def test_secret_may_come_as_http_basic(client: Client) -> None:
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    answer = client.post(
        f"/{TENANT}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "scope": SCOPE},
        headers={"Authorization": f"Basic {basic}"},
    )

    assert answer.status_code == 200


@pytest.mark.parametrize(
    ("tenant", "form", "status", "error", "code"),
    [
        (TENANT, {"client_secret": "wrong"}, 401, "invalid_client", 7000215),
        (TENANT, {"client_secret": ""}, 401, "invalid_client", 7000218),
        (
            TENANT,
            {"client_id": "00000000-0000-0000-0000-000000000000"},
            400,
            "unauthorized_client",
            700016,
        ),
        ("11111111-0000-0000-0000-000000000000", {}, 400, "invalid_request", 90002),
        (TENANT, {"grant_type": "password"}, 400, "unsupported_grant_type", 70003),
        (TENANT, {"scope": "openid"}, 400, "invalid_scope", 1002012),
        (TENANT, {"scope": "https://example.test/.default"}, 400, "invalid_resource", 500011),
    ],
)
def test_refusals_are_entra_errors(
    client: Client, tenant: str, form: dict[str, str], status: int, error: str, code: int
) -> None:
    answer = ask(client, tenant, **form)

    assert answer.status_code == status
    body = answer.json()
    assert (body["error"], body["error_codes"]) == (error, [code])
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert "access_token" not in body


def test_tokens_expire_by_the_issuers_clock() -> None:
    clock = Clock(1_800_000_000.0)
    issuer = TokenIssuer.generate(clock)
    app = DIRECTORY.app(CLIENT_ID)
    assert app is not None
    token = issuer.issue(app, EXCHANGE_RESOURCE)

    clock.now += 3600 + 300  # expiry plus the clock skew Entra tolerates
    issuer.verify(token, EXCHANGE_RESOURCE)
    clock.now += 1
    with pytest.raises(InvalidToken, match="expired"):
        issuer.verify(token, EXCHANGE_RESOURCE)


def test_a_token_of_another_key_is_refused(issuer: TokenIssuer) -> None:
    app = DIRECTORY.app(CLIENT_ID)
    assert app is not None
    foreign = TokenIssuer.generate().issue(app, EXCHANGE_RESOURCE)

    with pytest.raises(InvalidToken, match="Signature verification failed"):
        issuer.verify(foreign, EXCHANGE_RESOURCE)


def test_the_signing_key_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "oauth-signing-key.pem"
    app = DIRECTORY.app(CLIENT_ID)
    assert app is not None
    token = TokenIssuer.load_or_create(path).issue(app, EXCHANGE_RESOURCE)

    assert TokenIssuer.load_or_create(path).verify(token, EXCHANGE_RESOURCE)["appid"] == CLIENT_ID
    assert path.stat().st_mode & 0o077 == 0


def test_discovery_documents_point_at_the_sandbox(client: Client, issuer: TokenIssuer) -> None:
    config = client.get(f"/{TENANT}/v2.0/.well-known/openid-configuration").json()
    keys = client.get(f"/{TENANT}/discovery/v2.0/keys").json()

    assert config["token_endpoint"] == f"{client.base_url}/{TENANT}/oauth2/v2.0/token"
    assert keys["keys"][0]["kid"] == issuer.key_id
    token = ask(client).json()["access_token"]
    public_key = jwt.PyJWK(keys["keys"][0]).key
    claims = jwt.decode(token, public_key, algorithms=["RS256"], audience=EXCHANGE_RESOURCE)
    assert claims["appid"] == CLIENT_ID


def test_msal_acquires_a_token_over_https(tmp_path: Path, issuer: TokenIssuer) -> None:
    """The real msal, HTTPS with the sandbox CA trusted through its requests session."""
    tls = ensure_tls_files(tmp_path)
    with serve(Starlette(routes=oauth_routes(DIRECTORY, issuer)), tls) as base_url:
        session = requests.Session()
        session.trust_env = False  # else REQUESTS_CA_BUNDLE, if set, overrides `verify`
        session.verify = str(tls.ca_file)
        app = msal.ConfidentialClientApplication(
            CLIENT_ID,
            client_credential=CLIENT_SECRET,
            authority=f"{base_url}/{TENANT}",
            validate_authority=False,
            http_client=session,
        )
        result = app.acquire_token_for_client(scopes=[SCOPE])
        wrong = msal.ConfidentialClientApplication(
            CLIENT_ID,
            client_credential="wrong",
            authority=f"{base_url}/{TENANT}",
            validate_authority=False,
            http_client=session,
        ).acquire_token_for_client(scopes=[SCOPE])
        session.close()

    assert result.get("token_type") == "Bearer", json.dumps(result)
    assert issuer.verify(result["access_token"], EXCHANGE_RESOURCE)["tid"] == TENANT
    assert (wrong["error"], wrong["error_codes"]) == ("invalid_client", [7000215])


# --- exchangelib signs in as an app, over HTTPS with the sandbox CA ---------------------------


class SandboxAppCredentials(OAuth2Credentials):
    """exchangelib's client-credentials flow against another authority (docs/sandbox-auth.md)."""

    def __init__(self, *, authority: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.authority = authority

    @property
    def token_url(self) -> str:
        return f"{self.authority}/{self.tenant_id}/oauth2/v2.0/token"


@pytest.fixture(scope="module")
def https_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tls = ensure_tls_files(tmp_path_factory.mktemp("tls"))
    with serve(create_sandbox(DIRECTORY).app, tls) as base_url, exchangelib_closed():
        yield base_url, tls.ca_file


def app_account(base_url: str, credentials: Any, mailbox: str) -> Account:
    config = Configuration(
        service_endpoint=f"{base_url}/EWS/Exchange.asmx", credentials=credentials, auth_type=OAUTH2
    )
    return Account(mailbox, config=config, autodiscover=False, access_type=IMPERSONATION)


def test_exchangelib_signs_in_as_an_app_with_client_credentials(
    https_sandbox: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    base_url, ca_file = https_sandbox
    monkeypatch.setattr(BaseProtocol, "HTTP_ADAPTER_CLS", trusting_adapter(ca_file))

    def credentials(client_id: str, secret: str) -> SandboxAppCredentials:
        return SandboxAppCredentials(
            authority=base_url, tenant_id=TENANT, client_id=client_id, client_secret=secret
        )

    anna = app_account(base_url, credentials(CLIENT_ID, CLIENT_SECRET), ANNA)
    narrow = app_account(base_url, credentials(NARROW_CLIENT_ID, "narrow-secret"), ANNA)
    wrong = app_account(base_url, credentials(CLIENT_ID, "wrong"), ANNA)

    assert anna.calendar.total_count == 0
    with pytest.raises(ErrorImpersonateUserDenied):
        narrow.calendar.refresh()
    with pytest.raises(InvalidClientError, match="AADSTS7000215"):
        wrong.calendar.refresh()


def test_exchangelib_uses_a_token_msal_obtained(
    https_sandbox: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other recipe: msal fetches the token, exchangelib only presents it."""
    base_url, ca_file = https_sandbox
    monkeypatch.setattr(BaseProtocol, "HTTP_ADAPTER_CLS", trusting_adapter(ca_file))
    with requests.Session() as session:
        session.trust_env = False
        session.verify = str(ca_file)
        token = msal.ConfidentialClientApplication(
            CLIENT_ID,
            client_credential=CLIENT_SECRET,
            authority=f"{base_url}/{TENANT}",
            validate_authority=False,
            http_client=session,
        ).acquire_token_for_client(scopes=[SCOPE])

    presented = OAuth2AuthorizationCodeCredentials(access_token=OAuth2Token(token))
    ben = app_account(base_url, presented, BEN)

    assert ben.calendar.total_count == 0
