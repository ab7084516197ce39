"""exchangelib's batch services, adjusted to report every element of a batch.

exchangelib returns only a fixed list of per-item errors as values and raises any other,
which ends the whole batch even though the server applied the elements before and
after the failing one (a stale change key, ErrorIrresolvableConflict, is one of those).
Here every item-level error is returned in place; errors about the request as a whole
(throttling, access, the mailbox itself) still raise so the retry policy and the adapter
see them.

``SyncItems`` reads an error answer that carries no SyncState (the schema makes it
optional; exchangelib assumes it is there and fails on ``None.text``), and lists an
IdOnly page's ids and change keys without building an exchangelib item for each.

``CreateItem`` also takes ready ``t:CalendarItem`` elements among its items (``wire.py``
builds them straight from the domain's values) and answers each element with its
(id, change key) instead of an exchangelib object. It is never sent twice: a lost answer
(the connection dropped after the request left, a timeout) may mean the items were
created, and exchangelib sends the request again after one whenever its session pool
holds more than one session (as soon as several mailboxes run at once), which made
every item of the chunk twice. ``CreateAnswerLost``
ends the call instead; the next pass adopts what was created by its stamp.

``GetItem`` also keeps the UTC instants of all-day calendar items: exchangelib turns
them into dates by subtracting 24 hours in UTC, which is one day off when the last day
has a daylight-saving change. ``items.py`` converts them in the item's own zone.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from exchangelib.errors import (
    ErrorExceededConnectionCount,
    ErrorImpersonateUserDenied,
    ErrorImpersonationFailed,
    ErrorInternalServerTransientError,
    ErrorInvalidServerVersion,
    ErrorMailboxMoveInProgress,
    ErrorMailboxStoreUnavailable,
    ErrorNonExistentMailbox,
    ErrorServerBusy,
    ErrorTimeoutExpired,
    ErrorTooManyObjectsOpened,
    EWSError,
    ResponseMessageError,
)
from exchangelib.folders.base import BaseFolder
from exchangelib.items import ID_ONLY, CalendarItem
from exchangelib.properties import FolderId
from exchangelib.services import CreateItem, DeleteItem, GetItem, SyncFolderItems, UpdateItem
from exchangelib.services.common import folder_ids_element, to_item_id
from exchangelib.services.sync_folder_hierarchy import SyncFolder
from exchangelib.util import MNS, TNS, create_element
from lxml import etree

REQUEST_LEVEL_ERRORS: tuple[type[ResponseMessageError], ...] = (
    ErrorServerBusy,
    ErrorExceededConnectionCount,
    ErrorTimeoutExpired,
    ErrorTooManyObjectsOpened,
    ErrorInternalServerTransientError,
    ErrorImpersonateUserDenied,
    ErrorImpersonationFailed,
    ErrorNonExistentMailbox,
    ErrorMailboxStoreUnavailable,
    ErrorMailboxMoveInProgress,
    ErrorInvalidServerVersion,
)
"""Errors about the request or the mailbox, never about one item: these still raise."""


class _PerElementErrors:
    """Return item-level errors as values, in the position of their element."""

    def _get_element_container(self, message: Any, name: Any = None) -> Any:
        try:
            return super()._get_element_container(message, name)  # type: ignore[misc]
        except REQUEST_LEVEL_ERRORS:
            raise
        except ResponseMessageError as error:
            return error


class CreateAnswerLost(EWSError):
    """A CreateItem whose answer was lost: its items may or may not exist now."""


class CreateItems(_PerElementErrors, CreateItem):
    """CreateItem, one result ((id, change key) or error) per element, of exchangelib
    items and ready elements alike; never sent again after its answer was lost (see the
    module docstring)."""

    def get_payload(self, items: Any, folder: Any, message_disposition: Any,
                    send_meeting_invitations: Any) -> Any:
        items = list(items)
        payload = super().get_payload(
            items=[item for item in items if not isinstance(item, etree._Element)],
            folder=folder, message_disposition=message_disposition,
            send_meeting_invitations=send_meeting_invitations,
        )
        container = payload.find(f"{{{MNS}}}Items")
        serialized = iter(list(container))
        container[:] = [item if isinstance(item, etree._Element) else next(serialized)
                        for item in items]
        return payload

    def _elem_to_obj(self, elem: Any) -> Any:
        if isinstance(elem, bool):
            return elem
        found = elem.find(f"{{{TNS}}}ItemId")
        return found.get("Id"), found.get("ChangeKey")

    def _response_generator(self, payload: Any) -> Any:
        try:
            yield from super()._response_generator(payload)
        except ErrorTimeoutExpired as error:
            raise CreateAnswerLost(
                f"the answer to CreateItem was lost ({error}); not sent again, since its "
                "items may have been created (the next pass adopts them by their stamp)"
            ) from error


class UpdateItems(_PerElementErrors, UpdateItem):
    """UpdateItem, one result (ids or error) per element."""


class DeleteItems(_PerElementErrors, DeleteItem):
    """DeleteItem, one result (True or error) per element."""


class GetItems(_PerElementErrors, GetItem):
    """GetItem, one result per element; all-day calendar bounds stay UTC instants."""

    def _elem_to_obj(self, elem: Any) -> Any:
        model = BaseFolder.item_model_from_tag(elem.tag)
        if issubclass(model, CalendarItem):
            # Item.from_xml with cls=model: the fields without CalendarItem's date step.
            return super(CalendarItem, model).from_xml(elem=elem, account=self.account)
        return model.from_xml(elem=elem, account=self.account)


@dataclass(frozen=True)
class Listed:
    """An item as an IdOnly SyncFolderItems lists it: its exchangelib class (``None`` for
    a deletion), id and change key."""

    model: type[Any] | None
    id: str
    changekey: str | None


_SYNC_FOLDER_IDS: dict[tuple[Any, ...], Any] = {}


def sync_folder_id(folder: Any, version: Any) -> Any:
    """The ``m:SyncFolderId`` of ``folder`` as exchangelib writes it, for ``SyncItems``;
    written once per folder identity for the process (a pass opens its mailboxes anew),
    and never changed by its users (``SyncItems`` sends a copy)."""
    identity = to_item_id(folder, FolderId)
    mailbox = getattr(identity, "mailbox", None)
    key = (type(identity).__name__, identity.id, identity.changekey, version.api_version,
           None if mailbox is None else (mailbox.email_address, mailbox.routing_type,
                                         mailbox.mailbox_type, mailbox.name, mailbox.item_id))
    element = _SYNC_FOLDER_IDS.get(key)
    if element is None:
        if len(_SYNC_FOLDER_IDS) >= 20_000:  # two per mailbox: bounded all the same
            _SYNC_FOLDER_IDS.clear()
        element = _SYNC_FOLDER_IDS[key] = folder_ids_element(
            folders=[identity], version=version, tag="m:SyncFolderId")
    return element


class SyncItems(SyncFolderItems):
    """SyncFolderItems, IdOnly: each change is (change type, ``Listed``), read straight
    from the answer's ItemIds without building exchangelib items (a read-flag change:
    (its type, ``None``)); also understands an error answer without a SyncState."""

    def __init__(self, *args: Any, folder_element: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._folder_element = folder_element

    def _elem_to_obj(self, elem: Any) -> Any:
        change_type = self.change_types_map[elem.tag]
        if change_type == self.READ_FLAG_CHANGE:
            return change_type, None
        if change_type == self.DELETE:
            model, item_id = None, elem.find(f"{{{TNS}}}ItemId")
        else:
            model = BaseFolder.item_model_from_tag(elem[0].tag)
            item_id = elem[0].find(f"{{{TNS}}}ItemId")
        return change_type, Listed(model, item_id.get("Id"), item_id.get("ChangeKey"))

    def get_payload(self, folder: Any, shape: Any, additional_fields: Any, sync_state: Any,
                    ignore: Any, max_changes_returned: Any, sync_scope: Any) -> Any:
        """An IdOnly page's request as exchangelib writes it, around the folder's
        ``m:SyncFolderId`` written once (``sync_folder_id``), not per request: on an
        idle pass the request cost more to write than the answer to read. Anything else
        is exchangelib's."""
        if (self._folder_element is None or shape != ID_ONLY or additional_fields
                or ignore is not None or sync_scope):
            return super().get_payload(folder, shape, additional_fields, sync_state, ignore,
                                       max_changes_returned, sync_scope)

        def element(name: str, *children: Any, text: str | None = None) -> Any:
            made = create_element(name)
            made.text = text
            made.extend(children)
            return made

        payload = element("m:SyncFolderItems",
                          element("m:ItemShape", element("t:BaseShape", text=ID_ONLY)),
                          copy.deepcopy(self._folder_element))
        if sync_state:
            payload.append(element("m:SyncState", text=sync_state))
        payload.append(element("m:MaxChangesReturned", text=str(max_changes_returned)))
        return payload

    def _get_element_container(self, message: Any, name: Any = None) -> Any:
        if message.find(f"{{{MNS}}}SyncState") is None:
            # Skip SyncFolder's state bookkeeping: the answer is an error (raised here).
            return super(SyncFolder, self)._get_element_container(message, name)
        return super()._get_element_container(message, name)
