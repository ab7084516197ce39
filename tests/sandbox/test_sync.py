"""SyncFolderItems and SyncFolderHierarchy: incremental changes with opaque sync states."""

from __future__ import annotations

import base64

import pytest
from exchangelib import CalendarItem, EWSDateTime, EWSTimeZone, Task
from exchangelib.errors import ErrorInvalidSyncStateData
from exchangelib.items import SEND_TO_NONE
from exchangelib.properties import ItemId

from tests.sandbox.ews_support import NS, post, response_codes
from tests.support.sandbox import ANNA, RunningSandbox

BERLIN = EWSTimeZone("Europe/Berlin")


def _appointment(account, subject: str) -> CalendarItem:  # type: ignore[no-untyped-def]
    item = CalendarItem(
        account=account, folder=account.calendar, subject=subject,
        start=EWSDateTime(2026, 12, 1, 9, tzinfo=BERLIN),
        end=EWSDateTime(2026, 12, 1, 10, tzinfo=BERLIN),
    )  # fmt: skip
    item.save(send_meeting_invitations=SEND_TO_NONE)
    return item


def _changes(folder, **options) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    found = []
    for kind, item in folder.sync_items(**options):
        subject = item.id if isinstance(item, ItemId) else item.subject
        found.append((kind, subject))
    return found


def test_first_sync_reports_every_item_as_created(ews: RunningSandbox) -> None:
    """Without a sync state everything is returned as if never synchronized.

    MS-OXWSSYNC_R382 MS-OXWSSYNC_R383 MS-OXWSSYNC_R3832 MS-OXWSSYNC_R131 MS-OXWSSYNC_R158
    MS-OXWSSYNC_R1591 MS-OXWSSYNC_R172 MS-OXWSSYNC_R1731 MS-OXWSSYNC_R380 MS-OXWSSYNC_R70
    MS-OXWSSYNC_R65 MS-OXWSSYNC_R3862 MS-OXWSSYNC_R386
    """
    account = ews.account(ANNA)
    _appointment(account, "one")
    _appointment(account, "two")
    Task(account=account, folder=account.tasks, subject="task").save()
    assert _changes(account.calendar) == [("create", "one"), ("create", "two")]
    assert _changes(account.tasks) == [("create", "task")]
    state = account.calendar.item_sync_state
    assert base64.b64decode(state, validate=True)  # opaque, but base64 like Exchange's


def test_incremental_sync_reports_updates_and_deletes_once(ews: RunningSandbox) -> None:
    """MS-OXWSSYNC_R504 MS-OXWSSYNC_R3831 MS-OXWSSYNC_R132 MS-OXWSSYNC_R1592 MS-OXWSSYNC_R134
    MS-OXWSSYNC_R184 MS-OXWSSYNC_R37811002 MS-OXWSSYNC_R1732
    """
    account = ews.account(ANNA)
    kept, gone = _appointment(account, "kept"), _appointment(account, "gone")
    gone_id = gone.id
    _changes(account.calendar)
    kept.subject = "kept, renamed"
    kept.save(update_fields=["subject"], send_meeting_invitations=SEND_TO_NONE)
    gone.delete(send_meeting_cancellations=SEND_TO_NONE)
    fresh = _appointment(account, "fresh")
    brief = _appointment(account, "brief")
    brief.delete(send_meeting_cancellations=SEND_TO_NONE)  # created and gone between syncs
    assert _changes(account.calendar) == [
        ("update", "kept, renamed"),
        ("delete", gone_id),
        ("create", "fresh"),
    ]
    assert _changes(account.calendar) == []  # each change is reported once
    assert fresh.id in ews.mailbox(ANNA).items


def test_moving_to_deleted_items_is_a_delete_here_and_a_create_there(ews: RunningSandbox) -> None:
    """MS-OXWSSYNC_R134 MS-OXWSSYNC_R131 MS-OXWSCORE_R1668"""
    account = ews.account(ANNA)
    item = _appointment(account, "trashed")
    old_id = item.id
    _changes(account.calendar)
    _changes(account.trash)
    item.move_to_trash(send_meeting_cancellations=SEND_TO_NONE)
    assert _changes(account.calendar) == [("delete", old_id)]
    assert _changes(account.trash) == [("create", "trashed")]


