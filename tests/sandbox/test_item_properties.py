"""Item properties the server owns: refused when a client sets them, returned when asked."""

from __future__ import annotations

import pytest

from tests.sandbox.ews_support import NS, post, response_codes
from tests.support.sandbox import ANNA, RunningSandbox

READ_ONLY = {
    "ItemId": '<t:ItemId Id="AAAA"/>',
    "ParentFolderId": '<t:ParentFolderId Id="AAAA"/>',
    "DateTimeReceived": "<t:DateTimeReceived>2026-01-01T00:00:00Z</t:DateTimeReceived>",
    "Size": "<t:Size>10</t:Size>",
    "DateTimeSent": "<t:DateTimeSent>2026-01-01T00:00:00Z</t:DateTimeSent>",
    "DateTimeCreated": "<t:DateTimeCreated>2026-01-01T00:00:00Z</t:DateTimeCreated>",
    "DisplayTo": "<t:DisplayTo>Ben</t:DisplayTo>",
    "LastModifiedName": "<t:LastModifiedName>Ben</t:LastModifiedName>",
    "InstanceKey": "<t:InstanceKey>AAEC</t:InstanceKey>",
    "NormalizedBody": '<t:NormalizedBody BodyType="Text">x</t:NormalizedBody>',
    "Preview": "<t:Preview>x</t:Preview>",
    "BlockStatus": "<t:BlockStatus>true</t:BlockStatus>",
    "TextBody": '<t:TextBody BodyType="Text">x</t:TextBody>',
    "IconIndex": "<t:IconIndex>Default</t:IconIndex>",
}


@pytest.mark.parametrize("name", sorted(READ_ONLY))
def test_read_only_properties_cannot_be_created(ews: RunningSandbox, name: str) -> None:
    """MS-OXWSCORE_R2014 MS-OXWSCORE_R2347 MS-OXWSCORE_R2016 MS-OXWSCORE_R2348
    MS-OXWSCORE_R2025 MS-OXWSCORE_R2349 MS-OXWSCORE_R2027 MS-OXWSCORE_R2272
    MS-OXWSCORE_R2031 MS-OXWSCORE_R2273 MS-OXWSCORE_R2033 MS-OXWSCORE_R2274
    MS-OXWSCORE_R2035 MS-OXWSCORE_R2275 MS-OXWSCORE_R2039 MS-OXWSCORE_R2277
    MS-OXWSCORE_R2350 MS-OXWSCORE_R2351 MS-OXWSCORE_R2352 MS-OXWSCORE_R2355
    MS-OXWSCORE_R2356 MS-OXWSCORE_R2358
    """
    body = (
        '<m:CreateItem MessageDisposition="SaveOnly"><m:Items><t:Task>'
        f"{READ_ONLY[name]}</t:Task></m:Items></m:CreateItem>"
    )
    _, root = post(ews.url, body, impersonate=ANNA)
    assert response_codes(root) == ["ErrorInvalidPropertySet"]
    assert ews.mailbox(ANNA).items == {}


def test_read_only_properties_cannot_be_updated(ews: RunningSandbox) -> None:
    """MS-OXWSCORE_R2274 MS-OXWSCORE_R2349 MS-OXWSCORE_R2272"""
    create = (
        '<m:CreateItem MessageDisposition="SaveOnly"><m:Items><t:Task><t:Subject>x</t:Subject>'
        "</t:Task></m:Items></m:CreateItem>"
    )
    post(ews.url, create, impersonate=ANNA)
    (item_id,) = ews.mailbox(ANNA).items
    for uri, name in (("item:DateTimeCreated", "DateTimeCreated"), ("item:Size", "Size"),
                      ("item:DateTimeReceived", "DateTimeReceived")):  # fmt: skip
        update = (
            '<m:UpdateItem ConflictResolution="AlwaysOverwrite"><m:ItemChanges><t:ItemChange>'
            f'<t:ItemId Id="{item_id}"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="{uri}"/>'
            f"<t:Task>{READ_ONLY[name]}</t:Task></t:SetItemField></t:Updates></t:ItemChange>"
            "</m:ItemChanges></m:UpdateItem>"
        )
        _, root = post(ews.url, update, impersonate=ANNA)
        assert response_codes(root) == ["ErrorInvalidPropertySet"], name
        delete = update.replace("SetItemField", "DeleteItemField").replace(
            f"<t:Task>{READ_ONLY[name]}</t:Task>", ""
        )
        _, root = post(ews.url, delete, impersonate=ANNA)
        assert response_codes(root) == ["ErrorInvalidPropertyDelete"], name


