"""Issue 11: where the sandbox differed from Exchange, each fix against Microsoft's documents.

Each test names the requirement (``MS-OXWS..._R...``) or the documentation page it proves.
"""

from __future__ import annotations

from exchangelib import CalendarItem, EWSDateTime, EWSTimeZone, HTMLBody, Message
from exchangelib.items import SEND_TO_NONE

from tests.sandbox.ews_support import NS, WELL_FORMED_UNKNOWN, post, response_codes
from tests.support.sandbox import ANNA, RunningSandbox

BERLIN = EWSTimeZone("Europe/Berlin")


def _appointment(account, subject: str, day: int = 1, **fields) -> CalendarItem:  # type: ignore[no-untyped-def]
    item = CalendarItem(
        account=account, folder=account.calendar, subject=subject,
        start=EWSDateTime(2026, 12, day, 9, tzinfo=BERLIN),
        end=EWSDateTime(2026, 12, day, 10, tzinfo=BERLIN), **fields,
    )  # fmt: skip
    item.save(send_meeting_invitations=SEND_TO_NONE)
    return item


def test_a_subject_is_truncated_to_255_characters(ews: RunningSandbox) -> None:
    """MS-OXWSCORE_R74: "This value [Subject] is limited to 255 characters"; Exchange
    keeps the first 255, on create and on update alike (raw SOAP: exchangelib refuses
    a longer subject before sending it)."""
    create = (
        '<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem>'
        f"<t:Subject>{'x' * 300}</t:Subject><t:Start>2026-12-01T09:00:00Z</t:Start>"
        "<t:End>2026-12-01T10:00:00Z</t:End></t:CalendarItem></m:Items></m:CreateItem>"
    )
    _, root = post(ews.url, create, impersonate=ANNA)
    item_id = root.find(".//t:ItemId", NS)
    assert item_id is not None
    assert ews.mailbox(ANNA).item(item_id.get("Id", "")).fields["Subject"] == "x" * 255
    update = (
        '<m:UpdateItem ConflictResolution="AlwaysOverwrite" '
        'SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange>'
        f'<t:ItemId Id="{item_id.get("Id")}"/><t:Updates><t:SetItemField>'
        '<t:FieldURI FieldURI="item:Subject"/><t:CalendarItem>'
        f"<t:Subject>{'y' * 256}</t:Subject></t:CalendarItem></t:SetItemField></t:Updates>"
        "</t:ItemChange></m:ItemChanges></m:UpdateItem>"
    )
    post(ews.url, update, impersonate=ANNA)
    account = ews.account(ANNA)
    assert account.calendar.get(id=item_id.get("Id")).subject == "y" * 255


def test_restrictions_compare_text_without_case(ews: RunningSandbox) -> None:
    """IsEqualTo on a string ignores case (subjects and categories alike), and Contains
    follows its ContainmentComparison as documented (learn.microsoft.com, "Contains":
    Exact, IgnoreCase, IgnoreNonSpacingCharacters, Loose...)."""
    account = ews.account(ANNA)
    _appointment(account, "Quartalsbericht Müller", categories=["ES_1_Besprechung"])
    _appointment(account, "other", day=2)
    calendar = account.calendar
    assert [i.subject for i in calendar.filter(subject="quartalsbericht müller")] == [
        "Quartalsbericht Müller"
    ]
    assert calendar.filter(categories__contains=["es_1_besprechung"]).count() == 1
    assert calendar.filter(subject__icontains="BERICHT").count() == 1
    assert calendar.filter(subject__contains="Bericht").count() == 0  # Exact keeps case
    template = (
        '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>'
        '</m:ItemShape><m:Restriction><t:Contains ContainmentMode="Substring" '
        'ContainmentComparison="{comparison}"><t:FieldURI FieldURI="item:Subject"/>'
        '<t:Constant Value="{wanted}"/></t:Contains></m:Restriction><m:ParentFolderIds>'
        '<t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>'
    )
    for comparison, wanted, found in (
        ("IgnoreNonSpacingCharacters", "Muller", 1),
        ("IgnoreNonSpacingCharacters", "muller", 0),
        ("IgnoreCaseAndNonSpacingCharacters", "MULLER", 1),
        ("LooseAndIgnoreCase", "mUller", 1),
        ("Exact", "Müller", 1),
    ):
        _, root = post(ews.url, template.format(comparison=comparison, wanted=wanted),
                       impersonate=ANNA)  # fmt: skip
        assert len(root.findall(".//t:CalendarItem", NS)) == found, (comparison, wanted)


