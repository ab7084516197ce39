"""Folder associated items (FAI): the hidden items of a folder, user configurations included.

Exchange keeps a folder's settings as associated items: a client creates one with
``IsAssociated`` true, finds them with a FindItem of Traversal ``Associated`` (a user
configuration is one, of class ``IPM.Configuration.<name>``, which Microsoft's protocol
test finds that way), and never sees them among the folder's contents.
"""

from __future__ import annotations

from tests.sandbox.ews_support import NS, post, response_codes
from tests.support.sandbox import ANNA, RunningSandbox


def _find_root(ews: RunningSandbox, traversal: str, folder: str):  # type: ignore[no-untyped-def]
    body = (
        f'<m:FindItem Traversal="{traversal}"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>'
        '<t:AdditionalProperties><t:FieldURI FieldURI="item:ItemClass"/>'
        '<t:FieldURI FieldURI="item:IsAssociated"/></t:AdditionalProperties></m:ItemShape>'
        f'<m:ParentFolderIds><t:DistinguishedFolderId Id="{folder}"/></m:ParentFolderIds>'
        "</m:FindItem>"
    )
    _, root = post(ews.url, body, impersonate=ANNA)
    return root


def _find(ews: RunningSandbox, traversal: str, folder: str = "inbox") -> list[tuple[str, str]]:
    root = _find_root(ews, traversal, folder)
    assert response_codes(root) == ["NoError"]
    return [
        (item.findtext("t:ItemClass", namespaces=NS) or "",
         item.findtext("t:IsAssociated", namespaces=NS) or "")
        for item in root.iterfind(".//t:Items/*", NS)
    ]  # fmt: skip


def _create(ews: RunningSandbox, item_class: str, associated: str) -> list[str]:
    body = (
        '<m:CreateItem MessageDisposition="SaveOnly"><m:SavedItemFolderId>'
        '<t:DistinguishedFolderId Id="inbox"/></m:SavedItemFolderId><m:Items><t:Message>'
        f"<t:ItemClass>{item_class}</t:ItemClass><t:Subject>{item_class}</t:Subject>"
        f"{associated}</t:Message></m:Items></m:CreateItem>"
    )
    _, root = post(ews.url, body, impersonate=ANNA)
    return response_codes(root)


def test_associated_items_are_found_only_by_an_associated_traversal(ews: RunningSandbox) -> None:
    """MS-OXWSCORE_R1618 MS-OXWSCORE_R2285: IsAssociated true marks an item associated
    with its folder (Exchange 2010 and later support the element); an associated
    traversal finds it and the folder's user configurations, a shallow one and the
    folder's counts and sync only the contents; IsAssociated cannot change later."""
    assert _create(ews, "IPM.Note", "") == ["NoError"]
    assert _create(ews, "IPM.Microsoft.Settings", "<t:IsAssociated>true</t:IsAssociated>") == [
        "NoError"
    ]
    config = (
        '<m:CreateUserConfiguration><m:UserConfiguration><t:UserConfigurationName Name="Ansicht">'
        '<t:DistinguishedFolderId Id="inbox"/></t:UserConfigurationName><t:XmlData>PGEvPg=='
        "</t:XmlData></m:UserConfiguration></m:CreateUserConfiguration>"
    )
    _, root = post(ews.url, config, impersonate=ANNA)
    assert response_codes(root) == ["NoError"]
    assert _find(ews, "Shallow") == [("IPM.Note", "false")]
    assert _find(ews, "Associated") == [
        ("IPM.Microsoft.Settings", "true"), ("IPM.Configuration.Ansicht", "true"),
    ]  # fmt: skip
    mailbox = ews.mailbox(ANNA)
    inbox = mailbox.folder(distinguished="inbox")
    assert mailbox.item_count(inbox.id) == 1
    sync = (
        "<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>"
        '<m:SyncFolderId><t:DistinguishedFolderId Id="inbox"/></m:SyncFolderId>'
        "<m:MaxChangesReturned>100</m:MaxChangesReturned></m:SyncFolderItems>"
    )
    _, root = post(ews.url, sync, impersonate=ANNA)
    assert len(root.findall(".//m:Changes/t:Create", NS)) == 1
    (hidden,) = (i for i in mailbox.items.values() if i.associated)
    update = (
        '<m:UpdateItem MessageDisposition="SaveOnly" ConflictResolution="AlwaysOverwrite">'
        f'<m:ItemChanges><t:ItemChange><t:ItemId Id="{hidden.id}"/><t:Updates><t:SetItemField>'
        '<t:FieldURI FieldURI="item:IsAssociated"/><t:Message><t:IsAssociated>false'
        "</t:IsAssociated></t:Message></t:SetItemField></t:Updates></t:ItemChange>"
        "</m:ItemChanges></m:UpdateItem>"
    )
    _, root = post(ews.url, update, impersonate=ANNA)
    assert response_codes(root) == ["ErrorInvalidPropertySet"]
    assert mailbox.item(hidden.id).associated


def test_a_soft_deleted_traversal_is_refused_not_taken_for_shallow(ews: RunningSandbox) -> None:
    """The sandbox keeps soft-deleted items in Recoverable Items\\Deletions, not in the
    folder they came from, so Traversal SoftDeleted is ErrorInvalidOperation rather than
    the folder's contents."""
    assert _create(ews, "IPM.Note", "") == ["NoError"]
    root = _find_root(ews, "SoftDeleted", "inbox")
    assert response_codes(root) == ["ErrorInvalidOperation"]
    assert root.find(".//t:Items/*", NS) is None
