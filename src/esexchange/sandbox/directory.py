"""The sandbox's directory: which mailboxes exist, who may sign in, which apps are registered.

The file is TOML that outside tools write, in exactly this form::

    [[mailbox]]
    email = "anna.berger@example.test"
    name = "Anna Berger"
    time_zone = "Europe/Berlin"

    [[account]]                 # a user that signs in with UPN and password
    upn = "svc-esx@example.test"
    password = "..."
    impersonate = ["*"]         # or a list of mailbox addresses

    [[app]]                     # an OAuth 2.0 app registration
    tenant_id = "..."
    client_id = "..."
    client_secret = "..."
    mailboxes = ["*"]

Addresses and UPNs compare case-insensitively. Anything malformed, duplicated or missing
is a `DirectoryError` naming the file, the entry and the field.
"""

from __future__ import annotations

import json
import tomllib
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ALL_MAILBOXES = "*"


class DirectoryError(ValueError):
    """The directory file cannot be used; the message names file, entry and field.

    The sandbox is a product of its own: its errors are not esExchange's; the command line
    that loads a directory reports this one as a user error."""


@dataclass(frozen=True)
class MailboxEntry:
    """A mailbox the sandbox serves."""

    email: str
    name: str
    time_zone: str


@dataclass(frozen=True)
class AccountEntry:
    """A user that signs in with UPN and password (HTTP Basic)."""

    upn: str
    password: str
    impersonate: tuple[str, ...]

    def may_impersonate(self, email: str) -> bool:
        """Whether this account holds the ApplicationImpersonation right for `email`."""
        return _grants(self.impersonate, email)


@dataclass(frozen=True)
class AppEntry:
    """An OAuth 2.0 app registration allowed to use client credentials."""

    tenant_id: str
    client_id: str
    client_secret: str
    mailboxes: tuple[str, ...]

    def may_access(self, email: str) -> bool:
        """Whether the app's access policy includes the mailbox `email`."""
        return _grants(self.mailboxes, email)


def _grants(grants: tuple[str, ...], email: str) -> bool:
    wanted = email.casefold()
    return any(grant == ALL_MAILBOXES or grant.casefold() == wanted for grant in grants)


@dataclass(frozen=True)
class Directory:
    """Mailboxes, accounts and apps, with case-insensitive look-ups."""

    mailboxes: tuple[MailboxEntry, ...] = ()
    accounts: tuple[AccountEntry, ...] = ()
    apps: tuple[AppEntry, ...] = ()
    _by_email: Mapping[str, MailboxEntry] = field(init=False, repr=False, compare=False)
    _by_upn: Mapping[str, AccountEntry] = field(init=False, repr=False, compare=False)
    _by_client_id: Mapping[str, AppEntry] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_email", {m.email.casefold(): m for m in self.mailboxes})
        object.__setattr__(self, "_by_upn", {a.upn.casefold(): a for a in self.accounts})
        object.__setattr__(self, "_by_client_id", {a.client_id.casefold(): a for a in self.apps})

    def mailbox(self, email: str) -> MailboxEntry | None:
        """The mailbox with this address (any case), or None."""
        return self._by_email.get(email.casefold())

    def account(self, upn: str) -> AccountEntry | None:
        """The account with this UPN (any case), or None."""
        return self._by_upn.get(upn.casefold())

    def app(self, client_id: str) -> AppEntry | None:
        """The app registration with this client id (any case, as GUIDs are), or None."""
        return self._by_client_id.get(client_id.casefold())


# --- reading -----------------------------------------------------------------------------

_FIELDS: dict[str, tuple[str, ...]] = {
    "mailbox": ("email", "name", "time_zone"),
    "account": ("upn", "password", "impersonate"),
    "app": ("tenant_id", "client_id", "client_secret", "mailboxes"),
}
_LIST_FIELDS = {"impersonate", "mailboxes"}


