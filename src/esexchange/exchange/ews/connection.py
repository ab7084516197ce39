"""One connection to an Exchange organisation: credentials, TLS, protocol, Autodiscover.

``EwsConnection`` builds exchangelib's configuration and protocol once; ``mailbox()``
opens each employee's mailbox by impersonation over the same session pool. Nothing is
looked up per pass: the EWS URL comes from the settings (``discover_ews_url`` finds it
once, the caller stores it).
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import Any

from exchangelib import IMPERSONATION, OAUTH2, Account, Configuration, Credentials, EWSTimeZone
from exchangelib.errors import ErrorNonExistentMailbox, RedirectError, ResponseMessageError
from exchangelib.properties import ENTRY_ID, EWS_ID, AlternateId
from exchangelib.protocol import FailFast, Protocol
from exchangelib.services import ConvertId
from exchangelib.version import (
    EXCHANGE_2013,
    EXCHANGE_2013_SP1,
    EXCHANGE_2016,
    EXCHANGE_2019,
    Version,
)

from esexchange.exchange.errors import (
    AccessDenied,
    MailboxError,
    MailboxNotFound,
    MailboxUnreachable,
)
from esexchange.exchange.ews.failures import Who, translate, translated
from esexchange.exchange.ews.items import register_erp_id_property
from esexchange.exchange.ews.mailbox import EwsMailbox
from esexchange.exchange.ews.memo import server_memo
from esexchange.exchange.ews.settings import AppAuth, EwsSettings, UserAuth, validate_upn
from esexchange.exchange.ews.transport import (
    AppCredentials,
    BoundedFaultTolerance,
    ConnectionProtocol,
    DiscoveryProtocol,
    RequestCounter,
    mailbox_call,
)
from esexchange.exchange.port import AppToken

log = logging.getLogger(__name__)

_VERSIONS = {
    "Exchange2013": EXCHANGE_2013,
    "Exchange2013_SP1": EXCHANGE_2013_SP1,
    "Exchange2016": EXCHANGE_2016,
    "Exchange2019": EXCHANGE_2019,
}


EWS_APP_ROLE = "full_access_as_app"
"""The application role EWS access needs (Office 365 Exchange Online)."""


class EwsConnection:
    """The EWS side of one esExchange connection; its mailboxes share one session pool."""

    def __init__(self, settings: EwsSettings) -> None:
        if not settings.ews_url:
            raise MailboxError(
                f"connection {settings.name} has no EWS URL: type it in or find it once "
                "with Autodiscover"
            )
        register_erp_id_property()
        self.settings = settings
        self.zone = EWSTimeZone(settings.time_zone)
        self._who = _identity(settings)
        credentials = _credentials(settings)
        self._memo = server_memo(settings.ews_url, self._who.identity)
        self._config = Configuration(
            service_endpoint=settings.ews_url,
            credentials=credentials,
            # Learnt by an earlier connection of this process: no probe again (memo.py).
            auth_type=OAUTH2 if isinstance(settings.auth, AppAuth) else self._memo.auth_type,
            version=_version(settings.version) or self._memo.version,
            retry_policy=BoundedFaultTolerance(max_wait=settings.max_wait_seconds),
            max_connections=settings.max_connections,
        )
        self.protocol = ConnectionProtocol(
            config=self._config, verify=_verify(settings), timeout=settings.timeout_seconds
        )
        self.requests = RequestCounter()
        """EWS requests of connection-level calls (``check``, ``token``)."""

    @property
    def endpoint(self) -> str:
        """The EWS URL."""
        return self.settings.ews_url

    def mailbox(self, address: str) -> EwsMailbox:
        """The mailbox ``address``, opened by impersonation (no request is sent yet)."""
        try:
            account = Account(
                primary_smtp_address=address,
                access_type=IMPERSONATION,
                autodiscover=False,
                config=self._config,
                default_timezone=self.zone,
                locale="en_US",
            )
        except ValueError:
            raise MailboxNotFound(
                f"{address!r} is not an email address: correct the employee's email in the ERP"
            ) from None
        # Account() looks its protocol up in exchangelib's process-wide cache; use this
        # connection's own (TLS and pool), see transport.py.
        account.protocol = self.protocol
        return EwsMailbox(
            account, settings=self.settings, who=Who(
                identity=self._who.identity, is_app=self._who.is_app,
                url=self._who.url, mailbox=address,
            ), zone=self.zone, memo=self._memo,
        )

    def check(self) -> None:
        """Raise a ``MailboxError`` unless the server answers and accepts the credentials."""
        with self._call():
            # ConvertId is exchangelib's own probe: a made-up id is refused per element
            # (an answer from a reachable server), while TLS, network and credentials
            # fail the request itself. The version is learnt (or given) first.
            _ = self.protocol.version
            try:
                list(ConvertId(protocol=self.protocol).call(
                    [AlternateId(id="AAAA", format=EWS_ID, mailbox="probe@example.invalid")],
                    ENTRY_ID,
                ))
            except ResponseMessageError as answer:
                log.debug("the probe was answered with %r: the server is reachable", answer)

    def token(self) -> AppToken:
        """Request (or reuse) the app's access token; its expiry and roles, not the token."""
        auth = self.settings.auth
        if not isinstance(auth, AppAuth):
            raise MailboxError(f"connection {self.settings.name} signs in as a user, not an app")
        with self._call():
            session = self.protocol.get_session()
            self.protocol.release_session(session)
            token = self.protocol.credentials.access_token or {}
        claims = _jwt_claims(str(token.get("access_token", "")))
        expires = token.get("expires_at") or claims.get("exp") or 0
        return AppToken(
            token_url=auth.resolved_token_url,
            expires_at=datetime.fromtimestamp(float(expires), UTC),
            roles=tuple(str(role) for role in claims.get("roles", ())),
            needed_roles=(EWS_APP_ROLE,),
        )

    def close(self) -> None:
        """Close the pooled HTTP sessions; keep what was learnt about the server."""
        with self._memo.lock:
            self._memo.auth_type = self._config.auth_type or self._memo.auth_type
            self._memo.version = self._config.version or self._memo.version
        self.protocol.close()
        # Account() also left an unused protocol for this configuration in exchangelib's
        # process-wide cache; drop it so closed connections do not pile up there.
        with suppress(KeyError):
            del Protocol[self._config]

    @contextmanager
    def _call(self) -> Iterator[None]:
        with translated(self._who), mailbox_call(self.requests, self.protocol.service_endpoint):
            yield


