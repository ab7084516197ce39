"""Calendar items through the real exchangelib: create, read, update, delete, invitations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from exchangelib import (
    CalendarItem,
    EWSDate,
    EWSDateTime,
    EWSTimeZone,
    HTMLBody,
)
from exchangelib.errors import ErrorIrresolvableConflict, ErrorItemNotFound
from exchangelib.items import (
    ALWAYS_OVERWRITE,
    AUTO_RESOLVE,
    NEVER_OVERWRITE,
    SEND_ONLY_TO_ALL,
    SEND_ONLY_TO_CHANGED,
    SEND_TO_ALL_AND_SAVE_COPY,
    SEND_TO_CHANGED_AND_SAVE_COPY,
    SEND_TO_NONE,
)
from exchangelib.properties import Attendee, Mailbox

from tests.sandbox.ews_support import post, registered_properties, response_codes
from tests.support.sandbox import ANNA, BEN, CARL, RunningSandbox

BERLIN = EWSTimeZone("Europe/Berlin")
NEW_YORK = EWSTimeZone("America/New_York")


@pytest.fixture(autouse=True)
def _properties() -> Iterator[None]:
    with registered_properties():
        yield


def _appointment(account, *, save: bool = True, **fields) -> CalendarItem:  # type: ignore[no-untyped-def]
    defaults = {
        "subject": "Quarterly review",
        "start": EWSDateTime(2026, 12, 1, 9, 0, tzinfo=BERLIN),
        "end": EWSDateTime(2026, 12, 1, 10, 30, tzinfo=BERLIN),
    }
    item = CalendarItem(account=account, folder=account.calendar, **{**defaults, **fields})
    if save:
        item.save(send_meeting_invitations=SEND_TO_NONE)
    return item


def test_every_field_the_sync_uses_round_trips(ews: RunningSandbox) -> None:
    """CreateItem then GetItem return what was stored, with server-set properties.

    MS-OXWSCORE_R2169 MS-OXWSCORE_R2170 MS-OXWSCORE_R73 MS-OXWSCORE_R76 MS-OXWSCORE_R1679
    MS-OXWSCORE_R80 MS-OXWSCORE_R81 MS-OXWSCORE_R198 MS-OXWSCORE_R75 MS-OXWSCORE_R1653
    MS-OXWSCORE_R101 MS-OXWSCORE_R72 MS-OXWSCORE_R2019 MS-OXWSCORE_R90 MS-OXWSCORE_R2034
    MS-OXWSCORE_R2015 MS-OXWSCORE_R156 MS-OXWSCORE_R158 MS-OXWSCORE_R387 MS-OXWSCORE_R299
    MS-OXWSMTGS_R157 MS-OXWSMTGS_R159 MS-OXWSMTGS_R167 MS-OXWSMTGS_R16500 MS-OXWSMTGS_R151
    MS-OXWSMTGS_R181 MS-OXWSMTGS_R53 MS-OXWSMTGS_R185 MS-OXWSMTGS_R80 MS-OXWSMTGS_R512
    MS-OXWSMTGS_R721 MS-OXWSMTGS_R733 MS-OXWSMTGS_R514 MS-OXWSMTGS_R729
    MS-OXWSMTGS_R713 MS-OXWSMTGS_R714 (StartTimeZone and EndTimeZone, TimeZoneDefinitionType,
    as Exchange 2010 and later support them)
    """
    account = ews.account(ANNA)
    created = _appointment(
        account,
        body=HTMLBody("<p>Agenda: <b>numbers</b></p>"),
        location="Room 4.12",
        sensitivity="Private",
        importance="High",
        categories=["ES_3_Customer visit", "Private stuff"],
        reminder_is_set=True,
        reminder_minutes_before_start=25,
        legacy_free_busy_status="Busy",
        probe_erp_id="ACT-1001",
        probe_revision=7,
    )
    got = account.calendar.get(id=created.id)
    assert got.changekey == created.changekey
    assert got.subject == "Quarterly review"
    assert got.body == "<p>Agenda: <b>numbers</b></p>" and isinstance(got.body, HTMLBody)
    assert got.start == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert got.end == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert got._start_timezone == BERLIN and got._end_timezone == BERLIN
    assert (got.location, got.sensitivity, got.importance) == ("Room 4.12", "Private", "High")
    assert got.categories == ["ES_3_Customer visit", "Private stuff"]
    assert (got.reminder_is_set, got.reminder_minutes_before_start) == (True, 25)
    assert (got.probe_erp_id, got.probe_revision) == ("ACT-1001", 7)
    assert got.is_all_day is False and got.is_recurring is False
    assert got.item_class == "IPM.Appointment" and got.type == "Single"
    assert got.my_response_type == "Organizer" and got.organizer.email_address == ANNA
    assert got.uid and got.datetime_created is not None and got.duration == "PT1H30M"
    assert got.is_meeting is False and got.appointment_state == ()  # 0: an appointment


def test_times_are_stored_in_utc_whatever_zone_the_client_used(ews: RunningSandbox) -> None:
    """Start and End are kept in UTC; the time zone definition is kept beside them.

    MS-OXWSMTGS_R157 MS-OXWSMTGS_R159
    """
    account = ews.account(ANNA)
    created = _appointment(
        account,
        start=EWSDateTime(2026, 7, 1, 9, 0, tzinfo=NEW_YORK),
        end=EWSDateTime(2026, 7, 1, 10, 0, tzinfo=NEW_YORK),
    )
    stored = ews.mailbox(ANNA).items[created.id].fields
    assert stored["Start"].tzinfo == UTC and stored["Start"].hour == 13
    assert account.calendar.get(id=created.id)._start_timezone == NEW_YORK


def test_all_day_events_keep_their_dates(ews: RunningSandbox) -> None:
    """MS-OXWSMTGS_R163 MS-OXWSMTGS_R720"""
    account = ews.account(ANNA)
    created = _appointment(
        account, is_all_day=True, start=EWSDate(2026, 12, 24), end=EWSDate(2026, 12, 27)
    )
    got = account.calendar.get(id=created.id)
    assert got.is_all_day is True
    assert (got.start, got.end) == (date(2026, 12, 24), date(2026, 12, 27))


def test_updates_set_and_delete_fields_and_change_the_change_key(ews: RunningSandbox) -> None:
    """SetItemField and DeleteItemField; each write gives a new change key and modified time.

    MS-OXWSCORE_R556 MS-OXWSCORE_R557 MS-OXWSCORE_R561 MS-OXWSCORE_R58 MS-OXWSCORE_R61
    MS-OXWSCORE_R65 MS-OXWSCORE_R508 MS-OXWSMTGS_R60 MS-OXWSMTGS_R6000
    """
    account = ews.account(ANNA)
    item = _appointment(account, location="Old room", probe_erp_id="ACT-1", categories=["A"])
    first_key = item.changekey
    item.subject, item.location, item.categories, item.probe_erp_id = "Moved", None, ["B"], None
    item.save(
        update_fields=["subject", "location", "categories", "probe_erp_id"],
        send_meeting_invitations=SEND_TO_NONE,
    )
    got = account.calendar.get(id=item.id)
    assert got.changekey == item.changekey != first_key
    assert (got.subject, got.location, got.categories, got.probe_erp_id) == (
        "Moved", None, ["B"], None,
    )  # fmt: skip
    assert ews.mailbox(ANNA).sent == []


def test_append_to_body_appends(ews: RunningSandbox) -> None:
    """AppendToItemField adds to the body; appending to a plain property is refused.

    MS-OXWSCORE_R555
    """
    account = ews.account(ANNA)
    item = _appointment(account, body="Line one.")
    change = (
        '<m:UpdateItem ConflictResolution="AlwaysOverwrite" '
        'SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange>'
        f'<t:ItemId Id="{item.id}"/><t:Updates><t:AppendToItemField>'
        '<t:FieldURI FieldURI="{uri}"/><t:CalendarItem>{value}</t:CalendarItem>'
        "</t:AppendToItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>"
    )
    body = '<t:Body BodyType="Text"> Line two.</t:Body>'
    status, root = post(ews.url, change.format(uri="item:Body", value=body), impersonate=ANNA)
    assert status == 200 and response_codes(root) == ["NoError"]
    assert account.calendar.get(id=item.id).body == "Line one. Line two."
    location = "<t:Location>x</t:Location>"
    _, root = post(
        ews.url, change.format(uri="calendar:Location", value=location), impersonate=ANNA
    )
    assert response_codes(root) == ["ErrorInvalidPropertyAppend"]


def test_stale_change_key_with_never_overwrite_is_an_irresolvable_conflict(
    ews: RunningSandbox,
) -> None:
    """MS-OXWSCORE_R158 MS-OXWSCORE_R1386"""
    account = ews.account(ANNA)
    item = _appointment(account)
    stale = account.calendar.get(id=item.id)
    item.subject = "Changed elsewhere"
    item.save(update_fields=["subject"], send_meeting_invitations=SEND_TO_NONE)
    stale.subject = "My edit"
    with pytest.raises(ErrorIrresolvableConflict):
        stale.save(
            update_fields=["subject"],
            conflict_resolution=NEVER_OVERWRITE,
            send_meeting_invitations=SEND_TO_NONE,
        )
    assert account.calendar.get(id=item.id).subject == "Changed elsewhere"
    for policy in (AUTO_RESOLVE, ALWAYS_OVERWRITE):
        stale.subject = f"Overwritten with {policy}"
        stale.save(update_fields=["subject"], conflict_resolution=policy,
                   send_meeting_invitations=SEND_TO_NONE)  # fmt: skip
        assert account.calendar.get(id=item.id).subject == f"Overwritten with {policy}"


def test_delete_types(ews: RunningSandbox) -> None:
    """HardDelete removes, SoftDelete moves to the dumpster, MoveToDeletedItems to Deleted Items.

    MS-OXWSCORE_R1667 MS-OXWSCORE_R1668 MS-OXWSCORE_R1669 MS-OXWSCORE_R341 MS-OXWSCORE_R335
    MS-OXWSMTGS_R45 MS-OXWSMTGS_R4500 MS-OXWSMTGS_R619
    """
    account = ews.account(ANNA)
    hard, soft, moved = (_appointment(account, subject=s) for s in ("hard", "soft", "moved"))
    hard_id = hard.id
    hard.delete(send_meeting_cancellations=SEND_TO_NONE)  # HardDelete
    soft.soft_delete(send_meeting_cancellations=SEND_TO_NONE)
    moved.move_to_trash(send_meeting_cancellations=SEND_TO_NONE)
    assert list(account.calendar.all()) == []
    assert [i.subject for i in account.trash.all()] == ["moved"]
    assert [i.subject for i in account.recoverable_items_deletions.all()] == ["soft"]
    with pytest.raises(ErrorItemNotFound):
        account.calendar.get(id=hard_id)
    assert ews.mailbox(ANNA).sent == []


def test_meeting_messages_are_sent_only_when_asked_and_recorded(ews: RunningSandbox) -> None:
    """SendToNone sends nothing; SendToAllAndSaveCopy reaches every attendee.

    MS-OXWSMTGS_R44 MS-OXWSMTGS_R4400 MS-OXWSMTGS_R4401 MS-OXWSMTGS_R48 MS-OXWSMTGS_R4800
    MS-OXWSMTGS_R4802 MS-OXWSMTGS_R6000 MS-OXWSMTGS_R64 MS-OXWSMTGS_R6400 MS-OXWSMTGS_R6401
    MS-OXWSMTGS_R49 MS-OXWSMTGS_R4900 MS-OXWSMTGS_R4901 MS-OXWSMTGS_R45 MS-OXWSMTGS_R4500
    MS-OXWSMTGS_R187 MS-OXWSMTGS_R728 MS-OXWSMTGS_R738
    """
    account = ews.account(ANNA)
    attendees = [Attendee(mailbox=Mailbox(email_address=BEN), response_type="Unknown")]
    quiet = _appointment(account, subject="quiet", required_attendees=attendees)
    assert ews.mailbox(ANNA).sent == [] and list(account.sent.all()) == []
    loud = _appointment(account, subject="loud", required_attendees=attendees, save=False)
    loud.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    loud.subject = "loud, moved"
    loud.save(update_fields=["subject"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    got = account.calendar.get(id=loud.id)
    assert got.is_meeting is True and got.appointment_state == ("Meeting",)
    loud.delete(send_meeting_cancellations=SEND_TO_ALL_AND_SAVE_COPY)
    quiet.delete(send_meeting_cancellations=SEND_TO_NONE)
    sent = [(m.kind, m.subject, m.recipients) for m in ews.mailbox(ANNA).sent]
    assert sent == [
        ("invitation", "loud", (BEN,)),
        ("update", "loud, moved", (BEN,)),
        ("cancellation", "loud, moved", (BEN,)),
    ]
    copies = sorted((m.item_class, m.subject) for m in account.sent.all())
    assert copies == [
        ("IPM.Schedule.Meeting.Canceled", "loud, moved"),
        ("IPM.Schedule.Meeting.Request", "loud"),
        ("IPM.Schedule.Meeting.Request", "loud, moved"),
    ]


def test_send_only_to_all_and_to_changed(ews: RunningSandbox) -> None:
    """SendOnlyToAll keeps no copy; the ...Changed values reach only added or removed attendees.

    MS-OXWSMTGS_R46 MS-OXWSMTGS_R4600 MS-OXWSMTGS_R4602 MS-OXWSMTGS_R61 MS-OXWSMTGS_R6100
    MS-OXWSMTGS_R6101 MS-OXWSMTGS_R62 MS-OXWSMTGS_R6200 MS-OXWSMTGS_R65 MS-OXWSMTGS_R6500
    MS-OXWSMTGS_R6501 MS-OXWSMTGS_R47 MS-OXWSMTGS_R4700 MS-OXWSMTGS_R4701 MS-OXWSMTGS_R189
    MS-OXWSMTGS_R191
    """
    account = ews.account(ANNA)
    ben, carl = (Attendee(mailbox=Mailbox(email_address=a)) for a in (BEN, CARL))
    meeting = _appointment(account, required_attendees=[ben], save=False)
    meeting.save(send_meeting_invitations=SEND_ONLY_TO_ALL)
    meeting.optional_attendees = [carl]
    meeting.save(
        update_fields=["optional_attendees"], send_meeting_invitations=SEND_ONLY_TO_CHANGED
    )
    meeting.subject = "Renamed"
    meeting.save(update_fields=["subject"], send_meeting_invitations=SEND_ONLY_TO_ALL)
    meeting.resources = [Attendee(mailbox=Mailbox(email_address="room-1@example.test"))]
    meeting.save(
        update_fields=["resources"], send_meeting_invitations=SEND_TO_CHANGED_AND_SAVE_COPY
    )
    got = account.calendar.get(id=meeting.id)
    assert [a.mailbox.email_address for a in got.optional_attendees] == [CARL]
    assert [a.mailbox.email_address for a in got.resources] == ["room-1@example.test"]
    meeting.delete(send_meeting_cancellations=SEND_ONLY_TO_ALL)
    sent = [(m.kind, m.recipients) for m in ews.mailbox(ANNA).sent]
    assert sent == [
        ("invitation", (BEN,)),
        ("update", (CARL,)),
        ("update", (BEN, CARL)),
        ("update", ("room-1@example.test",)),
        ("cancellation", (BEN, CARL, "room-1@example.test")),
    ]
    assert [m.subject for m in account.sent.all()] == ["Renamed"]  # only the ...SaveCopy one


def test_wrong_input_gets_exchange_error_codes(ews: RunningSandbox) -> None:
    """Read-only properties, a wrong ItemClass, an end before the start, a missing option.

    MS-OXWSCORE_R2274 MS-OXWSCORE_R2033 MS-OXWSCORE_R2347 MS-OXWSCORE_R2023 MS-OXWSCDATA_R619
    MS-OXWSMTGS_R1204 MS-OXWSMTGS_R2000 MS-OXWSCORE_R2171 MS-OXWSCORE_R2172 MS-OXWSMTGS_R1203
    """
    create = (
        '<m:CreateItem {options}><m:SavedItemFolderId><t:DistinguishedFolderId Id="calendar"/>'
        "</m:SavedItemFolderId><m:Items><t:CalendarItem>{fields}</t:CalendarItem></m:Items>"
        "</m:CreateItem>"
    )
    send = 'SendMeetingInvitations="SendToNone"'
    times = "<t:Start>2026-12-01T10:00:00Z</t:Start><t:End>{end}</t:End>"
    cases = [
        (send, "<t:DateTimeCreated>2026-01-01T00:00:00Z</t:DateTimeCreated>",
         "ErrorInvalidPropertySet"),
        (send, "<t:ItemClass>IPM.Task</t:ItemClass>", "ErrorObjectTypeChanged"),
        (send, times.format(end="2026-12-01T09:00:00Z"),
         "ErrorCalendarEndDateIsEarlierThanStartDate"),
        (send, "<t:IsMeeting>true</t:IsMeeting>", "ErrorInvalidPropertySet"),
        (send, times.format(end="2032-12-01T10:00:00Z"), "ErrorCalendarDurationIsTooLong"),
        ("", "<t:Subject>x</t:Subject>", "ErrorSendMeetingInvitationsRequired"),
    ]  # fmt: skip
    for options, fields, code in cases:
        status, root = post(
            ews.url, create.format(options=options, fields=fields), impersonate=ANNA
        )
        assert status == 200, code
        message = root.find(".//{*}CreateItemResponseMessage")
        assert message is not None and message.get("ResponseClass") == "Error"
        assert response_codes(root) == [code]
    assert ews.mailbox(ANNA).items == {}
