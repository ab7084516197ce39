"""FindItem restrictions: a ``t:Restriction`` element compiled into a predicate on items.

Supported: ``And``, ``Or``, ``Not``, ``Exists``, ``IsEqualTo``, ``IsNotEqualTo``,
``IsGreaterThan(OrEqualTo)``, ``IsLessThan(OrEqualTo)`` and ``Contains`` on ``FieldURI``
and ``ExtendedFieldURI`` paths. A constant is converted to the type of the property it is
compared with (an extended property by its ``PropertyType``), as Exchange compares.
"""

from __future__ import annotations

import operator
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any

from lxml import etree

from esexchange.sandbox.ews import codec
from esexchange.sandbox.ews.errors import EwsError
from esexchange.sandbox.ews.soap import t
from esexchange.sandbox.models import Item
from esexchange.sandbox.models.values import Body, ExtendedKey

Predicate = Callable[[Item], bool]
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "IsEqualTo": operator.eq,
    "IsNotEqualTo": operator.ne,
    "IsGreaterThan": operator.gt,
    "IsGreaterThanOrEqualTo": operator.ge,
    "IsLessThan": operator.lt,
    "IsLessThanOrEqualTo": operator.le,
}


def compile_restriction(restriction: etree._Element | None, zone: tzinfo = UTC) -> Predicate:
    """A predicate for a ``t:Restriction`` element (everything matches when there is none);
    times without offset are in ``zone``."""
    if restriction is None:
        return lambda item: True
    return _compile(_children(restriction)[0], zone)


def _children(node: etree._Element) -> list[etree._Element]:
    return [child for child in node if isinstance(child.tag, str)]


def _compile(node: etree._Element, zone: tzinfo) -> Predicate:
    name = etree.QName(node).localname
    if name == "And":
        parts = [_compile(child, zone) for child in _children(node)]
        return lambda item: all(part(item) for part in parts)
    if name == "Or":
        parts = [_compile(child, zone) for child in _children(node)]
        return lambda item: any(part(item) for part in parts)
    if name == "Not":
        inner = _compile(_children(node)[0], zone)
        return lambda item: not inner(item)
    path = _children(node)[0]
    if name == "Exists":
        return lambda item: _value(item, path) is not None
    if name in _COMPARISONS:
        compare = _COMPARISONS[name]
        constant = node.find(f"{t('FieldURIOrConstant')}/{t('Constant')}")
        if constant is None:
            raise EwsError(
                "ErrorUnsupportedPathForQuery", "Comparing two properties is not supported."
            )
        text = constant.get("Value", "")
        return lambda item: _compare(_value(item, path), text, compare, zone)
    if name == "Contains":
        return _contains(node, path)
    raise EwsError("ErrorInvalidRestriction", f"The restriction {name} is not supported.")


def _folded(text: str, *, case: bool, non_spacing: bool) -> str:
    """``text`` as a comparison sees it: without case and/or non-spacing marks (accents)."""
    if non_spacing:
        decomposed = unicodedata.normalize("NFD", text)
        text = "".join(c for c in decomposed if not unicodedata.combining(c))
    return text.casefold() if case else text


def _contains(node: etree._Element, path: etree._Element) -> Predicate:
    """``Contains``: ContainmentMode and ContainmentComparison as documented (Exact, IgnoreCase,
    IgnoreNonSpacingCharacters, and the Loose forms, which ignore both)."""
    constant = node.find(t("Constant"))
    mode = node.get("ContainmentMode", "Substring")
    comparison = node.get("ContainmentComparison", "Exact")
    loose = comparison.startswith("Loose")
    case = loose or "IgnoreCase" in comparison
    non_spacing = loose or "NonSpac" in comparison
    text = constant.get("Value", "") if constant is not None else ""
    wanted = _folded(text, case=case, non_spacing=non_spacing)

    def matches(item: Item) -> bool:
        value = _value(item, path)
        texts = value if isinstance(value, tuple) else (value,)
        for text in texts:
            if isinstance(text, Body):
                text = text.text
            if not isinstance(text, str):
                continue
            if _contained(_folded(text, case=case, non_spacing=non_spacing), wanted, mode):
                return True
        return False

    return matches


def _contained(have: str, want: str, mode: str) -> bool:
    if mode == "FullString":
        return have == want
    if mode == "Prefixed":
        return have.startswith(want)
    return want in have


def _value(item: Item, path: etree._Element) -> object:
    target = codec.field_name(path)
    if isinstance(target, ExtendedKey):
        value = item.extended.get(target)
        return _typed_extended(value, target.property_type) if value is not None else None
    return item.fields.get(target)


def _typed_extended(value: object, property_type: str) -> object:
    if isinstance(value, tuple):
        return tuple(_typed_extended(v, property_type.removesuffix("Array")) for v in value)
    return _convert(str(value), property_type)


def _convert(text: str, property_type: str) -> object:
    if property_type in ("Integer", "Long", "Short"):
        return int(text)
    if property_type in ("Double", "Float", "Currency"):
        return float(text)
    if property_type == "Boolean":
        return text.strip().lower() in ("true", "1")
    if property_type == "SystemTime":
        return codec.parse_datetime(text)
    return text


def _compare(
    value: object, text: str, compare: Callable[[object, object], bool], zone: tzinfo
) -> bool:
    if value is None:
        return False
    try:
        constant: object
        if isinstance(value, bool):
            constant = text.strip().lower() in ("true", "1")
        elif isinstance(value, int):
            constant = int(text)
        elif isinstance(value, float):
            constant = float(text)
        elif isinstance(value, datetime):
            constant = codec.parse_datetime(text, zone)
        elif isinstance(value, Body):
            value, constant = value.text.casefold(), text.casefold()
        elif isinstance(value, tuple):
            return any(_compare(v, text, compare, zone) for v in value)
        else:  # Exchange's string comparisons ignore case (subjects, categories alike)
            value, constant = str(value).casefold(), text.casefold()
        return compare(value, constant)
    except (ValueError, TypeError):
        return False
