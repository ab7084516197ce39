"""Authentication (Basic for accounts, Bearer for apps) and impersonation rules of EWS."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta

import jwt
import pytest
import requests
from exchangelib import (
    DELEGATE,
    IMPERSONATION,
    Account,
    CalendarItem,
    Configuration,
    Credentials,
    EWSDateTime,
    EWSTimeZone,
)
from exchangelib.errors import (
    ErrorAccessDenied,
    ErrorImpersonateUserDenied,
    ErrorNonExistentMailbox,
    UnauthorizedError,
)
from exchangelib.items import SEND_TO_NONE
from exchangelib.transport import BASIC, get_auth_method_from_response
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from esexchange.sandbox.directory import AppEntry
from esexchange.sandbox.ews.app import create_sandbox
from esexchange.sandbox.ews.auth import (
    AuthChallenge,
    Principal,
    authenticate,
    resolve_target,
    unauthorized,
)
from esexchange.sandbox.ews.errors import EwsError
from esexchange.sandbox.oauth import EXCHANGE_RESOURCE, GRAPH_RESOURCE, TokenIssuer
from tests.sandbox.edges import (
    ANNA,
    BEN,
    CLIENT_ID,
    DIRECTORY,
    LIMITED,
    NARROW_CLIENT_ID,
    SERVICE,
    SERVICE_PASSWORD,
    TENANT,
    exchangelib_closed,
    serve,
)

ISSUER = TokenIssuer.generate()


def basic(user: str, password: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def bearer(client_id: str = CLIENT_ID, resource: str = EXCHANGE_RESOURCE) -> dict[str, str]:
    app = DIRECTORY.app(client_id)
    assert app is not None
    return {"authorization": f"Bearer {ISSUER.issue(app, resource)}"}


def login(headers: dict[str, str]) -> Principal:
    return authenticate(headers, DIRECTORY, ISSUER)


def test_an_account_signs_in_with_upn_and_password() -> None:
    principal = login(basic(SERVICE.upper(), SERVICE_PASSWORD))

    assert (principal.name, principal.kind) == (SERVICE, "account")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic(SERVICE, "wrong"),
        basic("nobody@example.test", SERVICE_PASSWORD),
        {"authorization": "Basic not-base64!"},
        {"authorization": "NTLM TlRMTVNTUAABAAAA"},
    ],
    ids=["none", "wrong-password", "unknown-user", "malformed", "ntlm"],
)
def test_missing_or_wrong_credentials_are_challenged(headers: dict[str, str]) -> None:
    with pytest.raises(AuthChallenge):
        login(headers)


def test_an_app_signs_in_with_its_bearer_token() -> None:
    principal = login(bearer())

    assert (principal.name, principal.kind) == (CLIENT_ID, "app")


def test_a_token_for_the_servers_own_origin_is_accepted_there_only() -> None:
    own = bearer(resource="https://ews.example.test:8443")

    principal = login({**own, "host": "ews.example.test:8443"})

    assert principal.name == CLIENT_ID
    with pytest.raises(AuthChallenge, match="Audience doesn't match"):
        login({**own, "host": "other.example.test:8443"})


def test_tokens_for_another_resource_or_issuer_are_refused() -> None:
    app = DIRECTORY.app(CLIENT_ID)
    assert app is not None
    foreign = TokenIssuer.generate().issue(app, EXCHANGE_RESOURCE)

    with pytest.raises(AuthChallenge, match="Audience doesn't match") as graph:
        login(bearer(resource=GRAPH_RESOURCE))
    with pytest.raises(AuthChallenge, match="Signature verification failed"):
        login({"authorization": f"Bearer {foreign}"})
    assert graph.value.diagnostics is not None
    assert graph.value.diagnostics.startswith("2000001;")


def test_tokens_of_unregistered_apps_or_without_the_role_are_refused() -> None:
    stranger = AppEntry(TENANT, "00000000-1111-2222-3333-444444444444", "x", ("*",))
    claims = jwt.decode(
        ISSUER.issue(stranger, EXCHANGE_RESOURCE), options={"verify_signature": False}
    )
    app = DIRECTORY.app(CLIENT_ID)
    assert app is not None
    roleless = {**claims, "appid": app.client_id, "roles": ["Mail.Read"]}
    roleless_token = jwt.encode(roleless, ISSUER.private_key, algorithm="RS256")

    with pytest.raises(AuthChallenge, match="not registered"):
        login({"authorization": f"Bearer {ISSUER.issue(stranger, EXCHANGE_RESOURCE)}"})
    with pytest.raises(AuthChallenge, match="lacks the full_access_as_app role") as caught:
        login({"authorization": f"Bearer {roleless_token}"})
    assert caught.value.diagnostics is not None
    assert 'error_category="invalid_grant"' in caught.value.diagnostics


def test_the_401_offers_basic_so_exchangelib_picks_it() -> None:
    """exchangelib probes the auth method from the 401's WWW-Authenticate headers."""

    async def ews(request: Request) -> Response:
        try:
            authenticate(request.headers, DIRECTORY, ISSUER)
        except AuthChallenge as challenge:
            return unauthorized(challenge, request.headers["host"])
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/EWS/Exchange.asmx", ews, methods=["POST"])])
    with serve(app) as base_url, requests.Session() as session:
        probe = session.post(f"{base_url}/EWS/Exchange.asmx", data=b"<x/>")
        signed_in = session.post(
            f"{base_url}/EWS/Exchange.asmx", data=b"<x/>", auth=(SERVICE, SERVICE_PASSWORD)
        )
        wrong = session.post(f"{base_url}/EWS/Exchange.asmx", data=b"<x/>", auth=(SERVICE, "x"))

    assert probe.status_code == 401
    assert get_auth_method_from_response(probe) == BASIC
    assert "Bearer" in probe.headers["www-authenticate"]
    assert (signed_in.status_code, wrong.status_code) == (200, 401)


