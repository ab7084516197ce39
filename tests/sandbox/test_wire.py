"""The SOAP layer: schema validation, faults, server version, folders, names, concurrency."""

from __future__ import annotations

import threading

import httpx
import pytest
from exchangelib import CalendarItem, EWSDateTime, EWSTimeZone
from exchangelib.errors import ErrorImpersonateUserDenied
from exchangelib.items import SEND_TO_NONE
from exchangelib.version import Build

from tests.sandbox.ews_support import NS, WELL_FORMED_UNKNOWN, envelope, post, response_codes
from tests.support.sandbox import (
    ANNA,
    BEN,
    CARL,
    NARROW_PASSWORD,
    NARROW_UPN,
    SERVICE_PASSWORD,
    SERVICE_UPN,
    RunningSandbox,
)

BERLIN = EWSTimeZone("Europe/Berlin")
SOAP_TYPE = {"Content-Type": "text/xml; charset=utf-8"}
AUTH = (SERVICE_UPN, SERVICE_PASSWORD)
VERSION = {
    "MajorVersion": "15",
    "MinorVersion": "1",
    "MajorBuildNumber": "2507",
    "MinorBuildNumber": "6",
    "Version": "V2017_07_11",
}


def test_a_request_that_breaks_the_schema_gets_exchanges_fault(ews: RunningSandbox) -> None:
    """An unknown element inside a valid operation, and XML that is not well-formed.

    Exchange answers HTTP 500 with a SOAP fault ``a:ErrorSchemaValidation`` whose detail
    carries the ResponseCode and a MessageXml with the line, position and violation.
    """
    bad = (
        "<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:Colour>red</t:Colour>"
        '</m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="calendar"/></m:FolderIds>'
        "</m:GetFolder>"
    )
    for payload in (envelope(bad, impersonate=ANNA).encode(), b"<s:Envelope><unclosed>"):
        response = httpx.post(ews.url, content=payload, headers=SOAP_TYPE, auth=AUTH)
        assert response.status_code == 500
        root = etree_of(response)
        fault = root.find(".//s:Fault", NS)
        assert fault is not None
        assert fault.findtext("faultcode") == "a:ErrorSchemaValidation"
        assert root.findtext(".//s:Fault/detail/e:ResponseCode", namespaces=NS) == (
            "ErrorSchemaValidation"
        )
        assert "schema validation" in (fault.findtext("faultstring") or "")
        assert root.findtext(".//detail/t:MessageXml/t:Violation", namespaces=NS)
    assert ews.mailbox(ANNA).items == {}


def test_wrong_values_are_schema_errors_too(ews: RunningSandbox) -> None:
    """An enumeration value the schema does not know is rejected before any operation runs."""
    bad = (
        '<m:CreateItem SendMeetingInvitations="SendToEveryone"><m:Items><t:CalendarItem>'
        "<t:Subject>x</t:Subject></t:CalendarItem></m:Items></m:CreateItem>"
    )
    status, root = post(ews.url, bad, impersonate=ANNA)
    assert status == 500 and root.findtext(".//faultcode") == "a:ErrorSchemaValidation"
    assert ews.mailbox(ANNA).items == {}


def etree_of(response: httpx.Response):  # type: ignore[no-untyped-def]
    from lxml import etree

    return etree.fromstring(response.content)


def test_every_response_names_the_server_version(ews: RunningSandbox) -> None:
    """ServerVersionInfo of Exchange 2016 CU23, in answers and in faults alike."""
    ok = (
        "<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>"
        '<m:FolderIds><t:DistinguishedFolderId Id="tasks"/></m:FolderIds></m:GetFolder>'
    )
    for body in (ok, "<m:GetFolder/>"):
        _, root = post(ews.url, body, impersonate=ANNA)
        info = root.find("s:Header/t:ServerVersionInfo", NS)
        assert info is not None and dict(info.attrib) == VERSION


def test_exchangelib_probes_the_version_with_convert_id(ews: RunningSandbox) -> None:
    """exchangelib's version guess (a ConvertId) ends on Exchange 2016."""
    account = ews.account(ANNA, probe_version=True)
    assert account.version.build == Build(15, 1, 2507, 6)
    assert account.version.api_version == "Exchange2016"
    convert = (
        '<m:ConvertId DestinationFormat="HexEntryId"><m:SourceIds>'
        f'<t:AlternateId Format="EwsId" Id="AAECAwQFBgcICQoLDA0ODw==" Mailbox="{ANNA}"/>'
        f'<t:AlternateId Format="EwsId" Id="DUMMY" Mailbox="{ANNA}"/>'
        "</m:SourceIds></m:ConvertId>"
    )
    _, root = post(ews.url, convert, impersonate=ANNA)
    assert response_codes(root) == ["NoError", "ErrorInvalidIdMalformed"]
    converted = root.find(".//m:AlternateId", NS)
    assert converted is not None and converted.get("Id") == "000102030405060708090A0B0C0D0E0F"


