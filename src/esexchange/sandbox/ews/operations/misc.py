"""ConvertId (exchangelib's version probe) and ResolveNames (against the directory)."""

from __future__ import annotations

import base64
import binascii

from lxml import etree

from esexchange.sandbox.ews import soap
from esexchange.sandbox.ews.errors import EwsError
from esexchange.sandbox.ews.operations import Context, children, respond
from esexchange.sandbox.ews.soap import NSMAP, m, t

XSI = "http://www.w3.org/2001/XMLSchema-instance"
# An EWS id is the URL-safe-free base64 of the store entry id in the sandbox.
ID_FORMATS = ("EwsId", "EwsLegacyId", "EntryId", "HexEntryId")


def _to_bytes(value: str, id_format: str) -> bytes:
    try:
        if id_format == "HexEntryId":
            return bytes.fromhex(value)
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise EwsError("ErrorInvalidIdMalformed", "Id is malformed.") from None


def _from_bytes(raw: bytes, id_format: str) -> str:
    if id_format == "HexEntryId":
        return raw.hex().upper()
    return base64.b64encode(raw).decode()


def convert_id(ctx: Context, op: etree._Element) -> etree._Element:
    """ConvertId between EwsId, EwsLegacyId, EntryId and HexEntryId."""
    destination = op.get("DestinationFormat", "EwsId")

    def handle(source: etree._Element, message: etree._Element) -> None:
        id_format = source.get("Format", "")
        if id_format not in ID_FORMATS or destination not in ID_FORMATS:
            raise EwsError("ErrorInvalidIdMalformed", f"Id format {id_format} is not supported.")
        raw = _to_bytes(source.get("Id", ""), id_format)
        if len(raw) < 12:
            raise EwsError("ErrorInvalidIdMalformed", "Id is malformed.")
        converted = etree.SubElement(message, m("AlternateId"), nsmap={"xsi": XSI})
        converted.set(f"{{{XSI}}}type", "t:AlternateIdType")
        converted.set("Format", destination)
        converted.set("Id", _from_bytes(raw, destination))
        converted.set("Mailbox", source.get("Mailbox", ""))

    return respond("ConvertId", children(op.find(m("SourceIds"))), handle)


def resolve_names(ctx: Context, op: etree._Element) -> etree._Element:
    """ResolveNames: mailboxes of the directory whose name or address starts with the entry."""
    entry = (op.findtext(m("UnresolvedEntry")) or "").strip()
    wanted = entry.removeprefix("SMTP:").removeprefix("smtp:").casefold()
    found = [
        (name, email)
        for name, email in ctx.people()
        if email.casefold() == wanted
        or any(part.casefold().startswith(wanted) for part in (name, email, *name.split()))
    ]
    exact = [person for person in found if person[1].casefold() == wanted]
    found = exact or found
    response = etree.Element(m("ResolveNamesResponse"), nsmap=NSMAP)
    messages = etree.SubElement(response, m("ResponseMessages"))
    tag = "ResolveNamesResponseMessage"
    if not found:
        soap.error_message(
            messages, tag, EwsError("ErrorNameResolutionNoResults", "No results were found.")
        )
        return response
    if len(found) > 1:
        message = soap.error_message(
            messages,
            tag,
            EwsError("ErrorNameResolutionMultipleResults", "Multiple results were found."),
        )
    else:
        message = soap.success(messages, tag)
    resolutions = etree.SubElement(message, m("ResolutionSet"))
    resolutions.set("TotalItemsInView", str(len(found)))
    resolutions.set("IncludesLastItemInRange", "true")
    for name, email in found[:100]:
        mailbox = etree.SubElement(etree.SubElement(resolutions, t("Resolution")), t("Mailbox"))
        etree.SubElement(mailbox, t("Name")).text = name
        etree.SubElement(mailbox, t("EmailAddress")).text = email
        etree.SubElement(mailbox, t("RoutingType")).text = "SMTP"
        etree.SubElement(mailbox, t("MailboxType")).text = "Mailbox"
    return response


HANDLERS = {"ConvertId": convert_id, "ResolveNames": resolve_names}
