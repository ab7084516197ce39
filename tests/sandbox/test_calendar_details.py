"""Calendar item details: stored properties, meeting time zones, occurrence and master ids."""

from __future__ import annotations

import pytest

from tests.sandbox.ews_support import NS, post, response_codes
from tests.support.sandbox import ANNA, BEN, RunningSandbox

TIMES = "<t:Start>2026-12-01T08:00:00Z</t:Start><t:End>2026-12-01T09:00:00Z</t:End>"
RECURRENCE = (
    "<t:Recurrence><t:DailyRecurrence><t:Interval>1</t:Interval></t:DailyRecurrence>"
    "<t:NumberedRecurrence><t:StartDate>2026-12-01</t:StartDate>"
    "<t:NumberOfOccurrences>3</t:NumberOfOccurrences></t:NumberedRecurrence></t:Recurrence>"
)
MEETING_ZONE = (
    '<t:MeetingTimeZone TimeZoneName="W. Europe Standard Time"><t:BaseOffset>-PT1H'
    "</t:BaseOffset></t:MeetingTimeZone>"
)


def _create(ews: RunningSandbox, fields: str) -> str:
    body = (
        '<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem>'
        f"<t:Subject>detail</t:Subject>{fields}</t:CalendarItem></m:Items></m:CreateItem>"
    )
    _, root = post(ews.url, body, impersonate=ANNA)
    assert response_codes(root) == ["NoError"]
    item_id = root.find(".//t:ItemId", NS)
    assert item_id is not None
    return item_id.get("Id", "")


def _get(ews: RunningSandbox, item_id: str, *uris: str, id_element: str = "") -> object:
    paths = "".join(f'<t:FieldURI FieldURI="{uri}"/>' for uri in uris)
    ids = id_element or f'<t:ItemId Id="{item_id}"/>'
    body = (
        "<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>"
        f"{paths}</t:AdditionalProperties></m:ItemShape><m:ItemIds>{ids}</m:ItemIds></m:GetItem>"
    )
    _, root = post(ews.url, body, impersonate=ANNA)
    return root


STORED = [
    ("calendar", "LegacyFreeBusyStatus", "Free"),
    ("calendar", "LegacyFreeBusyStatus", "NoData"),
    ("calendar", "LegacyFreeBusyStatus", "OOF"),
    ("calendar", "LegacyFreeBusyStatus", "Tentative"),
    ("calendar", "When", "Tuesdays, after lunch"),
    ("calendar", "IsResponseRequested", "true"),
    ("calendar", "IsResponseRequested", "false"),
    ("calendar", "ConferenceType", "0"),
    ("calendar", "ConferenceType", "1"),
    ("calendar", "ConferenceType", "2"),
    ("calendar", "AllowNewTimeProposal", "true"),
    ("calendar", "AllowNewTimeProposal", "false"),
    ("calendar", "MeetingWorkspaceUrl", "https://w.example.test"),
    ("calendar", "NetShowUrl", "https://n.example.test"),
    ("item", "Sensitivity", "Confidential"),
    ("item", "Sensitivity", "Normal"),
    ("item", "Importance", "Normal"),
]


@pytest.mark.parametrize(("prefix", "name", "value"), STORED, ids=lambda v: str(v))
def test_calendar_properties_are_stored_and_returned(
    ews: RunningSandbox, prefix: str, name: str, value: str
) -> None:
    """MS-OXWSMTGS_R16501 MS-OXWSMTGS_R16502 MS-OXWSMTGS_R16503 MS-OXWSMTGS_R16504
    MS-OXWSMTGS_R169 MS-OXWSMTGS_R179
    MS-OXWSMTGS_R736 MS-OXWSMTGS_R737 MS-OXWSMTGS_R227 MS-OXWSMTGS_R516 MS-OXWSMTGS_R742
    MS-OXWSMTGS_R743 MS-OXWSMTGS_R229 MS-OXWSMTGS_R744 MS-OXWSMTGS_R745
    MS-OXWSMTGS_R233 MS-OXWSMTGS_R235 MS-OXWSCORE_R1650
    MS-OXWSCORE_R1651 MS-OXWSCORE_R200
    """
    xml = f"<t:{name}>{value}</t:{name}>"
    # The schema orders ItemType's properties before CalendarItemType's.
    item_id = _create(ews, xml + TIMES if prefix == "item" else TIMES + xml)
    root = _get(ews, item_id, f"{prefix}:{name}")
    assert root.findtext(f".//t:CalendarItem/t:{name}", namespaces=NS) == value  # type: ignore[attr-defined]


