"""The subset of Advanced Query Syntax (AQS) a FindItem ``QueryString`` is read with.

Exchange searches its content index; the sandbox reads the same query against the items:
words and quoted phrases (all must match, without case), ``OR`` between two terms, ``NOT``
or ``-`` before one, the text keywords ``subject:``, ``body:`` (``content:``),
``location:``, ``category:`` (``categories:``), ``from:``, ``to:``, ``cc:``, ``bcc:`` and
``participants:``, and the keywords of a value: ``importance:``, ``isread:``, ``kind:``,
``hasattachment:``, ``isflagged:`` and ``attachment:`` (the sandbox keeps no attachments
or flags, so ``hasattachment:true``, ``isflagged:true`` and ``attachment:`` find
nothing). A term matches where its text occurs in the property, as the index matches
word prefixes and phrases ("Query strings for FindItem", learn.microsoft.com, AQS for
EWS). The date and size keywords ``sent:``, ``received:`` and ``size:`` compare the
item's DateTimeSent (a message's), DateTimeReceived (an item's creation, as GetItem
answers it) and Size with the values of ``query_ranges.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo

from esexchange.sandbox.ews.codec import item_size
from esexchange.sandbox.ews.errors import EwsError
from esexchange.sandbox.ews.query_ranges import Span, date_span, size_span
from esexchange.sandbox.models import Item
from esexchange.sandbox.models.values import Body, XmlValue

Predicate = Callable[[Item], bool]
_TOKEN = re.compile(r'(-?)(?:(\w+):)?(?:"([^"]*)"|(\S+))')
_FIELDS = {
    "subject": ("Subject",),
    "body": ("Body",),
    "content": ("Body",),
    "location": ("Location",),
    "category": ("Categories",),
    "categories": ("Categories",),
    "from": ("Organizer", "From", "Sender"),
    "to": ("RequiredAttendees", "OptionalAttendees", "ToRecipients", "CcRecipients"),
    "cc": ("CcRecipients",),
    "bcc": ("BccRecipients",),
    "participants": ("RequiredAttendees", "OptionalAttendees", "ToRecipients", "CcRecipients",
                     "BccRecipients", "Organizer", "From"),
}  # fmt: skip
# kind: values and the item kinds they find (the other kinds are none the sandbox keeps).
_KINDS: dict[str, tuple[str, ...]] = {
    "meetings": ("CalendarItem",), "calendar": ("CalendarItem",), "tasks": ("Task",),
    "contacts": ("Contact",), "email": ("Message",), "notes": (), "docs": (), "faxes": (),
    "im": (), "journals": (), "voicemail": (), "rss": (), "posts": (),
}  # fmt: skip
_RANGE_KEYWORDS = frozenset({"sent", "received", "size"})
# "received:last week" is one value: the relative words are joined before the tokens.
_RELATIVE = re.compile(r"\b(sent|received):(this|last|next)\s+(week|month|year)\b", re.I)
_FREE_TEXT = ("Subject", "Body", "Location", "Categories")


def _either(first: Predicate, second: Predicate) -> Predicate:
    return lambda item: first(item) or second(item)


def query_string(text: str, now: datetime, zone: tzinfo = UTC) -> Predicate:
    """A predicate for an AQS query; an empty query matches everything. ``now`` and
    ``zone`` place the days of the date keywords."""
    terms: list[Predicate] = []
    pending_or = False
    negate_next = False
    for match in _TOKEN.finditer(_RELATIVE.sub(r'\1:"\2 \3"', text)):
        minus, keyword, phrase, word = match.groups()
        value = phrase if phrase is not None else word
        if keyword is None and phrase is None and value in ("AND", "OR", "NOT"):
            pending_or = value == "OR" and bool(terms)
            negate_next = value == "NOT"
            continue
        name = (keyword or "").lower()
        negate = bool(minus) or negate_next
        fields = _FIELDS.get(name)
        if name in _VALUE_KEYWORDS:
            term = _value_term(name, value, negate=negate)
        elif name in _RANGE_KEYWORDS:
            span = size_span(value) if name == "size" else date_span(name, value, now, zone)
            term = _range_term(name, span, negate=negate)
        else:
            if keyword and fields is None:  # not a property keyword: the words as written
                value, fields = f"{keyword}:{value}", None
            term = _term(value, fields or _FREE_TEXT, negate=negate)
        negate_next = False
        if pending_or:
            previous = terms.pop()
            terms.append(_either(previous, term))
            pending_or = False
        else:
            terms.append(term)
    return lambda item: all(term(item) for term in terms)


def _term(value: str, fields: tuple[str, ...], *, negate: bool) -> Predicate:
    wanted = value.casefold()

    def matches(item: Item) -> bool:
        found = any(wanted in text for name in fields for text in _texts(item, name))
        return found != negate

    return matches


def _range_term(keyword: str, span: Span, *, negate: bool) -> Predicate:
    low, high = span

    def matches(item: Item) -> bool:
        value = _measure(keyword, item)
        return (value is not None and low <= value < high) != negate

    return matches


def _measure(keyword: str, item: Item) -> float | None:
    if keyword == "size":
        return item_size(item)
    if keyword == "sent":
        when = item.fields.get("DateTimeSent") or (
            item.fields.get("DateTimeCreated") if item.kind == "Message" else None)
    else:
        when = item.fields.get("DateTimeReceived") or item.fields.get("DateTimeCreated")
    return when.timestamp() if isinstance(when, datetime) else None


_VALUE_KEYWORDS = frozenset({"importance", "isread", "kind", "hasattachment", "hasattachments",
                             "isflagged", "attachment", "attachments"})  # fmt: skip


def _value_term(keyword: str, value: str, *, negate: bool) -> Predicate:
    """A keyword that compares a value rather than searching text."""
    test = _value_test(keyword, value)
    return lambda item: test(item) != negate


def _value_test(keyword: str, value: str) -> Predicate:
    wanted = value.casefold()
    if keyword == "importance":
        return lambda item: str(item.fields.get("Importance", "Normal")).casefold() == wanted
    if keyword == "kind":
        kinds = _KINDS.get(wanted)
        if kinds is None:
            raise EwsError("ErrorInvalidOperation", f"kind:{value} is no AQS item kind.")
        return lambda item: item.kind in kinds
    if keyword in ("attachment", "attachments"):
        return lambda item: False  # the sandbox keeps no attachments
    flag = _boolean(keyword, value)
    if keyword == "isread":  # what is never marked unread counts as read
        return lambda item: (item.fields.get("IsRead") is not False) == flag
    return lambda item: not flag  # hasattachment, isflagged: no item has either


def _boolean(keyword: str, value: str) -> bool:
    if value.casefold() in ("true", "false"):
        return value.casefold() == "true"
    raise EwsError("ErrorInvalidOperation", f"{keyword}:{value} needs true or false.")


def _texts(item: Item, name: str) -> list[str]:
    value = item.fields.get(name)
    if isinstance(value, str):
        return [value.casefold()]
    if isinstance(value, Body):
        return [value.text.casefold()]
    if isinstance(value, tuple):
        return [entry.casefold() for entry in value]
    if isinstance(value, XmlValue):  # recipients: names and addresses as written
        return [re.sub(r"<[^>]+>", " ", value.xml.decode()).casefold()]
    return []