def test_distinguished_folders(ews: RunningSandbox) -> None:
    """GetFolder and FindFolder over the distinguished folders."""
    account = ews.account(ANNA)
    assert account.calendar.folder_class == "IPF.Appointment"
    assert account.tasks.folder_class == "IPF.Task"
    assert account.contacts.folder_class == "IPF.Contact"
    assert account.trash.name == "Deleted Items"
    children = {f.name for f in account.msg_folder_root.children}
    assert {"Calendar", "Tasks", "Contacts", "Deleted Items", "Inbox"} <= children
    assert account.root.get_folder(account.calendar).id == account.calendar.id
    _, root = post(
        ews.url,
        "<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>"
        '<m:FolderIds><t:DistinguishedFolderId Id="calendar"/><t:FolderId Id="AAAA"/>'
        f'<t:FolderId Id="{WELL_FORMED_UNKNOWN}"/></m:FolderIds></m:GetFolder>',
        impersonate=ANNA,
    )
    assert response_codes(root) == ["NoError", "ErrorInvalidIdMalformed", "ErrorFolderNotFound"]


def test_resolve_names_searches_the_directory(ews: RunningSandbox) -> None:
    """One match resolves; several are a warning with all of them; none is an error."""
    protocol = ews.account(ANNA).protocol
    (only,) = protocol.resolve_names(["carl"])
    assert (only.email_address, only.name) == (CARL, "Carl Schmidt")
    resolve = (
        '<m:ResolveNames ReturnFullContactData="false"><m:UnresolvedEntry>{entry}'
        "</m:UnresolvedEntry></m:ResolveNames>"
    )
    found = {}
    for entry in ("b", "SMTP:ben.kraus@example.test"):  # b: Ben Kraus and Anna Berger
        _, root = post(ews.url, resolve.format(entry=entry), impersonate=ANNA)
        emails = [e.text for e in root.iterfind(".//t:Resolution/t:Mailbox/t:EmailAddress", NS)]
        found[entry] = (response_codes(root), sorted(emails))
    assert found == {
        "b": (["ErrorNameResolutionMultipleResults"], [ANNA, BEN]),
        "SMTP:ben.kraus@example.test": (["NoError"], [BEN]),
    }
    _, root = post(
        ews.url,
        '<m:ResolveNames ReturnFullContactData="false"><m:UnresolvedEntry>zz</m:UnresolvedEntry>'
        "</m:ResolveNames>",
        impersonate=ANNA,
    )
    assert response_codes(root) == ["ErrorNameResolutionNoResults"]


def test_impersonation_is_enforced_through_the_sandbox(ews: RunningSandbox) -> None:
    """The narrow account may impersonate Ben only."""
    allowed = ews.account(BEN, upn=NARROW_UPN, password=NARROW_PASSWORD)
    assert list(allowed.calendar.all()) == []
    denied = ews.account(ANNA, upn=NARROW_UPN, password=NARROW_PASSWORD)
    with pytest.raises(ErrorImpersonateUserDenied):
        list(denied.calendar.all())


def test_two_clients_writing_at_once(ews: RunningSandbox) -> None:
    """Two exchangelib clients create and update items in one mailbox concurrently."""
    errors: list[BaseException] = []

    def write(tag: str) -> None:
        try:
            account = ews.account(ANNA)
            for n in range(12):
                item = CalendarItem(
                    account=account, folder=account.calendar, subject=f"{tag} {n}",
                    start=EWSDateTime(2026, 12, 1 + n, 9, tzinfo=BERLIN),
                    end=EWSDateTime(2026, 12, 1 + n, 10, tzinfo=BERLIN),
                )  # fmt: skip
                item.save(send_meeting_invitations=SEND_TO_NONE)
                item.subject += " (edited)"
                item.save(update_fields=["subject"], send_meeting_invitations=SEND_TO_NONE)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=write, args=(tag,)) for tag in ("left", "right")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    subjects = sorted(i.subject for i in ews.account(ANNA).calendar.all())
    expected = sorted(f"{tag} {n} (edited)" for tag in ("left", "right") for n in range(12))
    assert subjects == expected
    mailbox = ews.mailbox(ANNA)
    keys = [item.change_key for item in mailbox.items.values()]
    assert len(set(keys)) == len(keys) == 24
    changes = list(ews.account(ANNA).calendar.sync_items())
    assert [kind for kind, _ in changes] == ["create"] * 24


