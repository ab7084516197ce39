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
    MS-OXWSFOLD_R308 MS-OXWSFOLD_R380 MS-OXWSFOLD_R381 MS-OXWSFOLD_R34301 MS-OXWSFOLD_R46444
    MS-OXWSFOLD_R5664 (EmptyFolder is supported):
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
    since, each once; a renamed folder comes as an Update of its own folder type
    (MS-OXWSSYNC_R85 MS-OXWSSYNC_R10020 MS-OXWSSYNC_R1022 MS-OXWSSYNC_R1082, a contacts
    folder as a ContactsFolder: MS-OXWSSYNC_R1042), a deleted one
    as a Delete with its FolderId (MS-OXWSSYNC_R117)."""
    account = ews.account(ANNA)
    sync = (
        "<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape>"
        "</m:FolderShape>{state}</m:SyncFolderHierarchy>"
    )
    _, first = post(ews.url, sync.format(state=""), impersonate=ANNA)
    state = first.findtext(".//m:SyncState", namespaces=NS)
    created = Folder(parent=account.inbox, name="neu").save()
    root = _create_folders(
        ews,
        "<t:CalendarFolder><t:DisplayName>Urlaub</t:DisplayName></t:CalendarFolder>"
        "<t:TasksFolder><t:DisplayName>Projekt</t:DisplayName></t:TasksFolder>"
        "<t:ContactsFolder><t:DisplayName>Kunden</t:DisplayName></t:ContactsFolder>",
    )
    calendar_id, tasks_id, contacts_id = (f.get("Id") for f in root.iterfind(".//t:FolderId", NS))
    doomed = Folder(parent=account.inbox, name="kurz").save()
    doomed_id = doomed.id
    _, second = post(ews.url, sync.format(state=f"<m:SyncState>{state}</m:SyncState>"),
                     impersonate=ANNA)  # fmt: skip
    kinds = [etree_name(c) for c in second.find(".//m:Changes", NS)]
    assert kinds == ["Create"] * 5
    state = second.findtext(".//m:SyncState", namespaces=NS)
    created.name = "umbenannt"
    created.save()
    rename = (
        '<t:FolderChange><t:FolderId Id="{id}"/><t:Updates><t:SetFolderField>'
        '<t:FieldURI FieldURI="folder:DisplayName"/><t:{kind}><t:DisplayName>{kind} 2'
        "</t:DisplayName></t:{kind}></t:SetFolderField></t:Updates></t:FolderChange>"
    )
    root = _soap(ews, "<m:UpdateFolder><m:FolderChanges>"
                 + rename.format(id=calendar_id, kind="CalendarFolder")
                 + rename.format(id=tasks_id, kind="TasksFolder")
                 + rename.format(id=contacts_id, kind="ContactsFolder")
                 + "</m:FolderChanges></m:UpdateFolder>")  # fmt: skip
    assert response_codes(root) == ["NoError"] * 3
    doomed.delete()
    _, third = post(ews.url, sync.format(state=f"<m:SyncState>{state}</m:SyncState>"),
                    impersonate=ANNA)  # fmt: skip
    changes = list(third.find(".//m:Changes", NS))
    assert [etree_name(c) for c in changes] == ["Update"] * 4 + ["Delete"]
    updated = {(etree_name(c[0]), c[0].find("t:FolderId", NS).get("Id")) for c in changes[:4]}
    assert updated == {("Folder", created.id), ("CalendarFolder", calendar_id),
                       ("TasksFolder", tasks_id), ("ContactsFolder", contacts_id)}  # fmt: skip
    assert changes[4].find("t:FolderId", NS).get("Id") == doomed_id


def etree_name(element) -> str:  # type: ignore[no-untyped-def]
    from lxml import etree

    return str(etree.QName(element).localname)


def _soap(ews: RunningSandbox, body: str):  # type: ignore[no-untyped-def]
    return post(ews.url, body, impersonate=ANNA)[1]


def _classes(root) -> list[str]:  # type: ignore[no-untyped-def]
    return [m.get("ResponseClass", "") for m in root.iterfind(".//m:ResponseMessages/*", NS)]


def _create_folders(ews: RunningSandbox, folders: str, parent: str = "inbox"):  # type: ignore[no-untyped-def]
    return _soap(
        ews,
        f'<m:CreateFolder><m:ParentFolderId><t:DistinguishedFolderId Id="{parent}"/>'
        f"</m:ParentFolderId><m:Folders>{folders}</m:Folders></m:CreateFolder>",
    )


def test_folder_operations_on_the_wire(ews: RunningSandbox) -> None:
    """Each folder type can be created (MS-OXWSFOLD_R2802 MS-OXWSFOLD_R2901 MS-OXWSFOLD_R3301
    MS-OXWSFOLD_R3501 MS-OXWSFOLD_R28 MS-OXWSFOLD_R29 MS-OXWSFOLD_R31 MS-OXWSFOLD_R35
    MS-OXWSFOLD_R560 MS-OXWSFOLD_R252 MS-OXWSFOLD_R2531 MS-OXWSFOLD_R22202 MS-OXWSFOLD_R96
    MS-OXWSFOLD_R9602), with a custom class or none (MS-OXWSFOLD_R5890 MS-OXWSFOLD_R589202),
    extended properties and a permission set or without (MS-OXWSFOLD_R77 MS-OXWSFOLD_R7701
    MS-OXWSFOLD_R78 MS-OXWSFOLD_R7801 MS-OXWSFOLD_R7802 MS-OXWSFOLD_R98 MS-OXWSFOLD_R9802
    MS-OXWSFOLD_R9803 MS-OXWSFOLD_R980301 MS-OXWSFOLD_R980302); one failing element is an
    Error message while the others succeed (MS-OXWSFOLD_R22203)."""
    root = _create_folders(
        ews,
        "<t:Folder><t:FolderClass>IPF.Note.Custom</t:FolderClass><t:DisplayName>eigen</t:DisplayName>"
        '<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="0x3001" PropertyType="String"/>'
        "<t:Value>x</t:Value></t:ExtendedProperty><t:PermissionSet><t:Permissions/>"
        "</t:PermissionSet></t:Folder>"
        "<t:CalendarFolder><t:DisplayName>Kalender 2</t:DisplayName></t:CalendarFolder>"
        "<t:ContactsFolder><t:DisplayName>Kontakte 2</t:DisplayName></t:ContactsFolder>"
        "<t:TasksFolder><t:DisplayName>Aufgaben 2</t:DisplayName></t:TasksFolder>"
        "<t:Folder><t:DisplayName>ohne Klasse</t:DisplayName></t:Folder>"
        "<t:Folder><t:DisplayName>EIGEN</t:DisplayName></t:Folder>",
    )
    assert response_codes(root) == ["NoError"] * 5 + ["ErrorFolderExists"]
    assert _classes(root) == ["Success"] * 5 + ["Error"]
    created = [f.tag.split("}")[1] for f in root.iterfind(".//m:Folders/*", NS)]
    assert created == ["Folder", "CalendarFolder", "ContactsFolder", "TasksFolder", "Folder"]
    mailbox = ews.mailbox(ANNA)
    by_name = {f.display_name: f for f in mailbox.folders.values()}
    assert by_name["eigen"].folder_class == "IPF.Note.Custom"
    assert by_name["ohne Klasse"].folder_class == ""
    assert (by_name["Kalender 2"].folder_class, by_name["Aufgaben 2"].folder_class) == (
        "IPF.Appointment", "IPF.Task",
    )  # fmt: skip
    assert "PermissionSet" in by_name["eigen"].properties
    assert "PermissionSet" not in by_name["ohne Klasse"].properties


def test_a_plain_folder_of_a_typed_class_is_that_type(ews: RunningSandbox) -> None:
    """A ``t:Folder`` created with FolderClass IPF.Appointment (or a class below it) is
    a calendar folder, as Exchange reads a folder's type off its class; so for IPF.Task
    and IPF.Contact; the other classes stay plain folders. A CalendarFolder carries the
    elements of BaseFolderType (MS-OXWSMTGS_R507 MS-OXWSMTGS_R143: the CalendarFolderType
    of the schema, which every response is validated against)."""
    root = _create_folders(
        ews,
        "".join(
            f"<t:Folder><t:FolderClass>{folder_class}</t:FolderClass>"
            f"<t:DisplayName>{folder_class}</t:DisplayName></t:Folder>"
            for folder_class in ("IPF.Appointment", "IPF.Appointment.Birthday", "IPF.Task",
                                 "IPF.Contact", "IPF.Note", "IPF.Appointmentx")
        ),
    )  # fmt: skip
    created = [f.tag.split("}")[1] for f in root.iterfind(".//m:Folders/*", NS)]
    assert created == ["CalendarFolder", "CalendarFolder", "TasksFolder", "ContactsFolder",
                       "Folder", "Folder"]  # fmt: skip
    calendar_id = root.find(".//m:Folders/t:CalendarFolder/t:FolderId", NS).get("Id")
    get = (
        "<m:GetFolder><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape>"
        f'<m:FolderIds><t:FolderId Id="{calendar_id}"/></m:FolderIds></m:GetFolder>'
    )
    folder = _soap(ews, get).find(".//m:Folders/t:CalendarFolder", NS)
    assert folder is not None
    names = [child.tag.split("}")[1] for child in folder]
    assert names[:4] == ["FolderId", "ParentFolderId", "FolderClass", "DisplayName"]
    assert folder.findtext("t:FolderClass", namespaces=NS) == "IPF.Appointment"


def test_a_distinguished_folder_names_its_well_known_id(ews: RunningSandbox) -> None:
    """MS-OXWSFOLD_R8401: a folder's DistinguishedFolderId is a DistinguishedFolderIdNameType
    (the well-known name, "calendar"), returned when asked for; a folder of a client's own
    has none."""
    created = _create_folders(ews, "<t:Folder><t:DisplayName>eigen</t:DisplayName></t:Folder>")
    own_id = created.find(".//t:FolderId", NS).get("Id")
    get = (
        "<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>"
        '<t:FieldURI FieldURI="folder:DistinguishedFolderId"/></t:AdditionalProperties>'
        '</m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="calendar"/>'
        f'<t:FolderId Id="{own_id}"/></m:FolderIds></m:GetFolder>'
    )
    root = _soap(ews, get)
    assert response_codes(root) == ["NoError", "NoError"]
    found = [f.findtext("t:DistinguishedFolderId", namespaces=NS)
             for f in root.iterfind(".//m:Folders/*", NS)]  # fmt: skip
    assert found == ["calendar", None]


def test_what_a_folder_creation_may_not_set(ews: RunningSandbox) -> None:
    """FolderId and ParentFolderId cannot be set at creation (MS-OXWSFOLD_R67
    MS-OXWSFOLD_R6802), nor TotalCount, ChildFolderCount, ManagedFolderInformation or
    EffectiveRights (MS-OXWSFOLD_R73 MS-OXWSFOLD_R76 MS-OXWSFOLD_R80 MS-OXWSFOLD_R83);
    a DisplayName is required (MS-OXWSFOLD_R71021)."""
    mailbox = ews.mailbox(ANNA)
    inbox = mailbox.folder(distinguished="inbox")
    rights = "".join(f"<t:{r}>true</t:{r}>" for r in ("CreateAssociated", "CreateContents",
                     "CreateHierarchy", "Delete", "Modify", "Read"))  # fmt: skip
    refused = [
        f'<t:Folder><t:FolderId Id="{inbox.id}"/><t:DisplayName>a</t:DisplayName></t:Folder>',
        f'<t:Folder><t:ParentFolderId Id="{inbox.id}"/><t:DisplayName>b</t:DisplayName></t:Folder>',
        "<t:Folder><t:DisplayName>c</t:DisplayName><t:TotalCount>3</t:TotalCount></t:Folder>",
        "<t:Folder><t:DisplayName>d</t:DisplayName><t:ChildFolderCount>1</t:ChildFolderCount>"
        "</t:Folder>",
        f"<t:Folder><t:DisplayName>e</t:DisplayName><t:EffectiveRights>{rights}"
        "</t:EffectiveRights></t:Folder>",
        "<t:Folder><t:DisplayName>f</t:DisplayName><t:ManagedFolderInformation/></t:Folder>",
    ]
    nameless = "<t:Folder><t:FolderClass>IPF.Note</t:FolderClass></t:Folder>"
    root = _create_folders(ews, "".join(refused) + nameless)
    codes = ["ErrorInvalidPropertySet"] * 6 + ["ErrorRequiredPropertyMissing"]
    assert response_codes(root) == codes


def test_update_move_empty_and_delete_on_the_wire(ews: RunningSandbox) -> None:
    """UpdateFolder by FolderId and by DistinguishedFolderId (MS-OXWSFOLD_R546
    MS-OXWSFOLD_R8902 MS-OXWSFOLD_R9101 MS-OXWSFOLD_R9301 MS-OXWSFOLD_R582 MS-OXWSFOLD_R5051
    MS-OXWSFOLD_R4644 MS-OXWSFOLD_R4645 MS-OXWSFOLD_R534 MS-OXWSFOLD_R536 MS-OXWSFOLD_R542);
    MoveFolder (MS-OXWSFOLD_R461 MS-OXWSFOLD_R4314 MS-OXWSFOLD_R4315); EmptyFolder
    (MS-OXWSFOLD_R367 MS-OXWSFOLD_R5666) with
    each DeleteType (MS-OXWSFOLD_R571 MS-OXWSFOLD_R3474 MS-OXWSFOLD_R34744 MS-OXWSFOLD_R34745
    MS-OXWSFOLD_R37801 MS-OXWSFOLD_R37802 MS-OXWSFOLD_R37803 MS-OXWSFOLD_R3791); DeleteFolder
    (MS-OXWSFOLD_R306 MS-OXWSFOLD_R568 MS-OXWSFOLD_R341 MS-OXWSFOLD_R31044 MS-OXWSFOLD_R31045)."""
    root = _create_folders(
        ews,
        "<t:Folder><t:DisplayName>A</t:DisplayName></t:Folder>"
        "<t:CalendarFolder><t:DisplayName>K</t:DisplayName></t:CalendarFolder>"
        "<t:TasksFolder><t:DisplayName>T</t:DisplayName></t:TasksFolder>",
    )
    a_id, k_id, t_id = (f.get("Id") for f in root.iterfind(".//t:FolderId", NS))
    rename = (
        "<t:FolderChange><t:FolderId Id=\"{id}\"/><t:Updates><t:SetFolderField>"
        '<t:FieldURI FieldURI="folder:DisplayName"/><t:{kind}><t:DisplayName>{name}'
        "</t:DisplayName></t:{kind}></t:SetFolderField></t:Updates></t:FolderChange>"
    )
    journal = (
        '<t:FolderChange><t:DistinguishedFolderId Id="journal"/><t:Updates><t:SetFolderField>'
        '<t:FieldURI FieldURI="folder:DisplayName"/><t:Folder><t:DisplayName>Tagebuch'
        "</t:DisplayName></t:Folder></t:SetFolderField></t:Updates></t:FolderChange>"
    )
    root = _soap(ews, "<m:UpdateFolder><m:FolderChanges>"
                 + rename.format(id=a_id, kind="Folder", name="A2")
                 + rename.format(id=k_id, kind="CalendarFolder", name="K2")
                 + rename.format(id=t_id, kind="TasksFolder", name="a2")  # a sibling's name
                 + journal + rename.format(id="AAAA", kind="Folder", name="x")
                 + "</m:FolderChanges></m:UpdateFolder>")  # fmt: skip
    assert response_codes(root) == [
        "NoError", "NoError", "ErrorFolderExists", "NoError", "ErrorInvalidIdMalformed",
    ]  # fmt: skip
    assert _classes(root)[-1] == "Error"
    mailbox = ews.mailbox(ANNA)
    assert mailbox.folder(distinguished="journal").display_name == "Tagebuch"
    move = (
        '<m:MoveFolder><m:ToFolderId><t:FolderId Id="{to}"/></m:ToFolderId><m:FolderIds>'
        '<t:FolderId Id="{id}"/><t:DistinguishedFolderId Id="inbox"/></m:FolderIds>'
        "</m:MoveFolder>"
    )
    root = _soap(ews, move.format(to=a_id, id=k_id))
    assert response_codes(root) == ["NoError", "ErrorMoveDistinguishedFolder"]
    assert mailbox.folder(k_id).parent_id == a_id
    for delete_type, where in (("HardDelete", None), ("MoveToDeletedItems", "deleteditems"),
                               ("SoftDelete", "recoverableitemsdeletions")):  # fmt: skip
        item = mailbox.create_item(a_id, "Message", {"Subject": delete_type}, {})
        root = _soap(
            ews,
            f'<m:EmptyFolder DeleteType="{delete_type}" DeleteSubFolders="false">'
            f'<m:FolderIds><t:FolderId Id="{a_id}"/></m:FolderIds></m:EmptyFolder>',
        )
        assert response_codes(root) == ["NoError"]
        left = [i for i in mailbox.items.values() if i.fields.get("Subject") == delete_type]
        if where is None:
            assert left == []
        else:
            assert [i.folder_id for i in left] == [mailbox.folder(distinguished=where).id]
        assert item.id not in mailbox.items
    assert mailbox.folder(k_id).parent_id == a_id  # subfolders stayed
    root = _soap(ews, '<m:EmptyFolder DeleteType="HardDelete" DeleteSubFolders="true">'
                      f'<m:FolderIds><t:FolderId Id="{a_id}"/><t:DistinguishedFolderId Id="root"/>'
                      "</m:FolderIds></m:EmptyFolder>")  # fmt: skip
    assert response_codes(root) == ["NoError", "ErrorCannotEmptyFolder"]
    assert k_id not in mailbox.folders
    root = _soap(ews, '<m:DeleteFolder DeleteType="HardDelete"><m:FolderIds>'
                      f'<t:FolderId Id="{a_id}"/><t:DistinguishedFolderId Id="calendar"/>'
                      "</m:FolderIds></m:DeleteFolder>")  # fmt: skip
    assert response_codes(root) == ["NoError", "ErrorDeleteDistinguishedFolder"]
    assert _classes(root) == ["Success", "Error"]
    assert a_id not in mailbox.folders


def test_folder_shapes_and_classes_of_journal_and_notes(ews: RunningSandbox) -> None:
    """IdOnly, Default and AllProperties shapes (MS-OXWSFOLD_R42101 MS-OXWSFOLD_R42102
    MS-OXWSFOLD_R42103), of folders named by DistinguishedFolderId (MS-OXWSFOLD_R428);
    the journal is IPF.Journal, notes IPF.StickyNote
    (MS-OXWSFOLD_R586 MS-OXWSFOLD_R588)."""
    found = {}
    for shape in ("IdOnly", "Default", "AllProperties"):
        root = _soap(
            ews,
            f"<m:GetFolder><m:FolderShape><t:BaseShape>{shape}</t:BaseShape></m:FolderShape>"
            '<m:FolderIds><t:DistinguishedFolderId Id="journal"/>'
            '<t:DistinguishedFolderId Id="notes"/></m:FolderIds></m:GetFolder>',
        )
        folders = list(root.iterfind(".//m:Folders/*", NS))
        found[shape] = [[c.tag.split("}")[1] for c in f] for f in folders]
        if shape == "AllProperties":
            classes = [f.findtext("t:FolderClass", namespaces=NS) for f in folders]
            assert classes == ["IPF.Journal", "IPF.StickyNote"]
    assert found["IdOnly"][0] == ["FolderId"]
    default = ["FolderId", "DisplayName", "TotalCount", "ChildFolderCount", "UnreadCount"]
    assert found["Default"][0] == default
    assert {"ParentFolderId", "FolderClass", "EffectiveRights"} <= set(found["AllProperties"][0])
