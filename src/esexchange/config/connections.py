"""Connections and their options, stored in ``esx_connection``.

The secret (password or client secret) is encrypted with ``esexchange.secrets`` before
it reaches the database and is only decrypted by ``connection_secret``, for the adapter
that signs in. Options are stored as JSON holding only the keys an administrator set, so
"unset, the default applies" stays visible and a changed default reaches every
connection that never chose otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from esexchange.config._db import writing
from esexchange.config.errors import ConnectionExists, ConnectionNotFound, InvalidConnection
from esexchange.config.model import (
    Auth,
    Backend,
    ConnectionChange,
    ConnectionConfig,
    needs_new_secret,
    validate_connection,
    validate_time_zone,
    validate_url,
)
from esexchange.config.reference import find_activity_type, find_priority
from esexchange.domain.errors import InvalidOption
from esexchange.domain.options import OPTION_KEYS, ConnectionOptions, parse_option, remaps
from esexchange.erp.port import Scope
from esexchange.erp.schema import (
    esx_connection,
    esx_cursor,
    esx_lease,
    esx_link,
    esx_personnel,
)
from esexchange.erp.store import reset_cursors
from esexchange.hostzone import host_time_zone
from esexchange.secrets import SecretBox, secret_box

__all__ = [
    "RESET",
    "OptionSetting",
    "add_connection",
    "connection_id",
    "connection_secret",
    "get_connection",
    "list_connections",
    "option_settings",
    "options",
    "remove_connection",
    "set_connection_secret",
    "set_option",
    "set_options",
    "store_ews_url",
    "update_connection",
]

_DEFAULTS = ConnectionOptions()
RESET = "default"
"""The option value that removes an administrator's choice, so the default applies again."""


def add_connection(
    engine: Engine, config: ConnectionConfig, secret: str, *, box: SecretBox | None = None
) -> int:
    """Store a new connection with its secret encrypted; returns its id.

    Raises ``InvalidConnection`` (a setting that cannot be used), ``InvalidOption`` (a
    bad time zone) or ``ConnectionExists``.
    """
    validate_connection(config)
    if not secret:
        what = "password" if config.auth is Auth.USER else "client secret"
        raise InvalidConnection(f"connection {config.name!r}: the {what} is empty")
    encrypted = (box or secret_box()).encrypt(secret)
    explicit = {
        key: _to_json(getattr(config.options, key))
        for key in OPTION_KEYS
        if getattr(config.options, key) != getattr(_DEFAULTS, key)
    }
    values = {
        "name": config.name,
        "backend": config.backend.value,
        "ews_url": config.ews_url,
        "autodiscover_email": config.autodiscover_email,
        "autodiscover_url": config.autodiscover_url,
        "auth": config.auth.value,
        "upn": config.upn,
        "tenant_id": config.tenant_id,
        "client_id": config.client_id,
        "token_url": config.token_url,
        "graph_url": config.graph_url,
        "ca_bundle": config.ca_bundle,
        "accept_untrusted": config.accept_untrusted,
        "secret_encrypted": encrypted,
        "options_json": json.dumps(explicit, sort_keys=True),
    }
    try:
        with writing(engine) as db:
            if db.scalar(select(esx_connection.c.id).where(esx_connection.c.name == config.name)):
                raise ConnectionExists(f"a connection named {config.name!r} exists already")
            result = db.execute(insert(esx_connection).values(values))
    except IntegrityError:  # the same name added concurrently
        raise ConnectionExists(f"a connection named {config.name!r} exists already") from None
    (connection_id,) = result.inserted_primary_key or (None,)
    assert isinstance(connection_id, int)
    return connection_id


def get_connection(engine: Engine, name: str) -> ConnectionConfig:
    """The connection called ``name``; ``ConnectionNotFound`` lists the known names."""
    with engine.connect() as db:
        return _config(_row(db, name))


def list_connections(engine: Engine) -> list[ConnectionConfig]:
    """Every connection, by name."""
    with engine.connect() as db:
        rows = db.execute(select(esx_connection).order_by(esx_connection.c.name))
        return [_config(row) for row in rows]


def remove_connection(engine: Engine, name: str) -> None:
    """Delete a connection with its personnel, links, cursors and leases.

    The history (passes, conflicts, audit log) is kept: it outlives the connection.
    """
    with writing(engine) as db:
        connection_id = _row(db, name).id
        for table in (esx_personnel, esx_link, esx_cursor, esx_lease):
            db.execute(delete(table).where(table.c.connection_id == connection_id))
        db.execute(delete(esx_connection).where(esx_connection.c.id == connection_id))