def test_empty_values_sort_first_in_ascending_order(ews: RunningSandbox) -> None:
    """An item without the sorted property is lowest: first ascending, last descending
    (learn.microsoft.com, "SortOrder"; exchangelib's own ordering tests expect this)."""
    account = ews.account(ANNA)
    _appointment(account, "b", location="Berlin")
    _appointment(account, "none", day=2)
    _appointment(account, "a", day=3, location="aachen")  # case does not order
    ascending = [i.subject for i in account.calendar.all().order_by("location")]
    assert ascending == ["none", "a", "b"]
    assert [i.subject for i in account.calendar.all().order_by("-location")] == ["b", "a", "none"]


def test_boolean_dictionary_entries_come_back_canonical(ews: RunningSandbox) -> None:
    """A Boolean of a user configuration dictionary is an xs:boolean: stored "1"/"0",
    Exchange returns "true"/"false" (MS-OXWSUSRCFG, UserConfigurationDictionaryObjectType)."""
    entry = (
        "<t:DictionaryEntry><t:DictionaryKey><t:Type>String</t:Type><t:Value>{key}</t:Value>"
        "</t:DictionaryKey><t:DictionaryValue><t:Type>Boolean</t:Type><t:Value>{value}"
        "</t:Value></t:DictionaryValue></t:DictionaryEntry>"
    )
    entries = entry.format(key="on", value="1") + entry.format(key="off", value="0")
    create = (
        "<m:CreateUserConfiguration><m:UserConfiguration>"
        '<t:UserConfigurationName Name="Flags"><t:DistinguishedFolderId Id="calendar"/>'
        f"</t:UserConfigurationName><t:Dictionary>{entries}</t:Dictionary>"
        "</m:UserConfiguration></m:CreateUserConfiguration>"
    )
    _, created = post(ews.url, create, impersonate=ANNA)
    assert response_codes(created) == ["NoError"]
    get = (
        '<m:GetUserConfiguration><m:UserConfigurationName Name="Flags">'
        '<t:DistinguishedFolderId Id="calendar"/></m:UserConfigurationName>'
        "<m:UserConfigurationProperties>Dictionary</m:UserConfigurationProperties>"
        "</m:GetUserConfiguration>"
    )
    _, root = post(ews.url, get, impersonate=ANNA)
    values = [v.text for v in root.iterfind(".//t:DictionaryValue/t:Value", NS)]
    assert values == ["true", "false"]


def test_a_malformed_id_is_error_invalid_id_malformed(ews: RunningSandbox) -> None:
    """Exchange tells an id it cannot parse (ErrorInvalidIdMalformed, MS-OXWSCDATA
    ResponseCodeType) from a well-formed id of nothing it holds (ErrorItemNotFound)."""
    get = (
        '<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:ItemIds>'
        '<t:ItemId Id="not-an-id"/><t:ItemId Id="AAAA"/>'
        f'<t:ItemId Id="{WELL_FORMED_UNKNOWN}"/></m:ItemIds></m:GetItem>'
    )
    _, root = post(ews.url, get, impersonate=ANNA)
    assert response_codes(root) == [
        "ErrorInvalidIdMalformed", "ErrorInvalidIdMalformed", "ErrorItemNotFound",
    ]  # fmt: skip


def test_text_body_is_returned_when_asked_for(ews: RunningSandbox) -> None:
    """MS-OXWSCORE_R1731 MS-OXWSCORE_R2061: TextBody, the body as text, is returned
    (Exchange 2013 and later); MS-OXWSCORE_R2060 MS-OXWSCORE_R2356: it is read-only."""
    account = ews.account(ANNA)
    message = Message(account=account, folder=account.drafts, subject="t",
                      body=HTMLBody("<html><body><p>Hallo &amp; gr&uuml;&szlig;</p>"
                                    "<p>Zweite <b>Zeile</b></p></body></html>"))  # fmt: skip
    message.save()
    get = (
        "<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>"
        '<t:FieldURI FieldURI="item:TextBody"/></t:AdditionalProperties></m:ItemShape>'
        f'<m:ItemIds><t:ItemId Id="{message.id}"/></m:ItemIds></m:GetItem>'
    )
    _, root = post(ews.url, get, impersonate=ANNA)
    text = root.find(".//t:TextBody", NS)
    assert text is not None and text.get("BodyType") == "Text"
    assert text.text == "Hallo & grüß\nZweite Zeile"
    create = (
        '<m:CreateItem MessageDisposition="SaveOnly"><m:Items><t:Message><t:Subject>x'
        '</t:Subject><t:TextBody BodyType="Text">no</t:TextBody></t:Message></m:Items>'
        "</m:CreateItem>"
    )
    _, refused = post(ews.url, create, impersonate=ANNA)
    assert response_codes(refused) == ["ErrorInvalidPropertySet"]


