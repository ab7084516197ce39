"""Item properties of MS-OXWSCORE: read-only ones refused, stored ones returned, the
server's own ones computed (ItemType, section 2.2.4.24)."""

from __future__ import annotations

import pytest

from tests.sandbox.ews_support import NS, post, response_codes
from tests.support.sandbox import ANNA, RunningSandbox

RIGHTS = "".join(
    f"<t:{right}>true</t:{right}>"
    for right in ("CreateAssociated", "CreateContents", "CreateHierarchy", "Delete", "Modify",
                  "Read")
)  # fmt: skip


@pytest.mark.parametrize(
    ("requirements", "element"),
    [
        ("MS-OXWSCORE_R2276 MS-OXWSCORE_R2037", f"<t:EffectiveRights>{RIGHTS}</t:EffectiveRights>"),
        ("MS-OXWSCORE_R2043", "<t:WebClientReadFormQueryString>x</t:WebClientReadFormQueryString>"),
        ("MS-OXWSCORE_R2046", "<t:InstanceKey>AAAA</t:InstanceKey>"),
        ("MS-OXWSCORE_R2048", '<t:NormalizedBody BodyType="Text">x</t:NormalizedBody>'),
        ("MS-OXWSCORE_R2050", "<t:Preview>x</t:Preview>"),
        ("MS-OXWSCORE_R2052 MS-OXWSCORE_R2353", "<t:RightsManagementLicenseData/>"),
        ("MS-OXWSCORE_R2062", "<t:IconIndex>Default</t:IconIndex>"),
    ],
)
def test_a_read_only_property_in_a_create_is_error_invalid_property_set(
    ews: RunningSandbox, requirements: str, element: str
) -> None:
    """"This element is read-only ... if specified in a CreateItem or UpdateItem request,
    an ErrorInvalidPropertySet will be returned" (the requirements named per case)."""
    create = (
        '<m:CreateItem MessageDisposition="SaveOnly"><m:Items><t:Message>'
        f"{element}</t:Message></m:Items></m:CreateItem>"
    )
    _, root = post(ews.url, create, impersonate=ANNA)
    assert response_codes(root) == ["ErrorInvalidPropertySet"], requirements
    assert ews.mailbox(ANNA).items == {}


def _get(ews: RunningSandbox, item_id: str, *fields: str):  # type: ignore[no-untyped-def]
    uris = "".join(f'<t:FieldURI FieldURI="{field}"/>' for field in fields)
    get = (
        "<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>"
        f"{uris}</t:AdditionalProperties></m:ItemShape><m:ItemIds>"
        f'<t:ItemId Id="{item_id}"/></m:ItemIds></m:GetItem>'
    )
    _, root = post(ews.url, get, impersonate=ANNA)
    return root.find(".//m:Items/*", NS)


def _create(ews: RunningSandbox, body: str, disposition: str = "SaveOnly") -> str:
    create = (
        f'<m:CreateItem MessageDisposition="{disposition}"><m:Items>{body}</m:Items>'
        "</m:CreateItem>"
    )
    _, root = post(ews.url, create, impersonate=ANNA)
    assert response_codes(root) == ["NoError"]
    found = root.find(".//t:ItemId", NS)
    return found.get("Id", "") if found is not None else ""


