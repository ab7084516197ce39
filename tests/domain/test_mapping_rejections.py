"""Items the mapping cannot convert are rejected with an error that names the item and
the field (DESIGN.md §3: bad input costs only itself, and the user can find it)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from esexchange.domain.errors import ItemRejected
from esexchange.domain.mapping import erp_to_item, exchange_to_item, item_to_erp, item_to_exchange
from esexchange.domain.model import ErpActivity, ExchangeItem, Item, Kind, TaskStatus
from tests.domain.mapping_support import context, local, utc

CTX = context()


def rejection(call: object) -> ItemRejected:
    assert callable(call)
    with pytest.raises(ItemRejected) as caught:
        call()
    return caught.value


@pytest.mark.parametrize(
    ("activity", "message", "item", "field"),
    [
        (ErpActivity(3, Kind.APPOINTMENT, "Planung"), "an appointment needs a start",
         "ERP activity 3 'Planung'", "start_at"),
        (ErpActivity(None, Kind.APPOINTMENT, "Neu", start_at=local("2026-11-05T10:00"),
                     end_at=local("2026-11-05T09:00")),
         "the end 2026-11-05 09:00 is before the start 2026-11-05 10:00",
         "new ERP activity 'Neu'", "end_at"),
        (ErpActivity(4, Kind.TASK, "Bericht", percent_complete=101),
         "percent complete 101 is not within 0..100", "ERP activity 4 'Bericht'",
         "percent_complete"),
        # A recurring task needs a day its series starts on: its start, else its due day.
        (ErpActivity(5, Kind.TASK, "Bericht", recurrence="FREQ=WEEKLY;BYDAY=TH;COUNT=5",
                     recurring=True),
         "a series needs its first occurrence, and it is empty", "ERP activity 5 'Bericht'",
         "start_at"),
    ],
)
def test_an_erp_activity_that_cannot_be_read_is_rejected_by_item_and_field(
    activity: ErpActivity, message: str, item: str, field: str
) -> None:
    error = rejection(lambda: erp_to_item(activity, CTX))
    assert (error.args[0], error.item, error.field) == (message, item, field)


@pytest.mark.parametrize(
    ("exchange", "message", "field"),
    [
        (ExchangeItem(Kind.APPOINTMENT, "Zahnarzt"), "an appointment needs a start", "start"),
        (ExchangeItem(Kind.APPOINTMENT, "Zahnarzt", start=datetime(2026, 11, 5, 10)),
         "the start has no time zone", "start"),
        (ExchangeItem(Kind.APPOINTMENT, "Zahnarzt", start=utc("2026-11-05T10:00"),
                      end=date(2026, 11, 6)),
         "a timed start needs an end with a time zone", "end"),
        (ExchangeItem(Kind.APPOINTMENT, "Zahnarzt", start=date(2026, 11, 5),
                      end=utc("2026-11-06T10:00")),
         "an all-day start needs an all-day end", "end"),
        (ExchangeItem(Kind.APPOINTMENT, "Zahnarzt", start=utc("2026-11-05T10:00"),
                      end=utc("2026-11-05T09:00")),
         "the end 2026-11-05 09:00:00+00:00 is before the start 2026-11-05 10:00:00+00:00",
         "end"),
        (ExchangeItem(Kind.TASK, "Aufgabe", due=datetime(2026, 11, 5, 10)),
         "the due has no time zone", "due"),
        (ExchangeItem(Kind.TASK, "Aufgabe", start=datetime(2026, 11, 4, 8)),
         "the start has no time zone", "start"),
        (ExchangeItem(Kind.TASK, "Aufgabe", percent_complete=-1),
         "percent complete -1 is not within 0..100", "percent_complete"),
    ],
)
def test_an_exchange_item_that_cannot_be_read_is_rejected_by_item_and_field(
    exchange: ExchangeItem, message: str, field: str
) -> None:
    error = rejection(lambda: exchange_to_item(exchange, CTX))
    assert (error.args[0], error.field) == (message, field)
    assert error.item == f"Exchange {exchange.kind} {exchange.subject!r}"


def test_a_stamped_exchange_item_is_named_with_its_erp_id() -> None:
    broken = ExchangeItem(Kind.APPOINTMENT, "Zahnarzt", erp_id=12)
    error = rejection(lambda: exchange_to_item(broken, CTX))
    assert error.item == "Exchange appointment 'Zahnarzt' (ERP activity 12)"


@pytest.mark.parametrize("write", ["exchange", "erp"])
def test_an_item_that_cannot_be_written_is_rejected_by_item_and_field(write: str) -> None:
    broken = Item(Kind.TASK, "Aufgabe", status=TaskStatus.IN_PROGRESS, percent_complete=150)
    if write == "exchange":
        error = rejection(lambda: item_to_exchange(broken, CTX))
    else:
        error = rejection(lambda: item_to_erp(broken, CTX))
    assert (error.args[0], error.item, error.field) == (
        "percent complete 150 is not within 0..100", "task 'Aufgabe'", "percent_complete"
    )
    no_start = Item(Kind.APPOINTMENT, "Termin")
    error = rejection(lambda: item_to_exchange(no_start, CTX))
    assert (error.item, error.field) == ("appointment 'Termin'", "start")


def test_a_long_subject_is_named_by_its_first_60_characters() -> None:
    subject = "x" * 80
    error = rejection(lambda: exchange_to_item(ExchangeItem(Kind.APPOINTMENT, subject), CTX))
    assert error.item == f"Exchange appointment {'x' * 59 + '…'!r}"


def test_a_task_written_to_exchange_takes_its_dates_in_the_erp_zone() -> None:
    # 23:30 UTC on 4 November is already 5 November in Berlin.
    task = Item(Kind.TASK, "Aufgabe", start=utc("2026-11-04T23:30"), due=utc("2026-11-04T23:30"))
    written = item_to_exchange(task, CTX)
    assert (written.start, written.due) == (date(2026, 11, 5), date(2026, 11, 5))
    assert (written.status, written.percent_complete, written.end) == (
        TaskStatus.NOT_STARTED, 0, None
    )


def test_an_appointment_written_to_exchange_has_no_task_fields() -> None:
    meeting = Item(Kind.APPOINTMENT, "Termin", start=utc("2026-11-05T10:00"),
                   end=utc("2026-11-05T11:00"), status=TaskStatus.COMPLETED, percent_complete=50)
    written = item_to_exchange(meeting, CTX)
    assert (written.status, written.percent_complete, written.due) == (None, 0, None)


def test_an_erp_appointment_without_an_end_lasts_no_time() -> None:
    item = erp_to_item(ErpActivity(3, Kind.APPOINTMENT, "Anruf",
                                   start_at=local("2026-11-05T10:00")), CTX)
    assert (item.start, item.end) == (utc("2026-11-05T09:00"), utc("2026-11-05T09:00"))


def test_an_erp_appointment_starting_in_the_spring_gap_shrinks_to_its_start() -> None:
    # 02:30 does not exist on 29 March in Berlin; it reads as 01:30 UTC (03:30 summer time),
    # after the end 03:10 (01:10 UTC): the appointment shrinks instead of being refused.
    item = erp_to_item(ErpActivity(3, Kind.APPOINTMENT, "Nacht",
                                   start_at=local("2026-03-29T02:30"),
                                   end_at=local("2026-03-29T03:10")), CTX)
    assert (item.start, item.end) == (utc("2026-03-29T01:30"), utc("2026-03-29T01:30"))


def test_an_unreadable_erp_row_is_rewritten_in_full() -> None:
    unreadable = ErpActivity(3, Kind.APPOINTMENT, "Alt", location="Raum 1",
                             participant_ids=(7,))
    item = Item(Kind.APPOINTMENT, "Neu", start=utc("2026-11-05T09:00"),
                end=utc("2026-11-05T10:00"), location="Raum 1")
    written = item_to_erp(item, CTX, current=unreadable)
    assert (written.id, written.subject, written.participant_ids) == (3, "Neu", (7,))
    assert (written.start_at, written.end_at) == (local("2026-11-05T10:00"),
                                                  local("2026-11-05T11:00"))


@pytest.mark.parametrize(
    ("activity", "message", "field"),
    [
        (ErpActivity(5, Kind.APPOINTMENT, "Alt", start_at=datetime(1600, 12, 31, 10),
                     end_at=datetime(1601, 1, 1, 11)),
         "start_at 1600-12-31 is outside the range Exchange accepts (1601-01-01 to "
         "4500-08-31)", "start_at"),
        (ErpActivity(5, Kind.TASK, "Fern", due_at=datetime(4500, 9, 1)),
         "due_at 4500-09-01 is outside the range Exchange accepts (1601-01-01 to "
         "4500-08-31)", "due_at"),
        (ErpActivity(5, Kind.TASK, "Lang", text="x" * 1_048_577),
         "the text is 1,048,577 characters long, more than the 1,048,576 esExchange sends "
         "to Exchange; shorten it in the ERP", "text"),
    ],
)
def test_erp_values_exchange_cannot_store_are_refused_before_sending(
    activity: ErpActivity, message: str, field: str
) -> None:
    error = rejection(lambda: erp_to_item(activity, CTX))
    assert (error.args[0], error.field) == (message, field)
    assert error.item.startswith("ERP activity 5 ")


def test_the_first_and_last_days_exchange_stores_are_accepted() -> None:
    first = ErpActivity(5, Kind.APPOINTMENT, "Erster", start_at=datetime(1601, 1, 1, 10),
                        end_at=datetime(1601, 1, 1, 11))
    last = ErpActivity(5, Kind.TASK, "Letzter", due_at=datetime(4500, 8, 31),
                       text="x" * 1_048_576)
    assert erp_to_item(first, CTX).start is not None
    assert erp_to_item(last, CTX).due == date(4500, 8, 31)


@pytest.mark.parametrize(
    ("exchange", "field", "day"),
    [
        (ExchangeItem(Kind.APPOINTMENT, "Alt", start=date(1600, 12, 31),
                      end=date(1601, 1, 2)), "start", "1600-12-31"),
        (ExchangeItem(Kind.APPOINTMENT, "Lang", start=date(4500, 8, 30),
                      end=date(4500, 9, 1)), "end", "4500-09-01"),
        (ExchangeItem(Kind.TASK, "Fern", due=date(4500, 9, 1)), "due", "4500-09-01"),
    ],
)
def test_an_exchange_date_outside_what_exchange_stores_is_refused_by_its_field(
    exchange: ExchangeItem, field: str, day: str
) -> None:
    error = rejection(lambda: exchange_to_item(exchange, CTX))
    assert (error.args[0], error.field) == (
        f"the {field} {day} is outside the range Exchange accepts (1601-01-01 to "
        "4500-08-31)", field)
    assert error.item == f"Exchange {exchange.kind} {exchange.subject!r}"


def test_an_item_is_never_written_over_an_activity_of_the_other_kind() -> None:
    task = ErpActivity(6, Kind.TASK, "Aufgabe")
    meeting = Item(Kind.APPOINTMENT, "Termin", start=utc("2026-11-05T10:00"),
                   end=utc("2026-11-05T11:00"))
    error = rejection(lambda: item_to_erp(meeting, CTX, current=task))
    assert (error.args[0], error.item, error.field) == (
        "cannot write a appointment over a task", "appointment 'Termin'", "kind")


def test_erp_and_item_labels_name_the_first_60_characters_of_the_subject() -> None:
    subject = "y" * 80
    cut = "y" * 59 + "…"
    error = rejection(lambda: erp_to_item(ErpActivity(8, Kind.APPOINTMENT, subject), CTX))
    assert error.item == f"ERP activity 8 {cut!r}"
    error = rejection(lambda: item_to_exchange(Item(Kind.APPOINTMENT, subject), CTX))
    assert error.item == f"appointment {cut!r}"


def test_an_item_that_cannot_be_written_to_the_erp_names_item_and_field() -> None:
    mixed = Item(Kind.APPOINTMENT, "Termin", start=utc("2026-11-05T10:00"), end=date(2026, 11, 6))
    error = rejection(lambda: item_to_erp(mixed, CTX))
    assert (error.item, error.field) == ("appointment 'Termin'", "end")
    naive = Item(Kind.TASK, "Aufgabe", due=datetime(2026, 11, 5, 10))
    error = rejection(lambda: item_to_erp(naive, CTX))
    assert (error.args[0], error.item, error.field) == (
        "the due has no time zone", "task 'Aufgabe'", "due")
    naive_start = Item(Kind.TASK, "Aufgabe", start=datetime(2026, 11, 4, 8))
    error = rejection(lambda: item_to_erp(naive_start, CTX))
    assert (error.args[0], error.item, error.field) == (
        "the start has no time zone", "task 'Aufgabe'", "start")


def test_a_task_is_written_to_the_erp_on_its_erp_local_days() -> None:
    # 23:30 UTC on the 4th is the 5th in Berlin.
    late = utc("2026-11-04T23:30")
    row = item_to_erp(Item(Kind.TASK, "Aufgabe", start=late, due=late), CTX)
    assert (row.start_at, row.due_at) == (datetime(2026, 11, 5), datetime(2026, 11, 5))


def test_an_all_day_exchange_item_without_an_end_or_of_no_length_lasts_its_day() -> None:
    for end in (None, date(2026, 11, 5)):
        item = exchange_to_item(ExchangeItem(Kind.APPOINTMENT, "Messe", start=date(2026, 11, 5),
                                             end=end), CTX)
        assert (item.start, item.end) == (date(2026, 11, 5), date(2026, 11, 6)), end


def test_an_unreadable_erp_row_is_rejected_with_the_stores_words() -> None:
    row = ErpActivity(9, Kind.TASK, "Kaputt", unreadable="column due_at: 'morgen' is no date")
    error = rejection(lambda: erp_to_item(row, CTX))
    assert (error.args[0], error.item) == ("column due_at: 'morgen' is no date",
                                           "ERP activity 9 'Kaputt'")
