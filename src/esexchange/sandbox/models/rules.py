"""What Exchange enforces and derives when an item is written.

Read-only properties, the properties that can be appended to, the checks on the result of
a write (an end before the start, a duration over five years, a percentage out of range,
an extended property value of the wrong type) and the derived properties (calendar item
type, task completion) live here, apart from the bookkeeping of the mailbox.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from esexchange.sandbox.models import values
from esexchange.sandbox.models.errors import StoreError
from esexchange.sandbox.models.recurrence import zone_of
from esexchange.sandbox.models.values import (
    Body,
    ExtendedKey,
    ExtendedValue,
    Recurrence,
    Value,
    XmlValue,
)

# Properties only the server sets; a client trying to set or delete one gets an error.
READ_ONLY = frozenset(
    {
        "ItemId", "ParentFolderId", "DateTimeCreated", "LastModifiedTime", "Size",
        "CalendarItemType", "IsRecurring", "IsComplete", "MyResponseType", "Organizer",
        "DateTimeReceived", "DateTimeSent", "HasAttachments", "ConversationId", "ChangeCount",
        "DisplayTo", "DisplayCc", "DisplayBcc", "LastModifiedName", "BlockStatus", "TextBody",
        "IconIndex", "Preview", "NormalizedBody", "InstanceKey", "RightsManagementLicenseData",
        "IsMeeting", "AppointmentState", "FirstOccurrence", "LastOccurrence", "IsCancelled",
        "MeetingRequestWasSent", "EffectiveRights", "WebClientReadFormQueryString",
        "WebClientEditFormQueryString", "UniqueBody", "IsDraft",
        "ModifiedOccurrences", "DeletedOccurrences", "OriginalStart",
        "IsOnlineMeeting",  # read-only in Exchange 2016 and later (MS-OXWSMTGS R2301)
    }
)  # fmt: skip
# Properties a client sets when it creates an item and never after: whether an item is
# associated with its folder is fixed for its life (ErrorInvalidPropertySet on update).
SET_ON_CREATE = frozenset({"IsAssociated"})
# Read-only properties Exchange 2013 and later ignore when a client sends them, instead
# of refusing the request (MS-OXWSCORE R20452: StoreEntryId).
IGNORED_ON_WRITE = frozenset({"StoreEntryId"})

MAX_SUBJECT = 255
MAX_DURATION = timedelta(days=5 * 365 + 1)  # "exceeds five years" (MS-OXWSMTGS R1203)

APPENDABLE = frozenset({"Body", "RequiredAttendees", "OptionalAttendees", "Resources",
                        "ToRecipients", "CcRecipients", "BccRecipients", "Categories"})  # fmt: skip


def check_extended(key: ExtendedKey, value: ExtendedValue) -> None:
    """ErrorInvalidExtendedPropertyValue unless the value fits the property's type."""
    if not values.valid_extended_value(key, value):
        name = key.property_name or key.property_id or key.property_tag
        raise StoreError(
            "ErrorInvalidExtendedPropertyValue",
            f"The value {value!r} of extended property {name} is not a {key.property_type}.",
        )


