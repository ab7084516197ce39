"""The four conversions: ERP activity <-> canonical ``Item`` <-> Exchange item.

Reading (``erp_to_item``, ``exchange_to_item``) makes the canonical form: clean text
within the ERP's column limits, UTC times, dates for all-day bounds and task dates, the
activity type from the ERP or the ``ES_`` category, the body without its trailer, the
equipment names sorted (the ERP lists them in no particular order).

Writing (``item_to_exchange``, ``item_to_erp``) takes the side's ``current`` copy when
there is one and keeps its values wherever they already say what the item says: a long
Exchange subject whose cut form is the item's subject, a Personal sensitivity for a
non-private item, an ERP priority outside the importance map, an ERP task due at 17:00
on the due date. Only what differs is computed afresh.

Task progress: Outlook keeps status and percent complete together (completed <=> 100),
so reading Exchange normalises them; the ERP's pair is taken as it is. ``completed_at``
is the ERP's own column: it is kept while the task stays completed, set from ``now``
(the pass's time, when the caller gives it) when it becomes completed, and cleared when
it is reopened.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

from esexchange.domain.errors import ItemRejected
from esexchange.domain.mapping.categories import (
    activity_type_of_categories,
    activity_type_of_erp,
    categories_with_type,
    default_activity_type,
)
from esexchange.domain.mapping.context import MappingContext
from esexchange.domain.mapping.fields import ERP_COLUMNS
from esexchange.domain.mapping.priorities import (
    importance_for_priority,
    priority_for_importance,
    priority_name,
)
from esexchange.domain.mapping.series import erp_series, exchange_series, item_recurrence
from esexchange.domain.mapping.text import (
    ERP_LOCATION_MAX,
    ERP_SUBJECT_MAX,
    ERP_TEXT_MAX,
    add_trailer,
    clean_text,
    fit,
    strip_trailer,
)
from esexchange.domain.mapping.times import (
    EXCHANGE_FIRST_DAY,
    EXCHANGE_LAST_DAY,
    ONE_DAY,
    all_day_span,
    as_utc,
    erp_to_utc,
    is_aware,
    local_midnight,
    outside_exchange_range,
    utc_to_erp,
)
from esexchange.domain.model import (
    ErpActivity,
    ExchangeItem,
    Item,
    Kind,
    Sensitivity,
    TaskStatus,
    When,
)


def erp_to_item(activity: ErpActivity, ctx: MappingContext) -> Item:
    """The canonical form of an ERP activity.

    Raises ``ItemRejected`` for an appointment without a start or ending before it,
    a percent complete outside 0..100, a date Exchange cannot store, a text longer than
    ``ERP_TEXT_MAX``, or a row the store could not read (``ErpActivity.unreadable``).
    """
    label = _erp_label(activity)
    _check_erp_values(activity, label)
    start: When | None
    end: When | None = None
    due: date | None = None
    status: TaskStatus | None = None
    percent = 0
    if activity.kind is Kind.APPOINTMENT:
        start, end = _erp_span(activity, ctx, label)
    else:
        start = None if activity.start_at is None else activity.start_at.date()
        due = None if activity.due_at is None else activity.due_at.date()
        status = activity.status or TaskStatus.NOT_STARTED
        percent = _percent(activity.percent_complete, label, "percent_complete")
    recurrence, exdates = erp_series(activity, ctx, label)
    return Item(
        kind=activity.kind,
        subject=fit(clean_text(activity.subject), ERP_SUBJECT_MAX),
        body=clean_text(activity.text),
        start=start,
        end=end,
        location=fit(clean_text(activity.location), ERP_LOCATION_MAX),
        private=activity.private,
        importance=importance_for_priority(activity.priority_id, ctx),
        activity_type_no=activity_type_of_erp(activity.activity_type_no, activity.kind, ctx),
        reminder_minutes=activity.reminder_minutes,
        due=due,
        status=status,
        percent_complete=percent,
        equipment=tuple(sorted(clean_text(name) for name in activity.equipment)),
        priority_name=clean_text(priority_name(activity.priority_id, ctx)),
        recurrence=recurrence,
        exdates=exdates,
    )


def exchange_to_item(item: ExchangeItem, ctx: MappingContext) -> Item:
    """The canonical form of an Exchange item.

    A subject or location longer than the ERP column is cut (254 characters and "…").
    The trailer is stripped from the body. ``equipment`` and ``priority_name`` are left
    empty: they belong to the ERP. Raises ``ItemRejected`` for bounds that are missing,
    mixed (a date and a time), without a zone, or with the end before the start.
    """
    label = _exchange_label(item)
    start, end, due = _bounds(item, ctx, label)
    status: TaskStatus | None = None
    percent = 0
    if item.kind is Kind.TASK:
        status, percent = _outlook_progress(item.status, item.percent_complete, label)
    recurrence, exdates = exchange_series(item, ctx, label)
    return Item(
        kind=item.kind,
        subject=fit(clean_text(item.subject), ERP_SUBJECT_MAX),
        body=strip_trailer(clean_text(item.body)),
        start=start,
        end=end,
        location=fit(clean_text(item.location), ERP_LOCATION_MAX),
        private=item.sensitivity.is_private,
        importance=item.importance,
        activity_type_no=activity_type_of_categories(item.categories, item.kind, ctx),
        reminder_minutes=item.reminder_minutes,
        due=due,
        status=status,
        percent_complete=percent,
        recurrence=recurrence,
        exdates=exdates,
    )


def item_to_exchange(
    item: Item,
    ctx: MappingContext,
    *,
    current: ExchangeItem | None = None,
    erp_id: int | None = None,
) -> ExchangeItem:
    """The Exchange form of ``item``, written over ``current`` when it exists.

    The body is the item's text plus the trailer the options ask for. Categories are the
    user's own ones of ``current``, in order, then the item's ``ES_`` category.
    ``erp_id`` (else ``current.erp_id``) is the ERP id to stamp.
    """
    label = _item_label(item)
    start, end, due = _bounds(item, ctx, label)
    status: TaskStatus | None = None
    percent = 0
    if item.kind is Kind.TASK:
        status = item.status or TaskStatus.NOT_STARTED
        percent = _percent(item.percent_complete, label, "percent_complete")
    options = ctx.options
    body = add_trailer(
        clean_text(item.body),
        priority=item.priority_name if options.priority_as_text else "",
        equipment=item.equipment if options.equipment_as_text else (),
    )
    return ExchangeItem(
        kind=item.kind,
        subject=_kept(current.subject if current else None, item.subject, ERP_SUBJECT_MAX),
        body=body,
        start=start,
        end=end,
        location=_kept(current.location if current else None, item.location, ERP_LOCATION_MAX),
        sensitivity=_sensitivity(item.private, current),
        importance=item.importance,
        categories=categories_with_type(
            current.categories if current else (), item.activity_type_no, ctx
        ),
        reminder_minutes=item.reminder_minutes,
        due=due,
        status=status,
        percent_complete=percent,
        erp_id=erp_id if erp_id is not None else (current.erp_id if current else None),
        recurring=item.recurrence is not None or (current.recurring if current else False),
        recurrence=item_recurrence(item, ctx, label),
    )


def item_to_erp(
    item: Item,
    ctx: MappingContext,
    *,
    current: ErpActivity | None = None,
    now: datetime | None = None,
) -> ErpActivity:
    """The ERP form of ``item``, written over ``current`` when it exists.

    A column of ``current`` is kept when ``current`` already reads as the item for every
    canonical field stored in that column; the others are computed afresh. Participants,
    equipment and the id always stay those of ``current``. ``now`` (aware) becomes
    ``completed_at`` of a task that is newly completed.
    """
    label = _item_label(item)
    fresh = _new_erp_activity(item, ctx, label, now)
    if current is None:
        return fresh
    if current.kind is not item.kind:
        raise ItemRejected(
            f"cannot write a {item.kind} over a {current.kind}", item=label, field="kind"
        )
    try:
        agreed: Item | None = erp_to_item(current, ctx)
    except ItemRejected:
        agreed = None  # an unreadable row is rewritten in full
    stale = {
        column
        for field, columns in ERP_COLUMNS.items()
        if agreed is None or getattr(agreed, field) != getattr(item, field)
        for column in columns
    }
    changes: dict[str, Any] = {column: getattr(fresh, column) for column in stale}
    return replace(current, **changes)


def _new_erp_activity(
    item: Item, ctx: MappingContext, label: str, now: datetime | None
) -> ErpActivity:
    zone = ctx.erp_zone
    start_at = end_at = due_at = completed_at = None
    all_day = False
    status: TaskStatus | None = None
    percent = 0
    if item.kind is Kind.APPOINTMENT:
        start, end = _span(item.start, item.end, label)
        if isinstance(start, datetime) and isinstance(end, datetime):
            start_at, end_at = utc_to_erp(start, zone), utc_to_erp(end, zone)
        else:
            start_at, end_at, all_day = local_midnight(start), local_midnight(end), True
    else:
        start_at = local_midnight(_task_date(item.start, ctx, label, "start"))
        due_at = local_midnight(_task_date(item.due, ctx, label, "due"))
        status = item.status or TaskStatus.NOT_STARTED
        percent = _percent(item.percent_complete, label, "percent_complete")
        if status is TaskStatus.COMPLETED and now is not None:
            completed_at = utc_to_erp(now, zone)
    return ErpActivity(
        id=None,
        kind=item.kind,
        subject=fit(clean_text(item.subject), ERP_SUBJECT_MAX),
        text=clean_text(item.body),
        start_at=start_at,
        end_at=end_at,
        all_day=all_day,
        location=fit(clean_text(item.location), ERP_LOCATION_MAX),
        due_at=due_at,
        status=status,
        percent_complete=percent,
        completed_at=completed_at,
        private=item.private,
        priority_id=priority_for_importance(item.importance, ctx),
        activity_type_no=(
            item.activity_type_no
            if ctx.options.sync_activity_type
            else default_activity_type(item.kind, ctx)
        ),
        reminder_minutes=item.reminder_minutes,
        recurrence=item.recurrence,
        exdates=item.exdates,
        recurring=item.recurrence is not None,
    )


def _check_erp_values(activity: ErpActivity, label: str) -> None:
    """Refuse, naming the field, what Exchange would refuse or what could not be read."""
    if activity.unreadable:
        raise ItemRejected(activity.unreadable, item=label)
    for field in ("start_at", "end_at", "due_at", "completed_at"):
        value = getattr(activity, field)
        if value is not None and outside_exchange_range(value):
            raise ItemRejected(
                f"{field} {value:%Y-%m-%d} is outside the range Exchange accepts "
                f"({EXCHANGE_FIRST_DAY} to {EXCHANGE_LAST_DAY})", item=label, field=field,
            )
    if len(activity.text) > ERP_TEXT_MAX:
        raise ItemRejected(
            f"the text is {len(activity.text):,} characters long, more than the "
            f"{ERP_TEXT_MAX:,} esExchange sends to Exchange; shorten it in the ERP",
            item=label, field="text",
        )


def _erp_span(activity: ErpActivity, ctx: MappingContext, label: str) -> tuple[When, When]:
    start_at = activity.start_at
    if start_at is None:
        raise ItemRejected("an appointment needs a start", item=label, field="start_at")
    end_at = start_at if activity.end_at is None else activity.end_at
    if end_at < start_at:
        raise ItemRejected(
            f"the end {end_at:%Y-%m-%d %H:%M} is before the start {start_at:%Y-%m-%d %H:%M}",
            item=label,
            field="end_at",
        )
    if activity.all_day:
        return all_day_span(start_at, end_at)
    start, end = erp_to_utc(start_at, ctx.erp_zone), erp_to_utc(end_at, ctx.erp_zone)
    # A start in the spring-forward gap reads an hour later (fold=0); an end just after
    # the gap may then come first. The appointment shrinks to its start, not refused.
    return start, max(start, end)


def _bounds(
    item: Item | ExchangeItem, ctx: MappingContext, label: str
) -> tuple[When | None, When | None, date | None]:
    """Checked start, end and due: an appointment's span, or a task's start and due dates."""
    for field, value in (("start", item.start), ("end", item.end), ("due", item.due)):
        if value is not None and outside_exchange_range(value):
            raise ItemRejected(
                f"the {field} {value:%Y-%m-%d} is outside the range Exchange accepts "
                f"({EXCHANGE_FIRST_DAY} to {EXCHANGE_LAST_DAY})", item=label, field=field,
            )
    if item.kind is Kind.APPOINTMENT:
        start, end = _span(item.start, item.end, label)
        return start, end, None
    return (
        _task_date(item.start, ctx, label, "start"), None, _task_date(item.due, ctx, label, "due")
    )


def _span(start: When | None, end: When | None, label: str) -> tuple[When, When]:
    """Checked appointment bounds: both dates (end exclusive, at least one day) or both
    aware times in UTC; a missing end is the start (or the start's day)."""
    if start is None:
        raise ItemRejected("an appointment needs a start", item=label, field="start")
    if isinstance(start, datetime):
        if not is_aware(start):
            raise ItemRejected("the start has no time zone", item=label, field="start")
        end = start if end is None else end
        if not isinstance(end, datetime) or not is_aware(end):
            raise ItemRejected(
                "a timed start needs an end with a time zone", item=label, field="end"
            )
        start, end = as_utc(start), as_utc(end)
    else:
        end = start + ONE_DAY if end is None else end
        if isinstance(end, datetime):
            raise ItemRejected("an all-day start needs an all-day end", item=label, field="end")
    if end < start:
        raise ItemRejected(f"the end {end} is before the start {start}", item=label, field="end")
    if not isinstance(start, datetime):
        end = max(end, start + ONE_DAY)
    return start, end


def _task_date(value: When | None, ctx: MappingContext, label: str, field: str) -> date | None:
    """A task's start or due date; an aware time counts by its ERP-local day."""
    if value is None or not isinstance(value, datetime):
        return value
    if not is_aware(value):
        raise ItemRejected(f"the {field} has no time zone", item=label, field=field)
    return value.astimezone(ctx.erp_zone).date()


def _outlook_progress(
    status: TaskStatus | None, percent: int, label: str
) -> tuple[TaskStatus, int]:
    """Outlook's status and percent complete, kept together: completed <=> 100."""
    percent = _percent(percent, label, "percent_complete")
    if status is TaskStatus.COMPLETED or percent == 100:
        return TaskStatus.COMPLETED, 100
    return status or TaskStatus.NOT_STARTED, percent


def _percent(value: int, label: str, field: str) -> int:
    if not 0 <= value <= 100:
        raise ItemRejected(
            f"percent complete {value} is not within 0..100", item=label, field=field
        )
    return value


def _kept(current: str | None, value: str, limit: int) -> str:
    """``current`` when it reads as ``value`` (e.g. the whole of a cut subject)."""
    if current is not None and fit(clean_text(current), limit) == value:
        return current
    return clean_text(value)


def _sensitivity(private: bool, current: ExchangeItem | None) -> Sensitivity:
    """Private or Normal, unless ``current``'s sensitivity already agrees (Personal,
    Confidential stay)."""
    if current is not None and current.sensitivity.is_private == private:
        return current.sensitivity
    return Sensitivity.PRIVATE if private else Sensitivity.NORMAL


def _erp_label(activity: ErpActivity) -> str:
    name = "new ERP activity" if activity.id is None else f"ERP activity {activity.id}"
    return f"{name} {fit(activity.subject, 60)!r}"


def _exchange_label(item: ExchangeItem) -> str:
    stamp = "" if item.erp_id is None else f" (ERP activity {item.erp_id})"
    return f"Exchange {item.kind} {fit(item.subject, 60)!r}{stamp}"


def _item_label(item: Item) -> str:
    return f"{item.kind} {fit(item.subject, 60)!r}"