def connection_secret(engine: Engine, name: str, *, box: SecretBox | None = None) -> str:
    """The clear password or client secret of a connection, for signing in only.

    Raises ``SecretUnreadable`` (naming the connection) when the present key is not the
    one it was stored with. Never print or log the result.
    """
    with engine.connect() as db:
        row = _row(db, name)
    if not row.secret_encrypted:
        raise InvalidConnection(
            f"connection {name!r} has no stored secret; enter it with "
            f"`esexchange connection secret {name}`"
        )
    return (box or secret_box()).decrypt(row.secret_encrypted, owner=f"connection {name!r}")


def set_connection_secret(
    engine: Engine, name: str, secret: str, *, box: SecretBox | None = None
) -> None:
    """Replace a connection's secret (a changed password, a new client secret)."""
    if not secret:
        raise InvalidConnection(f"connection {name!r}: the secret is empty")
    encrypted = (box or secret_box()).encrypt(secret)
    with writing(engine) as db:
        connection_id = _row(db, name).id
        db.execute(
            update(esx_connection)
            .where(esx_connection.c.id == connection_id)
            .values(secret_encrypted=encrypted)
        )


def update_connection(
    engine: Engine,
    name: str,
    change: ConnectionChange,
    *,
    secret: str | None = None,
    box: SecretBox | None = None,
) -> ConnectionConfig:
    """Change a stored connection's server, sign-in or TLS trust; returns it as stored.

    Only what ``change`` names changes (see ``ConnectionChange``); ``secret``, when
    given, replaces the stored one, and is required when the connection starts signing
    in as another account (``needs_new_secret``). Personnel, links and sync states
    (cursors) are kept: a new URL of the same Exchange organisation, or another service
    account in it, reaches the same mailboxes, and item ids and sync states belong to
    the mailbox, not to the server or the account. Pointing a connection at a different
    Exchange organisation would make every link point at nothing: that needs a new
    connection (``add_connection``).

    Raises ``InvalidConnection`` (nothing to change, a setting that cannot be used, a
    missing or empty secret) or ``ConnectionNotFound``.
    """
    if change.is_empty() and secret is None:
        raise InvalidConnection(f"connection {name!r}: nothing to change")
    if secret == "":
        raise InvalidConnection(f"connection {name!r}: the secret is empty")
    with writing(engine) as db:
        row = _row(db, name, for_update=True)
        current = _config(row)
        changed = change.applied_to(current)
        validate_connection(changed)
        if secret is None and needs_new_secret(current, changed):
            raise InvalidConnection(f"connection {name!r}: {_secret_wanted(changed)}")
        values: dict[str, object] = {
            column: getattr(changed, column) for column in _SERVER_AND_SIGN_IN_COLUMNS
        }
        values["auth"] = changed.auth.value
        if secret is not None:
            values["secret_encrypted"] = (box or secret_box()).encrypt(secret)
        db.execute(update(esx_connection).where(esx_connection.c.id == row.id).values(values))
        return _config(_row(db, name))


_SERVER_AND_SIGN_IN_COLUMNS = (
    "ews_url", "autodiscover_email", "autodiscover_url", "upn", "tenant_id", "client_id",
    "token_url", "graph_url", "ca_bundle", "accept_untrusted",
)


def _secret_wanted(changed: ConnectionConfig) -> str:
    if changed.auth is Auth.USER:
        return f"signing in as {changed.upn} needs its password (--password-stdin or the prompt)"
    return (f"signing in as app {changed.client_id} needs its client secret "
            "(--client-secret-stdin or the prompt)")


def store_ews_url(engine: Engine, name: str, url: str) -> None:
    """Remember the EWS URL that Autodiscover found, so later passes skip the lookup."""
    validate_url("EWS URL", url)
    with writing(engine) as db:
        connection_id = _row(db, name).id
        db.execute(
            update(esx_connection).where(esx_connection.c.id == connection_id).values(ews_url=url)
        )


# --- options ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OptionSetting:
    """One option of a connection: its value, and whether an administrator set it."""

    key: str
    value: object
    explicit: bool


def options(engine: Engine, name: str) -> ConnectionOptions:
    """The options of a connection, defaults filled in for keys never set."""
    return get_connection(engine, name).options


def option_settings(engine: Engine, name: str) -> list[OptionSetting]:
    """Every option key in display order, with its value and whether it was set."""
    with engine.connect() as db:
        row = _row(db, name)
    explicit = json.loads(row.options_json or "{}")
    current = _options(name, explicit)
    return [OptionSetting(key, getattr(current, key), key in explicit) for key in OPTION_KEYS]


