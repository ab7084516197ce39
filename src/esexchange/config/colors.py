"""Outlook's 25 preset category colours, by name or index.

A category colour is the preset index -1..24 (``-1`` = no colour) that EWS stores in the
master category list and Graph calls ``preset0``..``preset24``. The names below are
Outlook's classic ones (``OlCategoryColor``, whose values are the preset index + 1).
Newer Outlook clients render some presets differently and name them so (Brown,
Cranberry, Dark Brown, Dark Cranberry); those names are accepted too, as are "light X"
for the lighter of a pair (the product manual speaks of "light green") and "grey".
"""

from __future__ import annotations

from esexchange.config.errors import InvalidColor

PRESET_NAMES: tuple[str, ...] = (
    "Red", "Orange", "Peach", "Yellow", "Green", "Teal", "Olive", "Blue", "Purple",
    "Maroon", "Steel", "Dark Steel", "Gray", "Dark Gray", "Black", "Dark Red",
    "Dark Orange", "Dark Peach", "Dark Yellow", "Dark Green", "Dark Teal", "Dark Olive",
    "Dark Blue", "Dark Purple", "Dark Maroon",
)
"""``PRESET_NAMES[i]`` is the name of preset ``i``."""

NO_COLOR = -1

_ALIASES: dict[str, int] = {
    "none": NO_COLOR, "no color": NO_COLOR, "no colour": NO_COLOR,
    "brown": 2, "cranberry": 9, "dark brown": 17, "dark cranberry": 24,
}


def _key(text: str) -> str:
    return " ".join(text.lower().replace("-", " ").replace("_", " ").replace("grey", "gray")
                    .split())


def _names() -> dict[str, int]:
    names = {_key(name): index for index, name in enumerate(PRESET_NAMES)}
    names.update(_ALIASES)
    for name, index in list(names.items()):
        if f"dark {name}" in names:
            names[f"light {name}"] = index
    return names


def color_name(index: int) -> str:
    """The display name of a preset index, ``"None"`` for -1."""
    return "None" if index == NO_COLOR else PRESET_NAMES[index]


def parse_color(text: str) -> int:
    """The preset index for a colour name ("light green"), ``presetN`` or an index -1..24.

    Raises ``InvalidColor`` listing the accepted names.
    """
    key = _key(text)
    try:
        index = int(text.strip().lower().removeprefix("preset"))
    except ValueError:
        index = _names().get(key, -2)
    if NO_COLOR <= index < len(PRESET_NAMES):
        return index
    raise InvalidColor(
        f"{text!r} is not an Outlook colour; use an index from -1 (none) to 24 or one of: "
        + ", ".join(name.lower() for name in ("None", *PRESET_NAMES))
    )
