"""Round-trip properties of the mapping over generated ERP activities and items."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import assume, given
from hypothesis import strategies as st

from esexchange.domain.mapping import (
    TRAILER_MARKER,
    erp_to_item,
    exchange_to_item,
    item_to_erp,
    item_to_exchange,
)
from esexchange.domain.mapping.fields import ERP_COLUMNS
from esexchange.domain.model import (
    ErpActivity,
    ExchangeItem,
    Importance,
    Item,
    Kind,
    Sensitivity,
    TaskStatus,
)
from tests.domain.mapping_support import BERLIN, CALL, HIGH, LOW, NORMAL, TASK, VISIT, context

SYNCED_COLUMNS = sorted(set().union(*ERP_COLUMNS.values()))
TYPES = st.sampled_from([CALL, TASK, VISIT])

NOT_XML = (
    "".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r")
    + "".join(chr(c) for c in range(0x7F, 0xA0) if c != 0x85)
    + "".join(chr(c) for c in range(0xFDD0, 0xFDE0))
    + "\ufffe\uffff"
)
clean_chars = st.characters(codec="utf-8", exclude_characters=NOT_XML)
fragments = st.sampled_from([TRAILER_MARKER, "\n\n", "\r\n", "Priority: ", "Equipment: "])


def clean(max_size: int | None = None) -> st.SearchStrategy[str]:
    plain = st.text(clean_chars, max_size=max_size or 200)
    tricky = st.lists(st.one_of(fragments, plain), max_size=4).map("".join)
    if max_size is None:
        return st.one_of(plain, tricky)
    return st.one_of(plain, tricky.filter(lambda s: len(s) <= max_size))


def in_spring_gap(moment: datetime) -> bool:
    """A Berlin wall-clock time skipped when the clocks go forward."""
    first = moment.replace(tzinfo=BERLIN, fold=0).utcoffset()
    second = moment.replace(tzinfo=BERLIN, fold=1).utcoffset()
    return first is not None and second is not None and first < second


local_minutes = st.datetimes(datetime(2020, 1, 1), datetime(2035, 12, 31)).map(
    lambda d: d.replace(second=0, microsecond=0)
)
days = st.dates(date(2020, 1, 1), date(2035, 12, 31))


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


@st.composite
def erp_activities(draw: st.DrawFn, *, normal_form: bool) -> ErpActivity:
    """Valid ERP activities; ``normal_form`` ones are exactly what ``item_to_erp`` writes
    (midnight task dates, known types and mapped priorities, no time in the DST gap)."""
    kind = draw(st.sampled_from(Kind))
    row = ErpActivity(
        id=draw(st.integers(1, 10**6)),
        kind=kind,
        subject=draw(clean(255) if normal_form else st.text()),
        text=draw(clean() if normal_form else st.text()),
        location=draw(clean(255) if normal_form else st.text(max_size=300)),
        private=draw(st.booleans()),
        priority_id=draw(st.sampled_from([LOW, NORMAL, HIGH] if normal_form else [None, LOW, 99])),
        activity_type_no=draw(TYPES if normal_form else st.sampled_from([None, CALL, 42])),
        reminder_minutes=draw(st.none() | st.integers(0, 20_000)),
        participant_ids=tuple(draw(st.lists(st.integers(1, 50), max_size=3))),
        equipment=tuple(draw(st.lists(st.text(max_size=10), max_size=3))),
        recurring=draw(st.booleans()),
    )
    if kind is Kind.APPOINTMENT and draw(st.booleans()):
        first = draw(days)
        length = timedelta(days=draw(st.integers(1, 30)))
        return replace(row, start_at=midnight(first), end_at=midnight(first + length), all_day=True)
    if kind is Kind.APPOINTMENT:
        start = draw(local_minutes)
        end = start + timedelta(minutes=draw(st.integers(0, 3 * 24 * 60)))
        if normal_form:
            assume(not in_spring_gap(start) and not in_spring_gap(end))
        return replace(row, start_at=start, end_at=end)
    when = st.none() | days.map(midnight) if normal_form else st.none() | local_minutes
    status = draw(
        st.sampled_from(TaskStatus) if normal_form else st.none() | st.sampled_from(TaskStatus)
    )
    return replace(
        row,
        start_at=draw(when),
        due_at=draw(when),
        status=status,
        percent_complete=draw(st.integers(0, 100)),
        completed_at=None if normal_form else draw(st.none() | local_minutes),
    )


def columns(row: ErpActivity) -> dict[str, object]:
    return {name: getattr(row, name) for name in SYNCED_COLUMNS}


@given(erp_activities(normal_form=True))
def test_erp_activity_survives_item_and_back_on_the_synchronized_columns(row: ErpActivity) -> None:
    ctx = context()
    assert columns(item_to_erp(erp_to_item(row, ctx), ctx)) == columns(row)


@given(erp_activities(normal_form=False), st.booleans())
def test_writing_an_activity_its_own_content_changes_nothing(row: ErpActivity, sync: bool) -> None:
    ctx = context(sync_activity_type=sync)
    assert item_to_erp(erp_to_item(row, ctx), ctx, current=row) == row


utc_seconds = st.datetimes(datetime(2020, 1, 1), datetime(2035, 12, 31)).map(
    lambda d: d.replace(microsecond=0, tzinfo=UTC)
)


@st.composite
def items(draw: st.DrawFn, *, with_type: bool) -> Item:
    """Canonical items: clean text within the ERP limits, UTC or date bounds, Outlook's
    task progress (completed <=> 100)."""
    kind = draw(st.sampled_from(Kind))
    item = Item(
        kind=kind,
        subject=draw(clean(255)),
        body=draw(clean()),
        location=draw(clean(255)),
        private=draw(st.booleans()),
        importance=draw(st.sampled_from(Importance)),
        activity_type_no=draw(TYPES) if with_type else None,
        reminder_minutes=draw(st.none() | st.integers(0, 20_000)),
        equipment=tuple(draw(st.lists(st.text(), max_size=3))),
        priority_name=draw(st.text() | fragments),
    )
    if kind is Kind.APPOINTMENT and draw(st.booleans()):
        first = draw(days)
        return replace(item, start=first, end=first + timedelta(days=draw(st.integers(1, 30))))
    if kind is Kind.APPOINTMENT:
        start = draw(utc_seconds)
        return replace(
            item, start=start, end=start + timedelta(seconds=draw(st.integers(0, 10**6)))
        )
    status = draw(st.sampled_from(TaskStatus))
    percent = 100 if status is TaskStatus.COMPLETED else draw(st.integers(0, 99))
    return replace(
        item,
        start=draw(st.none() | days),
        due=draw(st.none() | days),
        status=status,
        percent_complete=percent,
    )


@st.composite
def current_exchange_items(draw: st.DrawFn) -> ExchangeItem | None:
    """What Exchange may hold already: long subjects, user and stale ES_ categories."""
    if draw(st.booleans()):
        return None
    categories = st.sampled_from(["Red", "ES_1_Call", "ES_99_Gone", "ES_7_Old name", "Blue"])
    return ExchangeItem(
        kind=Kind.TASK,
        subject=draw(st.text(clean_chars, min_size=1, max_size=10).map(lambda s: s * 40)),
        sensitivity=draw(st.sampled_from(Sensitivity)),
        categories=tuple(draw(st.lists(categories, max_size=4))),
        erp_id=draw(st.none() | st.integers(1, 100)),
    )


@given(
    st.booleans().flatmap(lambda sync: st.tuples(st.just(sync), items(with_type=sync))),
    st.booleans(),
    st.booleans(),
    current_exchange_items(),
)
def test_item_survives_exchange_and_back_except_erp_owned_fields(
    sync_and_item: tuple[bool, Item],
    priority_as_text: bool,
    equipment_as_text: bool,
    current: ExchangeItem | None,
) -> None:
    sync, item = sync_and_item
    ctx = context(
        sync_activity_type=sync,
        priority_as_text=priority_as_text,
        equipment_as_text=equipment_as_text,
    )
    back = exchange_to_item(item_to_exchange(item, ctx, current=current), ctx)
    assert back == replace(item, equipment=(), priority_name="")


@given(local_minutes, st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Sydney"]))
def test_every_existing_local_time_survives_utc_and_back(moment: datetime, zone: str) -> None:
    ctx = context(zone)
    row = ErpActivity(id=1, kind=Kind.APPOINTMENT, subject="x", start_at=moment, end_at=moment)
    exists = moment.replace(tzinfo=ctx.erp_zone).astimezone(UTC).astimezone(ctx.erp_zone)
    assume(exists.replace(tzinfo=None) == moment)
    assert item_to_erp(erp_to_item(row, ctx), ctx).start_at == moment
