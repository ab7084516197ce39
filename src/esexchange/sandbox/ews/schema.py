"""Microsoft's EWS schema: validation of message bodies and the element order of item types.

The schema files (see ``schema/NOTE.md``) are compiled once per process, lazily (about
0.2 s), and shared: lxml's ``XMLSchema`` objects are safe to use from several threads.
"""

from __future__ import annotations

import functools
import threading
from importlib import resources

from lxml import etree

from esexchange.sandbox.ews.errors import EwsError

XS = "{http://www.w3.org/2001/XMLSchema}"
_lock = threading.Lock()


@functools.cache
def schema_dir() -> str:
    return str(resources.files("esexchange.sandbox.ews") / "schema")


@functools.cache
def message_schema() -> etree.XMLSchema:
    """The compiled ``messages.xsd`` (which imports ``types.xsd``)."""
    with _lock:
        return etree.XMLSchema(etree.parse(f"{schema_dir()}/messages.xsd"))


def validate(body_element: etree._Element) -> None:
    """Validate the element inside ``soap:Body``; raise ErrorSchemaValidation if invalid."""
    schema = message_schema()
    # Validation needs the element as a document root; a deep copy keeps the caller's tree.
    if schema.validate(etree.ElementTree(_detached(body_element))):
        return
    error = schema.error_log.last_error
    violation = error.message if error else "invalid"
    raise EwsError(
        "ErrorSchemaValidation",
        f"The request failed schema validation: {violation}",
        violation=(error.line, error.column, violation) if error else None,
    )


def _detached(element: etree._Element) -> etree._Element:
    if element.getparent() is None:
        return element
    return etree.fromstring(etree.tostring(element))


@functools.cache
def _types_tree() -> etree._ElementTree:
    # Requests are served in threads: two first requests at once would parse the file
    # together, which lxml fails ("unknown error"), so one parses at a time.
    with _lock:
        return etree.parse(f"{schema_dir()}/types.xsd")


@functools.cache
def elements(type_name: str) -> tuple[tuple[str, str], ...]:
    """(name, type) of the child elements of a ``types.xsd`` complex type, in schema order.

    Items are parsed and rendered with this table: a response follows the schema's
    ``xs:sequence`` for every item type, and each value is read by its declared type.
    """
    root = _types_tree().getroot()
    found = root.find(f"{XS}complexType[@name='{type_name}']")
    if found is None:
        raise KeyError(type_name)
    result: list[tuple[str, str]] = []
    extension = found.find(f"{XS}complexContent/{XS}extension")
    if extension is not None:
        result.extend(elements(extension.get("base", "").split(":")[-1]))
        container = extension
    else:
        container = found
    for element in container.iter(f"{XS}element"):
        if element.get("name"):
            result.append((element.get("name", ""), element.get("type", "xs:string")))
    return tuple(result)


@functools.cache
def simple_types() -> frozenset[str]:
    """Names (``t:...``) of the simple types of ``types.xsd``: their values are plain text."""
    root = _types_tree().getroot()
    return frozenset(
        f"t:{node.get('name')}" for node in root.iter(f"{XS}simpleType") if node.get("name")
    )
