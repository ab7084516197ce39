"""What each item operation answers, and the change descriptions of UpdateItem and
UpdateFolder (MS-OXWSCORE 3.1.4, MS-OXWSFOLD 3.1.4.8, MS-OXWSCDATA 2.2.4.4)."""

from __future__ import annotations

from lxml import etree

from tests.sandbox.ews_support import NS, post, response_codes
from tests.support.sandbox import ANNA, RunningSandbox


def _soap(ews: RunningSandbox, body: str) -> etree._Element:
    return post(ews.url, body, impersonate=ANNA)[1]


def _messages(root: etree._Element) -> list[str]:
    """The element names of the response messages, in order."""
    return [etree.QName(m).localname for m in root.iterfind(".//m:ResponseMessages/*", NS)]


def _create_task(ews: RunningSandbox, subject: str, folder: str = "tasks") -> str:
    root = _soap(
        ews,
        f'<m:CreateItem><m:SavedItemFolderId><t:DistinguishedFolderId Id="{folder}"/>'
        f"</m:SavedItemFolderId><m:Items><t:Task><t:Subject>{subject}</t:Subject></t:Task>"
        "</m:Items></m:CreateItem>",
    )
    assert response_codes(root) == ["NoError"]
    return str(root.find(".//t:ItemId", NS).get("Id"))  # type: ignore[union-attr]


def test_each_item_operation_answers_with_its_own_response_message(ews: RunningSandbox) -> None:
    """CreateItem, UpdateItem, CopyItem, MoveItem and DeleteItem each answer a response
    (extending BaseResponseMessageType: ResponseMessages) of their own message type, with
    the items they made; CreateItem saves into SavedItemFolderId. MS-OXWSCORE_R292
    MS-OXWSCDATA_R1583 MS-OXWSCDATA_R1037 MS-OXWSCORE_R298 MS-OXWSCDATA_R1586
    MS-OXWSCDATA_R1040 MS-OXWSCORE_R1305 MS-OXWSCORE_R1306 MS-OXWSCORE_R253
    MS-OXWSCDATA_R1602 MS-OXWSCDATA_R1057 MS-OXWSCORE_R419 MS-OXWSCDATA_R1601
    MS-OXWSCDATA_R1056 MS-OXWSCDATA_R1584 MS-OXWSCDATA_R1038"""
    mailbox = ews.mailbox(ANNA)
    root = _soap(
        ews,
        '<m:CreateItem><m:SavedItemFolderId><t:DistinguishedFolderId Id="notes"/>'
        "</m:SavedItemFolderId><m:Items><t:Task><t:Subject>a</t:Subject></t:Task>"
        "<t:Task><t:Subject>b</t:Subject></t:Task></m:Items></m:CreateItem>",
    )
    assert _messages(root) == ["CreateItemResponseMessage"] * 2
    a_id, b_id = (str(i.get("Id")) for i in root.iterfind(".//m:Items/t:Task/t:ItemId", NS))
    notes = mailbox.folder(distinguished="notes").id
    assert [mailbox.item(a_id).folder_id, mailbox.item(b_id).folder_id] == [notes, notes]

    root = _soap(
        ews,
        '<m:UpdateItem ConflictResolution="AlwaysOverwrite"><m:ItemChanges><t:ItemChange>'
        f'<t:ItemId Id="{a_id}"/><t:Updates><t:SetItemField>'
        '<t:FieldURI FieldURI="item:Subject"/><t:Task><t:Subject>a2</t:Subject></t:Task>'
        "</t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>",
    )
    assert _messages(root) == ["UpdateItemResponseMessage"]
    assert root.findtext(".//m:ConflictResults/t:Count", namespaces=NS) == "0"
    assert mailbox.item(a_id).fields["Subject"] == "a2"

    for operation in ("CopyItem", "MoveItem"):
        root = _soap(
            ews,
            f'<m:{operation}><m:ToFolderId><t:DistinguishedFolderId Id="tasks"/></m:ToFolderId>'
            f'<m:ItemIds><t:ItemId Id="{b_id}"/></m:ItemIds></m:{operation}>',
        )
        assert _messages(root) == [f"{operation}ResponseMessage"], operation
        [new] = root.iterfind(".//m:Items/t:Task/t:ItemId", NS)
        assert mailbox.item(str(new.get("Id"))).folder_id == mailbox.folder(
            distinguished="tasks").id
        if operation == "MoveItem":
            assert b_id not in mailbox.items
        else:
            assert b_id in mailbox.items

    root = _soap(
        ews,
        '<m:DeleteItem DeleteType="HardDelete" AffectedTaskOccurrences="AllOccurrences">'
        f'<m:ItemIds><t:ItemId Id="{a_id}"/></m:ItemIds></m:DeleteItem>',
    )
    assert _messages(root) == ["DeleteItemResponseMessage"]
    assert response_codes(root) == ["NoError"] and a_id not in mailbox.items


