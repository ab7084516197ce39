"""Folder management and the distinguished folder tree, as Exchange does them.

The expectations follow MS-OXWSFOLD and what exchangelib's own folder tests assert
against real Exchange servers (root named "root", no class on the Top of Information
Store, ErrorFolderExists without regard to case, ids that survive a move).
"""

from __future__ import annotations

import pytest
from exchangelib import ExtendedProperty, Folder, Message
from exchangelib.errors import (
    ErrorDeleteDistinguishedFolder,
    ErrorFolderExists,
    ErrorItemNotFound,
    ErrorObjectTypeChanged,
)
from exchangelib.folders import Messages, RootOfHierarchy

from tests.sandbox.ews_support import NS, post, response_codes
from tests.support.sandbox import ANNA, RunningSandbox


class FolderSize(ExtendedProperty):
    """PR_MESSAGE_SIZE of a folder, as exchangelib's folder tests read it."""

    property_tag = 0x0E08
    property_type = "Integer"


def test_the_distinguished_tree_is_exchanges(ews: RunningSandbox) -> None:
    """The root is "root", the Top of Information Store has no folder class, and the
    distinguished folders a client looks for exist (outbox, junk, journal, notes...)."""
    account = ews.account(ANNA)
    assert account.calendar.parent.parent.name == "root"
    assert account.root.tois.name == "Top of Information Store"
    assert account.root.tois.folder_class is None
    for folder, folder_class in ((account.outbox, "IPF.Note"), (account.junk, "IPF.Note"),
                                 (account.root / "Top of Information Store" / "Journal",
                                  "IPF.Journal")):  # fmt: skip
        assert folder.folder_class == folder_class
    _, root = post(
        ews.url,
        "<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>"
        "<m:FolderIds>" + "".join(
            f'<t:DistinguishedFolderId Id="{name}"/>'
            for name in ("notes", "syncissues", "conflicts", "recipientcache", "searchfolders",
                         "recoverableitemspurges", "conversationhistory")
        ) + "</m:FolderIds></m:GetFolder>",
        impersonate=ANNA,
    )  # fmt: skip
    assert set(response_codes(root)) == {"NoError"}


def test_create_rename_empty_and_delete_a_folder(ews: RunningSandbox) -> None:
    """MS-OXWSFOLD_R216 MS-OXWSFOLD_R217 MS-OXWSFOLD_R2202 MS-OXWSFOLD_R3104
    MS-OXWSFOLD_R308 MS-OXWSFOLD_R380 MS-OXWSFOLD_R381 MS-OXWSFOLD_R34301 MS-OXWSFOLD_R46444:
    a name taken in the parent (in any case) is ErrorFolderExists; the class cannot
    change (ErrorObjectTypeChanged); EmptyFolder keeps subfolders unless DeleteSubFolders;
    a deleted folder is gone (updating it is ErrorItemNotFound, as exchangelib finds on
    Exchange); a distinguished one cannot be deleted."""
    account = ews.account(ANNA)
    folder = Messages(parent=account.inbox, name="Projekt").save()
    assert folder.id and folder.changekey
    with pytest.raises(ErrorFolderExists):
        Messages(parent=account.inbox, name="PROJEKT").save()
    folder.name = "Projekt 2"
    folder.save()
    folder.refresh()
    assert folder.name == "Projekt 2"
    with pytest.raises(ErrorObjectTypeChanged):
        folder.folder_class = "IPF.Appointment"
        folder.save(update_fields=["folder_class"])
    folder.folder_class = "IPF.Note"
    Messages(parent=folder, name="Unterordner").save()
    Message(account=account, folder=folder, subject="inside").save()
    folder.empty()
    assert [f.name for f in folder.children] == ["Unterordner"]
    assert folder.all().count() == 0
    folder.empty(delete_sub_folders=True)
    assert list(folder.children) == []
    folder_id, changekey = folder.id, folder.changekey
    folder.delete()
    with pytest.raises(ErrorItemNotFound):
        folder.id, folder.changekey = folder_id, changekey
        folder.save()
    with pytest.raises(ErrorDeleteDistinguishedFolder):
        account.inbox.delete()


