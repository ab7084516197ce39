"""Mapping rules for text: ERP column limits, characters Exchange refuses, the trailer."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from esexchange.domain.mapping import (
    ERP_LOCATION_MAX,
    ERP_SUBJECT_MAX,
    TRAILER_MARKER,
    add_trailer,
    erp_to_item,
    exchange_fields,
    exchange_to_item,
    item_to_erp,
    item_to_exchange,
    strip_trailer,
)
from esexchange.domain.model import ErpActivity, ExchangeItem, Item, Kind
from tests.domain.mapping_support import HIGH, context

T = Kind.TASK
CONTROLS = "".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r")


def test_long_exchange_subject_is_cut_to_254_characters_and_an_ellipsis() -> None:
    item = exchange_to_item(ExchangeItem(kind=T, subject="x" * 300), context())
    assert item.subject == "x" * 254 + "…"
    assert len(item.subject) == ERP_SUBJECT_MAX == 255


def test_subject_of_exactly_the_column_width_is_not_cut() -> None:
    item = exchange_to_item(ExchangeItem(kind=T, subject="y" * 255), context())
    assert item.subject == "y" * 255


def test_long_subject_stays_whole_in_exchange_until_the_erp_changes_it() -> None:
    ctx = context()
    current = ExchangeItem(kind=T, subject="Long " * 80)
    item = exchange_to_item(current, ctx)
    assert item_to_exchange(item, ctx, current=current).subject == current.subject
    assert "subject" not in exchange_fields({"body", "location"}, ctx)
    renamed = item_to_exchange(replace(item, subject="Short"), ctx, current=current)
    assert renamed.subject == "Short"


def test_long_location_stays_whole_in_exchange_until_the_erp_changes_it() -> None:
    ctx = context()
    current = ExchangeItem(kind=T, subject="x", location="Halle " * 60)
    item = exchange_to_item(current, ctx)
    assert len(item.location) == ERP_LOCATION_MAX
    assert item_to_exchange(item, ctx, current=current).location == current.location
    moved = item_to_exchange(replace(item, location="Raum 2"), ctx, current=current)
    assert moved.location == "Raum 2"


def test_long_subject_reaches_the_erp_cut() -> None:
    ctx = context()
    row = item_to_erp(exchange_to_item(ExchangeItem(kind=T, subject="z" * 1000), ctx), ctx)
    assert row.subject == "z" * 254 + "…"


def test_empty_subject_stays_empty() -> None:
    ctx = context()
    item = exchange_to_item(ExchangeItem(kind=T, subject=""), ctx)
    assert item.subject == ""
    assert item_to_erp(item, ctx).subject == ""
    assert (
        item_to_exchange(erp_to_item(ErpActivity(id=1, kind=T, subject=""), ctx), ctx).subject == ""
    )


def test_long_exchange_location_is_cut_like_the_subject() -> None:
    item = exchange_to_item(ExchangeItem(kind=T, subject="x", location="L" * 400), context())
    assert item.location == "L" * 254 + "…"
    assert ERP_LOCATION_MAX == 255


def test_control_characters_are_stripped_from_erp_text_fields() -> None:
    row = ErpActivity(
        id=1,
        kind=T,
        subject=f"Call\x00 back{CONTROLS}",
        text=f"Line 1\r\n\tLine 2\x0b\x1f{CONTROLS}",
        location="Room\x07 2",
    )
    item = erp_to_item(row, context())
    assert (item.subject, item.body, item.location) == ("Call back", "Line 1\r\n\tLine 2", "Room 2")


def test_control_characters_are_stripped_from_exchange_text_fields() -> None:
    incoming = ExchangeItem(kind=T, subject="A\x01B", body="C\x02D\uffff", location="E\x1bF")
    item = exchange_to_item(incoming, context())
    assert (item.subject, item.body, item.location) == ("AB", "CD", "EF")


def test_c1_controls_that_exchangelib_would_turn_into_question_marks_are_dropped() -> None:
    """They could never come back unchanged, so keeping them would look like an edit on
    every pass; NEL (U+0085) is a line break and stays."""
    row = ErpActivity(id=1, kind=T, subject="Re\x80port\x9f\ufdd0", text="a\x85b")
    item = erp_to_item(row, context())
    assert (item.subject, item.body) == ("Report", "a\x85b")


def test_control_characters_never_reach_either_side_when_writing() -> None:
    ctx = context()
    item = Item(kind=T, subject="A\x01B", body="C\x02D", location="E\x1bF")
    for written in (item_to_exchange(item, ctx), item_to_erp(item, ctx)):
        fields = (written.subject, written.location)
        assert fields == ("AB", "EF")
    assert item_to_exchange(item, ctx).body == "CD"
    assert item_to_erp(item, ctx).text == "CD"


def test_empty_body_round_trips_as_empty() -> None:
    ctx = context(priority_as_text=True, equipment_as_text=True)
    row = ErpActivity(id=1, kind=T, subject="x", text="")
    outgoing = item_to_exchange(erp_to_item(row, ctx), ctx)
    assert outgoing.body == ""
    assert item_to_erp(exchange_to_item(outgoing, ctx), ctx).text == ""


def test_one_megabyte_body_round_trips_exactly() -> None:
    ctx = context(priority_as_text=True, equipment_as_text=True)
    text = ("Zeile mit Umlauten äöüß und Tab\t\r\n" * 40_000)[: 1 << 20]
    row = ErpActivity(id=1, kind=T, subject="x", text=text, equipment=("Beamer",))
    outgoing = item_to_exchange(erp_to_item(row, ctx), ctx)
    assert outgoing.body.startswith(text) and outgoing.body != text
    assert item_to_erp(exchange_to_item(outgoing, ctx), ctx).text == text


def test_trailer_shows_priority_name_and_sorted_equipment() -> None:
    ctx = context(priority_as_text=True, equipment_as_text=True)
    row = ErpActivity(
        id=1, kind=T, subject="x", text="Agenda", priority_id=HIGH, equipment=("Room 2", "Beamer")
    )
    body = item_to_exchange(erp_to_item(row, ctx), ctx).body
    assert body == f"Agenda\n\n{TRAILER_MARKER}\nPriority: High\nEquipment: Beamer, Room 2"


def test_trailer_shows_only_what_its_options_ask_for() -> None:
    row = ErpActivity(id=1, kind=T, subject="x", text="t", priority_id=HIGH, equipment=("Beamer",))
    only_priority = context(priority_as_text=True)
    only_equipment = context(equipment_as_text=True)
    body = item_to_exchange(erp_to_item(row, only_priority), only_priority).body
    assert body == f"t\n\n{TRAILER_MARKER}\nPriority: High"
    body = item_to_exchange(erp_to_item(row, only_equipment), only_equipment).body
    assert body == f"t\n\n{TRAILER_MARKER}\nEquipment: Beamer"
    assert item_to_exchange(erp_to_item(row, context()), context()).body == "t"


def test_no_trailer_when_there_is_nothing_to_show() -> None:
    ctx = context(priority_as_text=True, equipment_as_text=True)
    row = ErpActivity(id=1, kind=T, subject="x", text="plain")
    assert item_to_exchange(erp_to_item(row, ctx), ctx).body == "plain"


def test_trailer_of_an_empty_text_has_no_leading_blank_lines() -> None:
    assert add_trailer("", priority="High") == f"{TRAILER_MARKER}\nPriority: High"
    assert strip_trailer(add_trailer("", priority="High")) == ""


def test_line_breaks_in_trailer_values_stay_on_one_line() -> None:
    body = add_trailer("t", equipment=("Projector\nroom 1", "Flip\r\nchart"))
    assert body == f"t\n\n{TRAILER_MARKER}\nEquipment: Projector room 1, Flip chart"


def test_reading_exchange_strips_the_trailer_and_leaves_erp_owned_fields_empty() -> None:
    ctx = context(priority_as_text=True, equipment_as_text=True)
    body = f"Agenda\n\n{TRAILER_MARKER}\nPriority: High\nEquipment: Beamer"
    item = exchange_to_item(ExchangeItem(kind=T, subject="x", body=body), ctx)
    assert (item.body, item.equipment, item.priority_name) == ("Agenda", (), "")


def test_trailer_is_stripped_even_after_the_options_were_switched_off() -> None:
    body = f"Agenda\n\n{TRAILER_MARKER}\nPriority: High"
    assert (
        exchange_to_item(ExchangeItem(kind=T, subject="x", body=body), context()).body == "Agenda"
    )


def test_trailer_with_crlf_and_trailing_newline_from_outlook_is_stripped() -> None:
    body = f"Agenda\r\n\r\n{TRAILER_MARKER}\r\nPriority: High\r\nEquipment: Beamer\r\n"
    assert strip_trailer(body) == "Agenda"


def test_damaged_trailer_keeps_the_whole_body() -> None:
    edited = f"Agenda\n\n{TRAILER_MARKER}\nPrio: High"
    appended = f"Agenda\n\n{TRAILER_MARKER}\nPriority: High\nSee you there"
    assert strip_trailer(edited) == edited
    assert strip_trailer(appended) == appended


def test_text_ending_like_a_trailer_gets_one_appended_so_it_comes_back_whole() -> None:
    text = f"Notes\n\n{TRAILER_MARKER}\nPriority: quoted"
    body = add_trailer(text)
    assert body == f"{text}\n\n{TRAILER_MARKER}"
    assert strip_trailer(body) == text


FRAGMENTS = st.sampled_from(
    [TRAILER_MARKER, "\n", "\n\n", "\r\n", "\r", " ", "\t", "Priority: ", "Equipment: ", "x", "ä"]
)
TEXTS = st.one_of(st.text(), st.lists(FRAGMENTS, max_size=12).map("".join))
VALUES = st.one_of(st.text(max_size=20), st.lists(FRAGMENTS, max_size=5).map("".join))


@given(text=TEXTS, priority=VALUES, equipment=st.lists(VALUES, max_size=3))
def test_stripping_the_trailer_gives_back_exactly_the_text(
    text: str, priority: str, equipment: list[str]
) -> None:
    assert strip_trailer(add_trailer(text, priority=priority, equipment=equipment)) == text
