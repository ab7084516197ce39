"""FindItem: paging, restrictions on extended properties, calendar views of recurring series."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import pytest
from exchangelib import CalendarItem, EWSDate, EWSDateTime, EWSTimeZone, Q
from exchangelib.items import SEND_TO_NONE
from exchangelib.recurrence import (
    AbsoluteMonthlyPattern,
    AbsoluteYearlyPattern,
    DailyPattern,
    Recurrence,
    RelativeMonthlyPattern,
    RelativeYearlyPattern,
    WeeklyPattern,
)

from tests.sandbox.ews_support import NS, post, registered_properties
from tests.support.sandbox import ANNA, RunningSandbox

BERLIN = EWSTimeZone("Europe/Berlin")


@pytest.fixture(autouse=True)
def _properties() -> Iterator[None]:
    with registered_properties():
        yield


def _appointment(account, subject: str, day: int = 1, **fields) -> CalendarItem:  # type: ignore[no-untyped-def]
    item = CalendarItem(
        account=account, folder=account.calendar, subject=subject,
        start=EWSDateTime(2026, 12, day, 9, tzinfo=BERLIN),
        end=EWSDateTime(2026, 12, day, 10, tzinfo=BERLIN), **fields,
    )  # fmt: skip
    item.save(send_meeting_invitations=SEND_TO_NONE)
    return item


def test_indexed_paging(ews: RunningSandbox) -> None:
    """IndexedPageItemView pages through a folder; the last page says it is the last.

    MS-OXWSCDATA_R62 MS-OXWSCDATA_R1185 MS-OXWSCDATA_R1197
    """
    account = ews.account(ANNA)
    for n in range(7):
        _appointment(account, f"item {n}", day=n + 1)
    query = account.calendar.all().order_by("-subject")
    query.page_size = 3
    assert [i.subject for i in query] == [f"item {n}" for n in reversed(range(7))]
    assert [i.subject for i in account.calendar.all().order_by("subject")[2:4]] == [
        "item 2",
        "item 3",
    ]
    find = (
        '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>'
        '</m:ItemShape><m:IndexedPageItemView MaxEntriesReturned="3" Offset="{offset}" '
        'BasePoint="Beginning"/><m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/>'
        "</m:ParentFolderIds></m:FindItem>"
    )
    pages = []
    for offset in (0, 3, 6):
        _, root = post(ews.url, find.format(offset=offset), impersonate=ANNA)
        folder = root.find(".//m:RootFolder", NS)
        assert folder is not None
        pages.append(
            (
                folder.get("IndexedPagingOffset"),
                folder.get("TotalItemsInView"),
                folder.get("IncludesLastItemInRange"),
                len(folder.findall("t:Items/t:CalendarItem", NS)),
            )
        )
    assert pages == [("3", "7", "false", 3), ("6", "7", "false", 3), ("7", "7", "true", 1)]


def test_restrictions_on_extended_properties(ews: RunningSandbox) -> None:
    """IsEqualTo, Exists, IsGreaterThan, And, Or and Not on ExtendedFieldURI paths.

    MS-OXWSXPROP_R145 MS-OXWSXPROP_R146 MS-OXWSXPROP_R149 MS-OXWSXPROP_R151
    MS-OXWSXPROP_R153 MS-OXWSXPROP_R47 MS-OXWSXPROP_R53
    """
    account = ews.account(ANNA)
    _appointment(account, "a", probe_erp_id="ACT-1", probe_revision=1)
    _appointment(account, "b", probe_erp_id="ACT-2", probe_revision=5)
    _appointment(account, "c", probe_erp_id="ACT-3")
    _appointment(account, "outlook only")

    def subjects(*args, **kwargs) -> list[str]:  # type: ignore[no-untyped-def]
        return sorted(i.subject for i in account.calendar.filter(*args, **kwargs))

    assert subjects(probe_erp_id="ACT-2") == ["b"]
    assert subjects(probe_erp_id__exists=True) == ["a", "b", "c"]
    assert subjects(probe_erp_id__exists=False) == ["outlook only"]
    assert subjects(probe_revision__gt=2) == ["b"]
    assert subjects(Q(probe_erp_id="ACT-1") | Q(probe_erp_id="ACT-3")) == ["a", "c"]
    assert subjects(Q(probe_erp_id__exists=True) & ~Q(probe_erp_id="ACT-1")) == ["b", "c"]
    assert subjects(probe_erp_id="ACT-1", subject="b") == []
    assert subjects(subject__contains="only") == ["outlook only"]


def _series(account, recurrence: Recurrence, start: datetime, end: datetime) -> CalendarItem:  # type: ignore[no-untyped-def]
    master = CalendarItem(
        account=account, folder=account.calendar, subject="series",
        start=EWSDateTime.from_datetime(start), end=EWSDateTime.from_datetime(end),
        recurrence=recurrence,
    )  # fmt: skip
    master.save(send_meeting_invitations=SEND_TO_NONE)
    return master


def _view_starts(account, first: date, last: date) -> list[str]:  # type: ignore[no-untyped-def]
    view = account.calendar.view(
        start=EWSDateTime(first.year, first.month, first.day, tzinfo=BERLIN),
        end=EWSDateTime(last.year, last.month, last.day, tzinfo=BERLIN),
    )
    return [o.start.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M") for o in view]


@pytest.mark.parametrize(
    ("pattern", "first_start", "expected"),
    [
        (
            DailyPattern(interval=3),
            datetime(2026, 11, 2, 9, tzinfo=BERLIN),
            ["2026-11-02", "2026-11-05", "2026-11-08", "2026-11-11"],
        ),
        (
            WeeklyPattern(interval=2, weekdays=[1, 4], first_day_of_week=1),
            datetime(2026, 11, 2, 9, tzinfo=BERLIN),
            ["2026-11-02", "2026-11-05", "2026-11-16", "2026-11-19"],
        ),
        (
            AbsoluteMonthlyPattern(interval=1, day_of_month=31),
            datetime(2026, 12, 31, 9, tzinfo=BERLIN),
            ["2026-12-31", "2027-01-31", "2027-02-28", "2027-03-31"],
        ),
        (
            RelativeMonthlyPattern(interval=2, weekday=5, week_number=5),
            datetime(2026, 11, 27, 9, tzinfo=BERLIN),
            ["2026-11-27", "2027-01-29", "2027-03-26", "2027-05-28"],
        ),
        (
            RelativeMonthlyPattern(interval=1, weekday=9, week_number=1),
            datetime(2026, 11, 2, 9, tzinfo=BERLIN),
            ["2026-11-02", "2026-12-01", "2027-01-01", "2027-02-01"],
        ),
        (
            AbsoluteYearlyPattern(day_of_month=29, month=2),
            datetime(2027, 2, 28, 9, tzinfo=BERLIN),
            ["2027-02-28", "2028-02-29", "2029-02-28", "2030-02-28"],
        ),
        (
            RelativeYearlyPattern(weekday=2, week_number=2, month=3),
            datetime(2027, 3, 9, 9, tzinfo=BERLIN),
            ["2027-03-09", "2028-03-14", "2029-03-13", "2030-03-12"],
        ),
    ],
    ids=lambda value: type(value).__name__ if not isinstance(value, datetime | list) else "",
)
def test_calendar_view_expands_recurring_series(
    ews: RunningSandbox, pattern: object, first_start: datetime, expected: list[str]
) -> None:
    """Daily, weekly, monthly (absolute, relative) and yearly patterns, four occurrences each.

    MS-OXWSMTGS_R390 MS-OXWSMTGS_R391 MS-OXWSMTGS_R54 MS-OXWSMTGS_R56 MS-OXWSMTGS_R732
    MS-OXWSMTGS_R175 MS-OXWSMTGS_R161 MS-OXWSCDATA_R1109 MS-OXWSCDATA_R1179
    MS-OXWSCDATA_R1307 MS-OXWSCDATA_R1308 MS-OXWSCDATA_R995 MS-OXWSCDATA_R997
    MS-OXWSCDATA_R999 MS-OXWSCDATA_R1255 MS-OXWSCDATA_R1256 MS-OXWSCDATA_R1257
    MS-OXWSCDATA_R1259 MS-OXWSCDATA_R1260 MS-OXWSCDATA_R1262 MS-OXWSCDATA_R1264
    MS-OXWSCDATA_R1354
    """
    account = ews.account(ANNA)
    recurrence = Recurrence(pattern=pattern, start=first_start.date(), number=4)
    master = _series(account, recurrence, first_start, first_start.replace(hour=10))
    got = account.calendar.get(id=master.id)
    assert got.type == "RecurringMaster" and got.recurrence == recurrence
    assert got.first_occurrence.start.astimezone(BERLIN).date().isoformat() == expected[0]
    assert got.last_occurrence.start.astimezone(BERLIN).date().isoformat() == expected[-1]
    starts = _view_starts(account, date(2026, 10, 1), date(2031, 1, 1))
    assert starts == [f"{day} 09:00" for day in expected]
    occurrences = list(account.calendar.view(
        start=EWSDateTime(2026, 10, 1, tzinfo=BERLIN), end=EWSDateTime(2031, 1, 1, tzinfo=BERLIN)
    ))  # fmt: skip
    assert {o.type for o in occurrences} == {"Occurrence"}
    assert all(o.is_recurring and o.original_start == o.start for o in occurrences)
    second = master.occurrence(2)
    second.refresh()  # GetItem with an OccurrenceItemId
    assert second.start == occurrences[1].start and second.type == "Occurrence"
    series = second.recurring_master()
    series.refresh()  # GetItem with a RecurringMasterItemId
    assert (series.type, series.recurrence) == ("RecurringMaster", got.recurrence)


def test_series_keep_their_wall_clock_time_across_daylight_saving(ews: RunningSandbox) -> None:
    """A weekly 09:00 in Berlin is 08:00 UTC in October and 09:00 UTC after the change.

    MS-OXWSCDATA_R1352 MS-OXWSCDATA_R1353 MS-OXWSMTGS_R157
    """
    account = ews.account(ANNA)
    start = datetime(2026, 10, 19, 9, tzinfo=BERLIN)
    recurrence = Recurrence(
        pattern=WeeklyPattern(interval=1, weekdays=[1]),
        start=start.date(),
        end=EWSDate(2026, 11, 2),
    )
    _series(account, recurrence, start, start.replace(hour=10))
    view = list(account.calendar.view(
        start=EWSDateTime(2026, 10, 1, tzinfo=BERLIN), end=EWSDateTime(2026, 12, 1, tzinfo=BERLIN)
    ))  # fmt: skip
    assert [o.start.isoformat() for o in view] == [
        "2026-10-19T07:00:00+00:00",
        "2026-10-26T08:00:00+00:00",
        "2026-11-02T08:00:00+00:00",
    ]
    no_end = Recurrence(pattern=DailyPattern(interval=1), start=EWSDate(2026, 12, 1))
    _series(account, no_end, datetime(2026, 12, 1, 7, tzinfo=BERLIN),
            datetime(2026, 12, 1, 8, tzinfo=BERLIN))  # fmt: skip
    assert len(_view_starts(account, date(2026, 12, 1), date(2026, 12, 11))) == 10


def test_calendar_view_mixes_single_items_and_occurrences_in_time_order(
    ews: RunningSandbox,
) -> None:
    """MS-OXWSMTGS_R53 MS-OXWSMTGS_R54"""
    account = ews.account(ANNA)
    _appointment(account, "single", day=2)
    _series(
        account,
        Recurrence(pattern=DailyPattern(interval=2), start=EWSDate(2026, 12, 1), number=3),
        datetime(2026, 12, 1, 8, tzinfo=BERLIN),
        datetime(2026, 12, 1, 9, tzinfo=BERLIN),
    )
    _appointment(account, "outside", day=20)
    view = account.calendar.view(
        start=EWSDateTime(2026, 12, 1, tzinfo=BERLIN), end=EWSDateTime(2026, 12, 6, tzinfo=BERLIN)
    )
    assert [(o.subject, o.type) for o in view] == [
        ("series", "Occurrence"),
        ("single", "Single"),
        ("series", "Occurrence"),
        ("series", "Occurrence"),
    ]


def test_changing_one_occurrence_makes_an_exception(ews: RunningSandbox) -> None:
    """An occurrence moved in Outlook: an Exception in views, listed by its master.

    MS-OXWSMTGS_R55 MS-OXWSMTGS_R217 MS-OXWSMTGS_R377 MS-OXWSMTGS_R381 MS-OXWSMTGS_R383
    MS-OXWSMTGS_R385 MS-OXWSMTGS_R387 MS-OXWSMTGS_R650
    """
    account = ews.account(ANNA)
    start = datetime(2026, 12, 1, 9, tzinfo=BERLIN)
    daily = Recurrence(pattern=DailyPattern(interval=1), start=start.date(), number=3)
    master = _series(account, daily, start, start.replace(hour=10))
    list(account.calendar.sync_items())  # the client has seen the series
    second = master.occurrence(2)
    second.refresh()
    second.subject = "moved to the afternoon"
    second.start = EWSDateTime(2026, 12, 2, 15, tzinfo=BERLIN)
    second.end = EWSDateTime(2026, 12, 2, 16, tzinfo=BERLIN)
    second.save(update_fields=["subject", "start", "end"], send_meeting_invitations=SEND_TO_NONE)
    view = account.calendar.view(
        start=EWSDateTime(2026, 12, 1, tzinfo=BERLIN), end=EWSDateTime(2026, 12, 4, tzinfo=BERLIN)
    )
    shown = [(o.subject, o.type, o.start.astimezone(BERLIN).hour) for o in view]
    assert shown == [
        ("series", "Occurrence", 9),
        ("moved to the afternoon", "Exception", 15),
        ("series", "Occurrence", 9),
    ]
    got = account.calendar.get(id=master.id)
    (modified,) = got.modified_occurrences
    assert modified.start.astimezone(BERLIN).hour == 15
    assert modified.original_start.astimezone(BERLIN).hour == 9
    changes = [(kind, item.subject) for kind, item in account.calendar.sync_items()]
    assert changes == [("update", "series")]  # the series changed; exceptions are not items
    second.refresh()
    second.delete(send_meeting_cancellations=SEND_TO_NONE)
    got = account.calendar.get(id=master.id)
    assert got.modified_occurrences is None and len(got.deleted_occurrences) == 1