def test_is_online_meeting_is_the_servers(ews: RunningSandbox) -> None:
    """MS-OXWSMTGS_R2301: Exchange 2016 and later keep IsOnlineMeeting read-only, so a
    CreateItem or UpdateItem setting it is ErrorInvalidPropertySet, as Microsoft's protocol
    test finds; it is returned, false (MS-OXWSMTGS_R231 MS-OXWSMTGS_R747), as the sandbox
    has no online meeting provider."""
    for value in ("true", "false"):
        body = (
            '<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem>'
            f"{TIMES}<t:IsOnlineMeeting>{value}</t:IsOnlineMeeting></t:CalendarItem></m:Items>"
            "</m:CreateItem>"
        )
        _, root = post(ews.url, body, impersonate=ANNA)
        assert response_codes(root) == ["ErrorInvalidPropertySet"]
    item_id = _create(ews, TIMES)
    update = (
        '<m:UpdateItem ConflictResolution="AlwaysOverwrite" '
        'SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange>'
        f'<t:ItemId Id="{item_id}"/><t:Updates><t:SetItemField>'
        '<t:FieldURI FieldURI="calendar:IsOnlineMeeting"/><t:CalendarItem><t:IsOnlineMeeting>'
        "true</t:IsOnlineMeeting></t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange>"
        "</m:ItemChanges></m:UpdateItem>"
    )
    _, root = post(ews.url, update, impersonate=ANNA)
    assert response_codes(root) == ["ErrorInvalidPropertySet"]
    root = _get(ews, item_id, "calendar:IsOnlineMeeting")
    assert root.findtext(".//t:IsOnlineMeeting", namespaces=NS) == "false"  # type: ignore[attr-defined]
    assert len(ews.mailbox(ANNA).items) == 1


def test_attendees_keep_their_response_details(ews: RunningSandbox) -> None:
    """MS-OXWSMTGS_R139 MS-OXWSMTGS_R141 MS-OXWSMTGS_R187"""
    attendees = (
        f"<t:RequiredAttendees><t:Attendee><t:Mailbox><t:EmailAddress>{BEN}</t:EmailAddress>"
        "</t:Mailbox><t:ResponseType>Accept</t:ResponseType>"
        "<t:LastResponseTime>2026-11-20T10:00:00Z</t:LastResponseTime></t:Attendee>"
        "</t:RequiredAttendees>"
    )
    item_id = _create(ews, TIMES + attendees)
    root = _get(ews, item_id, "calendar:RequiredAttendees")
    attendee = root.find(".//t:RequiredAttendees/t:Attendee", NS)  # type: ignore[attr-defined]
    assert attendee.findtext("t:ResponseType", namespaces=NS) == "Accept"
    assert attendee.findtext("t:LastResponseTime", namespaces=NS) == "2026-11-20T10:00:00Z"


def test_meeting_time_zone_is_returned_for_recurring_masters_only(ews: RunningSandbox) -> None:
    """MS-OXWSMTGS_R1053 MS-OXWSMTGS_R407 MS-OXWSMTGS_R585"""
    single = _create(ews, TIMES + MEETING_ZONE)
    master = _create(ews, TIMES + RECURRENCE + MEETING_ZONE)
    for item_id, present in ((single, False), (master, True)):
        root = _get(ews, item_id, "calendar:MeetingTimeZone")
        zone = root.find(".//t:CalendarItem/t:MeetingTimeZone", NS)  # type: ignore[attr-defined]
        assert (zone is not None) is present
        if present:
            assert zone.get("TimeZoneName") == "W. Europe Standard Time"
            assert zone.findtext("t:BaseOffset", namespaces=NS) == "-PT1H"