def test_max_changes_returned_pages_the_changes(ews: RunningSandbox) -> None:
    """MS-OXWSSYNC_R388 MS-OXWSSYNC_R3891 MS-OXWSSYNC_R67 MS-OXWSSYNC_R6701 MS-OXWSSYNC_R6702
    MS-OXWSSYNC_R3783
    """
    account = ews.account(ANNA)
    for n in range(5):
        _appointment(account, f"item {n}")
    request = (
        "<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>"
        '<m:SyncFolderId><t:DistinguishedFolderId Id="calendar"/></m:SyncFolderId>{state}'
        "<m:MaxChangesReturned>2</m:MaxChangesReturned></m:SyncFolderItems>"
    )
    state, pages = "", []
    while True:
        _, root = post(ews.url, request.format(state=state), impersonate=ANNA)
        creates = root.findall(".//m:Changes/t:Create/t:CalendarItem", NS)
        assert all(len(c) == 1 and c[0].tag.endswith("ItemId") for c in creates)  # IdOnly
        last = root.findtext(".//m:IncludesLastItemInRange", namespaces=NS)
        pages.append((len(creates), last))
        state = f"<m:SyncState>{root.findtext('.//m:SyncState', namespaces=NS)}</m:SyncState>"
        if last == "true":
            break
    assert pages == [(2, "false"), (2, "false"), (1, "true")]
    assert [kind for kind, _ in account.calendar.sync_items(max_changes_returned=2)] == [
        "create"
    ] * 5  # exchangelib follows the pages itself


def test_ignored_items_are_skipped(ews: RunningSandbox) -> None:
    """MS-OXWSSYNC_R385 MS-OXWSSYNC_R3851 MS-OXWSSYNC_R3852 MS-OXWSSYNC_R3861"""
    account = ews.account(ANNA)
    skipped, reported = _appointment(account, "skipped"), _appointment(account, "reported")
    changes = _changes(account.calendar, ignore=[ItemId(id=skipped.id)])
    assert changes == [("create", "reported")] and reported.id


def test_item_shape_of_sync(ews: RunningSandbox) -> None:
    """AllProperties returns the stored properties; AdditionalProperties add to IdOnly.

    MS-OXWSSYNC_R3781 MS-OXWSSYNC_R37814 MS-OXWSSYNC_R37815 MS-OXWSSYNC_R3782
    """
    account = ews.account(ANNA)
    _appointment(account, "shaped")
    request = (
        "<m:SyncFolderItems><m:ItemShape><t:BaseShape>{base}</t:BaseShape>{extra}</m:ItemShape>"
        '<m:SyncFolderId><t:DistinguishedFolderId Id="calendar"/></m:SyncFolderId>'
        "<m:MaxChangesReturned>10</m:MaxChangesReturned></m:SyncFolderItems>"
    )
    extra = '<t:AdditionalProperties><t:FieldURI FieldURI="item:Subject"/></t:AdditionalProperties>'
    shapes = {}
    for base, more in (("IdOnly", extra), ("Default", ""), ("AllProperties", "")):
        _, root = post(ews.url, request.format(base=base, extra=more), impersonate=ANNA)
        item = root.find(".//t:Create/t:CalendarItem", NS)
        assert item is not None
        shapes[base] = [child.tag.split("}")[1] for child in item]
    assert shapes["IdOnly"] == ["ItemId", "Subject"]
    assert {"Subject", "Start", "End", "Location"} - {"Location"} <= set(shapes["Default"])
    assert {"UID", "DateTimeCreated", "LastModifiedTime", "StartTimeZone"} <= set(
        shapes["AllProperties"]
    )
    assert "UID" not in shapes["Default"]


def test_invalid_sync_states_and_options_are_refused(ews: RunningSandbox) -> None:
    """MS-OXWSCDATA_R518 MS-OXWSSYNC_R3787"""
    account = ews.account(ANNA)
    _changes(account.calendar)
    calendar_state = account.calendar.item_sync_state
    for bad in ("not base64!", base64.b64encode(b"garbage").decode(), calendar_state):
        try:
            _changes(account.tasks, sync_state=bad)
        except ErrorInvalidSyncStateData:
            continue
        raise AssertionError(f"{bad!r} was accepted for the tasks folder")
    mime = (
        "<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>"
        "<t:IncludeMimeContent>true</t:IncludeMimeContent></m:ItemShape>"
        '<m:SyncFolderId><t:DistinguishedFolderId Id="calendar"/></m:SyncFolderId>'
        "<m:MaxChangesReturned>10</m:MaxChangesReturned></m:SyncFolderItems>"
    )
    _, root = post(ews.url, mime, impersonate=ANNA)
    assert response_codes(root) == ["ErrorInvalidPropertyForOperation"]


