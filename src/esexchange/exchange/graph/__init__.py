"""The Microsoft Graph adapter (Exchange Online): httpx for the wire, msal for tokens.

``GraphConnection`` is the ``exchange.port.Exchange`` of a ``--backend graph``
connection; its ``mailbox()`` is a ``GraphMailbox`` (``exchange.port.Mailbox``).
"""

from esexchange.exchange.graph.connection import GraphConnection
from esexchange.exchange.graph.mailbox import GraphMailbox
from esexchange.exchange.graph.settings import GraphSettings

__all__ = ["GraphConnection", "GraphMailbox", "GraphSettings"]