def test_occurrence_and_master_ids(ews: RunningSandbox) -> None:
    """OccurrenceItemId and RecurringMasterItemId, and the errors for ids that do not fit.

    MS-OXWSMTGS_R630 MS-OXWSMTGS_R1194 MS-OXWSMTGS_R1223 MS-OXWSMTGS_R1212 MS-OXWSMTGS_R1222
    MS-OXWSMTGS_R213 MS-OXWSMTGS_R215 MS-OXWSMTGS_R381 MS-OXWSMTGS_R383 MS-OXWSMTGS_R385
    MS-OXWSMTGS_R387 MS-OXWSMTGS_R620 MS-OXWSMTGS_R56 MS-OXWSMTGS_R807 (GetItem of a
    recurring item by RecurringMasterItemId or OccurrenceItemId)
    """
    single = _create(ews, TIMES)
    master = _create(ews, TIMES + RECURRENCE)
    root = _get(ews, master, "calendar:FirstOccurrence", "calendar:LastOccurrence")
    first = root.find(".//t:FirstOccurrence", NS)  # type: ignore[attr-defined]
    last = root.find(".//t:LastOccurrence", NS)  # type: ignore[attr-defined]
    assert first.findtext("t:Start", namespaces=NS) == "2026-12-01T08:00:00Z"
    assert last.findtext("t:Start", namespaces=NS) == "2026-12-03T08:00:00Z"
    assert last.findtext("t:OriginalStart", namespaces=NS) == "2026-12-03T08:00:00Z"
    occurrence_id = last.find("t:ItemId", NS).get("Id")
    cases = [
        (f'<t:OccurrenceItemId RecurringMasterId="{master}" InstanceIndex="3"/>', "NoError"),
        (f'<t:OccurrenceItemId RecurringMasterId="{master}" InstanceIndex="4"/>',
         "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange"),
        (f'<t:OccurrenceItemId RecurringMasterId="{single}" InstanceIndex="1"/>',
         "ErrorCalendarCannotUseIdForRecurringMasterId"),
        (f'<t:RecurringMasterItemId OccurrenceId="{occurrence_id}"/>', "NoError"),
        (f'<t:RecurringMasterItemId OccurrenceId="{single}"/>',
         "ErrorCalendarCannotUseIdForOccurrenceId"),
        (f'<t:ItemId Id="{occurrence_id}"/>', "NoError"),
    ]  # fmt: skip
    for id_element, code in cases:
        root = _get(ews, "", "calendar:CalendarItemType", id_element=id_element)
        assert response_codes(root) == [code], id_element  # type: ignore[arg-type]
    delete = (
        '<m:DeleteItem DeleteType="HardDelete" SendMeetingCancellations="SendToNone"><m:ItemIds>'
        f'<t:RecurringMasterItemId OccurrenceId="{occurrence_id}"/></m:ItemIds></m:DeleteItem>'
    )
    _, root = post(ews.url, delete, impersonate=ANNA)
    assert response_codes(root) == ["NoError"]
    assert set(ews.mailbox(ANNA).items) == {single}


def test_cancelling_a_meeting_leaves_a_cancelled_copy_in_deleted_items(
    ews: RunningSandbox,
) -> None:
    """MS-OXWSMTGS_R177 MS-OXWSMTGS_R734 MS-OXWSMTGS_R735 MS-OXWSMTGS_R173 MS-OXWSMTGS_R730
    MS-OXWSMTGS_R731 MS-OXWSMTGS_R209 MS-OXWSMTGS_R740 MS-OXWSMTGS_R1052 MS-OXWSMTGS_R171
    MS-OXWSMTGS_R494 MS-OXWSMTGS_R593 MS-OXWSMTGS_R1198 MS-OXWSMTGS_R1199 MS-OXWSMTGS_R1207
    MS-OXWSMTGS_R1208 MS-OXWSMTGS_R1217 MS-OXWSMTGS_R1218
    """
    attendee = (
        f"<t:RequiredAttendees><t:Attendee><t:Mailbox><t:EmailAddress>{BEN}</t:EmailAddress>"
        "</t:Mailbox></t:Attendee></t:RequiredAttendees>"
    )
    appointment = _create(ews, TIMES)
    body = (
        '<m:CreateItem SendMeetingInvitations="SendOnlyToAll"><m:Items><t:CalendarItem>'
        f"<t:Subject>meeting</t:Subject>{TIMES}{attendee}</t:CalendarItem></m:Items>"
        "</m:CreateItem>"
    )
    _, root = post(ews.url, body, impersonate=ANNA)
    meeting = root.find(".//t:ItemId", NS).get("Id")  # type: ignore[union-attr]
    uris = ("calendar:MeetingRequestWasSent", "calendar:IsCancelled", "calendar:IsMeeting",
            "calendar:AppointmentState")  # fmt: skip
    states = {}
    for name, item_id in (("appointment", appointment), ("meeting", meeting)):
        item = _get(ews, item_id, *uris).find(".//t:CalendarItem", NS)  # type: ignore[attr-defined]
        states[name] = [c.text for c in item][1:]
    assert states == {
        "appointment": ["false", "false", "false", "0"],
        "meeting": ["true", "false", "true", "1"],
    }
    delete = (
        '<m:DeleteItem DeleteType="MoveToDeletedItems" SendMeetingCancellations="SendOnlyToAll">'
        f'<m:ItemIds><t:ItemId Id="{meeting}"/></m:ItemIds></m:DeleteItem>'
    )
    _, root = post(ews.url, delete, impersonate=ANNA)
    assert response_codes(root) == ["NoError"]
    mailbox = ews.mailbox(ANNA)
    (trashed,) = (i for i in mailbox.items.values() if i.folder_id != mailbox.folder(
        distinguished="calendar").id)  # fmt: skip
    item = _get(ews, trashed.id, *uris).find(".//t:CalendarItem", NS)  # type: ignore[attr-defined]
    assert [c.text for c in item][1:] == ["true", "true", "true", "5"]