def test_a_change_description_with_two_properties_is_refused(ews: RunningSandbox) -> None:
    """Each change description of UpdateItem and UpdateFolder lists one property, else
    ErrorIncorrectUpdatePropertyCount; the item or folder stays as it was.
    MS-OXWSCDATA_R335"""
    item_id = _create_task(ews, "alt")
    root = _soap(
        ews,
        '<m:UpdateItem ConflictResolution="AlwaysOverwrite"><m:ItemChanges><t:ItemChange>'
        f'<t:ItemId Id="{item_id}"/><t:Updates><t:SetItemField>'
        '<t:FieldURI FieldURI="item:Subject"/><t:Task><t:Subject>neu</t:Subject>'
        "<t:Importance>High</t:Importance></t:Task></t:SetItemField></t:Updates>"
        "</t:ItemChange></m:ItemChanges></m:UpdateItem>",
    )
    assert response_codes(root) == ["ErrorIncorrectUpdatePropertyCount"]
    assert ews.mailbox(ANNA).item(item_id).fields["Subject"] == "alt"

    folder_id = _create_folder(ews, "Ordner")
    root = _soap(
        ews,
        "<m:UpdateFolder><m:FolderChanges><t:FolderChange>"
        f'<t:FolderId Id="{folder_id}"/><t:Updates><t:SetFolderField>'
        '<t:FieldURI FieldURI="folder:DisplayName"/><t:Folder><t:FolderClass>IPF.Note'
        "</t:FolderClass><t:DisplayName>Neu</t:DisplayName></t:Folder></t:SetFolderField>"
        "</t:Updates></t:FolderChange></m:FolderChanges></m:UpdateFolder>",
    )
    assert response_codes(root) == ["ErrorIncorrectUpdatePropertyCount"]
    assert ews.mailbox(ANNA).folder(folder_id).display_name == "Ordner"


PROBE = ('<t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyName="esx" '
         'PropertyType="String"/>')


def _create_folder(ews: RunningSandbox, name: str, kind: str = "Folder") -> str:
    root = _soap(
        ews,
        '<m:CreateFolder><m:ParentFolderId><t:DistinguishedFolderId Id="inbox"/>'
        f"</m:ParentFolderId><m:Folders><t:{kind}><t:DisplayName>{name}</t:DisplayName>"
        f"<t:ExtendedProperty>{PROBE}<t:Value>x</t:Value></t:ExtendedProperty>"
        f"</t:{kind}></m:Folders></m:CreateFolder>",
    )
    assert response_codes(root) == ["NoError"], name
    return str(root.find(".//t:FolderId", NS).get("Id"))  # type: ignore[union-attr]


def _probe(ews: RunningSandbox, folder_id: str) -> str | None:
    root = _soap(
        ews,
        "<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape>"
        f"<t:AdditionalProperties>{PROBE}</t:AdditionalProperties></m:FolderShape>"
        f'<m:FolderIds><t:FolderId Id="{folder_id}"/></m:FolderIds></m:GetFolder>',
    )
    return root.findtext(".//t:ExtendedProperty/t:Value", namespaces=NS)


def test_one_folder_change_sets_one_property_and_deletes_another(ews: RunningSandbox) -> None:
    """A FolderChange carries the changes of one folder: SetFolderField sets a property,
    DeleteFolderField deletes one; AppendToFolderField is an error; a contacts folder is
    updated as a ContactsFolder; GetFolder returns the property asked for in
    AdditionalProperties. MS-OXWSFOLD_R42104 MS-OXWSFOLD_R42105 MS-OXWSFOLD_R531
    MS-OXWSFOLD_R5251 MS-OXWSFOLD_R5261 MS-OXWSFOLD_R583 MS-OXWSFOLD_R507 MS-OXWSFOLD_R538"""
    folder_id = _create_folder(ews, "Ordner")
    assert _probe(ews, folder_id) == "x"
    root = _soap(
        ews,
        "<m:UpdateFolder><m:FolderChanges><t:FolderChange>"
        f'<t:FolderId Id="{folder_id}"/><t:Updates><t:SetFolderField>'
        '<t:FieldURI FieldURI="folder:DisplayName"/><t:Folder><t:DisplayName>Neu'
        "</t:DisplayName></t:Folder></t:SetFolderField>"
        f"<t:DeleteFolderField>{PROBE}</t:DeleteFolderField>"
        "</t:Updates></t:FolderChange></m:FolderChanges></m:UpdateFolder>",
    )
    assert response_codes(root) == ["NoError"]
    assert ews.mailbox(ANNA).folder(folder_id).display_name == "Neu"
    assert _probe(ews, folder_id) is None

    root = _soap(
        ews,
        "<m:UpdateFolder><m:FolderChanges><t:FolderChange>"
        f'<t:FolderId Id="{folder_id}"/><t:Updates><t:AppendToFolderField>'
        '<t:FieldURI FieldURI="folder:DisplayName"/><t:Folder><t:DisplayName>+'
        "</t:DisplayName></t:Folder></t:AppendToFolderField>"
        "</t:Updates></t:FolderChange></m:FolderChanges></m:UpdateFolder>",
    )
    assert response_codes(root) == ["ErrorInvalidPropertyAppend"]
    assert ews.mailbox(ANNA).folder(folder_id).display_name == "Neu"

    contacts_id = _create_folder(ews, "Kunden", "ContactsFolder")
    root = _soap(
        ews,
        "<m:UpdateFolder><m:FolderChanges><t:FolderChange>"
        f'<t:FolderId Id="{contacts_id}"/><t:Updates><t:SetFolderField>'
        '<t:FieldURI FieldURI="folder:DisplayName"/><t:ContactsFolder><t:DisplayName>'
        "Kunden 2</t:DisplayName></t:ContactsFolder></t:SetFolderField>"
        "</t:Updates></t:FolderChange></m:FolderChanges></m:UpdateFolder>",
    )
    assert response_codes(root) == ["NoError"]
    assert ews.mailbox(ANNA).folder(contacts_id).display_name == "Kunden 2"