_REDIRECTS = 5


def _type_it_in(settings: EwsSettings) -> str:
    return (f"or type the EWS URL in with `esexchange connection set {settings.name} "
            "--ews-url URL`")


def discover_ews_url(
    email: str, settings: EwsSettings, *, autodiscover_url: str | None = None
) -> str:
    """The EWS URL for ``email`` by SOAP Autodiscover; the caller stores it.

    ``autodiscover_url`` is the Autodiscover service to ask; without it the two standard
    endpoints of the mail domain are tried (``https://domain/...`` and
    ``https://autodiscover.domain/...``). Settings give the credentials and TLS trust;
    their ``ews_url`` is not used. Failing, it raises, naming every URL it tried:
    ``AccessDenied`` (the sign-in was refused), ``MailboxNotFound`` (the service does not
    know ``email``) or ``MailboxUnreachable`` (no service answered usefully).
    """
    domain = email.rpartition("@")[2]
    candidates = [autodiscover_url] if autodiscover_url else [
        f"https://{domain}/autodiscover/autodiscover.svc",
        f"https://autodiscover.{domain}/autodiscover/autodiscover.svc",
    ]
    failures: list[MailboxError] = []
    for url in candidates:
        try:
            return _ask_autodiscover(url, email, settings)
        except MailboxError as failure:
            failures.append(failure)
    tried = "; ".join(str(failure) for failure in failures)
    if any(isinstance(failure, AccessDenied) for failure in failures):
        raise AccessDenied(f"Autodiscover for {email} refused the sign-in: {tried}")
    if all(isinstance(failure, MailboxNotFound) for failure in failures):
        raise MailboxNotFound(
            f"Autodiscover does not know {email} ({tried}): check the address (a mailbox's "
            f"primary SMTP address; `esexchange connection set {settings.name} --autodiscover "
            f"EMAIL` changes it), {_type_it_in(settings)}"
        )
    raise MailboxUnreachable(
        f"The Autodiscover service couldn't be located for {email} ({tried}): check the "
        "server and network configuration (DNS, firewall, proxy, certificate) or name the "
        f"service with `esexchange connection set {settings.name} --autodiscover-url URL`, "
        f"{_type_it_in(settings)}"
    )


