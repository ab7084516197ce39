"""Helpers shared by the EWS sandbox tests: raw SOAP requests and probe extended properties."""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from exchangelib import CalendarItem, ExtendedProperty, Task
from lxml import etree

from tests.support.sandbox import SERVICE_PASSWORD, SERVICE_UPN

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
NS = {"s": SOAP, "m": M, "t": T, "e": "http://schemas.microsoft.com/exchange/services/2006/errors"}


class ErpId(ExtendedProperty):
    """A named string property of the tests' own, like the ERP id the sync stamps.

    Not the adapter's ``ErpIdProperty``: its own set and name, so both can be registered
    in one process.
    """

    property_set_id = "3f0f9d1a-4c0b-4f6e-9a55-2f7d2f1e6c01"
    property_name = "esExchange.ErpId"
    property_type = "String"


class ErpRevision(ExtendedProperty):
    """A second, integer-typed property, for restrictions that compare numbers."""

    property_set_id = "3f0f9d1a-4c0b-4f6e-9a55-2f7d2f1e6c01"
    property_name = "esExchange.Revision"
    property_type = "Integer"


@contextmanager
def registered_properties() -> Iterator[None]:
    """Register the probe properties on CalendarItem and Task for a test."""
    pairs = [
        (cls, name, prop)
        for cls in (CalendarItem, Task)
        for name, prop in (("probe_erp_id", ErpId), ("probe_revision", ErpRevision))
    ]
    for cls, name, prop in pairs:
        cls.register(name, prop)
    try:
        yield
    finally:
        for cls, name, _ in pairs:
            cls.deregister(name)


def envelope(body: str, *, impersonate: str | None = None, version: str = "Exchange2016") -> str:
    """A SOAP request envelope around ``body`` (which uses the m: and t: prefixes)."""
    header = f'<t:RequestServerVersion Version="{version}"/>'
    if impersonate:
        header += (
            "<t:ExchangeImpersonation><t:ConnectingSID>"
            f"<t:PrimarySmtpAddress>{impersonate}</t:PrimarySmtpAddress>"
            "</t:ConnectingSID></t:ExchangeImpersonation>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<s:Envelope xmlns:s="{SOAP}" xmlns:m="{M}" xmlns:t="{T}">'
        f"<s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    )


@functools.cache
def _client() -> httpx.Client:
    return httpx.Client(auth=(SERVICE_UPN, SERVICE_PASSWORD))  # one pool for the whole run


def post(url: str, body: str, *, impersonate: str | None = None) -> tuple[int, etree._Element]:
    """POST a raw SOAP request as the service account; (status, parsed response)."""
    response = _client().post(
        url,
        content=envelope(body, impersonate=impersonate).encode(),
        headers={"Content-Type": "text/xml; charset=utf-8"},
    )
    return response.status_code, etree.fromstring(response.content)


def response_codes(root: etree._Element) -> list[str]:
    """The ResponseCode of every response message of a response envelope."""
    return [code.text or "" for code in root.iterfind(".//m:ResponseCode", NS)]


# An id of the sandbox's form that names nothing: ErrorItemNotFound/ErrorFolderNotFound,
# where a malformed one is ErrorInvalidIdMalformed.
WELL_FORMED_UNKNOWN = base64.b64encode(bytes(4) + b"\xff" * 8 + b"\x02" + bytes(16)).decode()