def test_folder_hierarchy_sync(ews: RunningSandbox) -> None:
    """A first hierarchy sync lists the folders; with its state nothing has changed.

    MS-OXWSSYNC_R262 MS-OXWSSYNC_R263 MS-OXWSSYNC_R2632 MS-OXWSSYNC_R2631 MS-OXWSSYNC_R503
    MS-OXWSSYNC_R44 MS-OXWSSYNC_R4601 MS-OXWSSYNC_R49 MS-OXWSSYNC_R99 MS-OXWSSYNC_R10010
    MS-OXWSSYNC_R101 MS-OXWSSYNC_R1021 MS-OXWSSYNC_R103 MS-OXWSSYNC_R1041 MS-OXWSSYNC_R107
    MS-OXWSSYNC_R1081 MS-OXWSSYNC_R260 MS-OXWSSYNC_R2602 MS-OXWSSYNC_R2573
    """
    account = ews.account(ANNA)
    folders = [folder for kind, folder in account.root.sync_hierarchy() if kind == "create"]
    classes = {folder.folder_class for folder in folders}
    assert {"IPF.Appointment", "IPF.Task", "IPF.Contact", "IPF.Note"} <= classes
    state = account.root.folder_sync_state
    assert base64.b64decode(state, validate=True)
    assert list(account.root.sync_hierarchy(sync_state=state)) == []
    request = (
        "<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>"
        "</m:SyncFolderHierarchy>"
    )
    _, root = post(ews.url, request, impersonate=ANNA)
    assert response_codes(root) == ["NoError"]
    for folder_type in ("Folder", "CalendarFolder", "TasksFolder", "ContactsFolder"):
        assert root.find(f".//t:Create/t:{folder_type}/t:FolderId", NS) is not None


def _raw_sync(ews: RunningSandbox, folder: str, state: str | None, extra: str = "") -> object:
    request = (
        "<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>"
        '<t:AdditionalProperties><t:FieldURI FieldURI="item:Subject"/></t:AdditionalProperties>'
        f'</m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="{folder}"/>'
        "</m:SyncFolderId>"
        + (f"<m:SyncState>{state}</m:SyncState>" if state else "")
        + f"<m:MaxChangesReturned>50</m:MaxChangesReturned>{extra}</m:SyncFolderItems>"
    )
    _, root = post(ews.url, request, impersonate=ANNA)
    assert response_codes(root) == ["NoError"]
    return root


def test_marking_a_message_read_is_a_read_flag_change(ews: RunningSandbox) -> None:
    """MS-OXWSSYNC_R136 MS-OXWSSYNC_R194 MS-OXWSSYNC_R195 MS-OXWSSYNC_R1951
    MS-OXWSSYNC_R1952
    """
    create = (
        '<m:CreateItem MessageDisposition="SaveOnly"><m:SavedItemFolderId>'
        '<t:DistinguishedFolderId Id="inbox"/></m:SavedItemFolderId><m:Items><t:Message>'
        "<t:Subject>{subject}</t:Subject><t:IsRead>false</t:IsRead></t:Message></m:Items>"
        "</m:CreateItem>"
    )
    for subject in ("read me", "leave me"):
        post(ews.url, create.format(subject=subject), impersonate=ANNA)
    state = _raw_sync(ews, "inbox", None).findtext(".//m:SyncState", namespaces=NS)  # type: ignore[attr-defined]
    read_id = next(
        i.id for i in ews.mailbox(ANNA).items.values() if i.fields["Subject"] == "read me"
    )
    mark = (
        '<m:UpdateItem ConflictResolution="AlwaysOverwrite" MessageDisposition="SaveOnly">'
        "<m:ItemChanges><t:ItemChange>"
        f'<t:ItemId Id="{read_id}"/><t:Updates><t:SetItemField>'
        '<t:FieldURI FieldURI="message:IsRead"/><t:Message><t:IsRead>{value}</t:IsRead>'
        "</t:Message></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>"
    )
    flags = []
    for value in ("true", "false"):
        post(ews.url, mark.format(value=value), impersonate=ANNA)
        root = _raw_sync(ews, "inbox", state)
        state = root.findtext(".//m:SyncState", namespaces=NS)  # type: ignore[attr-defined]
        changes = root.find(".//m:Changes", NS)  # type: ignore[attr-defined]
        assert [c.tag.split("}")[1] for c in changes] == ["ReadFlagChange"]
        assert changes[0].find("t:ItemId", NS).get("Id") == read_id
        flags.append(changes[0].findtext("t:IsRead", namespaces=NS))
    assert flags == ["true", "false"]


