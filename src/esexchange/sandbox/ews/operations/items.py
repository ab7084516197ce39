"""CreateItem, GetItem, UpdateItem, DeleteItem and FindItem."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from typing import Any

from lxml import etree

from esexchange.sandbox.ews import codec
from esexchange.sandbox.ews.errors import EwsError
from esexchange.sandbox.ews.operations import Context, children, resolve_folder, respond
from esexchange.sandbox.ews.query_string import query_string
from esexchange.sandbox.ews.restriction import compile_restriction
from esexchange.sandbox.ews.soap import m, t
from esexchange.sandbox.models import FieldChange, Item, recurrence

DEFAULT_FOLDERS = {"CalendarItem": "calendar", "Task": "tasks", "Contact": "contacts"}


def render(ctx: Context, parent: etree._Element, item: Item, shape: codec.Shape) -> None:
    """Append an item as ``shape`` asks, with its folder and owner for computed properties."""
    folder = ctx.mailbox.folder(item.folder_id)
    if item.fields.get("CalendarItemType") == "RecurringMaster":
        first, last = ctx.mailbox.first_and_last(item)
        item = copy.copy(item)
        item.fields = dict(item.fields)
        if first is not None:
            item.fields["FirstOccurrence"] = recurrence.occurrence_ref(first)
        if last is not None:
            item.fields["LastOccurrence"] = recurrence.occurrence_ref(last)
    codec.render_item(parent, item, shape, folder, ctx.owner)


def resolve_item(ctx: Context, element: etree._Element) -> tuple[Item, str | None]:
    """(item, change key) of an ``ItemId``, ``OccurrenceItemId`` or ``RecurringMasterItemId``."""
    local = etree.QName(element).localname
    if local == "OccurrenceItemId":
        master_id, index = element.get("RecurringMasterId", ""), element.get("InstanceIndex", "0")
        return ctx.mailbox.occurrence_of(master_id, int(index)), element.get("ChangeKey")
    if local == "RecurringMasterItemId":
        return ctx.mailbox.master_of(element.get("OccurrenceId", "")), element.get("ChangeKey")
    return ctx.mailbox.item(element.get("Id", "")), element.get("ChangeKey")


def create_item(ctx: Context, op: etree._Element) -> etree._Element:
    """CreateItem: store calendar items, tasks, contacts and messages."""
    invitations = op.get("SendMeetingInvitations")
    disposition = op.get("MessageDisposition")
    target = op.find(f"{m('SavedItemFolderId')}/*")

    def handle(element: etree._Element, message: etree._Element) -> None:
        if etree.QName(element).localname in MEETING_RESPONSES:
            _meeting_response(ctx, element, disposition, message)
            return
        parsed = codec.parse_item(element, ctx.zone)
        if parsed.kind == "CalendarItem" and invitations is None:
            raise EwsError(
                "ErrorSendMeetingInvitationsRequired",
                "SendMeetingInvitations is required for calendar items.",
            )
        if parsed.kind == "Message" and disposition is None:
            raise EwsError("ErrorMessageDispositionRequired", "MessageDisposition is required.")
        if parsed.kind == "Message" and disposition != "SaveOnly":
            copy_folder = resolve_folder(ctx.mailbox, target).id if target is not None else None
            saved = ctx.mailbox.send_message(
                parsed.fields, parsed.extended, disposition == "SendAndSaveCopy", copy_folder
            )
            items = etree.SubElement(message, m("Items"))
            if saved is not None:
                render(ctx, items, saved, codec.Shape())
            return
        if target is not None:
            folder = resolve_folder(ctx.mailbox, target)
        else:
            folder = ctx.mailbox.folder(distinguished=DEFAULT_FOLDERS.get(parsed.kind, "drafts"))
        item = ctx.mailbox.create_item(
            folder.id, parsed.kind, parsed.fields, parsed.extended, send_to=invitations
        )
        render(ctx, etree.SubElement(message, m("Items")), item, codec.Shape())

    return respond("CreateItem", children(op.find(m("Items"))), handle)


# Response objects a CreateItem may carry about a meeting, and what each one of them
# answers on the organizer's own meeting (all meetings of the sandbox are the owner's).
MEETING_RESPONSES = {
    "AcceptItem": "ErrorCalendarIsOrganizerForAccept",
    "TentativelyAcceptItem": "ErrorCalendarIsOrganizerForTentative",
    "DeclineItem": "ErrorCalendarIsOrganizerForDecline",
    "RemoveItem": "ErrorCalendarIsOrganizerForRemove",
    "CancelCalendarItem": "",
}


def _meeting_response(
    ctx: Context, element: etree._Element, disposition: str | None, message: etree._Element
) -> None:
    """Accept, decline, remove or cancel a meeting by its ReferenceItemId.

    Without a reference: ErrorMissingInformationReferenceItemId. The organizer (whom every
    sandbox meeting belongs to) cannot accept, decline or remove it (ErrorCalendarIsOrganizerFor
    ...); cancelling sends the cancellation and moves the meeting to Deleted Items, so a
    second cancel is ErrorItemNotFound ("CancelCalendarItem", learn.microsoft.com).
    """
    kind = etree.QName(element).localname
    if disposition is None:  # required for every response object (MS-OXWSMTGS R1241)
        raise EwsError("ErrorMessageDispositionRequired", "MessageDisposition is required.")
    reference = element.find(t("ReferenceItemId"))
    if reference is None:
        raise EwsError(
            "ErrorMissingInformationReferenceItemId", "The reference item id is missing."
        )
    item = ctx.mailbox.item(reference.get("Id", ""))
    if item.kind != "CalendarItem":
        cancel = not MEETING_RESPONSES[kind]
        code = "ErrorInvalidItemForOperationCancelItem" if cancel else "ErrorInvalidReferenceItem"
        raise EwsError(code, f"{kind} needs a calendar item as its reference.")
    if MEETING_RESPONSES[kind]:
        raise EwsError(MEETING_RESPONSES[kind], "The organizer cannot answer their own meeting.")
    send = {"SaveOnly": "SendToNone", "SendOnly": "SendOnlyToAll"}.get(
        disposition, "SendToAllAndSaveCopy"
    )
    before = {i.id for i in ctx.mailbox.items.values()}
    ctx.mailbox.delete_item(item.id, "MoveToDeletedItems", send_cancellations=send)
    items = etree.SubElement(message, m("Items"))
    sent_items = ctx.mailbox.folder(distinguished="sentitems").id
    for saved in ctx.mailbox.items.values():
        if saved.id not in before and saved.folder_id == sent_items:
            render(ctx, items, saved, codec.Shape())


def get_item(ctx: Context, op: etree._Element) -> etree._Element:
    """GetItem: items by id in the requested shape."""

    def handle(element: etree._Element, message: etree._Element) -> None:
        shape = codec.parse_shape(op.find(m("ItemShape")))  # its errors are per element
        if etree.QName(element).localname == "RecurringMasterItemIdRanges":
            master, occurrences = ctx.mailbox.occurrences_in_ranges(
                element.get("Id", ""), _occurrence_ranges(ctx, element)
            )
            items = etree.SubElement(message, m("Items"))
            for item in (master, *occurrences):
                render(ctx, items, item, shape)
            return
        item = resolve_item(ctx, element)[0]
        render(ctx, etree.SubElement(message, m("Items")), item, shape)

    return respond("GetItem", children(op.find(m("ItemIds"))), handle)


def _occurrence_ranges(
    ctx: Context, element: etree._Element
) -> list[tuple[datetime | None, datetime | None, int | None, bool]]:
    """(start, end, count, compare original start) of each ``Range`` of a
    ``RecurringMasterItemIdRanges`` (without ranges: the master alone)."""
    ranges = []
    for found in element.iterfind(f"{t('Ranges')}/{t('Range')}"):
        start, end, count = found.get("Start"), found.get("End"), found.get("Count")
        ranges.append((
            codec.parse_datetime(start, ctx.zone) if start else None,
            codec.parse_datetime(end, ctx.zone) if end else None,
            int(count) if count is not None else None,
            found.get("CompareOriginalStartTime") in ("true", "1"),
        ))  # fmt: skip
    return ranges


def update_item(ctx: Context, op: etree._Element) -> etree._Element:
    """UpdateItem: Set/Append/DeleteItemField with Exchange's conflict resolution.

    A message is saved (SaveOnly) or, with SendOnly / SendAndSaveCopy, sent once updated;
    its sent copy goes to SavedItemFolderId, by default Sent Items (MS-OXWSCORE R514).
    """
    conflict = op.get("ConflictResolution", "AutoResolve")
    send = op.get("SendMeetingInvitationsOrCancellations")
    disposition = op.get("MessageDisposition")
    target = op.find(f"{m('SavedItemFolderId')}/*")

    def handle(change: etree._Element, message: etree._Element) -> None:
        id_element, updates = children(change)[0], change.find(t("Updates"))
        current, change_key = resolve_item(ctx, id_element)
        if current.kind == "CalendarItem" and send is None:
            raise EwsError(
                "ErrorSendMeetingInvitationsOrCancellationsRequired",
                "SendMeetingInvitationsOrCancellations is required for calendar items.",
            )
        if current.kind == "Message" and disposition is None:
            raise EwsError("ErrorMessageDispositionRequired", "MessageDisposition is required.")
        sending = current.kind == "Message" and disposition in ("SendOnly", "SendAndSaveCopy")
        copy_folder = resolve_folder(ctx.mailbox, target).id if target is not None else None
        changes = [_field_change(update, ctx) for update in children(updates)]
        item = ctx.mailbox.update_item(current.id, change_key, conflict, changes, send_to=send)
        items = etree.SubElement(message, m("Items"))
        if sending:  # answered without an item: the draft is gone, as a send answers
            ctx.mailbox.send_draft(item.id, disposition == "SendAndSaveCopy", copy_folder)
        else:
            render(ctx, items, item, codec.Shape())
        etree.SubElement(etree.SubElement(message, m("ConflictResults")), t("Count")).text = "0"

    return respond("UpdateItem", children(op.find(m("ItemChanges"))), handle)


def _field_change(update: etree._Element, ctx: Context) -> FieldChange:
    action = {"SetItemField": "set", "AppendToItemField": "append", "DeleteItemField": "delete"}[
        etree.QName(update).localname
    ]
    parts = children(update)
    target = codec.field_name(parts[0])
    if etree.QName(parts[0]).localname == "IndexedFieldURI":
        raise EwsError("ErrorInvalidPropertyRequest", "Indexed properties are not supported.")
    if action == "delete":
        return FieldChange(action, target)
    parsed = codec.parse_item(parts[1], ctx.zone)
    if isinstance(target, str) and target in parsed.fields and len(parsed.fields) == 1:
        return FieldChange(action, target, parsed.fields[target])
    if not isinstance(target, str) and target in parsed.extended and len(parsed.extended) == 1:
        return FieldChange(action, target, parsed.extended[target])
    raise EwsError(
        "ErrorIncorrectUpdatePropertyCount",
        "An object within a change description must contain one and only one property to modify.",
    )


def delete_item(ctx: Context, op: etree._Element) -> etree._Element:
    """DeleteItem: HardDelete, SoftDelete or MoveToDeletedItems."""
    delete_type = op.get("DeleteType", "HardDelete")
    cancellations = op.get("SendMeetingCancellations")
    task_occurrences = op.get("AffectedTaskOccurrences")

    def handle(element: etree._Element, message: etree._Element) -> None:
        item = resolve_item(ctx, element)[0]
        if item.kind == "CalendarItem" and cancellations is None:
            raise EwsError(
                "ErrorSendMeetingCancellationsRequired",
                "SendMeetingCancellations is required for calendar items.",
            )
        if item.kind == "Task" and task_occurrences is None:
            raise EwsError(
                "ErrorAffectedTaskOccurrencesRequired",
                "AffectedTaskOccurrences is required for tasks.",
            )
        ctx.mailbox.delete_item(
            item.id,
            delete_type,
            send_cancellations=cancellations,
            task_occurrences=task_occurrences,
        )

    return respond("DeleteItem", children(op.find(m("ItemIds"))), handle)


def find_item(ctx: Context, op: etree._Element) -> etree._Element:
    """FindItem: paged or calendar views of folders, restricted and sorted."""
    order = _sort_key(op.find(m("SortOrder")))
    traversal = op.get("Traversal", "Shallow")
    calendar_view = op.find(m("CalendarView"))
    paging = op.find(m("IndexedPageItemView"))

    def handle(folder_id: etree._Element, message: etree._Element) -> None:
        shape = codec.parse_shape(op.find(m("ItemShape")))  # its errors are per folder
        restricted = op.find(m("Restriction")) is not None or op.find(m("SortOrder")) is not None
        if calendar_view is not None and restricted:
            raise EwsError(  # "Restrictions and sort order may not be specified for a CalendarView"
                "ErrorInvalidOperation",
                "Restrictions and sort order may not be specified for a CalendarView.",
            )
        matches = compile_restriction(op.find(m("Restriction")), ctx.zone)
        if op.find(m("QueryString")) is not None:
            restriction, words = matches, query_string(
                op.findtext(m("QueryString")) or "", ctx.mailbox.now(), ctx.zone)
            matches = lambda item: restriction(item) and words(item)  # noqa: E731
        folder = resolve_folder(ctx.mailbox, folder_id)
        root = etree.SubElement(message, m("RootFolder"))
        if calendar_view is not None:
            found = ctx.mailbox.calendar_view(
                folder.id,
                codec.parse_datetime(calendar_view.get("StartDate", ""), ctx.zone),
                codec.parse_datetime(calendar_view.get("EndDate", ""), ctx.zone),
            )
            found = [item for item in found if matches(item)]
            page = found[: _max_entries(calendar_view, len(found))]
        else:
            found = [item for item in _traversed(ctx, folder.id, traversal) if matches(item)]
            if order is not None:
                found = order(found)
            page, offset = _page(found, paging)
            root.set("IndexedPagingOffset", str(offset + len(page)))
        root.set("TotalItemsInView", str(len(found)))
        root.set("IncludesLastItemInRange", _bool(len(page) == len(found) or _ends(found, page)))
        items = etree.SubElement(root, t("Items"))
        for item in page:
            render(ctx, items, item, shape)

    return respond("FindItem", children(op.find(m("ParentFolderIds"))), handle)


def _traversed(ctx: Context, folder_id: str, traversal: str) -> list[Item]:
    """The items a FindItem traversal looks at: a folder's contents (Shallow), or its
    associated items, user configurations included (Associated; MS-OXWSCORE R1618)."""
    if traversal == "Associated":
        return ctx.mailbox.items_in(folder_id, associated=True) + ctx.mailbox.configuration_items(
            folder_id
        )
    if traversal == "SoftDeleted":
        raise EwsError(
            "ErrorInvalidOperation", "The sandbox keeps no soft-deleted items in a folder."
        )
    return ctx.mailbox.items_in(folder_id)


def _page(found: list[Item], paging: etree._Element | None) -> tuple[list[Item], int]:
    if paging is None:
        return found, 0
    offset = int(paging.get("Offset", "0"))
    limit = _max_entries(paging, len(found))
    if paging.get("BasePoint", "Beginning") == "End":
        stop = max(len(found) - offset, 0)
        start = max(stop - limit, 0)
        return found[start:stop], start
    return found[offset : offset + limit], offset


def _ends(found: list[Item], page: list[Item]) -> bool:
    return bool(page) and page[-1] is found[-1]


def _max_entries(view: etree._Element, default: int) -> int:
    value = view.get("MaxEntriesReturned")
    return int(value) if value is not None else default


def _sort_key(sort: etree._Element | None) -> Callable[[list[Item]], list[Item]] | None:
    if sort is None:
        return None
    orders = children(sort)

    def apply(found: list[Item]) -> list[Item]:
        result = list(found)
        for order in reversed(orders):  # stable sorts, least significant first
            target = codec.field_name(children(order)[0])
            present = [i for i in result if _property(i, target) is not None]
            missing = [i for i in result if _property(i, target) is None]
            descending = order.get("Order") == "Descending"
            present.sort(key=lambda i: _sortable(_property(i, target)), reverse=descending)
            # An empty value sorts lowest: first ascending, last descending, as in Exchange.
            result = present + missing if descending else missing + present
        return result

    return apply


def _sortable(value: object) -> Any:
    """A sort key: text without case, as Exchange's collation orders it."""
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, tuple):
        return tuple(v.casefold() for v in value)
    return value


def _property(item: Item, target: object) -> object:
    if isinstance(target, str):
        return item.fields.get(target)
    return item.extended.get(target)  # type: ignore[call-overload]


def _bool(value: bool) -> str:
    return "true" if value else "false"


HANDLERS = {
    "CreateItem": create_item,
    "GetItem": get_item,
    "UpdateItem": update_item,
    "DeleteItem": delete_item,
    "FindItem": find_item,
}
