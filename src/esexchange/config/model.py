"""What a connection is made of, and the checks a connection must pass before it is stored."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from esexchange.config.errors import InvalidConnection
from esexchange.domain.errors import InvalidOption
from esexchange.domain.options import ConnectionOptions


class Backend(StrEnum):
    """How the connection reaches Exchange."""

    EWS = "ews"
    GRAPH = "graph"


class Auth(StrEnum):
    """How the connection signs in: a service account (UPN + password) or an OAuth app."""

    USER = "user"
    APP = "app"


@dataclass(frozen=True)
class ConnectionConfig:
    """One Exchange organisation as configured; the secret is kept apart (never in here).

    For ``Backend.EWS`` exactly one of ``ews_url`` (typed in) and ``autodiscover_email``
    is the way to the server; what Autodiscover finds is stored in ``ews_url`` later.
    ``autodiscover_url`` names the Autodiscover service to ask when it is not at the
    address's domain (``https://autodiscover.<domain>/...``).
    ``Auth.USER`` needs ``upn``; ``Auth.APP`` needs ``tenant_id`` and ``client_id``
    (``token_url`` overrides Microsoft's token endpoint, e.g. for the sandbox).
    ``graph_url`` is a Graph connection's Graph root (``https://graph.microsoft.com``
    when unset, or the root that goes with ``token_url``'s cloud).
    ``id``, ``created_at`` and ``secret_stored`` (whether an encrypted secret is on
    file) are set by the database.
    """

    name: str
    backend: Backend
    auth: Auth
    ews_url: str | None = None
    autodiscover_email: str | None = None
    autodiscover_url: str | None = None
    upn: str | None = None
    tenant_id: str | None = None
    client_id: str | None = None
    token_url: str | None = None
    graph_url: str | None = None
    ca_bundle: str | None = None
    accept_untrusted: bool = False
    options: ConnectionOptions = field(default_factory=ConnectionOptions)
    secret_stored: bool = False
    id: int | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class ConnectionChange:
    """What to change in a stored connection; a field left at its default keeps its value.

    The way to the server is one setting: ``ews_url`` (typed in) drops the Autodiscover
    address and service; ``autodiscover_email`` (with ``autodiscover_url``, or the
    address's domain without it) drops the stored EWS URL, so the next pass or check
    discovers it again; ``autodiscover_url`` alone asks another service for the same
    address. Switching ``auth`` drops the other way's sign-in settings. ``ca_bundle``
    trusts a PEM file; ``drop_ca_bundle`` goes back to the system's certificates.
    """

    ews_url: str | None = None
    autodiscover_email: str | None = None
    autodiscover_url: str | None = None
    auth: Auth | None = None
    upn: str | None = None
    tenant_id: str | None = None
    client_id: str | None = None
    token_url: str | None = None
    graph_url: str | None = None
    ca_bundle: str | None = None
    drop_ca_bundle: bool = False
    accept_untrusted: bool | None = None

    def is_empty(self) -> bool:
        """True when nothing would change."""
        return self == ConnectionChange()

    def applied_to(self, current: ConnectionConfig) -> ConnectionConfig:
        """``current`` with this change made; raises ``InvalidConnection`` for a change
        that contradicts itself (checks of the result are ``validate_connection``'s)."""
        name = current.name
        if self.ews_url is not None and (
            self.autodiscover_email is not None or self.autodiscover_url is not None
        ):
            raise InvalidConnection(
                f"connection {name!r}: give either --ews-url URL or --autodiscover EMAIL "
                "[--autodiscover-url URL], not both"
            )
        if self.ca_bundle is not None and self.drop_ca_bundle:
            raise InvalidConnection(
                f"connection {name!r}: give either --ca-bundle FILE or --no-ca-bundle, not both"
            )
        changed: dict[str, Any] = {}  # ConnectionConfig's fields, for replace()
        if self.ews_url is not None:
            changed.update(ews_url=self.ews_url, autodiscover_email=None, autodiscover_url=None)
        elif self.autodiscover_email is not None:
            changed.update(ews_url=None, autodiscover_email=self.autodiscover_email,
                           autodiscover_url=self.autodiscover_url)
        elif self.autodiscover_url is not None:
            if current.autodiscover_email is None:
                raise InvalidConnection(
                    f"connection {name!r} has its EWS URL typed in: --autodiscover-url "
                    "needs --autodiscover EMAIL too"
                )
            changed.update(ews_url=None, autodiscover_url=self.autodiscover_url)
        if self.auth is not None and self.auth is not current.auth:
            changed.update(auth=self.auth, upn=None, tenant_id=None, client_id=None,
                           token_url=None)
        for attribute in ("upn", "tenant_id", "client_id", "token_url", "graph_url"):
            if getattr(self, attribute) is not None:
                changed[attribute] = getattr(self, attribute)
        if self.ca_bundle is not None or self.drop_ca_bundle:
            changed["ca_bundle"] = self.ca_bundle
        if self.accept_untrusted is not None:
            changed["accept_untrusted"] = self.accept_untrusted
        return replace(current, **changed)


def needs_new_secret(current: ConnectionConfig, changed: ConnectionConfig) -> bool:
    """Whether ``changed`` signs in as another account, whose password or client secret
    the stored one cannot be: another way of signing in, another UPN or another app."""
    if changed.auth is not current.auth:
        return True
    if changed.auth is Auth.USER:
        return (changed.upn or "").lower() != (current.upn or "").lower()
    return changed.client_id != current.client_id


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_ADDRESS = re.compile(r"[^@\s\\]+@[^@\s\\]+\.[^@\s\\]+")


def validate_connection(config: ConnectionConfig) -> None:
    """Raise ``InvalidConnection`` naming the first setting that cannot be used."""
    if not _NAME.fullmatch(config.name):
        raise InvalidConnection(
            f"connection name {config.name!r}: use letters, digits, '.', '_' and '-' "
            "(at most 100, starting with a letter or digit)"
        )
    if config.backend is Backend.EWS:
        if (config.ews_url is None) == (config.autodiscover_email is None):
            raise InvalidConnection(
                f"connection {config.name!r}: give either --ews-url URL or "
                "--autodiscover EMAIL (exactly one)"
            )
        if config.ews_url is not None:
            validate_url("--ews-url", config.ews_url)
        if config.autodiscover_email is not None:
            validate_address("--autodiscover", config.autodiscover_email)
        if config.autodiscover_url is not None:
            if config.autodiscover_email is None:
                raise InvalidConnection(
                    f"connection {config.name!r}: --autodiscover-url names the Autodiscover "
                    "service to ask for --autodiscover EMAIL; give --autodiscover EMAIL too, "
                    "or leave --autodiscover-url out when the EWS URL is typed in"
                )
            validate_url("--autodiscover-url", config.autodiscover_url,
                         example="https://autodiscover.contoso.com/autodiscover/autodiscover.svc")
        _refuse_unused(config, "--backend ews", graph_url="--graph-url")
    else:
        if config.auth is not Auth.APP:
            raise InvalidConnection(
                f"connection {config.name!r}: Microsoft Graph needs --auth app (an app "
                "registration with tenant id, client id and client secret)"
            )
        _refuse_unused(config, "--backend graph", ews_url="--ews-url",
                       autodiscover_email="--autodiscover",
                       autodiscover_url="--autodiscover-url")
    if config.auth is Auth.USER:
        if not config.upn:
            raise InvalidConnection(f"connection {config.name!r}: --auth user needs --upn")
        validate_upn(config.upn)
        _refuse_unused(config, "--auth user (UPN and password)", tenant_id="--tenant-id",
                       client_id="--client-id", token_url="--token-url")
    else:
        _refuse_unused(config, "--auth app", upn="--upn")
        for flag, value in (("--tenant-id", config.tenant_id), ("--client-id", config.client_id)):
            if not value or not value.strip():
                raise InvalidConnection(f"connection {config.name!r}: --auth app needs {flag}")
    if config.token_url is not None:
        validate_url("--token-url", config.token_url)
    if config.graph_url is not None:
        validate_url("--graph-url", config.graph_url, example="https://graph.microsoft.us")
    if config.ca_bundle is not None and not Path(config.ca_bundle).is_file():
        raise InvalidConnection(
            f"--ca-bundle {config.ca_bundle}: no such file; give a PEM file of the CA "
            "certificates to trust"
        )
    if config.options.erp_time_zone is not None:
        validate_time_zone(config.options.erp_time_zone)


def _refuse_unused(config: ConnectionConfig, setting: str, **flags: str) -> None:
    """A flag that the chosen way of connecting would ignore is a mistake: say so."""
    for attribute, flag in flags.items():
        if getattr(config, attribute) is not None:
            raise InvalidConnection(
                f"connection {config.name!r}: {flag} is not used with {setting}; leave it out"
            )


def validate_upn(upn: str) -> None:
    """A user principal name is ``user@domain``; ``DOMAIN\\user`` is explained, not guessed."""
    if "\\" in upn:
        domain, _, user = upn.partition("\\")
        raise InvalidConnection(
            f"--upn '{upn}' is a down-level logon name (DOMAIN\\user), not a user principal "
            f"name: give the UPN, user@domain, e.g. {user or 'user'}@{domain.lower() or 'domain'}"
            ".com (the account's userPrincipalName)"
        )
    if not _ADDRESS.fullmatch(upn):
        raise InvalidConnection(
            f"--upn {upn!r} is not a user principal name: write it as user@domain, "
            "e.g. svc-esexchange@contoso.com"
        )


def validate_address(flag: str, address: str) -> None:
    """An SMTP address, ``name@domain.tld``."""
    if not _ADDRESS.fullmatch(address):
        raise InvalidConnection(f"{flag} {address!r} is not an email address (name@domain)")


def validate_url(
    flag: str, url: str, *, example: str = "https://mail.contoso.com/EWS/Exchange.asmx"
) -> None:
    """An absolute http(s) URL with a host."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidConnection(f"{flag} {url!r} is not an http(s) URL, e.g. {example}")


def validate_time_zone(zone: str) -> None:
    """An IANA time zone name such as Europe/Berlin."""
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidOption(
            f"option 'erp_time_zone': {zone!r} is not an IANA time zone; use a name such "
            "as Europe/Berlin or UTC"
        ) from None