def load_directory(path: str | Path) -> Directory:
    """Read and check a directory file; raise `DirectoryError` naming what is wrong."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            document = tomllib.load(file)
    except FileNotFoundError:
        raise DirectoryError(f"{path}: directory file not found") from None
    except tomllib.TOMLDecodeError as error:
        raise DirectoryError(f"{path}: not valid TOML: {error}") from None
    return parse_directory(document, source=str(path))


def parse_directory(document: Mapping[str, Any], *, source: str = "<directory>") -> Directory:
    """Check an already parsed TOML document (see `load_directory`)."""
    unknown = sorted(set(document) - set(_FIELDS))
    if unknown:
        raise DirectoryError(
            f"{source}: unknown table {unknown[0]!r} (expected [[mailbox]], [[account]], [[app]])"
        )
    tables = {kind: _entries(document, kind, source) for kind in _FIELDS}
    mailboxes = tuple(_mailbox(e, f"{source}: [[mailbox]] #{i}") for i, e in tables["mailbox"])
    accounts = tuple(_account(e, f"{source}: [[account]] #{i}") for i, e in tables["account"])
    apps = tuple(_app(e, f"{source}: [[app]] #{i}") for i, e in tables["app"])
    _refuse_duplicates(source, "mailbox", "email", (m.email for m in mailboxes))
    _refuse_duplicates(source, "account", "upn", (a.upn for a in accounts))
    _refuse_duplicates(source, "app", "client_id", (a.client_id for a in apps))
    known = {m.email.casefold() for m in mailboxes}
    for i, account in enumerate(accounts, 1):
        where = f"{source}: [[account]] #{i}"
        _refuse_unknown_grants(where, "impersonate", account.impersonate, known)
    for i, app in enumerate(apps, 1):
        _refuse_unknown_grants(f"{source}: [[app]] #{i}", "mailboxes", app.mailboxes, known)
    return Directory(mailboxes=mailboxes, accounts=accounts, apps=apps)


def _entries(
    document: Mapping[str, Any], kind: str, source: str
) -> list[tuple[int, dict[str, Any]]]:
    entries = document.get(kind, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise DirectoryError(f"{source}: {kind!r} must be an array of tables, written [[{kind}]]")
    return list(enumerate(entries, 1))


def _checked(entry: Mapping[str, Any], kind: str, where: str) -> dict[str, Any]:
    """The entry's fields, each present, of the right type and not empty."""
    expected = _FIELDS[kind]
    unknown = sorted(set(entry) - set(expected))
    if unknown:
        raise DirectoryError(
            f"{where}: unknown field {unknown[0]!r} (expected {', '.join(expected)})"
        )
    values: dict[str, Any] = {}
    for name in expected:
        if name not in entry:
            raise DirectoryError(f"{where}: field {name!r} is missing")
        value = entry[name]
        if name in _LIST_FIELDS:
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise DirectoryError(
                    f'{where}: field {name!r} must be a list of addresses or ["*"]'
                )
            values[name] = tuple(value)
        else:
            if not isinstance(value, str) or not value.strip():
                raise DirectoryError(f"{where}: field {name!r} must be a non-empty string")
            values[name] = value
    return values


def _mailbox(entry: Mapping[str, Any], where: str) -> MailboxEntry:
    values = _checked(entry, "mailbox", where)
    where = f"{where} ({values['email']})"
    _require_address(values["email"], where, "email")
    try:
        zoneinfo.ZoneInfo(values["time_zone"])
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise DirectoryError(
            f"{where}: field 'time_zone' is {values['time_zone']!r}, not an IANA time zone"
        ) from None
    return MailboxEntry(**values)


def _account(entry: Mapping[str, Any], where: str) -> AccountEntry:
    values = _checked(entry, "account", where)
    _require_address(values["upn"], f"{where} ({values['upn']})", "upn")
    return AccountEntry(**values)


def _app(entry: Mapping[str, Any], where: str) -> AppEntry:
    return AppEntry(**_checked(entry, "app", where))


def _require_address(value: str, where: str, name: str) -> None:
    local, at, domain = value.partition("@")
    if not (local and at and domain) or any(c.isspace() for c in value):
        raise DirectoryError(
            f"{where}: field {name!r} is {value!r}, not an address like a@b.example"
        )


def _refuse_duplicates(source: str, kind: str, name: str, values: Iterable[str]) -> None:
    seen: dict[str, int] = {}
    for number, value in enumerate(values, 1):
        if value.casefold() in seen:
            raise DirectoryError(
                f"{source}: [[{kind}]] #{number}: field {name!r} {value!r} "
                f"repeats [[{kind}]] #{seen[value.casefold()]}"
            )
        seen[value.casefold()] = number


def _refuse_unknown_grants(where: str, name: str, grants: tuple[str, ...], known: set[str]) -> None:
    for grant in grants:
        if grant != ALL_MAILBOXES and grant.casefold() not in known:
            raise DirectoryError(
                f"{where}: field {name!r} names {grant!r}, which is no [[mailbox]]"
            )


# --- writing -----------------------------------------------------------------------------


def write_directory(directory: Directory, path: str | Path) -> None:
    """Write `directory` in the file format above (readable again by `load_directory`)."""
    blocks: list[str] = []
    for kind, entries in (
        ("mailbox", directory.mailboxes),
        ("account", directory.accounts),
        ("app", directory.apps),
    ):
        for entry in entries:
            lines = [f"[[{kind}]]"]
            lines += [f"{name} = {_toml_value(getattr(entry, name))}" for name in _FIELDS[kind]]
            blocks.append("\n".join(lines))
    Path(path).write_text("\n\n".join(blocks) + "\n", encoding="utf-8")


def _toml_value(value: str | tuple[str, ...]) -> str:
    # A JSON string is a valid TOML basic string (same quotes and escapes, \uXXXX included).
    if isinstance(value, tuple):
        return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)