# --- impersonation ---------------------------------------------------------------------


def test_an_account_acts_on_its_own_mailbox_without_impersonation() -> None:
    assert resolve_target(login(basic(LIMITED, "limited-pw")), None, DIRECTORY) == LIMITED


def test_an_account_without_a_mailbox_must_impersonate() -> None:
    with pytest.raises(EwsError) as caught:
        resolve_target(login(basic(SERVICE, SERVICE_PASSWORD)), None, DIRECTORY)

    assert caught.value.code == "ErrorMissingEmailAddress"


def test_impersonation_follows_the_directory_grants() -> None:
    service = login(basic(SERVICE, SERVICE_PASSWORD))
    limited = login(basic(LIMITED, "limited-pw"))

    assert resolve_target(service, BEN.upper(), DIRECTORY) == BEN
    assert resolve_target(limited, ANNA, DIRECTORY) == ANNA
    with pytest.raises(EwsError) as denied:
        resolve_target(limited, BEN, DIRECTORY)
    assert denied.value.code == "ErrorImpersonateUserDenied"


def test_impersonating_an_unknown_address_is_a_nonexistent_mailbox() -> None:
    with pytest.raises(EwsError) as caught:
        resolve_target(login(basic(SERVICE, SERVICE_PASSWORD)), "ghost@example.test", DIRECTORY)

    assert caught.value.code == "ErrorNonExistentMailbox"


def test_an_app_must_impersonate_and_stays_within_its_mailboxes() -> None:
    narrow = login(bearer(NARROW_CLIENT_ID))

    with pytest.raises(EwsError) as missing:
        resolve_target(login(bearer()), None, DIRECTORY)
    assert missing.value.code == "ErrorInvalidExchangeImpersonationHeaderData"
    assert resolve_target(narrow, BEN, DIRECTORY) == BEN
    with pytest.raises(EwsError) as denied:
        resolve_target(narrow, ANNA, DIRECTORY)
    assert denied.value.code == "ErrorImpersonateUserDenied"


def test_delegate_access_uses_the_grant_for_accounts_and_is_refused_to_apps() -> None:
    """A mailbox named in a DistinguishedFolderId, without the ExchangeImpersonation header."""
    limited = login(basic(LIMITED, "limited-pw"))

    assert resolve_target(limited, None, DIRECTORY, delegate_smtp=ANNA) == ANNA
    with pytest.raises(EwsError) as denied:
        resolve_target(limited, None, DIRECTORY, delegate_smtp=BEN)
    with pytest.raises(EwsError) as app:
        resolve_target(login(bearer()), None, DIRECTORY, delegate_smtp=ANNA)
    assert denied.value.code == "ErrorAccessDenied"
    assert app.value.code == "ErrorInvalidExchangeImpersonationHeaderData"


# --- with the real exchangelib against the running sandbox ----------------------------------


@pytest.fixture(scope="module")
def ews_url() -> Iterator[str]:
    with serve(create_sandbox(DIRECTORY).app) as base_url, exchangelib_closed():
        yield f"{base_url}/EWS/Exchange.asmx"


def impersonating(ews_url: str, upn: str, password: str, mailbox: str) -> Account:
    config = Configuration(service_endpoint=ews_url, credentials=Credentials(upn, password))
    return Account(mailbox, config=config, autodiscover=False, access_type=IMPERSONATION)


def test_exchangelib_impersonates_a_granted_mailbox(ews_url: str) -> None:
    anna = impersonating(ews_url, SERVICE, SERVICE_PASSWORD, ANNA)

    start = EWSDateTime(2026, 12, 1, 9, tzinfo=EWSTimeZone("Europe/Berlin"))
    item = CalendarItem(
        account=anna,
        folder=anna.calendar,
        subject="Planning",
        start=start,
        end=start + timedelta(hours=1),
    )
    item.save(send_meeting_invitations=SEND_TO_NONE)

    assert anna.protocol.auth_type == BASIC  # probed from the sandbox's 401
    assert [i.subject for i in anna.calendar.all()] == ["Planning"]


def test_exchangelib_is_denied_a_mailbox_outside_the_grant(ews_url: str) -> None:
    ben = impersonating(ews_url, LIMITED, "limited-pw", BEN)

    with pytest.raises(ErrorImpersonateUserDenied):
        ben.calendar.refresh()


def test_exchangelib_impersonating_an_unknown_address_finds_no_mailbox(ews_url: str) -> None:
    ghost = impersonating(ews_url, SERVICE, SERVICE_PASSWORD, "ghost@example.test")

    with pytest.raises(ErrorNonExistentMailbox):
        ghost.calendar.refresh()


def test_exchangelib_with_a_wrong_password_is_unauthorized(ews_url: str) -> None:
    with pytest.raises(UnauthorizedError):
        impersonating(ews_url, SERVICE, "wrong", ANNA).calendar.refresh()


def test_exchangelib_as_a_delegate_is_held_to_the_accounts_grant(ews_url: str) -> None:
    """A mailbox named in a folder id, without impersonation, is delegate access: the
    account's grant decides, and a mailbox outside it is ErrorAccessDenied."""
    config = Configuration(
        service_endpoint=ews_url, credentials=Credentials(LIMITED, "limited-pw")
    )
    anna = Account(ANNA, config=config, autodiscover=False, access_type=DELEGATE)
    ben = Account(BEN, config=config, autodiscover=False, access_type=DELEGATE)

    anna.calendar.refresh()
    with pytest.raises(ErrorAccessDenied):
        ben.calendar.refresh()