def test_a_moved_folder_keeps_its_id_and_contents(ews: RunningSandbox) -> None:
    """MS-OXWSFOLD_R429 MS-OXWSFOLD_R594 MS-OXWSFOLD_R595 MS-OXWSFOLD_R596 MS-OXWSFOLD_R43144:
    a moved folder keeps id, class, name, items and subfolders; its change key is new."""
    account = ews.account(ANNA)
    first = Folder(parent=account.inbox, name="eins").save()
    second = Folder(parent=account.inbox, name="zwei").save()
    Folder(parent=first, name="drinnen").save()
    Message(account=account, folder=first, subject="kept").save()
    first_id, first_key = first.id, first.changekey
    first.move(second)
    assert (first.id, first.parent) == (first_id, second)
    assert first.changekey != first_key
    first.refresh()
    assert first.parent == second and first.name == "eins"
    assert [f.name for f in first.children] == ["drinnen"]
    assert [m.subject for m in first.all()] == ["kept"]


def test_deleting_to_deleted_items_or_the_dumpster(ews: RunningSandbox) -> None:
    """MS-OXWSFOLD_R34302 MS-OXWSFOLD_R34303: MoveToDeletedItems puts a folder into
    Deleted Items, SoftDelete into the dumpster (Recoverable Items\\Deletions)."""
    account = ews.account(ANNA)
    moved = Folder(parent=account.inbox, name="weg").save()
    soft = Folder(parent=account.inbox, name="leise").save()
    moved.delete(delete_type="MoveToDeletedItems")
    soft.delete(delete_type="SoftDelete")
    mailbox = ews.mailbox(ANNA)
    parents = {f.display_name: f.parent_id for f in mailbox.folders.values()}
    assert parents["weg"] == mailbox.folder(distinguished="deleteditems").id
    assert parents["leise"] == mailbox.folder(distinguished="recoverableitemsdeletions").id


def test_find_folder_honours_its_restriction(ews: RunningSandbox) -> None:
    """A FindFolder restriction filters the folders (it was ignored); Exact containment
    keeps case, IgnoreCase does not (exchangelib's test_find_folders_with_restriction)."""
    account = ews.account(ANNA)
    root = account.root
    from exchangelib.folders import FolderCollection
    from exchangelib.queryset import Q

    collection = FolderCollection(account=account, folders=[root])
    assert [f.name for f in collection.find_folders(q=Q(name="Top of Information Store"))] == [
        "Top of Information Store"
    ]
    assert len(list(collection.find_folders(q=Q(name__startswith="Top of")))) == 1
    assert len(list(collection.find_folders(q=Q(name__startswith="top of")))) == 0
    assert len(list(collection.find_folders(q=Q(name__istartswith="top of")))) == 1


def test_get_folder_returns_requested_extended_properties(ews: RunningSandbox) -> None:
    """GetFolder returns the extended properties a shape asks for: the folder size
    (PR_MESSAGE_SIZE, 0x0E08) is computed from the folder's items."""
    account = ews.account(ANNA)
    Message(account=account, folder=account.inbox, subject="groß", body="x" * 500).save()
    Folder.register("size", FolderSize)
    RootOfHierarchy.register("size", FolderSize)
    try:
        account.inbox.refresh()
        assert account.inbox.size > 500
        account.root.refresh()
        assert account.root.size == 0
    finally:
        Folder.deregister("size")
        RootOfHierarchy.deregister("size")


def test_a_hierarchy_sync_reports_created_changed_and_deleted_folders(
    ews: RunningSandbox,
) -> None:
    """SyncFolderHierarchy after a state reports folders created, renamed and deleted
    since, each once (MS-OXWSSYNC; the folder tree is no longer fixed)."""
    account = ews.account(ANNA)
    sync = (
        "<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape>"
        "</m:FolderShape>{state}</m:SyncFolderHierarchy>"
    )
    _, first = post(ews.url, sync.format(state=""), impersonate=ANNA)
    state = first.findtext(".//m:SyncState", namespaces=NS)
    created = Folder(parent=account.inbox, name="neu").save()
    doomed = Folder(parent=account.inbox, name="kurz").save()
    doomed_id = doomed.id
    _, second = post(ews.url, sync.format(state=f"<m:SyncState>{state}</m:SyncState>"),
                     impersonate=ANNA)  # fmt: skip
    kinds = [etree_name(c) for c in second.find(".//m:Changes", NS)]
    assert kinds == ["Create", "Create"]
    state = second.findtext(".//m:SyncState", namespaces=NS)
    created.name = "umbenannt"
    created.save()
    doomed.delete()
    _, third = post(ews.url, sync.format(state=f"<m:SyncState>{state}</m:SyncState>"),
                    impersonate=ANNA)  # fmt: skip
    changes = list(third.find(".//m:Changes", NS))
    assert [etree_name(c) for c in changes] == ["Update", "Delete"]
    assert changes[1].find("t:FolderId", NS).get("Id") == doomed_id


def etree_name(element) -> str:  # type: ignore[no-untyped-def]
    from lxml import etree

    return str(etree.QName(element).localname)
