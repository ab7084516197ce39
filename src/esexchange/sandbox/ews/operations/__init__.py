"""The EWS operations: parse a request element, call the models, render the response.

Each family lives in its own module and registers its handlers in :data:`OPERATIONS`.
A handler gets the :class:`Context` of the request (the target mailbox, held locked) and
the operation element, already schema-valid, and returns the ``m:...Response`` element.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import TypeVar

from lxml import etree

from esexchange.sandbox.ews import soap
from esexchange.sandbox.ews.errors import EwsError
from esexchange.sandbox.ews.soap import NSMAP, m
from esexchange.sandbox.models import Folder, Mailbox, StoreError

Entry = TypeVar("Entry")


@dataclass(frozen=True)
class Context:
    """What a handler may use: the target mailbox and the directory's people.

    ``target`` is None for a request that names no mailbox (ConvertId and ResolveNames
    need none); the error why is kept and raised if a handler asks for the mailbox.
    """

    target: Mailbox | None
    people: Callable[[], Iterable[tuple[str, str]]]  # (name, email) of every mailbox
    no_target: StoreError | None = None
    zone: tzinfo = UTC  # of the TimeZoneContext header: times without offset are in it

    @property
    def mailbox(self) -> Mailbox:
        """The mailbox the request acts on."""
        if self.target is None:
            raise self.no_target or EwsError("ErrorMissingEmailAddress", "No mailbox was named.")
        return self.target

    @property
    def owner(self) -> tuple[str, str]:
        """(email, name) of the target mailbox."""
        return self.mailbox.email, self.mailbox.name


Handler = Callable[[Context, etree._Element], etree._Element]


# What an error message still carries, per operation: ItemInfo messages require an empty
# ``m:Items``; sync messages carry an empty state and "last in range", which clients such as
# exchangelib read before they look at the ResponseCode.
_ERROR_TAIL: dict[str, tuple[tuple[str, str | None], ...]] = {
    "CreateItem": (("Items", None),),
    "GetItem": (("Items", None),),
    "UpdateItem": (("Items", None),),
    "MoveItem": (("Items", None),),
    "CopyItem": (("Items", None),),
    "SyncFolderItems": (("SyncState", None), ("IncludesLastItemInRange", "true")),
    "SyncFolderHierarchy": (("SyncState", None), ("IncludesLastFolderInRange", "true")),
}


def respond(
    operation: str, entries: Iterable[Entry], handle: Callable[[Entry, etree._Element], None]
) -> etree._Element:
    """``m:{operation}Response`` with one response message per entry of a batch.

    ``handle`` fills a success message; a :class:`StoreError` it raises turns that entry's
    message into an error message while the other entries still succeed, as in Exchange.
    """
    response = etree.Element(m(f"{operation}Response"), nsmap=NSMAP)
    messages = etree.SubElement(response, m("ResponseMessages"))
    tag = f"{operation}ResponseMessage"
    for entry in entries:
        message = soap.success(messages, tag)
        try:
            handle(entry, message)
        except StoreError as error:
            messages.remove(message)
            failed = soap.error_message(messages, tag, error)
            for name, text in _ERROR_TAIL.get(operation, ()):
                etree.SubElement(failed, m(name)).text = text
    return response


def resolve_folder(mailbox: Mailbox, folder_id: etree._Element) -> Folder:
    """The folder a ``t:FolderId`` or ``t:DistinguishedFolderId`` names."""
    if etree.QName(folder_id).localname == "DistinguishedFolderId":
        return mailbox.folder(distinguished=folder_id.get("Id"))
    return mailbox.folder(folder_id.get("Id"))


def children(node: etree._Element | None) -> list[etree._Element]:
    """Element children (comments skipped)."""
    return [child for child in node if isinstance(child.tag, str)] if node is not None else []


def operations() -> dict[str, Handler]:
    """Every supported operation by name."""
    from esexchange.sandbox.ews.operations import (
        config,
        folder_changes,
        folders,
        items,
        misc,
        move_copy,
        notifications,
        sync,
    )

    table: dict[str, Handler] = {}
    for module in (config, folder_changes, folders, items, misc, move_copy, notifications, sync):
        table.update(module.HANDLERS)
    return table


# Operations that work without a target mailbox.
MAILBOX_FREE = frozenset({"ConvertId", "ResolveNames"})
