"""Outlook's preset category colours by name, alias or index."""

from __future__ import annotations

import pytest

from esexchange.config import InvalidColor, color_name, parse_color


@pytest.mark.parametrize(
    ("text", "index"),
    [
        ("Red", 0),
        ("dark steel", 11),
        ("Dark-Gray", 13),
        ("dark grey", 13),
        ("Dark Maroon", 24),
        ("light green", 4),  # the product manual's name for ES_5_Task's colour
        ("green", 4),
        ("dark green", 19),
        ("cranberry", 9),  # newer Outlook clients' names for the same presets
        ("brown", 2),
        ("none", -1),
        ("-1", -1),
        ("24", 24),
        ("preset7", 7),
    ],
)
def test_colours_are_read_by_name_alias_or_index(text: str, index: int) -> None:
    assert parse_color(text) == index


@pytest.mark.parametrize("text", ["25", "-2", "pink", "light black", "preset25"])
def test_an_unknown_colour_lists_the_names(text: str) -> None:
    with pytest.raises(InvalidColor, match=r"-1 \(none\) to 24.*light|dark steel") as raised:
        parse_color(text)
    assert repr(text) in str(raised.value)


def test_every_preset_has_a_name_that_reads_back() -> None:
    for index in range(-1, 25):
        assert parse_color(color_name(index)) == index