def test_missing_send_options_and_master_updates(ews: RunningSandbox) -> None:
    """MS-OXWSMTGS_R1213 MS-OXWSMTGS_R1209 MS-OXWSMTGS_R651 MS-OXWSMTGS_R650 MS-OXWSMTGS_R1235
    MS-OXWSMTGS_R1236 MS-OXWSMTGS_R1237
    """
    master = _create(ews, TIMES + RECURRENCE)
    root = _get(ews, master, "calendar:FirstOccurrence")
    occurrence = root.find(".//t:FirstOccurrence/t:ItemId", NS).get("Id")  # type: ignore[attr-defined]
    delete = (
        '<m:DeleteItem DeleteType="HardDelete"><m:ItemIds>'
        f'<t:ItemId Id="{master}"/></m:ItemIds></m:DeleteItem>'
    )
    _, root = post(ews.url, delete, impersonate=ANNA)
    assert response_codes(root) == ["ErrorSendMeetingCancellationsRequired"]
    update = (
        '<m:UpdateItem ConflictResolution="AlwaysOverwrite"{send}><m:ItemChanges><t:ItemChange>'
        f'<t:RecurringMasterItemId OccurrenceId="{occurrence}"/><t:Updates><t:SetItemField>'
        '<t:FieldURI FieldURI="item:Subject"/><t:CalendarItem><t:Subject>series, renamed'
        "</t:Subject></t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange>"
        "</m:ItemChanges></m:UpdateItem>"
    )
    _, root = post(ews.url, update.format(send=""), impersonate=ANNA)
    assert response_codes(root) == ["ErrorSendMeetingInvitationsOrCancellationsRequired"]
    send = ' SendMeetingInvitationsOrCancellations="SendToNone"'
    _, root = post(ews.url, update.format(send=send), impersonate=ANNA)
    assert response_codes(root) == ["NoError"]
    assert ews.mailbox(ANNA).items[master].fields["Subject"] == "series, renamed"


def test_deleting_one_occurrence(ews: RunningSandbox) -> None:
    """The master lists the deleted occurrence; views and occurrence ids leave it out.

    MS-OXWSMTGS_R219 MS-OXWSMTGS_R373 MS-OXWSMTGS_R54
    """
    master = _create(ews, TIMES + RECURRENCE)
    second = f'<t:OccurrenceItemId RecurringMasterId="{master}" InstanceIndex="2"/>'
    root = _get(ews, "", "calendar:Start", id_element=second)
    occurrence_id = root.find(".//t:CalendarItem/t:ItemId", NS).get("Id")  # type: ignore[attr-defined]
    delete = (
        '<m:DeleteItem DeleteType="MoveToDeletedItems" SendMeetingCancellations="SendToNone">'
        f'<m:ItemIds><t:ItemId Id="{occurrence_id}"/></m:ItemIds></m:DeleteItem>'
    )
    _, root = post(ews.url, delete, impersonate=ANNA)
    assert response_codes(root) == ["NoError"]
    root = _get(ews, master, "calendar:DeletedOccurrences", "calendar:LastOccurrence")
    starts = [s.text for s in root.iterfind(".//t:DeletedOccurrence/t:Start", NS)]  # type: ignore[attr-defined]
    assert starts == ["2026-12-02T08:00:00Z"]
    assert root.findtext(".//t:LastOccurrence/t:Start", namespaces=NS) == "2026-12-03T08:00:00Z"  # type: ignore[attr-defined]
    root = _get(ews, "", "calendar:Start", id_element=second)
    assert response_codes(root) == ["ErrorCalendarOccurrenceIsDeletedFromRecurrence"]  # type: ignore[arg-type]
    view = (
        '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>'
        '<t:AdditionalProperties><t:FieldURI FieldURI="calendar:Start"/></t:AdditionalProperties>'
        '</m:ItemShape><m:CalendarView StartDate="2026-11-30T00:00:00Z" '
        'EndDate="2026-12-10T00:00:00Z"/><m:ParentFolderIds>'
        '<t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>'
    )
    _, root = post(ews.url, view, impersonate=ANNA)
    shown = [s.text for s in root.iterfind(".//t:CalendarItem/t:Start", NS)]
    assert shown == ["2026-12-01T08:00:00Z", "2026-12-03T08:00:00Z"]
    assert list(ews.mailbox(ANNA).items) == [master]  # no copy of an occurrence is kept