def derive(kind: str, fields: dict[str, Value], now: datetime) -> None:
    """Properties Exchange derives on every write, and the checks it makes on the result."""
    fields["LastModifiedTime"] = now
    subject = fields.get("Subject")
    if isinstance(subject, str) and len(subject) > MAX_SUBJECT:
        fields["Subject"] = subject[:MAX_SUBJECT]  # Exchange truncates (MS-OXWSCORE R74)
    if kind == "CalendarItem":
        start, end = fields.get("Start"), fields.get("End")
        if isinstance(start, datetime) and isinstance(end, datetime) and end < start:
            raise StoreError(
                "ErrorCalendarEndDateIsEarlierThanStartDate",
                "The end date is earlier than the start date.",
            )
        if isinstance(start, datetime) and isinstance(end, datetime) and end - start > MAX_DURATION:
            raise StoreError(
                "ErrorCalendarDurationIsTooLong", "A calendar item may last five years at most."
            )
        if fields.get("IsAllDayEvent") is True:
            _on_midnights(fields)
        if fields.get("CalendarItemType") not in ("Occurrence", "Exception"):
            fields["CalendarItemType"] = "RecurringMaster" if "Recurrence" in fields else "Single"
        fields["MyResponseType"] = "Organizer"
        fields.setdefault("MeetingRequestWasSent", False)
    if kind == "Task":
        percent = fields.get("PercentComplete", 0.0)
        if not isinstance(percent, float) or not 0.0 <= percent <= 100.0:
            raise StoreError(
                "ErrorInvalidPercentCompleteValue", "PercentComplete must be between 0 and 100."
            )
        fields["IsComplete"] = fields.get("Status") == "Completed"
        fields["IsRecurring"] = "Recurrence" in fields
        rule = fields.get("Recurrence")
        if isinstance(rule, Recurrence) and "StartDate" not in fields and "DueDate" not in fields:
            # A recurring task is due on its current occurrence, the first one at first.
            first = datetime.combine(rule.range.start, time(), UTC)
            fields["StartDate"] = fields["DueDate"] = first


def _on_midnights(fields: dict[str, Value]) -> None:
    """An all-day event starts and ends on midnights of its time zone: Exchange moves the
    start down and the end up to one (an end on the start's midnight is the next one)."""
    start, end = fields.get("Start"), fields.get("End")
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        return
    zone = zone_of(fields.get("StartTimeZone"))
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    first = datetime.combine(local_start.date(), time(), zone)
    last = datetime.combine(local_end.date(), time(), zone)
    if last < local_end or last <= first:
        last = datetime.combine(last.date() + timedelta(days=1), time(), zone)
    fields["Start"], fields["End"] = first.astimezone(start.tzinfo), last.astimezone(end.tzinfo)


def task_rule(fields: dict[str, Value], name: str, now: datetime) -> None:
    """Status, PercentComplete and CompleteDate move together; the one set last wins.

    Setting CompleteDate, PercentComplete 100 or Status Completed all complete a task
    (MS-OXWSTASK R67001); when a request sets several, the last processed decides (R67002).
    """
    if name == "CompleteDate" and "CompleteDate" in fields:
        fields["Status"], fields["PercentComplete"] = "Completed", 100.0
    elif name == "PercentComplete":
        percent = fields.get("PercentComplete", 0.0)
        if percent == 100.0:
            fields["Status"] = "Completed"
            fields.setdefault("CompleteDate", now)
            return
        fields.pop("CompleteDate", None)
        if fields.get("Status") in ("Completed", "NotStarted"):
            fields["Status"] = "InProgress" if percent else "NotStarted"
    elif name == "Status":
        if fields.get("Status") == "Completed":
            fields["PercentComplete"] = 100.0
            fields.setdefault("CompleteDate", now)
            return
        fields.pop("CompleteDate", None)
        if fields.get("Status") == "NotStarted" or fields.get("PercentComplete") == 100.0:
            fields["PercentComplete"] = 0.0


def appended(name: str, current: Value | None, value: object) -> Value:
    """The value of property ``name`` after AppendToItemField; only some properties append."""
    if name not in APPENDABLE:
        raise StoreError(
            "ErrorInvalidPropertyAppend", f"The property {name} cannot be appended to."
        )
    if isinstance(value, Body):
        text = current.text if isinstance(current, Body) else ""
        return Body(value.body_type, text + value.text)
    if isinstance(value, tuple):
        return (current if isinstance(current, tuple) else ()) + value
    if isinstance(value, XmlValue):
        return values.merge_lists(current if isinstance(current, XmlValue) else None, value)
    raise StoreError("ErrorInvalidPropertyAppend", f"The property {name} cannot be appended to.")