def set_option(engine: Engine, name: str, key: str, text: str) -> ConnectionOptions:
    """Set one option from the administrator's text, or unset it with ``"default"``.

    Raises ``InvalidOption`` naming the key and the accepted values, or
    ``ReferenceNotFound`` for a priority or activity type the ERP does not have
    (those are given by id/number or by name).
    """
    return set_options(engine, name, {key: text})


def set_options(engine: Engine, name: str, texts: Mapping[str, str]) -> ConnectionOptions:
    """Set several options at once: all of them, or none when one is refused.

    A change of how items map (``domain.options.remaps``: the ERP time zone, the
    priority map, activity types, the text trailers) makes the next pass of every
    employee read everything again, so every linked pair is mapped anew; the links make
    that write only the fields whose mapped value changed.
    """
    with writing(engine) as db:
        row = _row(db, name, for_update=True)
        explicit: dict[str, object] = json.loads(row.options_json or "{}")
        before = _options(name, dict(explicit))
        for key, text in texts.items():
            _apply(db, name, explicit, key, text)
        db.execute(
            update(esx_connection)
            .where(esx_connection.c.id == row.id)
            .values(options_json=json.dumps(explicit, sort_keys=True))
        )
        after = _options(name, explicit)
        if remaps(before, after):
            employees = db.execute(select(esx_cursor.c.employee_id).distinct()
                                   .where(esx_cursor.c.connection_id == row.id)).scalars()
            for employee_id in list(employees):
                reset_cursors(db, Scope(row.id, employee_id))
    return after


def _apply(db: Connection, name: str, explicit: dict[str, object], key: str, text: str) -> None:
    """Record one option in ``explicit`` (the keys set by an administrator)."""
    if key not in OPTION_KEYS:
        parse_option(_DEFAULTS, key, text)  # raises: unknown key, listing the known ones
    lowered = text.strip().lower()
    if lowered == RESET or (lowered in ("none", "") and getattr(_DEFAULTS, key) is None):
        explicit.pop(key, None)
        return
    current = _options(name, explicit)
    if key in ("priority_low", "priority_normal", "priority_high"):
        text = str(find_priority(db, text).id)
    elif key.startswith("default_activity_type_"):
        text = str(find_activity_type(db, text))
    elif key == "start_sync_at":
        text = _in_erp_zone(text, current)
    value = getattr(parse_option(current, key, text), key)
    if key == "erp_time_zone":
        validate_time_zone(str(value))
    explicit[key] = _to_json(value)


def _in_erp_zone(text: str, current: ConnectionOptions) -> str:
    """A time without an offset is the ERP's local time, as every time in the ERP is."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return text  # parse_option explains what is accepted
    if moment.tzinfo is not None:
        return text
    zone = ZoneInfo(current.erp_time_zone or host_time_zone())
    return moment.replace(tzinfo=zone).isoformat()


# --- rows <-> values ---------------------------------------------------------------------


def connection_id(db: Connection, name: str) -> int:
    """The id of the connection called ``name`` (``ConnectionNotFound`` otherwise)."""
    return int(_row(db, name).id)


def _row(db: Connection, name: str, *, for_update: bool = False) -> Row[tuple[object, ...]]:
    query = select(esx_connection).where(esx_connection.c.name == name)
    if for_update:
        query = query.with_for_update()
    row = db.execute(query).first()
    if row is None:
        known = db.scalars(select(esx_connection.c.name)).all()
        raise ConnectionNotFound(name, known)
    return row


def _config(row: Row[tuple[object, ...]]) -> ConnectionConfig:
    return ConnectionConfig(
        id=row.id,
        name=row.name,
        backend=Backend(row.backend),
        auth=Auth(row.auth),
        ews_url=row.ews_url,
        autodiscover_email=row.autodiscover_email,
        autodiscover_url=row.autodiscover_url,
        upn=row.upn,
        tenant_id=row.tenant_id,
        client_id=row.client_id,
        token_url=row.token_url,
        graph_url=row.graph_url,
        ca_bundle=row.ca_bundle,
        accept_untrusted=bool(row.accept_untrusted),
        secret_stored=bool(row.secret_encrypted),
        options=_options(row.name, json.loads(row.options_json or "{}")),
        created_at=row.created_at,
    )


def _options(name: str, explicit: dict[str, object]) -> ConnectionOptions:
    """Rebuild options through ``parse_option``, the one parser of option values."""
    result = _DEFAULTS
    for key, value in explicit.items():
        text = ("on" if value else "off") if isinstance(value, bool) else str(value)
        try:
            result = parse_option(result, key, text)
        except InvalidOption as error:
            raise InvalidOption(
                f"connection {name!r} has a stored {error}; set it again with "
                f"`esexchange options set {name} {key} VALUE`"
            ) from None
    return result


def _to_json(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool | int):
        return value
    return str(value)  # enums and names

