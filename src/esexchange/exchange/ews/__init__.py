"""The EWS adapter: the ``Exchange`` and ``Mailbox`` ports on exchangelib, for Exchange
2016/2019/SE and Exchange Online.

    settings = EwsSettings(ews_url=..., auth=UserAuth(upn, password), ca_bundle=...)
    connection = EwsConnection(settings)          # one per Exchange organisation
    mailbox = connection.mailbox("anna@example.com")  # impersonation, no request yet
    mailbox.check(); page = mailbox.changes(Kind.APPOINTMENT, state)

Modules: ``settings`` (what a connection is), ``connection`` (credentials, TLS,
Autodiscover), ``mailbox`` (the port), ``items`` (field conversion and the ERP id
property), ``categories`` (Outlook's master category list), ``services`` (per-element
batch results), ``transport`` (TLS per connection, request counting, bounded waits),
``failures`` (errors in words).
"""

from esexchange.exchange.ews.connection import EwsConnection, discover_ews_url
from esexchange.exchange.ews.items import ErpIdProperty
from esexchange.exchange.ews.mailbox import EwsMailbox
from esexchange.exchange.ews.settings import AppAuth, EwsSettings, UserAuth, validate_upn

__all__ = [
    "AppAuth",
    "ErpIdProperty",
    "EwsConnection",
    "EwsMailbox",
    "EwsSettings",
    "UserAuth",
    "discover_ews_url",
    "validate_upn",
]