def test_contacts_and_sync_scope(ews: RunningSandbox) -> None:
    """Contacts sync like other items; SyncScope is accepted (there are no associated items).

    MS-OXWSSYNC_R160 MS-OXWSSYNC_R1611 MS-OXWSSYNC_R1612 MS-OXWSSYNC_R347 MS-OXWSSYNC_R348
    MS-OXWSSYNC_R37811008
    """
    create = (
        "<m:CreateItem><m:Items><t:Contact><t:Subject>Dora Diaz</t:Subject>"
        "<t:GivenName>Dora</t:GivenName></t:Contact></m:Items></m:CreateItem>"
    )
    post(ews.url, create, impersonate=ANNA)
    for scope in ("NormalItems", "NormalAndAssociatedItems"):
        root = _raw_sync(ews, "contacts", None, f"<m:SyncScope>{scope}</m:SyncScope>")
        subjects = [s.text for s in root.iterfind(".//t:Create/t:Contact/t:Subject", NS)]  # type: ignore[attr-defined]
        assert subjects == ["Dora Diaz"]
    state = root.findtext(".//m:SyncState", namespaces=NS)  # type: ignore[attr-defined]
    (contact_id,) = ews.mailbox(ANNA).items
    rename = (
        '<m:UpdateItem ConflictResolution="AlwaysOverwrite"><m:ItemChanges><t:ItemChange>'
        f'<t:ItemId Id="{contact_id}"/><t:Updates><t:SetItemField>'
        '<t:FieldURI FieldURI="item:Subject"/><t:Contact><t:Subject>Dora D.</t:Subject>'
        "</t:Contact></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>"
    )
    post(ews.url, rename, impersonate=ANNA)
    root = _raw_sync(ews, "contacts", state)
    assert root.findtext(".//t:Update/t:Contact/t:Subject", namespaces=NS) == "Dora D."  # type: ignore[attr-defined]


@pytest.mark.parametrize("base", ["IdOnly", "Default", "AllProperties"])
def test_folder_hierarchy_shapes(ews: RunningSandbox, base: str) -> None:
    """MS-OXWSSYNC_R2571 MS-OXWSSYNC_R2572 MS-OXWSSYNC_R2573 MS-OXWSSYNC_R2574
    MS-OXWSSYNC_R2575 MS-OXWSSYNC_R259 MS-OXWSSYNC_R2601 MS-OXWSSYNC_R84
    """
    request = (
        f"<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>{base}</t:BaseShape>"
        '<t:AdditionalProperties><t:FieldURI FieldURI="folder:FolderClass"/>'
        "</t:AdditionalProperties></m:FolderShape><m:SyncFolderId>"
        '<t:DistinguishedFolderId Id="msgfolderroot"/></m:SyncFolderId></m:SyncFolderHierarchy>'
    )
    _, root = post(ews.url, request, impersonate=ANNA)
    assert response_codes(root) == ["NoError"]
    calendar = root.find(".//t:Create/t:CalendarFolder", NS)
    assert calendar is not None
    names = {child.tag.split("}")[1] for child in calendar}
    assert {"FolderId", "FolderClass"} <= names
    assert ("DisplayName" in names) is (base != "IdOnly")
    assert ("EffectiveRights" in names) is (base == "AllProperties")