def test_server_properties_are_returned(ews: RunningSandbox) -> None:
    """AllProperties returns what the server keeps about an item.

    MS-OXWSCORE_R2015 MS-OXWSCORE_R1308 MS-OXWSCORE_R1309 MS-OXWSCORE_R2026 MS-OXWSCORE_R78
    MS-OXWSCORE_R1315 MS-OXWSCORE_R2028 MS-OXWSCORE_R79 MS-OXWSCORE_R1316 MS-OXWSCORE_R2034
    MS-OXWSCORE_R1327 MS-OXWSCORE_R2040 MS-OXWSCORE_R104 MS-OXWSCORE_R1339 MS-OXWSCORE_R1340
    MS-OXWSCORE_R106 MS-OXWSCORE_R1619 MS-OXWSCORE_R1310 MS-OXWSCORE_R1311 MS-OXWSCORE_R1317
    MS-OXWSCORE_R1318 MS-OXWSCDATA_R59 MS-OXWSCDATA_R61 MS-OXWSCORE_R380 MS-OXWSCDATA_R1585
    MS-OXWSCDATA_R1039
    """
    create = (
        '<m:CreateItem MessageDisposition="SaveOnly"><m:Items><t:Task><t:Subject>x</t:Subject>'
        "<t:Categories><t:String>A</t:String></t:Categories><t:Importance>High</t:Importance>"
        "</t:Task></m:Items></m:CreateItem>"
    )
    post(ews.url, create, impersonate=ANNA)
    (item_id,) = ews.mailbox(ANNA).items
    get = (
        "<m:GetItem><m:ItemShape><t:BaseShape>{shape}</t:BaseShape></m:ItemShape>"
        f'<m:ItemIds><t:ItemId Id="{item_id}"/></m:ItemIds></m:GetItem>'
    )
    _, root = post(ews.url, get.format(shape="AllProperties"), impersonate=ANNA)
    task = root.find(".//m:Items/t:Task", NS)
    assert task is not None
    values = {child.tag.split("}")[1]: child for child in task}
    assert values["ItemId"].get("Id") == item_id and values["ItemId"].get("ChangeKey")
    assert values["ParentFolderId"].get("Id") == ews.mailbox(ANNA).folder(distinguished="tasks").id
    assert values["DateTimeReceived"].text == values["DateTimeCreated"].text
    assert int(values["Size"].text or 0) > 0
    assert values["LastModifiedName"].text == "Anna Berger"
    assert values["LastModifiedTime"].text and values["IsAssociated"].text == "false"
    assert (values["ItemClass"].text, values["Importance"].text) == ("IPM.Task", "High")
    _, root = post(ews.url, get.format(shape="Default"), impersonate=ANNA)
    default = {c.tag.split("}")[1] for c in root.find(".//m:Items/t:Task", NS)}  # type: ignore[union-attr]
    assert {"ItemId", "Subject", "Status", "PercentComplete"} <= default
    assert "Size" not in default and "Categories" not in default


def test_a_plain_item_is_kept_as_a_message(ews: RunningSandbox) -> None:
    """MS-OXWSCDATA_R102000000 MS-OXWSSYNC_R37811004 MS-OXWSSYNC_R156 MS-OXWSSYNC_R1571
    MS-OXWSSYNC_R1572 MS-OXWSSYNC_R154
    """
    create = (
        '<m:CreateItem MessageDisposition="SaveOnly"><m:SavedItemFolderId>'
        '<t:DistinguishedFolderId Id="inbox"/></m:SavedItemFolderId><m:Items><t:Item>'
        "<t:Subject>note</t:Subject></t:Item></m:Items></m:CreateItem>"
    )
    _, root = post(ews.url, create, impersonate=ANNA)
    assert root.find(".//m:Items/t:Message/t:ItemId", NS) is not None
    sync = (
        "<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>"
        '<t:AdditionalProperties><t:FieldURI FieldURI="item:Subject"/></t:AdditionalProperties>'
        '</m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="inbox"/></m:SyncFolderId>'
        "{state}<m:MaxChangesReturned>10</m:MaxChangesReturned></m:SyncFolderItems>"
    )
    _, root = post(ews.url, sync.format(state=""), impersonate=ANNA)
    assert root.findtext(".//t:Create/t:Message/t:Subject", namespaces=NS) == "note"
    state = root.findtext(".//m:SyncState", namespaces=NS)
    (item_id,) = ews.mailbox(ANNA).items
    update = (
        '<m:UpdateItem ConflictResolution="AlwaysOverwrite" MessageDisposition="SaveOnly">'
        f'<m:ItemChanges><t:ItemChange><t:ItemId Id="{item_id}"/><t:Updates><t:SetItemField>'
        '<t:FieldURI FieldURI="item:Subject"/><t:Message><t:Subject>note 2</t:Subject>'
        "</t:Message></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>"
    )
    post(ews.url, update, impersonate=ANNA)
    _, root = post(
        ews.url, sync.format(state=f"<m:SyncState>{state}</m:SyncState>"), impersonate=ANNA
    )
    assert root.findtext(".//t:Update/t:Message/t:Subject", namespaces=NS) == "note 2"
