"""Series pairs for the planner's rule tests (``test_planner_rules_series*.py``).

A weekly series "Planung", Wednesdays 10:00-11:00 Berlin time from 4 November 2026,
twelve times: ERP activity 1 and Exchange series ``EX1``. Its second occurrence
(``MOVED``) is the modified one: ERP row 2 and Outlook's exception, an occurrence pair
keyed by (``EX1``, ``MOVED``). The builders add to those of ``test_planner.py``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from esexchange.domain.mapping import exchange_to_item
from esexchange.domain.model import (
    ErpActivity,
    ExchangeItem,
    ItemRef,
    OccurrenceKey,
    RemoteItem,
    RemoteOccurrence,
)
from esexchange.domain.planner import exchange_view
from esexchange.domain.recurrence.series import ErpSeries, erp_series
from esexchange.domain.state import Link, MailboxChange
from tests.domain.test_planner import CTX, EARLIER, activity, exchange_copy, link

RULE = "FREQ=WEEKLY;BYDAY=WE;COUNT=12"
FIRST = datetime(2026, 11, 4, 10)  # a Wednesday, Berlin wall time (09:00 UTC)
HOUR = timedelta(hours=1)
WEEK = timedelta(weeks=1)
MOVED = FIRST + WEEK  # the occurrence the ERP row 2 / Outlook's exception modifies
DELETED = FIRST + 2 * WEEK
SERIES = "EX1"


def master(erp_id: int = 1, rule: str = RULE, **values: object) -> ErpActivity:
    """The ERP series master (its first occurrence's times, the rule, the exdates)."""
    fields: dict[str, object] = {"start_at": FIRST, "end_at": FIRST + HOUR,
                                 "recurrence": rule, "recurring": True, **values}
    return activity(erp_id, **fields)


def row(original: datetime = MOVED, erp_id: int = 2, series_id: int = 1,
        **values: object) -> ErpActivity:
    """An ERP row of a modified occurrence: moved by four hours, its own subject."""
    start = values.pop("start_at", original + 4 * HOUR)
    assert isinstance(start, datetime)
    fields: dict[str, object] = {
        "subject": "Planung (verlegt)", "start_at": start, "end_at": start + HOUR,
        "participant_ids": (), "series_id": series_id, "original_start": original,
        "recurring": True, **values}
    return activity(erp_id, **fields)


def series(erp: ErpActivity, *rows: ErpActivity) -> dict[int, ErpSeries]:
    """``PlanInputs.erp_series`` for master ``erp`` and its modified occurrences."""
    assert erp.id is not None
    return {erp.id: erp_series(erp, rows, time_zone=CTX.erp_zone.key)}


def key(original: datetime = MOVED, series_id: str = SERIES) -> OccurrenceKey:
    return OccurrenceKey(series_id, original)


def occurrence_copy(erp: ErpActivity, **values: object) -> ExchangeItem:
    """Outlook's exception as the sync writes it for ERP row ``erp``: no stamp, single."""
    return replace(exchange_copy(erp), erp_id=None, **values)  # type: ignore[arg-type]


def exception(item: ExchangeItem, original: datetime = MOVED, *, version: str = "ok2",
              modified: datetime = EARLIER, series_id: str = SERIES) -> RemoteOccurrence:
    """Outlook's modified occurrence of ``original`` as read with its series."""
    return RemoteOccurrence(key(original, series_id), ItemRef(f"OCC-{original:%d}", version),
                            item, modified)


def outlook_series(item: ExchangeItem, *exceptions: RemoteOccurrence, item_id: str = SERIES,
                   version: str = "ck2", modified: datetime = EARLIER) -> MailboxChange:
    """A read of the series master ``item`` with its exceptions (as an adapter reads it)."""
    assert item.recurrence is not None
    originals = frozenset(e.key.original_start for e in exceptions)
    item = replace(item, recurrence=replace(item.recurrence, modified=originals))
    return MailboxChange(item_id, item.kind, RemoteItem(ItemRef(item_id, version), item,
                                                        modified, exceptions))


def occurrence_link(erp: ErpActivity, series_id: str = SERIES) -> Link:
    """The link of an occurrence pair synced as ERP row ``erp`` reads."""
    assert erp.original_start is not None
    return link(erp, str(key(erp.original_start, series_id)), "ok1")


def occurrence_link_seen(erp: ErpActivity, seen: ExchangeItem) -> Link:
    """``occurrence_link`` after a pass that read Outlook's exception as ``seen``."""
    return replace(occurrence_link(erp),
                   exchange_hash=exchange_view(exchange_to_item(seen, CTX), CTX).content_hash())

