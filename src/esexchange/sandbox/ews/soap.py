"""SOAP 1.1 envelopes of EWS: reading request headers, writing responses and faults.

This is the one place where a :class:`StoreError` (or :class:`EwsError`) becomes XML,
in either of the two forms Exchange uses: a SOAP fault for a request that fails as a
whole, and an error response message for one element of a batch.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from esexchange.sandbox.ews import schema
from esexchange.sandbox.ews.errors import EwsError
from esexchange.sandbox.models.errors import StoreError

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
E = "http://schemas.microsoft.com/exchange/services/2006/errors"
NSMAP = {"m": M, "t": T}

# The build Exchange 2016 CU23 reports (what exchangelib and Outlook read to pick a version).
SERVER_VERSION = {
    "MajorVersion": "15",
    "MinorVersion": "1",
    "MajorBuildNumber": "2507",
    "MinorBuildNumber": "6",
    "Version": "V2017_07_11",
}

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)


def m(name: str) -> str:
    """Clark name in the messages namespace."""
    return f"{{{M}}}{name}"


def t(name: str) -> str:
    """Clark name in the types namespace."""
    return f"{{{T}}}{name}"


@dataclass(frozen=True)
class Request:
    """A parsed EWS request: the operation element and the headers the sandbox honours."""

    operation: etree._Element
    impersonated_smtp: str | None
    time_zone: etree._Element | None = None  # the TimeZoneDefinition of TimeZoneContext

    @property
    def name(self) -> str:
        """The operation name, e.g. ``GetItem``."""
        return str(etree.QName(self.operation).localname)


def parse_request(payload: bytes) -> Request:
    """Read a SOAP envelope; malformed XML or a missing body is a schema validation error."""
    try:
        root = etree.fromstring(payload, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise EwsError(
            "ErrorSchemaValidation",
            f"The request failed schema validation: {exc.msg}.",
            violation=(exc.lineno or 0, exc.offset or 0, str(exc.msg)),
        ) from exc
    if root.getroottree().docinfo.doctype:
        # Exchange reads requests with DTD processing prohibited (no entity tricks).
        raise EwsError(
            "ErrorSchemaValidation",
            "The request failed schema validation: DTD is prohibited in this XML document.",
            violation=(1, 1, "DTD is prohibited in this XML document."),
        )
    body = root.find(f"{{{SOAP}}}Body") if root.tag == f"{{{SOAP}}}Envelope" else None
    operations = [child for child in body if isinstance(child.tag, str)] if body is not None else []
    if len(operations) != 1:
        raise EwsError(
            "ErrorSchemaValidation",
            "The request failed schema validation: a SOAP 1.1 envelope with one operation "
            "in its body is expected.",
        )
    header = root.find(f"{{{SOAP}}}Header")
    impersonated = None
    if header is not None:
        for element in header:
            if isinstance(element.tag, str) and element.tag.startswith(f"{{{T}}}"):
                schema.validate(element)  # an empty impersonation address, say, is invalid
        sid = header.find(f"{t('ExchangeImpersonation')}/{t('ConnectingSID')}")
        if sid is not None:
            impersonated = next((c.text or "" for c in sid if isinstance(c.tag, str)), None)
        zone = header.find(f"{t('TimeZoneContext')}/{t('TimeZoneDefinition')}")
        return Request(operations[0], impersonated, zone)
    return Request(operations[0], impersonated)


def envelope(body_element: etree._Element | None) -> etree._Element:
    """A response envelope with ``ServerVersionInfo`` in the header, as Exchange sends it."""
    root = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"s": SOAP})
    header = etree.SubElement(root, f"{{{SOAP}}}Header")
    etree.SubElement(header, t("ServerVersionInfo"), SERVER_VERSION, nsmap={"h": T})
    body = etree.SubElement(root, f"{{{SOAP}}}Body")
    if body_element is not None:
        body.append(body_element)
    return root


def fault(error: StoreError) -> etree._Element:
    """The SOAP fault for a request that failed as a whole (served with HTTP 500)."""
    root = envelope(None)
    body = root.find(f"{{{SOAP}}}Body")
    assert body is not None
    node = etree.SubElement(body, f"{{{SOAP}}}Fault")
    code = etree.SubElement(node, "faultcode", nsmap={"a": T})
    code.text = f"a:{error.code}"
    text = etree.SubElement(node, "faultstring")
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "en-US")
    text.text = error.message
    detail = etree.SubElement(node, "detail")
    etree.SubElement(detail, f"{{{E}}}ResponseCode", nsmap={"e": E}).text = error.code
    etree.SubElement(detail, f"{{{E}}}Message", nsmap={"e": E}).text = error.message
    back_off_ms = error.back_off_ms if isinstance(error, EwsError) else None
    violation = error.violation if isinstance(error, EwsError) else None
    if back_off_ms is not None:
        xml = etree.SubElement(detail, t("MessageXml"), nsmap={"t": T})
        value = etree.SubElement(xml, t("Value"), Name="BackOffMilliseconds")
        value.text = str(back_off_ms)
    if violation is not None:
        xml = etree.SubElement(detail, t("MessageXml"), nsmap={"t": T})
        line, position, text = violation
        etree.SubElement(xml, t("LineNumber")).text = str(line)
        etree.SubElement(xml, t("LinePosition")).text = str(position)
        etree.SubElement(xml, t("Violation")).text = text
    return root


def success(parent: etree._Element, tag: str) -> etree._Element:
    """Append a ``ResponseClass="Success"`` response message named ``tag``."""
    message = etree.SubElement(parent, m(tag), ResponseClass="Success")
    etree.SubElement(message, m("ResponseCode")).text = "NoError"
    return message


def error_message(parent: etree._Element, tag: str, error: StoreError) -> etree._Element:
    """Append the response message for one failed element of a batch."""
    warning = error.code in WARNING_CODES
    message = etree.SubElement(parent, m(tag), ResponseClass="Warning" if warning else "Error")
    etree.SubElement(message, m("MessageText")).text = error.message
    etree.SubElement(message, m("ResponseCode")).text = error.code
    etree.SubElement(message, m("DescriptiveLinkKey")).text = "0"
    return message


# Codes Exchange reports with ResponseClass="Warning": the operation still returned data.
WARNING_CODES = frozenset({"ErrorNameResolutionMultipleResults"})


def to_bytes(root: etree._Element) -> bytes:
    """Serialise an envelope with an XML declaration, as Exchange does."""
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))
