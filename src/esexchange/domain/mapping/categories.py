"""Activity types <-> Outlook categories ``ES_<no>_<description>``.

A category is matched by its ``ES_<no>_`` prefix, so a renamed activity type is still
the same category. Other categories on an item belong to the user and are kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from esexchange.domain.mapping.context import MappingContext
from esexchange.domain.mapping.text import clean_text
from esexchange.domain.model import ActivityType, Category, Kind

_ACTIVITY_TYPE_CATEGORY = re.compile(r"ES_([0-9]+)_")


def category_name(activity_type: ActivityType) -> str:
    """The Outlook category of an activity type, e.g. ``ES_5_Task``."""
    return clean_text(f"ES_{activity_type.no}_{activity_type.description}")


def master_categories(ctx: MappingContext) -> tuple[Category, ...]:
    """One category per activity type, coloured, for the mailbox's master list.

    Empty when ``sync_activity_type`` is off: no ``ES_`` category is written then.
    """
    if not ctx.options.sync_activity_type:
        return ()
    ordered = sorted(ctx.reference.activity_types, key=lambda t: t.no)
    return tuple(Category(category_name(t), t.color) for t in ordered)


def default_activity_type(kind: Kind, ctx: MappingContext) -> int | None:
    """The type of an item no category types: the option for ``kind``, else the lowest."""
    option = (
        ctx.options.default_activity_type_appointment
        if kind is Kind.APPOINTMENT
        else ctx.options.default_activity_type_task
    )
    if option is not None:
        return option
    return min((t.no for t in ctx.reference.activity_types), default=None)


def activity_type_of_erp(type_no: int | None, kind: Kind, ctx: MappingContext) -> int | None:
    """The canonical type of an ERP activity: its own when known, else the default.

    ``None`` when ``sync_activity_type`` is off (the field is not synchronized).
    """
    if not ctx.options.sync_activity_type:
        return None
    if type_no is not None and _is_known(type_no, ctx):
        return type_no
    return default_activity_type(kind, ctx)


def activity_type_of_categories(
    categories: Iterable[str], kind: Kind, ctx: MappingContext
) -> int | None:
    """The canonical type of an Exchange item: the first ``ES_<no>_`` category with a
    known number, else the default. ``None`` when ``sync_activity_type`` is off."""
    if not ctx.options.sync_activity_type:
        return None
    for name in categories:
        number = _number_of(name)
        if number is not None and _is_known(number, ctx):
            return number
    return default_activity_type(kind, ctx)


def categories_with_type(
    current: Iterable[str], type_no: int | None, ctx: MappingContext
) -> tuple[str, ...]:
    """``current`` without its ``ES_<digits>_`` categories, then the one for ``type_no``.

    When ``sync_activity_type`` is off the categories are left exactly as they are.
    """
    if not ctx.options.sync_activity_type:
        return tuple(current)
    kept = [name for name in current if _number_of(name) is None]
    for activity_type in ctx.reference.activity_types:
        if activity_type.no == type_no:
            kept.append(category_name(activity_type))
            break
    return tuple(kept)


def keep_user_categories(current: Iterable[str], decided: Iterable[str]) -> tuple[str, ...]:
    """The categories to write over an item that has ``current`` in Exchange now.

    The sync decides only the ``ES_<no>_`` categories; every other category belongs to
    the user and is kept as it is in Exchange at the time of writing (the sync may not
    have seen the item since the user set it).
    """
    kept = [name for name in current if _number_of(name) is None]
    return (*kept, *(name for name in decided if _number_of(name) is not None))


def _number_of(category: str) -> int | None:
    match = _ACTIVITY_TYPE_CATEGORY.match(category)
    return None if match is None else int(match.group(1))


def _is_known(type_no: int, ctx: MappingContext) -> bool:
    return any(t.no == type_no for t in ctx.reference.activity_types)