def _ask_autodiscover(url: str, email: str, settings: EwsSettings) -> str:
    """The EWS URL the service at ``url`` gives for ``email``, following its redirects."""
    who = _identity(settings)
    for _redirect in range(_REDIRECTS):
        protocol = DiscoveryProtocol(
            config=Configuration(
                # Fail fast, as exchangelib's own Autodiscovery does: an administrator is
                # waiting, and a wrong address or host does not heal by retrying.
                service_endpoint=url, credentials=_credentials(settings),
                retry_policy=FailFast(),
            ),
            verify=_verify(settings),
        )
        try:
            answer = protocol.get_user_settings(user=email)
            answer.raise_errors()
        except RedirectError as error:
            url = error.url
            continue
        except ErrorNonExistentMailbox:
            raise MailboxNotFound(f"{url} answered that no mailbox has this address") from None
        except Exception as error:
            failure = translate(error, Who(who.identity, who.is_app, url))
            if failure is None:  # an answer, but not one Autodiscover gives
                failure = MailboxUnreachable(f"{url} answered {type(error).__name__}: {error}")
            raise failure from error
        finally:
            protocol.close()
        if answer.redirect_url:
            url = answer.redirect_url
            continue
        found = answer.ews_url or answer.user_settings.get("internal_ews_url")
        if found:
            return str(found)
        raise MailboxUnreachable(f"{url} answered without an EWS URL")
    raise MailboxUnreachable(f"{url}: more than {_REDIRECTS} redirects")


def _identity(settings: EwsSettings) -> Who:
    if isinstance(settings.auth, AppAuth):
        return Who(identity=f"app {settings.auth.client_id}", is_app=True,
                   url=settings.ews_url or "")
    return Who(identity=settings.auth.upn, is_app=False, url=settings.ews_url or "")


def _credentials(settings: EwsSettings) -> Credentials | AppCredentials:
    auth: UserAuth | AppAuth = settings.auth
    if isinstance(auth, UserAuth):
        return Credentials(validate_upn(auth.upn), auth.password)
    return AppCredentials(
        client_id=auth.client_id, client_secret=auth.client_secret, tenant_id=auth.tenant_id,
        token_url=auth.resolved_token_url, resource=auth.resource,
    )


def _verify(settings: EwsSettings) -> bool | str:
    if settings.accept_untrusted:
        log.warning(
            "connection %s: TLS certificate verification is OFF (accept untrusted "
            "certificates); anyone between esExchange and %s can read the credentials "
            "and the mailboxes", settings.name, settings.ews_url,
        )
        return False
    if settings.ca_bundle:
        if not os.path.isfile(settings.ca_bundle):
            raise MailboxError(
                f"connection {settings.name}: the CA bundle {settings.ca_bundle} does not exist"
            )
        return settings.ca_bundle
    return True


def _version(name: str | None) -> Version | None:
    if name is None:
        return None
    try:
        return Version(build=_VERSIONS[name])
    except KeyError:
        raise MailboxError(
            f"unknown Exchange version {name!r}; use one of {', '.join(_VERSIONS)}"
        ) from None


def _jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, read without verifying it (only to show them)."""
    try:
        payload = token.split(".")[1]
        return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
    except (IndexError, ValueError):
        return {}