def test_an_operation_the_sandbox_lacks_fails_alone(ews: RunningSandbox) -> None:
    """Issue 11 item 1: an operation of the schema the sandbox does not serve answers its
    own response with ErrorInvalidOperation, never ErrorInvalidRequest (which exchangelib
    takes for a version mismatch and then stays on Exchange2007); later requests work."""
    send = (
        '<m:SendItem SaveItemToFolder="false"><m:ItemIds>'
        f'<t:ItemId Id="{WELL_FORMED_UNKNOWN}"/></m:ItemIds></m:SendItem>'
    )
    status, root = post(ews.url, send, impersonate=ANNA)
    assert status == 200
    assert response_codes(root) == ["ErrorInvalidOperation"]
    account = ews.account(ANNA)
    _appointment(account, "afterwards")
    assert account.version.build.major_version == 15
    assert [i.subject for i in account.calendar.all()] == ["afterwards"]


def test_calendar_view_boundaries_and_restrictions(ews: RunningSandbox) -> None:
    """Issue 11 item 2: a view starting exactly where an item ends still lists it, one
    ending where an item starts does not (exchangelib's test_view, run against Exchange);
    a restriction with a CalendarView is ErrorInvalidOperation."""
    account = ews.account(ANNA)
    first = _appointment(account, "first", day=1)
    second = _appointment(account, "second", day=2)
    assert [i.subject for i in account.calendar.view(start=first.end, end=second.start)] == [
        "first"
    ]
    assert [i.subject for i in account.calendar.view(start=first.start, end=second.start)] == [
        "first"
    ]
    view = (
        '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>'
        '</m:ItemShape><m:CalendarView StartDate="2026-12-01T00:00:00Z" '
        'EndDate="2026-12-03T00:00:00Z"/><m:Restriction><t:Exists>'
        '<t:FieldURI FieldURI="item:Subject"/></t:Exists></m:Restriction><m:ParentFolderIds>'
        '<t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>'
    )
    _, root = post(ews.url, view, impersonate=ANNA)
    assert response_codes(root) == ["ErrorInvalidOperation"]


def test_meeting_responses_are_exchanges(ews: RunningSandbox) -> None:
    """Issue 11 item 3 ("CancelCalendarItem", "AcceptItem" on learn.microsoft.com): a
    response without ReferenceItemId is ErrorMissingInformationReferenceItemId; the
    organizer cannot accept their own meeting; a cancelled meeting leaves the calendar
    (cancellation recorded, a copy in Sent Items) and a second cancel is ErrorItemNotFound.
    Nothing without an ItemId is ever stored."""
    account = ews.account(ANNA)
    meeting = _appointment(account, "Runde", required_attendees=["ben@example.test"])
    for kind, code in (("AcceptItem", "ErrorCalendarIsOrganizerForAccept"),
                       ("DeclineItem", "ErrorCalendarIsOrganizerForDecline")):  # fmt: skip
        _, root = post(ews.url, _response(kind, meeting.id), impersonate=ANNA)
        assert response_codes(root) == [code]
    _, missing = post(ews.url, _response("AcceptItem", None), impersonate=ANNA)
    assert response_codes(missing) == ["ErrorMissingInformationReferenceItemId"]
    _, cancelled = post(ews.url, _response("CancelCalendarItem", meeting.id), impersonate=ANNA)
    assert response_codes(cancelled) == ["NoError"]
    assert account.calendar.all().count() == 0
    mailbox = ews.mailbox(ANNA)
    assert [(s.kind, s.recipients) for s in mailbox.sent] == [
        ("cancellation", ("ben@example.test",))
    ]
    _, again = post(ews.url, _response("CancelCalendarItem", meeting.id), impersonate=ANNA)
    assert response_codes(again) == ["ErrorItemNotFound"]
    sent = account.sent.all()
    assert [i.subject for i in sent] == ["Runde"] and all(i.id for i in sent)