def test_the_schema_files_are_served_like_exchange_does(ews: RunningSandbox) -> None:
    """GET /EWS/types.xsd and /EWS/Services.wsdl, as clients that read the WSDL expect."""
    base = ews.url.rsplit("/", 1)[0]
    for name, marker in (("types.xsd", b"ItemType"), ("Services.wsdl", b"wsdl:definitions")):
        response = httpx.get(f"{base}/{name}")
        assert response.status_code == 200 and marker in response.content


def test_time_zone_context_header_is_accepted(ews: RunningSandbox) -> None:
    """Exchange 2010+ clients send a TimeZoneContext header: times without an offset are in
    its zone; they are stored, and come back, in UTC."""
    request = envelope(
        '<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem>'
        "<t:Subject>zoned</t:Subject><t:Start>2026-12-01T09:00:00</t:Start>"
        "<t:End>2026-12-01T10:00:00</t:End></t:CalendarItem></m:Items></m:CreateItem>",
        impersonate=ANNA,
    ).replace(
        "</s:Header>",
        '<t:TimeZoneContext><t:TimeZoneDefinition Id="W. Europe Standard Time"/>'
        "</t:TimeZoneContext></s:Header>",
    )
    response = httpx.post(ews.url, content=request, headers=SOAP_TYPE, auth=AUTH)
    assert response.status_code == 200 and response_codes(etree_of(response)) == ["NoError"]
    (item,) = ews.mailbox(ANNA).items.values()
    assert item.fields["Start"].isoformat() == "2026-12-01T08:00:00+00:00"


def test_delegate_access_names_the_mailbox_in_the_folder_id(ews: RunningSandbox) -> None:
    """Without impersonation, a DistinguishedFolderId's Mailbox picks the mailbox."""
    body = (
        '<m:FindFolder Traversal="Deep"><m:FolderShape><t:BaseShape>Default</t:BaseShape>'
        '</m:FolderShape><m:ParentFolderIds><t:DistinguishedFolderId Id="msgfolderroot">'
        f"<t:Mailbox><t:EmailAddress>{BEN}</t:EmailAddress></t:Mailbox>"
        "</t:DistinguishedFolderId></m:ParentFolderIds></m:FindFolder>"
    )
    status, root = post(ews.url, body)
    assert status == 200 and response_codes(root) == ["NoError"]
    names = [n.text for n in root.iterfind(".//t:Folders/*/t:DisplayName", NS)]
    assert {"Calendar", "Tasks", "Contacts", "Deleted Items"} <= set(names)
    assert set(ews.sandbox.backend.mailboxes) == {BEN}
    refused = body.replace(BEN, "nobody@example.test")
    status, root = post(ews.url, refused)
    assert status == 500 and root.findtext(".//faultcode") == "a:ErrorNonExistentMailbox"


def test_folder_properties(ews: RunningSandbox) -> None:
    """GetFolder with AllProperties: classes, counts, rights, parents.

    MS-OXWSFOLD_R66 MS-OXWSFOLD_R6602 MS-OXWSFOLD_R68 MS-OXWSFOLD_R6801 MS-OXWSFOLD_R69
    MS-OXWSFOLD_R70 MS-OXWSFOLD_R585 MS-OXWSFOLD_R587 MS-OXWSFOLD_R589 MS-OXWSFOLD_R5892
    MS-OXWSFOLD_R589201 MS-OXWSFOLD_R71 MS-OXWSFOLD_R7101 MS-OXWSFOLD_R7102 MS-OXWSFOLD_R72
    MS-OXWSFOLD_R7201 MS-OXWSFOLD_R5900 MS-OXWSFOLD_R75 MS-OXWSFOLD_R7501 MS-OXWSFOLD_R5912
    MS-OXWSFOLD_R81 MS-OXWSFOLD_R810107 MS-OXWSFOLD_R810109 MS-OXWSFOLD_R8101011
    MS-OXWSFOLD_R5934 MS-OXWSFOLD_R99 MS-OXWSFOLD_R9901 MS-OXWSFOLD_R10010 MS-OXWSFOLD_R10011
    MS-OXWSFOLD_R3864 MS-OXWSFOLD_R38644 MS-OXWSFOLD_R38645 MS-OXWSFOLD_R575 MS-OXWSFOLD_R423
    MS-OXWSFOLD_R426 MS-OXWSFOLD_R8402
    """
    unread = (
        '<m:CreateItem MessageDisposition="SaveOnly"><m:SavedItemFolderId>'
        '<t:DistinguishedFolderId Id="inbox"/></m:SavedItemFolderId><m:Items>'
        "<t:Message><t:Subject>new</t:Subject><t:IsRead>false</t:IsRead></t:Message>"
        "<t:Message><t:Subject>seen</t:Subject><t:IsRead>true</t:IsRead></t:Message>"
        "</m:Items></m:CreateItem>"
    )
    post(ews.url, unread, impersonate=ANNA)
    names = ("calendar", "tasks", "contacts", "inbox", "msgfolderroot")
    ids = "".join(f'<t:DistinguishedFolderId Id="{n}"/>' for n in names)
    request = (
        "<m:GetFolder><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape>"
        f'<m:FolderIds>{ids}<t:FolderId Id="AAAA"/></m:FolderIds></m:GetFolder>'
    )
    _, root = post(ews.url, request, impersonate=ANNA)
    messages = root.findall(".//m:GetFolderResponseMessage", NS)
    assert [m.get("ResponseClass") for m in messages] == ["Success"] * 5 + ["Error"]
    found = {}
    for message in messages[:5]:
        folder = next(iter(message.find("m:Folders", NS)))
        found[folder.findtext("t:DisplayName", namespaces=NS)] = (
            folder.tag.split("}")[1],
            folder.findtext("t:FolderClass", namespaces=NS),
            folder.findtext("t:TotalCount", namespaces=NS),
            folder.findtext("t:ChildFolderCount", namespaces=NS),
            folder.findtext("t:UnreadCount", namespaces=NS),
            folder.findtext("t:EffectiveRights/t:Delete", namespaces=NS),
            folder.find("t:ParentFolderId", NS) is not None
            and folder.find("t:FolderId", NS) is not None,
        )
    assert found == {
        "Calendar": ("CalendarFolder", "IPF.Appointment", "0", "0", None, "true", True),
        "Tasks": ("TasksFolder", "IPF.Task", "0", "0", "0", "true", True),
        "Contacts": ("ContactsFolder", "IPF.Contact", "0", "3", None, "true", True),
        "Inbox": ("Folder", "IPF.Note", "2", "0", "1", "true", True),
        "Top of Information Store": ("Folder", None, "0", "13", "0", "true", True),
    }