def test_stored_properties_come_back_and_server_ones_are_computed(ews: RunningSandbox) -> None:
    """MS-OXWSCORE_R70 MS-OXWSCORE_R71 (ItemId with its change key, ParentFolderId);
    MS-OXWSCORE_R82 MS-OXWSCORE_R1319 (InReplyTo); MS-OXWSCORE_R94 MS-OXWSCORE_R1330
    MS-OXWSCORE_R1616 (ReminderIsSet); MS-OXWSCORE_R95 MS-OXWSCORE_R1331
    (ReminderMinutesBeforeStart); MS-OXWSCORE_R92 MS-OXWSCORE_R1329 (ReminderDueBy);
    MS-OXWSCORE_R102 MS-OXWSCORE_R1337 (Culture); MS-OXWSCORE_R96 MS-OXWSCORE_R97
    MS-OXWSCORE_R98 MS-OXWSCORE_R99 MS-OXWSCORE_R2036 (DisplayTo/DisplayCc: the recipients'
    names joined); MS-OXWSCORE_R100 MS-OXWSCORE_R1621 MS-OXWSCORE_R1335 (HasAttachments
    false: the sandbox keeps no attachments); MS-OXWSCORE_R103 MS-OXWSCORE_R2038
    MS-OXWSCORE_R1338 (EffectiveRights; MS-OXWSCDATA_R1130 MS-OXWSCDATA_R21131
    MS-OXWSCDATA_R1132 MS-OXWSCDATA_R21133 MS-OXWSCDATA_R1133 MS-OXWSCDATA_R21135
    MS-OXWSCDATA_R1134 MS-OXWSCDATA_R21136 MS-OXWSCDATA_R1135 MS-OXWSCDATA_R21138
    MS-OXWSCDATA_R1136 MS-OXWSCDATA_R21140; ViewPrivateItems true, as Exchange 2013 and later
    include it: MS-OXWSCDATA_R21142); MS-OXWSCORE_R84 MS-OXWSCORE_R1608 (IsDraft of an
    unsent message)."""
    item_id = _create(
        ews,
        "<t:Message><t:Subject>Angebot</t:Subject><t:InReplyTo>msg-17@example.test</t:InReplyTo>"
        "<t:ReminderDueBy>2026-12-01T08:00:00Z</t:ReminderDueBy><t:ReminderIsSet>true"
        "</t:ReminderIsSet><t:ReminderMinutesBeforeStart>30</t:ReminderMinutesBeforeStart>"
        "<t:Culture>de-DE</t:Culture><t:ToRecipients><t:Mailbox><t:Name>Ben Berger</t:Name>"
        "<t:EmailAddress>ben@example.test</t:EmailAddress></t:Mailbox><t:Mailbox>"
        "<t:EmailAddress>carl@example.test</t:EmailAddress></t:Mailbox></t:ToRecipients>"
        "<t:CcRecipients><t:Mailbox><t:Name>Anna</t:Name><t:EmailAddress>anna@example.test"
        "</t:EmailAddress></t:Mailbox></t:CcRecipients></t:Message>",
    )
    item = _get(ews, item_id, "item:ParentFolderId", "item:InReplyTo", "item:ReminderIsSet",
                "item:ReminderMinutesBeforeStart", "item:ReminderDueBy", "item:Culture",
                "item:DisplayTo", "item:DisplayCc", "item:HasAttachments",
                "item:EffectiveRights", "item:IsDraft")  # fmt: skip
    mailbox = ews.mailbox(ANNA)
    stored = mailbox.item(item_id)
    assert item.find("t:ItemId", NS).get("ChangeKey") == stored.change_key
    drafts = mailbox.folder(distinguished="drafts")
    assert item.find("t:ParentFolderId", NS).get("Id") == drafts.id
    texts = {child.tag.split("}")[1]: child.text for child in item if child.text}
    assert texts == {
        "InReplyTo": "msg-17@example.test", "ReminderIsSet": "true",
        "ReminderMinutesBeforeStart": "30", "ReminderDueBy": "2026-12-01T08:00:00Z",
        "Culture": "de-DE", "DisplayTo": "Ben Berger; carl@example.test", "DisplayCc": "Anna",
        "HasAttachments": "false", "IsDraft": "true",
    }  # fmt: skip
    rights = {r.tag.split("}")[1]: r.text for r in item.find("t:EffectiveRights", NS)}
    # The owner may read, change and delete the item; an item has no contents or
    # hierarchy tables to create.
    assert rights == {
        "CreateAssociated": "false", "CreateContents": "false", "CreateHierarchy": "false",
        "Delete": "true", "Modify": "true", "Read": "true", "ViewPrivateItems": "true",
    }  # fmt: skip


def test_a_sent_copy_is_no_draft_and_a_contact_is_ipm_contact(ews: RunningSandbox) -> None:
    """MS-OXWSCORE_R1609 (IsDraft false: the item has been sent, its copy in Sent Items);
    MS-OXWSCORE_R2018 (ItemClass "IPM.Contact" for a contact item)."""
    sent_id = _create(
        ews,
        "<t:Message><t:Subject>raus</t:Subject><t:ToRecipients><t:Mailbox><t:EmailAddress>"
        "ben@example.test</t:EmailAddress></t:Mailbox></t:ToRecipients></t:Message>",
        "SendAndSaveCopy",
    )
    mailbox = ews.mailbox(ANNA)
    sent_id = sent_id or next(iter(mailbox.items))
    assert _get(ews, sent_id, "item:IsDraft").findtext("t:IsDraft", namespaces=NS) == "false"
    create = (
        '<m:CreateItem><m:Items><t:Contact><t:GivenName>Ben</t:GivenName></t:Contact>'
        "</m:Items></m:CreateItem>"
    )
    _, root = post(ews.url, create, impersonate=ANNA)
    contact_id = root.find(".//t:ItemId", NS).get("Id")
    item = _get(ews, contact_id, "item:ItemClass")
    assert item.findtext("t:ItemClass", namespaces=NS) == "IPM.Contact"


def test_a_store_entry_id_sent_by_a_client_is_ignored(ews: RunningSandbox) -> None:
    """MS-OXWSCORE_R20452: StoreEntryId is read-only, and Exchange 2013 and later ignore
    it in a CreateItem or UpdateItem instead of refusing the request: the item is saved
    and the client's value is kept nowhere."""
    item_id = _create(
        ews, "<t:Message><t:Subject>x</t:Subject><t:StoreEntryId>AAEC</t:StoreEntryId></t:Message>"
    )
    update = (
        '<m:UpdateItem MessageDisposition="SaveOnly" ConflictResolution="AlwaysOverwrite">'
        f'<m:ItemChanges><t:ItemChange><t:ItemId Id="{item_id}"/><t:Updates><t:SetItemField>'
        '<t:FieldURI FieldURI="item:StoreEntryId"/><t:Message><t:StoreEntryId>AAEC'
        "</t:StoreEntryId></t:Message></t:SetItemField></t:Updates></t:ItemChange>"
        "</m:ItemChanges></m:UpdateItem>"
    )
    _, root = post(ews.url, update, impersonate=ANNA)
    assert response_codes(root) == ["NoError"]
    assert "StoreEntryId" not in ews.mailbox(ANNA).item(item_id).fields
    assert _get(ews, item_id, "item:StoreEntryId").find("t:StoreEntryId", NS) is None
