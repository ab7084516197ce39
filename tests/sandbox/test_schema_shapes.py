"""Rows of the checklists that restate a type of the schema, proved on the wire.

The sandbox validates every request and (in tests) every response against Microsoft's
``messages.xsd``/``types.xsd``; each test here also validates the response itself and
asserts that the element a row describes is there, with the shape the row gives it, or
that a request breaking the row's pattern is refused as Exchange refuses it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from lxml import etree

from esexchange.sandbox.ews import schema
from tests.sandbox.ews_support import NS, post, response_codes
from tests.support.sandbox import ANNA, RunningSandbox

GUID = "3f0f9d1a-4c0b-4f6e-9a55-2f7d2f1e6c01"


def _valid_body(root: etree._Element) -> etree._Element:
    """The operation's response inside soap:Body, validated against the schema."""
    body = root.find("s:Body", NS)
    assert body is not None
    (response,) = [child for child in body if isinstance(child.tag, str)]
    schema.validate(response)  # raises on an invalid response
    return response


def _create_message(ews: RunningSandbox, extra: str = "") -> str:
    body = (
        '<m:CreateItem MessageDisposition="SaveOnly"><m:Items><t:Message>'
        "<t:Subject>Angebot</t:Subject>"
        '<t:Body BodyType="HTML">&lt;p&gt;Hallo&lt;/p&gt;</t:Body>'
        "<t:Categories><t:String>Kunde</t:String><t:String>Rot</t:String></t:Categories>"
        "<t:ReminderIsSet>false</t:ReminderIsSet>"
        f"{extra}<t:ToRecipients><t:Mailbox><t:Name>Ben Kraus</t:Name>"
        "<t:EmailAddress>ben.kraus@example.test</t:EmailAddress></t:Mailbox></t:ToRecipients>"
        "<t:CcRecipients><t:Mailbox><t:Name>Carl Schmidt</t:Name>"
        "<t:EmailAddress>carl.schmidt@example.test</t:EmailAddress></t:Mailbox>"
        "</t:CcRecipients></t:Message></m:Items></m:CreateItem>"
    )
    _, root = post(ews.url, body, impersonate=ANNA)
    assert response_codes(root) == ["NoError"]
    found = root.find(".//t:ItemId", NS)
    assert found is not None
    return found.get("Id", "")


def test_item_properties_have_their_schema_types(ews: RunningSandbox) -> None:
    """MS-OXWSCORE_R153 MS-OXWSCORE_R1385 (ItemId: an ItemIdType, a BaseItemIdType with a
    string Id and ChangeKey); MS-OXWSCDATA_R1628 MS-OXWSCDATA_R1629 (ParentFolderId: a
    FolderIdType with string Id and ChangeKey, the folder's); MS-OXWSCORE_R105
    (LastModifiedTime: when the item was last changed); MS-OXWSCORE_R1321 (IsDraft is an
    xs:boolean); MS-OXWSCORE_R1333 MS-OXWSCORE_R1334 (DisplayCc, DisplayTo: strings);
    MS-OXWSCDATA_R1541 (Categories: ArrayOfStringsType of String elements);
    MS-OXWSCDATA_R1665 MS-OXWSCDATA_R1097 (Body's BodyType attribute, a BodyTypeType);
    MS-OXWSCORE_R1617 (ReminderIsSet false: no reminder)."""
    before = datetime.now(UTC).replace(microsecond=0)
    item_id = _create_message(ews)
    uris = ("item:ParentFolderId", "item:LastModifiedTime", "item:IsDraft", "item:DisplayTo",
            "item:DisplayCc", "item:Categories", "item:Body", "item:ReminderIsSet")  # fmt: skip
    get = (
        "<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>"
        + "".join(f'<t:FieldURI FieldURI="{uri}"/>' for uri in uris)
        + f'</t:AdditionalProperties></m:ItemShape><m:ItemIds><t:ItemId Id="{item_id}"/>'
        "</m:ItemIds></m:GetItem>"
    )
    _, root = post(ews.url, get, impersonate=ANNA)
    message = _valid_body(root).find(".//m:Items/t:Message", NS)
    assert message is not None
    mailbox = ews.mailbox(ANNA)
    stored, drafts = mailbox.item(item_id), mailbox.folder(distinguished="drafts")
    ids = message.find("t:ItemId", NS)
    assert (ids.get("Id"), ids.get("ChangeKey")) == (stored.id, stored.change_key)
    parent = message.find("t:ParentFolderId", NS)
    assert (parent.get("Id"), parent.get("ChangeKey")) == (drafts.id, drafts.change_key)
    modified = datetime.fromisoformat(message.findtext("t:LastModifiedTime", namespaces=NS))
    assert before <= modified <= datetime.now(UTC)
    assert message.findtext("t:IsDraft", namespaces=NS) == "true"
    assert message.findtext("t:DisplayTo", namespaces=NS) == "Ben Kraus"
    assert message.findtext("t:DisplayCc", namespaces=NS) == "Carl Schmidt"
    categories = [s.text for s in message.iterfind("t:Categories/t:String", NS)]
    assert categories == ["Kunde", "Rot"]
    assert message.find("t:Body", NS).get("BodyType") == "HTML"
    assert message.findtext("t:ReminderIsSet", namespaces=NS) == "false"