# --- strictness, as Exchange (issue 10, item 13) ---------------------------------------

GET_CALENDAR = (
    '<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>'
    '<m:FolderIds><t:DistinguishedFolderId Id="calendar"/></m:FolderIds></m:GetFolder>'
)


def test_a_request_that_is_not_text_xml_is_refused_with_415(ews: RunningSandbox) -> None:
    """EWS is SOAP 1.1: a body of another content type is HTTP 415 Unsupported Media Type,
    after authentication, as IIS answers for Exchange."""
    payload = envelope(GET_CALENDAR, impersonate=ANNA).encode()
    for content_type in ({}, {"Content-Type": "application/json"},
                         {"Content-Type": "application/soap+xml; charset=utf-8"}):  # fmt: skip
        response = httpx.post(ews.url, content=payload, headers=content_type, auth=AUTH)
        assert response.status_code == 415
        assert "text/xml; charset=utf-8" in response.text
    upper = httpx.post(ews.url, content=payload, headers={"Content-Type": "TEXT/XML"}, auth=AUTH)
    assert upper.status_code == 200


def test_a_request_with_a_doctype_is_refused(ews: RunningSandbox) -> None:
    """Exchange reads requests with DTD processing prohibited: a DOCTYPE (the way in for
    entity expansion attacks) fails the request as a schema validation error."""
    payload = envelope(GET_CALENDAR, impersonate=ANNA).replace(
        '<?xml version="1.0" encoding="utf-8"?>',
        '<?xml version="1.0" encoding="utf-8"?><!DOCTYPE s:Envelope [<!ENTITY x "boom">]>',
    )
    response = httpx.post(ews.url, content=payload.encode(), headers=SOAP_TYPE, auth=AUTH)
    assert response.status_code == 500
    root = etree_of(response)
    assert root.findtext(".//faultcode") == "a:ErrorSchemaValidation"
    assert "DTD is prohibited" in (root.findtext(".//faultstring") or "")


def test_an_empty_impersonation_address_is_an_error_not_the_callers_mailbox(
    ews: RunningSandbox,
) -> None:
    """``PrimarySmtpAddress`` is a NonEmptyStringType: an empty one fails the schema
    (Exchange validates the headers too); a blank one names no mailbox. Neither acts on
    the service account's own mailbox."""
    for address, code in (("", "ErrorSchemaValidation"), (" ", "ErrorNonExistentMailbox")):
        payload = envelope(GET_CALENDAR, impersonate="PLACEHOLDER").replace(
            "PLACEHOLDER", address
        )
        response = httpx.post(ews.url, content=payload.encode(), headers=SOAP_TYPE, auth=AUTH)
        assert response.status_code == 500, address
        assert etree_of(response).findtext(".//faultcode") == f"a:{code}"