def _response(kind: str, item_id: str | None) -> str:
    reference = f'<t:ReferenceItemId Id="{item_id}"/>' if item_id else ""
    return (
        f'<m:CreateItem MessageDisposition="SendAndSaveCopy"><m:Items><t:{kind}>{reference}'
        f"</t:{kind}></m:Items></m:CreateItem>"
    )


def test_all_day_events_lie_on_local_midnights(ews: RunningSandbox) -> None:
    """Issue 11 item 4: Exchange moves an all-day event's start down and end up to midnight
    in the item's time zone, so the end date does not come back a day early
    (exchangelib's test_all_day_datetimes)."""
    account = ews.account(ANNA)
    item = CalendarItem(
        account=account, folder=account.calendar, subject="ganztags", is_all_day=True,
        start=EWSDateTime(2026, 12, 3, 9, 30, tzinfo=BERLIN),
        end=EWSDateTime(2026, 12, 4, 14, 15, tzinfo=BERLIN),
    )  # fmt: skip
    item.save(send_meeting_invitations=SEND_TO_NONE)
    got = account.calendar.all().only("is_all_day", "start", "end").get(id=item.id)
    assert (got.is_all_day, str(got.start), str(got.end)) == (True, "2026-12-03", "2026-12-04")
    stored = ews.mailbox(ANNA).item(item.id).fields
    assert stored["Start"].astimezone(BERLIN).isoformat() == "2026-12-03T00:00:00+01:00"
    assert stored["End"].astimezone(BERLIN).isoformat() == "2026-12-05T00:00:00+01:00"


def test_query_string_is_searched_not_ignored(ews: RunningSandbox) -> None:
    """Issue 11 item 9: FindItem's QueryString (AQS) restricts the items: words and phrases
    without case, property keywords, OR and NOT ("QueryString", learn.microsoft.com)."""
    account = ews.account(ANNA)
    _appointment(account, "Quartalsbericht Vertrieb", location="Raum 4")
    _appointment(account, "Mittagessen", day=2, location="Kantine")
    _appointment(account, "Bericht Einkauf", day=3)
    template = (
        '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>Default</t:BaseShape>'
        '</m:ItemShape><m:IndexedPageItemView BasePoint="Beginning" Offset="0"/>'
        '<m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds>'
        "<m:QueryString>{query}</m:QueryString></m:FindItem>"
    )
    for query, expected in (
        ("bericht", {"Quartalsbericht Vertrieb", "Bericht Einkauf"}),
        ("bericht vertrieb", {"Quartalsbericht Vertrieb"}),
        ('subject:"bericht einkauf"', {"Bericht Einkauf"}),
        ("location:kantine OR einkauf", {"Mittagessen", "Bericht Einkauf"}),
        ("bericht NOT einkauf", {"Quartalsbericht Vertrieb"}),
        ("-bericht", {"Mittagessen"}),
    ):
        _, root = post(ews.url, template.format(query=query), impersonate=ANNA)
        found = {s.text for s in root.iterfind(".//t:CalendarItem/t:Subject", NS)}
        assert found == expected, query


def test_move_and_copy_items(ews: RunningSandbox) -> None:
    """MS-OXWSCORE_R45 MS-OXWSCORE_R46 MS-OXWSCORE_R47 MS-OXWSCORE_R1600 MS-OXWSCORE_R1601:
    MoveItem puts an item into ToFolderId under a new id (returned with ReturnNewItemIds,
    which Exchange 2010 SP1 and later have: MS-OXWSCORE_R1230),
    CopyItem leaves the original; a single occurrence is
    ErrorCalendarCannotMoveOrCopyOccurrence."""
    account = ews.account(ANNA)
    from exchangelib import Folder

    archive = Folder(parent=account.inbox, name="Ablage").save()
    kept = _appointment(account, "kopiert")
    moved = _appointment(account, "verschoben", day=2)
    copy_id, _ = kept.copy(to_folder=archive)
    old_id = moved.id
    moved.move(to_folder=archive)
    assert moved.id != old_id  # a moved item has a new id
    assert sorted(i.subject for i in account.calendar.all()) == ["kopiert"]
    assert sorted(i.subject for i in archive.all()) == ["kopiert", "verschoben"]
    mailbox = ews.mailbox(ANNA)
    assert mailbox.item(copy_id).folder_id == archive.id != mailbox.item(kept.id).folder_id
    move = (
        '<m:MoveItem><m:ToFolderId><t:DistinguishedFolderId Id="inbox"/></m:ToFolderId>'
        f'<m:ItemIds><t:ItemId Id="{kept.id}"/></m:ItemIds>'
        "<m:ReturnNewItemIds>false</m:ReturnNewItemIds></m:MoveItem>"
    )
    _, root = post(ews.url, move, impersonate=ANNA)
    assert response_codes(root) == ["NoError"] and root.find(".//t:ItemId", NS) is None