def _set_recurrence(ews: RunningSandbox, master: str, recurrence: str) -> None:
    update = (
        '<m:UpdateItem ConflictResolution="AlwaysOverwrite" '
        'SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange>'
        f'<t:ItemId Id="{master}"/><t:Updates><t:SetItemField>'
        '<t:FieldURI FieldURI="calendar:Recurrence"/><t:CalendarItem>'
        f"{recurrence}</t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange>"
        "</m:ItemChanges></m:UpdateItem>"
    )
    _, root = post(ews.url, update, impersonate=ANNA)
    assert response_codes(root) == ["NoError"]


@pytest.mark.parametrize(("pattern", "kept"), [(RECURRENCE, True),
                                               (RECURRENCE.replace(">3<", ">4<"), False)])
def test_a_changed_recurrence_pattern_removes_every_exception(
    ews: RunningSandbox, pattern: str, kept: bool
) -> None:
    """MS-OXOCAL 3.1.4.7.3.5: when the recurrence pattern changes, every exception is
    removed (modified and deleted occurrences); the same pattern written again keeps them."""
    master = _create(ews, TIMES + RECURRENCE)
    first = f'<t:OccurrenceItemId RecurringMasterId="{master}" InstanceIndex="1"/>'
    rename = (
        '<m:UpdateItem ConflictResolution="AlwaysOverwrite" '
        'SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange>'
        f'{first}<t:Updates><t:SetItemField><t:FieldURI FieldURI="item:Subject"/>'
        "<t:CalendarItem><t:Subject>moved</t:Subject></t:CalendarItem></t:SetItemField>"
        "</t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>"
    )
    _, root = post(ews.url, rename, impersonate=ANNA)
    assert response_codes(root) == ["NoError"]
    second = f'<t:OccurrenceItemId RecurringMasterId="{master}" InstanceIndex="2"/>'
    delete = (
        '<m:DeleteItem DeleteType="MoveToDeletedItems" SendMeetingCancellations="SendToNone">'
        f"<m:ItemIds>{second}</m:ItemIds></m:DeleteItem>"
    )
    _, root = post(ews.url, delete, impersonate=ANNA)
    assert response_codes(root) == ["NoError"]

    _set_recurrence(ews, master, pattern)

    root = _get(ews, master, "calendar:ModifiedOccurrences", "calendar:DeletedOccurrences")
    modified = root.findall(".//t:ModifiedOccurrences/t:Occurrence", NS)  # type: ignore[attr-defined]
    deleted = root.findall(".//t:DeletedOccurrences/t:DeletedOccurrence", NS)  # type: ignore[attr-defined]
    assert (len(modified), len(deleted)) == ((1, 1) if kept else (0, 0))
    root = _get(ews, "", "item:Subject", id_element=first)
    assert root.findtext(".//t:Subject", namespaces=NS) == ("moved" if kept else "detail")  # type: ignore[attr-defined]