def test_an_extended_value_is_a_string_of_its_property_type(ews: RunningSandbox) -> None:
    """MS-OXWSXPROP_R144: the Value of an extended property is an xs:string, the
    property's value written as text whatever its PropertyType."""
    uri = f'<t:ExtendedFieldURI PropertySetId="{GUID}" PropertyName="Rev" PropertyType="Integer"/>'
    item_id = _create_message(ews, f"<t:ExtendedProperty>{uri}<t:Value>42</t:Value>"
                                   "</t:ExtendedProperty>")  # fmt: skip
    get = (
        "<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>"
        f"{uri}</t:AdditionalProperties></m:ItemShape><m:ItemIds><t:ItemId Id=\"{item_id}\"/>"
        "</m:ItemIds></m:GetItem>"
    )
    _, root = post(ews.url, get, impersonate=ANNA)
    values = _valid_body(root).findall(".//t:ExtendedProperty/t:Value", NS)
    assert [v.text for v in values] == ["42"]


@pytest.mark.parametrize(
    ("uri", "accepted"),
    [
        (f'PropertySetId="{GUID.upper()}" PropertyName="n"', True),
        ('PropertySetId="3f0f9d1a4c0b4f6e9a552f7d2f1e6c01" PropertyName="n"', False),
        ('PropertySetId="{3f0f9d1a-4c0b-4f6e-9a55-2f7d2f1e6c01}" PropertyName="n"', False),
        ('PropertyTag="0X3a4E"', True),
        ('PropertyTag="0x12345"', False),
        ('PropertyTag="0x3G4E"', False),
    ],
    ids=[
        "guid", "guid without dashes", "guid in braces", "tag 0X", "tag of five digits",
        "tag not hex",
    ],
)
def test_guid_and_property_tag_patterns(ews: RunningSandbox, uri: str, accepted: bool) -> None:
    """MS-OXWSXPROP_R124 (GuidType: 8-4-4-4-12 hex digits) MS-OXWSXPROP_R122
    (PropertyTagType: 0x or 0X and one to four hex digits): an id outside the pattern fails
    the request's schema validation, HTTP 500 with ErrorSchemaValidation, and stores nothing."""
    body = (
        '<m:CreateItem MessageDisposition="SaveOnly"><m:Items><t:Message><t:ExtendedProperty>'
        f'<t:ExtendedFieldURI {uri} PropertyType="String"/><t:Value>v</t:Value>'
        "</t:ExtendedProperty></t:Message></m:Items></m:CreateItem>"
    )
    status, root = post(ews.url, body, impersonate=ANNA)
    if accepted:
        assert (status, response_codes(root)) == (200, ["NoError"])
    else:
        assert status == 500
        assert root.findtext(".//faultcode") == "a:ErrorSchemaValidation"
        assert ews.mailbox(ANNA).items == {}


def test_the_organizer_has_an_address(ews: RunningSandbox) -> None:
    """MS-OXWSMTGS_R18407: the Organizer's Mailbox carries an EmailAddress of at least one
    character (t:NonEmptyStringType), the organizer's own address."""
    create = (
        '<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem>'
        "<t:Subject>Termin</t:Subject><t:Start>2026-12-01T08:00:00Z</t:Start>"
        "<t:End>2026-12-01T09:00:00Z</t:End></t:CalendarItem></m:Items></m:CreateItem>"
    )
    _, root = post(ews.url, create, impersonate=ANNA)
    item_id = root.find(".//t:ItemId", NS).get("Id")
    get = (
        "<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>"
        '<t:FieldURI FieldURI="calendar:Organizer"/></t:AdditionalProperties></m:ItemShape>'
        f'<m:ItemIds><t:ItemId Id="{item_id}"/></m:ItemIds></m:GetItem>'
    )
    _, root = post(ews.url, get, impersonate=ANNA)
    organizer = _valid_body(root).find(".//t:Organizer/t:Mailbox", NS)
    assert organizer.findtext("t:EmailAddress", namespaces=NS) == ANNA
