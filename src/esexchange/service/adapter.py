"""From a stored connection to a live Exchange adapter: the one factory of the port.

``open_connection`` picks the adapter by the connection's backend (``OPENERS``); the
rest of ``service/`` sees only the ``exchange.port.Exchange`` protocol it returns.

EWS: the EWS URL is looked up by Autodiscover only when none is stored yet; what it
finds is stored at once, so later passes (and checks) go straight to the server.

``OpenConnections`` keeps the adapters of a long-running service open between its
passes, so a pass over one mailbox does not pay a new connection: new TCP and TLS
sessions, and on Graph a new app token from Entra (the service passes mailbox by
mailbox, thousands per interval).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import Engine

from esexchange import config
from esexchange.config import Auth, Backend, ConnectionConfig
from esexchange.domain.errors import EsExchangeError
from esexchange.exchange.errors import MailboxError
from esexchange.exchange.ews.connection import EwsConnection, discover_ews_url
from esexchange.exchange.ews.settings import AppAuth, EwsSettings, UserAuth
from esexchange.exchange.graph import GraphConnection, GraphSettings
from esexchange.exchange.graph.settings import graph_root_for
from esexchange.exchange.port import Exchange

log = logging.getLogger(__name__)


class BackendNotAvailable(EsExchangeError):
    """The connection uses a backend this esExchange cannot drive yet."""


def ews_settings(engine: Engine, conn: ConnectionConfig, *, time_zone: str = "UTC") -> EwsSettings:
    """The adapter's settings for ``conn``, with its secret decrypted (never logged)."""
    secret = config.connection_secret(engine, conn.name)
    auth: UserAuth | AppAuth
    if conn.auth is Auth.USER:
        assert conn.upn, "a user connection has a UPN"
        auth = UserAuth(conn.upn, secret)
    else:
        assert conn.tenant_id and conn.client_id, "an app connection has tenant and client ids"
        auth = AppAuth(conn.tenant_id, conn.client_id, secret, conn.token_url)
    return EwsSettings(
        ews_url=conn.ews_url or "", auth=auth, name=conn.name,
        ca_bundle=conn.ca_bundle, accept_untrusted=conn.accept_untrusted, time_zone=time_zone,
    )


Opener = Callable[[Engine, ConnectionConfig, str], Exchange]
"""Opens the adapter of one backend: (ERP engine, connection, ERP time zone)."""


def open_connection(engine: Engine, conn: ConnectionConfig, time_zone: str = "UTC") -> Exchange:
    """The adapter of ``conn``'s backend, ready to open mailboxes.

    ``time_zone`` is the ERP's zone: all-day items begin and end at its midnights.
    Raises ``BackendNotAvailable`` for a backend this esExchange has no adapter for.
    """
    opener = OPENERS.get(conn.backend)
    if opener is None:
        raise BackendNotAvailable(
            f"connection {conn.name!r} uses the {conn.backend.value} backend, which this "
            "version of esExchange cannot synchronize yet; use --backend ews"
        )
    return opener(engine, conn, time_zone)


def _open_ews(engine: Engine, conn: ConnectionConfig, time_zone: str) -> EwsConnection:
    """The EWS adapter of ``conn``; runs Autodiscover (and stores its answer) if needed."""
    settings = ews_settings(engine, conn, time_zone=time_zone)
    if not settings.ews_url:
        settings = replace(settings, ews_url=_discover(engine, conn, settings))
    return EwsConnection(settings)


def _discover(engine: Engine, conn: ConnectionConfig, settings: EwsSettings) -> str:
    """Ask Autodiscover for the EWS URL of ``conn`` and store it for every later pass."""
    assert conn.autodiscover_email, "an EWS connection has a URL or an Autodiscover address"
    try:
        url = discover_ews_url(conn.autodiscover_email, settings,
                               autodiscover_url=conn.autodiscover_url)
    except MailboxError as error:
        # Same type, so callers still tell a refused sign-in from an unreachable service.
        raise type(error)(f"connection {conn.name}: {error}") from error
    config.store_ews_url(engine, conn.name, url)
    log.info("connection %s: Autodiscover found %s; stored", conn.name, url)
    return url


def _open_graph(engine: Engine, conn: ConnectionConfig, time_zone: str) -> GraphConnection:
    """The Graph adapter of ``conn`` (an app registration; the secret decrypted here)."""
    assert conn.tenant_id and conn.client_id, "a Graph connection has tenant and client ids"
    return GraphConnection(GraphSettings(
        conn.tenant_id, conn.client_id, config.connection_secret(engine, conn.name),
        name=conn.name, token_url=conn.token_url,
        graph_url=graph_root_for(conn.token_url, conn.graph_url),
        ca_bundle=conn.ca_bundle, accept_untrusted=conn.accept_untrusted,
        time_zone=time_zone, window_future_days=conn.options.window_future_days,
    ))  # fmt: skip


def graph_connection(engine: Engine, conn: ConnectionConfig) -> GraphConnection:
    """A Graph connection's adapter apart from the passes' (change notifications)."""
    return _open_graph(engine, conn, "UTC")


OPENERS: dict[Backend, Opener] = {Backend.EWS: _open_ews, Backend.GRAPH: _open_graph}
"""The adapter for each backend esExchange can drive."""


class OpenConnections:
    """The adapters of a long-running service by connection, open between its passes.

    An adapter is opened again when anything it was opened from changed: the stored
    connection (URL, options...), its secret or the ERP's time zone. The one it replaces
    may still serve a pass in flight, so it is closed only by ``close()``. Thread-safe:
    the service's passes run in several threads, and an adapter serves many at once.
    """

    def __init__(self, opener: Callable[[Engine, ConnectionConfig, str], Exchange] | None = None
                 ) -> None:
        self._open_one = opener or open_connection
        self._open: dict[str, tuple[str, Exchange]] = {}
        self._replaced: list[Exchange] = []
        self._lock = threading.Lock()

    def get(self, engine: Engine, conn: ConnectionConfig, time_zone: str) -> Exchange:
        """The open adapter of ``conn``; opened now if there is none, or if it was
        opened from something that has changed since."""
        secret = config.connection_secret(engine, conn.name)
        made_from = hashlib.sha256(repr((conn, secret, time_zone)).encode()).hexdigest()
        with self._lock:
            held = self._open.get(conn.name)
            if held is not None and held[0] == made_from:
                return held[1]
            exchange = self._open_one(engine, conn, time_zone)
            if held is not None:
                self._replaced.append(held[1])
            self._open[conn.name] = (made_from, exchange)
            return exchange

    def close(self) -> None:
        """Close every adapter (the service stops: no pass is in flight)."""
        with self._lock:
            for exchange in [*(e for _key, e in self._open.values()), *self._replaced]:
                exchange.close()
            self._open.clear()
            self._replaced.clear()