def test_occurrence_ranges_compare_original_or_current_times(ews: RunningSandbox) -> None:
    """A RecurringMasterItemIdRanges answers the master and its occurrences in the ranges,
    as Microsoft's protocol test finds on Exchange 2016 (the master and one occurrence
    more when the moved first occurrence counts by its new time):
    MS-OXWSCORE_R1076 MS-OXWSCORE_R1697 (CompareOriginalStartTime true compares the
    original starts) MS-OXWSCORE_R1698 (false compares the current start and end);
    Count caps a range; an id that is no master's is refused."""
    single = _create(ews, TIMES)
    master = _create(ews, TIMES + RECURRENCE)
    first = f'<t:OccurrenceItemId RecurringMasterId="{master}" InstanceIndex="1"/>'
    move = (
        '<m:UpdateItem ConflictResolution="AlwaysOverwrite" '
        'SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange>'
        f'{first}<t:Updates><t:SetItemField><t:FieldURI FieldURI="calendar:Start"/>'
        "<t:CalendarItem><t:Start>2026-12-01T08:20:00Z</t:Start></t:CalendarItem>"
        '</t:SetItemField><t:SetItemField><t:FieldURI FieldURI="calendar:End"/><t:CalendarItem>'
        "<t:End>2026-12-01T09:20:00Z</t:End></t:CalendarItem></t:SetItemField></t:Updates>"
        "</t:ItemChange></m:ItemChanges></m:UpdateItem>"
    )
    _, root = post(ews.url, move, impersonate=ANNA)
    assert response_codes(root) == ["NoError"]

    def ranges(compare: str, count: str = "", item_id: str = master) -> tuple[list[str], list]:
        limit = f' Count="{count}"' if count else ""
        id_element = (
            f'<t:RecurringMasterItemIdRanges Id="{item_id}"><t:Ranges><t:Range '
            f'Start="2026-12-01T08:10:00Z" End="2026-12-04T00:00:00Z"{limit} '
            f'CompareOriginalStartTime="{compare}"/></t:Ranges></t:RecurringMasterItemIdRanges>'
        )
        root = _get(ews, "", "calendar:CalendarItemType", "calendar:Start", id_element=id_element)
        found = [
            (i.findtext("t:CalendarItemType", namespaces=NS), i.findtext("t:Start", namespaces=NS))
            for i in root.iterfind(".//m:Items/t:CalendarItem", NS)  # type: ignore[attr-defined]
        ]
        return response_codes(root), found  # type: ignore[arg-type]

    assert ranges("true") == (["NoError"], [
        ("RecurringMaster", "2026-12-01T08:00:00Z"), ("Occurrence", "2026-12-02T08:00:00Z"),
        ("Occurrence", "2026-12-03T08:00:00Z"),
    ])  # fmt: skip
    assert ranges("false") == (["NoError"], [
        ("RecurringMaster", "2026-12-01T08:00:00Z"), ("Exception", "2026-12-01T08:20:00Z"),
        ("Occurrence", "2026-12-02T08:00:00Z"), ("Occurrence", "2026-12-03T08:00:00Z"),
    ])  # fmt: skip
    assert ranges("false", count="1")[1] == [
        ("RecurringMaster", "2026-12-01T08:00:00Z"), ("Exception", "2026-12-01T08:20:00Z"),
    ]  # fmt: skip
    assert ranges("true", item_id=single) == (["ErrorCalendarCannotUseIdForRecurringMasterId"], [])


def test_a_series_moves_and_copies_by_its_master_id(ews: RunningSandbox) -> None:
    """MS-OXWSMTGS_R806 MS-OXWSMTGS_R808: a recurring calendar item is copied or moved by
    a RecurringMasterItemId (here of one of its occurrences): the whole series goes, its
    occurrences with it, where an OccurrenceItemId alone is refused."""
    master = _create(ews, TIMES + RECURRENCE)
    occurrence = f'<t:OccurrenceItemId RecurringMasterId="{master}" InstanceIndex="2"/>'
    root = _get(ews, "", "item:Subject", id_element=occurrence)
    occurrence_id = root.find(".//t:CalendarItem/t:ItemId", NS).get("Id")  # type: ignore[attr-defined]
    mailbox = ews.mailbox(ANNA)
    inbox = mailbox.folder(distinguished="inbox").id
    by_master = f'<t:RecurringMasterItemId OccurrenceId="{occurrence_id}"/>'
    for operation in ("CopyItem", "MoveItem"):
        body = (
            f'<m:{operation}><m:ToFolderId><t:DistinguishedFolderId Id="inbox"/></m:ToFolderId>'
            f"<m:ItemIds>{occurrence}{by_master}</m:ItemIds></m:{operation}>"
        )
        _, root = post(ews.url, body, impersonate=ANNA)
        assert response_codes(root) == ["ErrorCalendarCannotMoveOrCopyOccurrence", "NoError"]
    in_inbox = [i for i in mailbox.items.values() if i.folder_id == inbox]
    assert len(in_inbox) == 2 and master not in mailbox.items  # the copy and the moved series
    assert all(i.fields["CalendarItemType"] == "RecurringMaster" for i in in_inbox)