def test_saved_meeting_messages_sync_as_meeting_items(ews: RunningSandbox) -> None:
    """Copies kept by ...AndSaveCopy are meeting requests and cancellations in Sent Items.

    MS-OXWSSYNC_R166 MS-OXWSSYNC_R1671 MS-OXWSSYNC_R170 MS-OXWSSYNC_R1711
    """
    create = (
        '<m:CreateItem SendMeetingInvitations="SendToAllAndSaveCopy"><m:Items><t:CalendarItem>'
        "<t:Subject>meet</t:Subject><t:Start>2026-12-01T08:00:00Z</t:Start>"
        "<t:End>2026-12-01T09:00:00Z</t:End><t:RequiredAttendees><t:Attendee><t:Mailbox>"
        "<t:EmailAddress>ben.kraus@example.test</t:EmailAddress></t:Mailbox></t:Attendee>"
        "</t:RequiredAttendees></t:CalendarItem></m:Items></m:CreateItem>"
    )
    _, root = post(ews.url, create, impersonate=ANNA)
    meeting_id = root.find(".//t:ItemId", NS).get("Id")  # type: ignore[union-attr]
    delete = (
        '<m:DeleteItem DeleteType="MoveToDeletedItems" SendMeetingCancellations='
        f'"SendToAllAndSaveCopy"><m:ItemIds><t:ItemId Id="{meeting_id}"/></m:ItemIds>'
        "</m:DeleteItem>"
    )
    post(ews.url, delete, impersonate=ANNA)
    root = _raw_sync(ews, "sentitems", None)
    created = [(c.tag.split("}")[1], c.findtext("t:Subject", namespaces=NS))
               for c in root.iterfind(".//t:Create/*", NS)]  # type: ignore[attr-defined]  # fmt: skip
    assert created == [("MeetingRequest", "meet"), ("MeetingCancellation", "meet")]


def test_filter_html_content(ews: RunningSandbox) -> None:
    """FilterHtmlContent true removes script blocks and web beacons; false keeps them.

    MS-OXWSSYNC_R37801 MS-OXWSSYNC_R37802 MS-OXWSCDATA_R1193 MS-OXWSCDATA_R21193
    MS-OXWSCDATA_R21194 MS-OXWSCORE_R1679 MS-OXWSCDATA_R2119413 (Exchange 2010 and later
    support FilterHtmlContent)
    """
    html = (
        "&lt;p&gt;Hi&lt;script&gt;alert(1)&lt;/script&gt;"
        '&lt;img src="https://tracker.example.test/p.gif"&gt;&lt;/p&gt;'
    )
    create = (
        '<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem>'
        f'<t:Subject>html</t:Subject><t:Body BodyType="HTML">{html}</t:Body>'
        "<t:Start>2026-12-01T08:00:00Z</t:Start><t:End>2026-12-01T09:00:00Z</t:End>"
        "</t:CalendarItem></m:Items></m:CreateItem>"
    )
    post(ews.url, create, impersonate=ANNA)
    bodies = {}
    for flag in ("true", "false"):
        request = (
            "<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>"
            f"<t:FilterHtmlContent>{flag}</t:FilterHtmlContent><t:AdditionalProperties>"
            '<t:FieldURI FieldURI="item:Body"/></t:AdditionalProperties></m:ItemShape>'
            '<m:SyncFolderId><t:DistinguishedFolderId Id="calendar"/></m:SyncFolderId>'
            "<m:MaxChangesReturned>10</m:MaxChangesReturned></m:SyncFolderItems>"
        )
        _, root = post(ews.url, request, impersonate=ANNA)
        bodies[flag] = root.findtext(".//t:Create/t:CalendarItem/t:Body", namespaces=NS)
    assert bodies["true"] == "<p>Hi</p>"
    assert (
        bodies["false"]
        == '<p>Hi<script>alert(1)</script><img src="https://tracker.example.test/p.gif"></p>'
    )


def test_invalid_hierarchy_sync_state(ews: RunningSandbox) -> None:
    """MS-OXWSCDATA_R5188"""
    request = (
        "<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>"
        "<m:SyncState>bm90IGEgc3RhdGU=</m:SyncState></m:SyncFolderHierarchy>"
    )
    _, root = post(ews.url, request, impersonate=ANNA)
    assert response_codes(root) == ["ErrorInvalidSyncStateData"]
