"""Text rules: characters Exchange refuses, the ERP's column limits, the body trailer.

The trailer carries ERP-owned data (the priority name, the equipment) to the Exchange
body when ``priority_as_text`` / ``equipment_as_text`` are on. It is appended after one
blank line and looks like this::

    <ERP text>

    -- esExchange --
    Priority: High
    Equipment: Beamer, Room 2

The marker line starts it; each field line is optional; nothing may follow but
whitespace. Reading tolerates CRLF line breaks and trailing whitespace (Outlook may add
them). ``strip_trailer(add_trailer(text, ...)) == text`` holds for *every* text: a text
that itself ends in something trailer-shaped gets a trailer appended even when there is
nothing to show, so exactly that appended trailer is what stripping removes. A trailer the
user damaged no longer parses, and then the whole body is kept: nothing is lost.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

ERP_SUBJECT_MAX = 255
"""``activity.subject`` is VARCHAR(255)."""

ERP_LOCATION_MAX = 255
"""``activity.location`` is VARCHAR(255)."""

ERP_TEXT_MAX = 1_048_576
"""The longest ERP text (in characters) esExchange sends as an Exchange body. Exchange
documents no body limit of its own, but every request is bounded by the server's
message-size settings (a few MB to 64 MB, per installation); a text past this is refused
before sending, naming the field and the limit, instead of failing on the wire."""

ELLIPSIS = "…"

TRAILER_MARKER = "-- esExchange --"
PRIORITY_LABEL = "Priority: "
EQUIPMENT_LABEL = "Equipment: "

# XML 1.0 cannot carry C0 controls other than tab, LF and CR, nor surrogates, U+FFFE and
# U+FFFF; Exchange refuses a request that contains them. The C1 controls (but NEL) and the
# non-characters U+FDD0..U+FDDF are legal XML that exchangelib still replaces by "?" on the
# wire, so they could never come back unchanged: they are dropped too.
_NOT_XML = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufdd0-\ufddf\ufffe\uffff]"
)
_LINE_BREAKS = re.compile(r"[\r\n]+")

# The separator in front of the marker is part of the match so that the text is
# ``body[:match.start()]``; the marker must follow it directly, which makes the match unique.
_TRAILER = re.compile(
    r"(?:\A|\n\n|\r\n\r\n)"
    + re.escape(TRAILER_MARKER)
    + r"(?:\r?\n"
    + re.escape(PRIORITY_LABEL)
    + r"[^\r\n]*)?"
    + r"(?:\r?\n"
    + re.escape(EQUIPMENT_LABEL)
    + r"[^\r\n]*)?"
    + r"[ \t\r\n]*\Z"
)


def clean_text(text: str) -> str:
    """``text`` without the characters XML 1.0 (and so Exchange) cannot carry."""
    return _NOT_XML.sub("", text)


def fit(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, the last one an ellipsis when it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def add_trailer(text: str, *, priority: str = "", equipment: Sequence[str] = ()) -> str:
    """The Exchange body for ERP ``text``: the text, then the trailer when it has content.

    Empty ``priority`` and ``equipment`` show nothing, and then no trailer is added unless
    the text itself ends in something trailer-shaped (see the module docstring).
    """
    lines = []
    if priority:
        lines.append(PRIORITY_LABEL + _one_line(priority))
    if equipment:
        lines.append(EQUIPMENT_LABEL + ", ".join(_one_line(name) for name in equipment))
    if not lines and _TRAILER.search(text) is None:
        return text
    trailer = "\n".join([TRAILER_MARKER, *lines])
    return f"{text}\n\n{trailer}" if text else trailer


def strip_trailer(body: str) -> str:
    """The ERP text of an Exchange body: ``body`` without a well-formed trailer at its end."""
    match = _TRAILER.search(body)
    return body if match is None else body[: match.start()]


def _one_line(value: str) -> str:
    """A trailer value on one line (line breaks would end the field)."""
    return _LINE_BREAKS.sub(" ", clean_text(value)).strip()