def test_calendar_items_on_the_wire_as_mtgs_says(ews: RunningSandbox) -> None:
    """MS-OXWSMTGS: MoveItem and CopyItem of calendar items (MS-OXWSMTGS_R602
    MS-OXWSMTGS_R640 MS-OXWSMTGS_R1188 MS-OXWSMTGS_R1189 MS-OXWSMTGS_R1190
    MS-OXWSMTGS_R1226 MS-OXWSMTGS_R1227 MS-OXWSMTGS_R1228), never of one occurrence
    (MS-OXWSMTGS_R1193 MS-OXWSMTGS_R1231); a RecurringMasterItemId whose OccurrenceId is
    no occurrence (MS-OXWSMTGS_R1232); CreateItem cancels a meeting, removing it and
    keeping the cancellation message (MS-OXWSMTGS_R490 MS-OXWSMTGS_R491 MS-OXWSMTGS_R492
    MS-OXWSMTGS_R1200); a response object needs MessageDisposition (MS-OXWSMTGS_R1240
    MS-OXWSMTGS_R1241 MS-OXWSMTGS_R1342); over five years is ErrorCalendarDurationIsTooLong
    (MS-OXWSMTGS_R1244)."""
    from exchangelib.recurrence import DailyPattern, Recurrence

    account = ews.account(ANNA)
    single = _appointment(account, "einzeln")
    daily = Recurrence(
        pattern=DailyPattern(interval=1), start=EWSDateTime(2026, 12, 2).date(), number=3
    )
    series = _appointment(account, "Serie", day=2, recurrence=daily)
    window = (EWSDateTime(2026, 12, 3, tzinfo=BERLIN), EWSDateTime(2026, 12, 4, tzinfo=BERLIN))
    occurrence = next(iter(account.calendar.view(start=window[0], end=window[1])))
    ids = "".join(f'<t:ItemId Id="{i}"/>' for i in (single.id, occurrence.id, "AAAA"))
    for operation in ("CopyItem", "MoveItem"):
        body = (
            f'<m:{operation}><m:ToFolderId><t:DistinguishedFolderId Id="calendar"/>'
            f"</m:ToFolderId><m:ItemIds>{ids}</m:ItemIds></m:{operation}>"
        )
        _, root = post(ews.url, body, impersonate=ANNA)
        assert response_codes(root) == [
            "NoError", "ErrorCalendarCannotMoveOrCopyOccurrence", "ErrorInvalidIdMalformed",
        ], operation  # fmt: skip
        messages = root.findall(".//m:ResponseMessages/*", NS)
        assert [m.get("ResponseClass") for m in messages] == ["Success", "Error", "Error"]
        if operation == "MoveItem":
            ids = ids.replace(single.id, root.find(".//t:ItemId", NS).get("Id"))
    master = (
        "<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:ItemIds>"
        f'<t:RecurringMasterItemId OccurrenceId="{series.id}"/></m:ItemIds></m:GetItem>'
    )
    _, root = post(ews.url, master, impersonate=ANNA)
    assert response_codes(root) == ["ErrorCalendarCannotUseIdForOccurrenceId"]
    without = (
        f'<m:CreateItem><m:Items><t:CancelCalendarItem><t:ReferenceItemId Id="{series.id}"/>'
        "</t:CancelCalendarItem></m:Items></m:CreateItem>"
    )
    _, root = post(ews.url, without, impersonate=ANNA)
    assert response_codes(root) == ["ErrorMessageDispositionRequired"]
    _, root = post(ews.url, _response("CancelCalendarItem", series.id), impersonate=ANNA)
    assert response_codes(root) == ["NoError"]
    assert series.id not in ews.mailbox(ANNA).items
    too_long = (
        '<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem>'
        "<t:Start>2026-01-01T00:00:00Z</t:Start><t:End>2031-06-01T00:00:00Z</t:End>"
        "</t:CalendarItem></m:Items></m:CreateItem>"
    )
    _, root = post(ews.url, too_long, impersonate=ANNA)
    assert response_codes(root) == ["ErrorCalendarDurationIsTooLong"]
    assert root.find(".//m:ResponseMessages/*", NS).get("ResponseClass") == "Error"
