"""The subset of Advanced Query Syntax (AQS) a FindItem ``QueryString`` is read with.

Exchange searches its content index; the sandbox reads the same query against the items:
words and quoted phrases (all must match, without case), ``OR`` between two terms, ``NOT``
or ``-`` before one, and the property keywords ``subject:``, ``body:``, ``location:``,
``category:`` (``categories:``) and ``from:``/``to:``/``participants:`` on the recipients.
A term matches where its text occurs in the property, as the index matches word prefixes
and phrases ("Query strings for FindItem", learn.microsoft.com, AQS for EWS).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from esexchange.sandbox.models import Item
from esexchange.sandbox.models.values import Body, XmlValue

Predicate = Callable[[Item], bool]
_TOKEN = re.compile(r'(-?)(?:(\w+):)?(?:"([^"]*)"|(\S+))')
_FIELDS = {
    "subject": ("Subject",),
    "body": ("Body",),
    "location": ("Location",),
    "category": ("Categories",),
    "categories": ("Categories",),
    "from": ("Organizer", "From", "Sender"),
    "to": ("RequiredAttendees", "OptionalAttendees", "ToRecipients", "CcRecipients"),
    "participants": ("RequiredAttendees", "OptionalAttendees", "ToRecipients", "CcRecipients",
                     "Organizer", "From"),
}  # fmt: skip
_FREE_TEXT = ("Subject", "Body", "Location", "Categories")


def _either(first: Predicate, second: Predicate) -> Predicate:
    return lambda item: first(item) or second(item)


def query_string(text: str) -> Predicate:
    """A predicate for an AQS query; an empty query matches everything."""
    terms: list[Predicate] = []
    pending_or = False
    negate_next = False
    for match in _TOKEN.finditer(text):
        minus, keyword, phrase, word = match.groups()
        value = phrase if phrase is not None else word
        if keyword is None and phrase is None and value in ("AND", "OR", "NOT"):
            pending_or = value == "OR" and bool(terms)
            negate_next = value == "NOT"
            continue
        fields = _FIELDS.get((keyword or "").lower())
        if keyword and fields is None:  # not a property keyword: the words as written
            value, fields = f"{keyword}:{value}", None
        term = _term(value, fields or _FREE_TEXT, negate=bool(minus) or negate_next)
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
