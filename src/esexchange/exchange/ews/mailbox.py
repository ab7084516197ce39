"""``EwsMailbox``: the ``Mailbox`` port for one mailbox, on exchangelib.

Every public method is one "call": its EWS requests are counted on ``requests`` and it
gets its own throttling budget (``transport.mailbox_call``). Batches go out in chunks of
``settings.batch_size`` items, one request per chunk; an element that fails is reported
in its ``BatchResult`` and the others go on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from exchangelib import EWSTimeZone, FolderCollection, Q
from exchangelib.errors import (
    ErrorCalendarOccurrenceIsDeletedFromRecurrence,
    ErrorExceededConnectionCount,
    ErrorIrresolvableConflict,
    ErrorItemNotFound,
    ErrorItemSave,
)
from exchangelib.folders import Calendar, Root, Tasks
from exchangelib.items import (
    ALL_OCCURRENCES,
    ID_ONLY,
    MOVE_TO_DELETED_ITEMS,
    NEVER_OVERWRITE,
    SAVE_ONLY,
    SEND_TO_NONE,
)
from exchangelib.properties import (
    DistinguishedFolderId,
    OccurrenceItemId,
    UserConfiguration,
    UserConfigurationName,
    UserConfigurationNameMNS,
)
from exchangelib.properties import Mailbox as MailboxAddress
from exchangelib.services import (
    CreateUserConfiguration,
    GetUserConfiguration,
    UpdateUserConfiguration,
)

from esexchange.domain.claims import CLAIM_NAME, MailboxClaim
from esexchange.domain.errors import RecurrenceRefused
from esexchange.domain.mapping import keep_user_categories
from esexchange.domain.model import (
    Category,
    ExchangeItem,
    ItemRef,
    Kind,
    OccurrenceKey,
    RemoteItem,
    RemoteOccurrence,
)
from esexchange.domain.recurrence import Recurrence, deletions_to_add, occurrence_index
from esexchange.domain.state import EWS_FOLDERS, WHOLE_FOLDER, Capabilities, MailboxChange
from esexchange.exchange.errors import ItemFailed, MailboxError
from esexchange.exchange.ews.categories import CONFIGURATION_NAME, merge_categories
from esexchange.exchange.ews.failures import Who, translate, translated
from esexchange.exchange.ews.items import (
    ERP_ID_FIELD,
    MODELS,
    READ_FIELDS,
    exchangelib_fields,
    from_exchangelib,
    to_exchangelib,
)
from esexchange.exchange.ews.memo import ServerMemo
from esexchange.exchange.ews.recurrence import exception_ids
from esexchange.exchange.ews.services import (
    CreateItems,
    DeleteItems,
    GetItems,
    SyncItems,
    UpdateItems,
    sync_folder_id,
)
from esexchange.exchange.ews.settings import EwsSettings
from esexchange.exchange.ews.streaming import MailboxEvents
from esexchange.exchange.ews.transport import RequestCounter, mailbox_call
from esexchange.exchange.ews.wire import appointment_element, direct_create
from esexchange.exchange.ics import VersionPage, state_past_own_writes
from esexchange.exchange.port import (
    BatchResult,
    ChangePage,
    ExchangeUpdate,
    OccurrenceUpdate,
    OwnWrites,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
_FOLDER_CLASSES = {Kind.APPOINTMENT: Calendar, Kind.TASK: Tasks}
_MAX_SYNC_PAGE = 512  # the most SyncFolderItems returns per call (MaxChangesReturned)


class EwsMailbox:
    """One employee's mailbox, reached by impersonation (see ``EwsConnection.mailbox``)."""

    def __init__(self, account: Any, *, settings: EwsSettings, who: Who, zone: EWSTimeZone,
                 memo: ServerMemo | None = None):
        self._account = account
        self._memo = memo or ServerMemo()
        self._settings = settings
        self._who = who
        self._zone = zone
        self._folders: dict[Kind, Any] = {}
        self._claim_seen_missing = False
        """The last ``read_claim`` found none: ``write_claim`` creates it straight away."""
        self.requests = RequestCounter()
        """EWS requests sent for this mailbox so far (for benchmarks and logs)."""
        self.page_size = min(settings.sync_page_size, _MAX_SYNC_PAGE)
        """Changes per SyncFolderItems read."""

    @property
    def address(self) -> str:
        return str(self._account.primary_smtp_address)

    # --- reachability -------------------------------------------------------------------

    def capabilities(self, kind: Kind) -> Capabilities:
        """EWS calendars and task folders hold every synchronized field and whole series,
        but a yearly pattern repeats every year only."""
        return EWS_FOLDERS

    def check(self) -> None:
        """Open the calendar and the tasks folder (one GetFolder request)."""
        with self._call():
            self._resolve_folders()

    def events(self) -> MailboxEvents:
        """Streaming notifications of the calendar and tasks folders (``streaming.py``)."""
        folders = [self._folder(kind) for kind in _FOLDER_CLASSES]
        return MailboxEvents(self._account, folders, self.address)

    # --- reading ------------------------------------------------------------------------

    def changes(self, kind: Kind, state: str | None) -> ChangePage:
        """One SyncFolderItems page (``page_size`` changes); creates and updates
        fetched in batched GetItem. A read from no state lists the whole folder."""
        with self._call():
            order, service = self._sync_page(kind, state)
            fetched = self._fetch(kind, [item_id for what, item_id, _ in order if what == _CHANGED])
            changes = tuple(
                MailboxChange(item_id, kind, fetched[item_id] if what == _CHANGED else None)
                for what, item_id, _ in order
                if what == _DELETED or item_id in fetched  # not fetched: deleted since
            )
            return ChangePage(
                changes=changes,
                state=str(service.sync_state),
                more=not service.includes_last_item_in_range,
                complete=WHOLE_FOLDER if state is None else None,
            )

    def state_after_writes(self, kind: Kind, state: str, writes: OwnWrites) -> str | None:
        """A SyncFolderItems state past the pass's own writes (see ``exchange.ics``),
        read IdOnly: the change keys the writes returned recognise them, no GetItem."""
        return state_past_own_writes(partial(self._versions, kind), state, writes)

    def _versions(self, kind: Kind, state: str) -> VersionPage:
        """One IdOnly SyncFolderItems page: ids and change keys, no content."""
        with self._call():
            order, service = self._sync_page(kind, state)
            return VersionPage(
                tuple((item_id, key if what == _CHANGED else None) for what, item_id, key in order),
                state=str(service.sync_state), more=not service.includes_last_item_in_range,
            )

    def _sync_page(self, kind: Kind, state: str | None) -> tuple[list[_Change], SyncItems]:
        """One IdOnly SyncFolderItems request: the distinct changes, and the service
        (its new sync state, whether the range is complete)."""
        folder = self._folder(kind)
        service = SyncItems(account=self._account,
                            folder_element=sync_folder_id(folder, self._account.version))
        entries = self._retrying(lambda: list(service.call(
            folder=folder, shape=ID_ONLY, additional_fields=set(), sync_state=state,
            ignore=None, max_changes_returned=self.page_size, sync_scope=None,
        )))
        return _distinct_changes(entries, MODELS[kind]), service

    def read(self, kind: Kind, ids: Sequence[str]) -> dict[str, RemoteItem]:
        """Batched GetItem by id; the gone ones left out."""
        if not ids:
            return {}
        with self._call():
            return self._fetch(kind, list(ids))

    def find_by_erp_id(self, kind: Kind, erp_ids: Sequence[int]) -> dict[int, RemoteItem]:
        """One FindItem restricted on the ERP id property, then batched GetItem."""
        wanted = sorted({int(erp_id) for erp_id in erp_ids})
        if not wanted:
            return {}
        with self._call():
            # FindItem cannot return an extended property with the ids without a
            # second GetItem anyway; ask for ids only and fetch the content in batches.
            collection = FolderCollection(account=self._account, folders=[self._folder(kind)])
            stamped = self._retrying(lambda: list(collection.find_items(
                Q(**{f"{ERP_ID_FIELD}__in": wanted}), shape=ID_ONLY,
                page_size=min(max(len(wanted), 10), 1000),
            )))
            found: dict[int, RemoteItem] = {}
            for remote in self._fetch(kind, [item_id for item_id, _ in stamped]).values():
                erp_id = remote.item.erp_id
                if erp_id is None:
                    continue
                if erp_id in found:
                    log.warning(
                        "mailbox %s: two %ss carry ERP id %s (%s and %s); adopting the first",
                        self.address, kind.value, erp_id, found[erp_id].ref.id, remote.ref.id,
                    )
                    continue
                found[erp_id] = remote
            return found

    # --- writing ------------------------------------------------------------------------

    def create(self, items: Sequence[ExchangeItem]) -> list[BatchResult[ItemRef]]:
        """CreateItem in chunks, SaveOnly and SendToNone: no invitation ever leaves."""
        results: list[BatchResult[ItemRef] | None] = [None] * len(items)
        nothing_sent = True
        with self._call():
            for kind in Kind:
                indices = [index for index, item in enumerate(items) if item.kind is kind]
                if not indices:
                    continue
                folder = self._folder(kind)
                pending = []
                for index in indices:
                    built = self._build_create(items[index], folder)
                    if isinstance(built, ItemFailed):
                        results[index] = BatchResult(error=built)
                    else:
                        pending.append((index, built))
                send = partial(self._send_creates, folder)
                for index, outcome in self._in_chunks(pending, send, nothing_sent=nothing_sent):
                    results[index] = self._result(items[index], outcome, "created")
                nothing_sent = nothing_sent and not pending
            self._delete_created_occurrences(items, results)
        return _complete(results)

    def _delete_created_occurrences(
        self, items: Sequence[ExchangeItem], results: list[BatchResult[ItemRef] | None]
    ) -> None:
        """Delete the ``recurrence.deleted`` occurrences of the series just created; each
        master's answer becomes its version after that (or the failure of it)."""
        wanted: dict[int, tuple[ItemRef, Recurrence]] = {}
        for index, (item, result) in enumerate(zip(items, results, strict=True)):
            if (item.recurrence is not None and item.recurrence.deleted
                    and result is not None and result.value is not None):
                wanted[index] = (result.value, item.recurrence)
        if not wanted:
            return
        targets = [(ref.id, recurrence, original) for ref, recurrence in wanted.values()
                   for original in sorted(recurrence.deleted)]
        failed = self._delete_by_index(targets)
        versions = self._change_keys([ref.id for ref, _ in wanted.values()])
        for index, (ref, _) in wanted.items():
            error = failed.get(ref.id)
            if error is not None:
                results[index] = BatchResult(error=error)
            else:
                results[index] = BatchResult(ItemRef(ref.id, versions.get(ref.id, ref.version)))

    def update(self, updates: Sequence[ExchangeUpdate]) -> list[BatchResult[ItemRef]]:
        """UpdateItem in chunks with NeverOverwrite: a stale change key fails that element."""
        results: list[BatchResult[ItemRef] | None] = [None] * len(updates)
        with self._call():
            updates = self._with_user_categories(updates)
            updates, deletions = self._series_writes(updates)
            pending = []
            for index, update in enumerate(updates):
                names = exchangelib_fields(update.item.kind, update.fields)
                if not names:  # nothing with an Exchange counterpart changed
                    results[index] = BatchResult(value=update.ref)
                    continue
                built = self._build(update.item, "updated", folder=None,
                                    id=update.ref.id, changekey=update.ref.version)
                if isinstance(built, ItemFailed):
                    results[index] = BatchResult(error=built)
                else:
                    pending.append((index, (built, names)))
            for index, outcome in self._in_chunks(pending, self._send_updates, nothing_sent=True):
                results[index] = self._result(updates[index].item, outcome, "updated")
            self._delete_updated_occurrences(updates, deletions, results)
        return _complete(results)

    def _series_writes(
        self, updates: Sequence[ExchangeUpdate]
    ) -> tuple[list[ExchangeUpdate], dict[int, frozenset[datetime]]]:
        """Updates that write a series' ``recurrence``, as the port says: an unchanged
        pattern is not written again (so Exchange keeps the modified occurrences), only
        the missing deletions are made. Answers the updates to send and, by index, the
        occurrences to delete after them. One batched GetItem, only when needed."""
        out = list(updates)
        deletions: dict[int, frozenset[datetime]] = {}
        for kind in Kind:
            indexes = [i for i, u in enumerate(updates) if u.item.kind is kind
                       and "recurrence" in u.fields and u.item.recurrence is not None]
            if not indexes:
                continue
            current = self._fetch(kind, [updates[i].ref.id for i in indexes])
            for i in indexes:
                update, wanted = updates[i], updates[i].item.recurrence
                assert wanted is not None
                now = current.get(update.ref.id)
                had = now.item.recurrence if now is not None else None
                added = deletions_to_add(had, wanted)
                if added is not None:  # the series stays (with its exceptions); add deletions
                    out[i] = replace(update, fields=update.fields - {"recurrence"})
                    deletions[i] = added
                else:
                    deletions[i] = wanted.deleted
        return out, deletions

    def _delete_updated_occurrences(
        self, updates: Sequence[ExchangeUpdate], deletions: dict[int, frozenset[datetime]],
        results: list[BatchResult[ItemRef] | None],
    ) -> None:
        written = {i: result.value for i, result in enumerate(results)
                   if i in deletions and deletions[i] and result is not None
                   and result.value is not None}
        if not written:
            return
        targets = []
        for i, ref in written.items():
            recurrence = updates[i].item.recurrence
            assert recurrence is not None
            targets += [(ref.id, recurrence, original) for original in sorted(deletions[i])]
        failed = self._delete_by_index(targets)
        versions = self._change_keys([ref.id for ref in written.values()])
        for i, ref in written.items():
            error = failed.get(ref.id)
            results[i] = (BatchResult(error=error) if error is not None
                          else BatchResult(ItemRef(ref.id, versions.get(ref.id, ref.version))))

    def update_occurrences(
        self, updates: Sequence[OccurrenceUpdate]
    ) -> list[BatchResult[ItemRef]]:
        """UpdateItem of single occurrences: an exception by its own id and change key
        (NeverOverwrite), an occurrence not modified yet by ``OccurrenceItemId`` with its
        index (one batched GetItem of the masters computes the indexes)."""
        results: list[BatchResult[ItemRef] | None] = [None] * len(updates)
        if not updates:
            return []
        with self._call():
            masters = self._fetch(Kind.APPOINTMENT, sorted({u.key.series_id for u in updates}))
            pending = []
            for index, update in enumerate(updates):
                names = [name for name in exchangelib_fields(Kind.APPOINTMENT, update.fields)
                         if name != "recurrence"]
                target = self._occurrence_target(update.key, update.ref, masters)
                if isinstance(target, ItemFailed):
                    results[index] = BatchResult(error=target)
                    continue
                if not names:
                    results[index] = BatchResult(error=ItemFailed(
                        f"occurrence {update.key}: nothing to write"))
                    continue
                identity = target if isinstance(target, dict) else {}
                built = self._build(replace(update.item, recurrence=None), "updated",
                                    folder=None, **identity)
                if isinstance(built, ItemFailed):
                    results[index] = BatchResult(error=built)
                    continue
                if isinstance(target, OccurrenceItemId):
                    built._id = target  # after clean(), which allows only an ItemId
                pending.append((index, (built, names)))
            for index, outcome in self._in_chunks(pending, self._send_updates, nothing_sent=True):
                results[index] = self._result(updates[index].item, outcome, "updated")
        return _complete(results)

    def delete_occurrences(self, keys: Sequence[OccurrenceKey]) -> list[BatchResult[None]]:
        """DeleteItem of ``OccurrenceItemId``s (their indexes from one batched GetItem of
        the masters); SendToNone. Already deleted, or a series that is gone: deleted."""
        if not keys:
            return []
        with self._call():
            masters = self._fetch(Kind.APPOINTMENT, sorted({k.series_id for k in keys}))
            targets = []
            results: list[BatchResult[None] | None] = [None] * len(keys)
            for index, key in enumerate(keys):
                master = masters.get(key.series_id)
                recurrence = master.item.recurrence if master is not None else None
                if recurrence is None or key.original_start in recurrence.deleted:
                    results[index] = BatchResult()
                    continue
                targets.append((index, key.series_id, recurrence, key.original_start))
            failed = self._delete_by_index([t[1:] for t in targets], per_element=True)
            for index, *_ in targets:
                error = failed.get(str(index))
                results[index] = BatchResult(error=error) if error is not None else BatchResult()
        return _complete(results)

    def _occurrence_target(
        self, key: OccurrenceKey, ref: ItemRef | None, masters: dict[str, RemoteItem]
    ) -> dict[str, str] | OccurrenceItemId | ItemFailed:
        """How UpdateItem names an occurrence: the exception's id, or master id + index."""
        if ref is not None:
            return {"id": ref.id, "changekey": ref.version}
        master = masters.get(key.series_id)
        recurrence = master.item.recurrence if master is not None else None
        index = None
        if recurrence is not None and key.original_start not in recurrence.deleted:
            index = occurrence_index(recurrence, key.original_start)
        if index is None:
            return ItemFailed(f"series {key.series_id} in mailbox {self.address} has no "
                              f"occurrence at {key.original_start:%Y-%m-%d %H:%M}")
        return OccurrenceItemId(id=key.series_id, instance_index=index)

    def _delete_by_index(
        self, targets: Sequence[tuple[str, Recurrence, datetime]], *, per_element: bool = False
    ) -> dict[str, ItemFailed]:
        """DeleteItem of occurrences by master id and original start; the failures by
        master id (by position in ``targets`` with ``per_element``)."""
        failed: dict[str, ItemFailed] = {}
        pending = []
        for position, (series_id, recurrence, original) in enumerate(targets):
            name = str(position) if per_element else series_id
            index = occurrence_index(recurrence, original)
            if index is None:
                failed[name] = ItemFailed(
                    f"series {series_id} in mailbox {self.address} has no occurrence at "
                    f"{original:%Y-%m-%d %H:%M}")
                continue
            pending.append((position, OccurrenceItemId(id=series_id, instance_index=index)))
        already_gone = (ErrorItemNotFound, ErrorCalendarOccurrenceIsDeletedFromRecurrence)
        for position, outcome in self._in_chunks(pending, self._send_deletes, nothing_sent=True):
            if isinstance(outcome, Exception) and not isinstance(outcome, already_gone):
                series_id = targets[position][0]
                name = str(position) if per_element else series_id
                failed[name] = self._item_failed(f"an occurrence of series {series_id}",
                                                 "deleted", outcome)
        return failed

    def _change_keys(self, ids: Sequence[str]) -> dict[str, str]:
        """The current change keys of items (one batched GetItem)."""
        return {item_id: remote.ref.version
                for item_id, remote in self._fetch(Kind.APPOINTMENT, list(ids)).items()}

    def _with_user_categories(self, updates: Sequence[ExchangeUpdate]) -> list[ExchangeUpdate]:
        """Updates that write categories keep the user's own ones as Exchange has them
        now: one batched GetItem per kind, only when categories are written at all."""
        out = list(updates)
        for kind in Kind:
            ids = [u.ref.id for u in updates if u.item.kind is kind and "categories" in u.fields]
            if not ids:
                continue
            current = self._fetch(kind, ids)
            for index, update in enumerate(out):
                now = current.get(update.ref.id)
                if now is not None and update.item.kind is kind and "categories" in update.fields:
                    categories = keep_user_categories(now.item.categories, update.item.categories)
                    out[index] = replace(update, item=replace(update.item, categories=categories))
        return out

    def delete(self, refs: Sequence[ItemRef]) -> list[BatchResult[None]]:
        """DeleteItem in chunks to Deleted Items; SendToNone, all task occurrences.

        An item that is already gone counts as deleted. The change key is not sent: a
        deletion the planner decided on stands even if the item changed meanwhile.
        """
        results: list[BatchResult[None] | None] = [None] * len(refs)
        with self._call():
            pending = [(index, (ref.id, None)) for index, ref in enumerate(refs)]
            for index, outcome in self._in_chunks(pending, self._send_deletes, nothing_sent=True):
                if isinstance(outcome, Exception) and not isinstance(outcome, ErrorItemNotFound):
                    failure = self._item_failed(f"item {refs[index].id}", "deleted", outcome)
                    results[index] = BatchResult(error=failure)
                else:
                    results[index] = BatchResult()
        return _complete(results)

    def ensure_categories(self, categories: Sequence[Category]) -> None:
        """Add or recolour entries of the CategoryList configuration, keeping all others.

        No request when this process already made sure of the same entries in this
        mailbox (``memo.py``)."""
        if not categories or self._memo.categories_known(self.address, categories):
            return
        with self._call():
            try:
                current = self._retrying(lambda: self._read_configuration(
                    CONFIGURATION_NAME, "XmlData"))
                xml_data, exists = current.xml_data, True
            except ErrorItemNotFound:
                xml_data, exists = None, False
            merged = merge_categories(xml_data, categories, datetime.now(UTC))
            if merged is not None:
                write = UpdateUserConfiguration if exists else CreateUserConfiguration
                self._retrying(lambda: self._write_configuration(
                    write, CONFIGURATION_NAME, xml_data=merged))
        self._memo.categories_made_sure(self.address, categories)

    def read_claim(self) -> MailboxClaim | None:
        """The ``esExchange.Claim`` user configuration of the calendar (its dictionary)."""
        with self._call():
            self._claim_seen_missing = False
            try:
                found = self._retrying(lambda: self._read_configuration(
                    CLAIM_NAME, "Dictionary"))
            except ErrorItemNotFound:
                self._claim_seen_missing = True
                return None
            return MailboxClaim.from_fields(found.dictionary or {})

    def write_claim(self, claim: MailboxClaim) -> None:
        """Create or replace the ``esExchange.Claim`` user configuration of the calendar.

        Replaced first, created when there is none; created first when ``read_claim`` has
        just found none (a new mailbox: one request instead of two), replaced when it
        exists after all (written meanwhile by another installation)."""
        with self._call():
            fields = claim.to_fields()

            def update() -> Any:
                return self._write_configuration(
                    UpdateUserConfiguration, CLAIM_NAME, dictionary=fields)

            def create() -> Any:
                return self._write_configuration(
                    CreateUserConfiguration, CLAIM_NAME, dictionary=fields)

            if self._claim_seen_missing:
                self._claim_seen_missing = False
                try:
                    self._retrying(create)
                except ErrorItemSave as refused:  # what Exchange answers when it exists
                    try:
                        self._retrying(update)
                    except ErrorItemNotFound:
                        raise refused from None  # it does not: the create's own failure
                return
            try:
                self._retrying(update)
            except ErrorItemNotFound:
                self._retrying(create)

    # User configurations of the calendar, addressed by its well-known name and the
    # mailbox (a DistinguishedFolderId, as the EWS Managed API's UserConfiguration.Bind
    # does): exchangelib's folder methods want the folder's id, which cost a GetFolder
    # per mailbox and process.

    def _read_configuration(self, name: str, properties: str) -> Any:
        return GetUserConfiguration(account=self._account).get(
            user_configuration_name=UserConfigurationNameMNS(
                name=name, folder=self._folder(Kind.APPOINTMENT)),
            properties=properties,
        )

    def _write_configuration(self, service: type[Any], name: str, **values: Any) -> Any:
        configuration = UserConfiguration(
            user_configuration_name=UserConfigurationName(
                name=name, folder=self._folder(Kind.APPOINTMENT)),
            **values,
        )
        return service(account=self._account).get(user_configuration=configuration)

    # --- helpers ------------------------------------------------------------------------

    @contextmanager
    def _call(self) -> Iterator[None]:
        """Count requests, give a fresh throttling budget, and translate failures."""
        endpoint = self._account.protocol.service_endpoint
        with translated(self._who), mailbox_call(self.requests, endpoint):
            yield

    def _retrying(self, request: Callable[[], T]) -> T:
        """Run a whole request again after ErrorExceededConnectionCount, with back-off.

        exchangelib answers it by shrinking its pool and gives up at one session; the
        request was refused as a whole, so sending it again is safe. The wait counts
        against the call's throttling budget (past it: MailboxUnreachable).
        """
        wait = 1.0
        while True:
            try:
                return request()
            except ErrorExceededConnectionCount:
                self._account.protocol.retry_policy.back_off(wait)
                log.info("mailbox %s: too many connections, retrying in %.0f s",
                         self.address, wait)
                time.sleep(wait)
                wait *= 2

    def _folder(self, kind: Kind) -> Any:
        """The calendar or tasks folder by its well-known name (no request needed)."""
        if not self._folders:
            address = MailboxAddress(email_address=self.address)
            root = Root(account=self._account, _distinguished_id=DistinguishedFolderId(
                id=Root.DISTINGUISHED_FOLDER_ID, mailbox=address,
            ))
            self._folders = {
                kind: cls(root=root, _distinguished_id=DistinguishedFolderId(
                    id=cls.DISTINGUISHED_FOLDER_ID, mailbox=address,
                ))
                for kind, cls in _FOLDER_CLASSES.items()
            }
        return self._folders[kind]

    def _resolve_folders(self) -> None:
        """Fetch both folders in one GetFolder (their ids; a proof they can be opened)."""
        wanted = [self._folder(kind) for kind in _FOLDER_CLASSES]
        folders = self._retrying(
            lambda: list(FolderCollection(account=self._account, folders=wanted).resolve())
        )
        for found in folders:
            if isinstance(found, Exception):
                raise found
        self._folders = dict(zip(_FOLDER_CLASSES, folders, strict=True))

    def _fetch(self, kind: Kind, ids: Sequence[str]) -> dict[str, RemoteItem]:
        """Full content of items in batched GetItem: id -> item, the gone ones left out."""
        if not ids:
            return {}  # an idle sync page: not even the fields are worked out
        folder = self._folder(kind)
        fields = {
            path for path in folder.normalize_fields(fields=list(READ_FIELDS[kind]))
            if not path.field.is_attribute
        }
        fetched: dict[str, RemoteItem] = {}
        exceptions: dict[str, list[tuple[str, datetime]]] = {}
        size = self._settings.batch_size
        for start in range(0, len(ids), size):
            chunk = [(item_id, None) for item_id in ids[start:start + size]]
            def get_items(c: list[tuple[str, None]] = chunk) -> list[Any]:
                return list(GetItems(account=self._account, chunk_size=len(c)).call(
                    items=c, additional_fields=fields, shape=ID_ONLY,
                ))

            answers = self._retrying(get_items)
            for (item_id, _), answer in zip(chunk, answers, strict=True):
                if isinstance(answer, ErrorItemNotFound):
                    continue  # deleted since; the deletion comes with the next changes
                if isinstance(answer, Exception):
                    log.warning("mailbox %s: %s %s cannot be read and is skipped: %s",
                                self.address, kind.value, item_id, answer)
                    continue
                if isinstance(answer, MODELS[kind]):
                    fetched[item_id] = from_exchangelib(answer, kind, zone=self._zone)
                    if kind is Kind.APPOINTMENT:
                        exceptions[item_id] = exception_ids(answer, zone=self._zone)
        if any(exceptions.values()):
            self._with_exceptions(fetched, exceptions)
        return fetched

    def _with_exceptions(
        self, fetched: dict[str, RemoteItem], exceptions: dict[str, list[tuple[str, datetime]]]
    ) -> None:
        """Give each master read its modified occurrences' content (batched GetItem)."""
        wanted = [occurrence_id for listed in exceptions.values() for occurrence_id, _ in listed]
        read = self._fetch(Kind.APPOINTMENT, wanted)
        for master_id, listed in exceptions.items():
            found = tuple(
                RemoteOccurrence(OccurrenceKey(master_id, original), read[occurrence_id].ref,
                                 replace(read[occurrence_id].item, recurring=False),
                                 read[occurrence_id].modified_at)
                for occurrence_id, original in sorted(listed, key=lambda pair: pair[1])
                if occurrence_id in read
            )
            if found and master_id in fetched:
                fetched[master_id] = replace(fetched[master_id], exceptions=found)

    def _in_chunks(
        self, pending: list[tuple[int, Any]], send: Callable[[list[Any]], list[Any]],
        *, nothing_sent: bool,
    ) -> Iterator[tuple[int, Any]]:
        """(index, outcome) per pending element, one request per chunk.

        A request-level failure raises while nothing of the call was sent (the pass for
        the mailbox stops cleanly); once something was written, it fails the elements not
        yet sent instead, so the caller still learns about the written ones.
        """
        size = self._settings.batch_size
        for start in range(0, len(pending), size):
            chunk = pending[start:start + size]
            try:
                def send_chunk(c: list[tuple[int, Any]] = chunk) -> list[Any]:
                    return send([value for _, value in c])

                outcomes = self._retrying(send_chunk)
            except Exception as error:
                if nothing_sent and start == 0:
                    raise
                cause = translate(error, self._who) or error
                for index, _ in pending[start:]:
                    yield index, MailboxError(f"not sent: {cause}")
                return
            yield from zip((index for index, _ in chunk), outcomes, strict=True)

    def _build_create(self, item: ExchangeItem, folder: Any) -> Any:
        """What CreateItem sends for ``item``: a plain appointment's ready element
        (``wire.py``: the hot path of a first pass), else the exchangelib item."""
        if not direct_create(item, self._account.version):
            return self._build(item, "created", folder=folder)
        try:
            return appointment_element(item, self._account.default_timezone)
        except ValueError as error:
            return self._item_failed(_label(item), "created", error)

    def _build(self, item: ExchangeItem, verb: str, **target: Any) -> Any:
        """The exchangelib item, validated here so that one bad item cannot fail a chunk."""
        try:
            built = to_exchangelib(item, account=self._account, **target)
            built.clean(version=self._account.version)
        except (ValueError, TypeError, RecurrenceRefused) as error:
            return self._item_failed(_label(item), verb, error)
        return built

    def _send_creates(self, folder: Any, chunk: list[Any]) -> list[Any]:
        return list(CreateItems(account=self._account, chunk_size=len(chunk)).call(
            items=chunk, folder=folder, message_disposition=SAVE_ONLY,
            send_meeting_invitations=SEND_TO_NONE,
        ))

    def _send_updates(self, chunk: list[Any]) -> list[Any]:
        return list(UpdateItems(account=self._account, chunk_size=len(chunk)).call(
            items=chunk, conflict_resolution=NEVER_OVERWRITE, message_disposition=SAVE_ONLY,
            send_meeting_invitations_or_cancellations=SEND_TO_NONE, suppress_read_receipts=True,
        ))

    def _send_deletes(self, chunk: list[Any]) -> list[Any]:
        return list(DeleteItems(account=self._account, chunk_size=len(chunk)).call(
            items=chunk, delete_type=MOVE_TO_DELETED_ITEMS,
            send_meeting_cancellations=SEND_TO_NONE,
            affected_task_occurrences=ALL_OCCURRENCES, suppress_read_receipts=True,
        ))

    def _result(self, item: ExchangeItem, outcome: Any, verb: str) -> BatchResult[ItemRef]:
        """The element's result: CreateItem answers an item, UpdateItem (id, change key)."""
        if isinstance(outcome, Exception):
            return BatchResult(error=self._item_failed(_label(item), verb, outcome))
        if isinstance(outcome, tuple):
            return BatchResult(value=ItemRef(id=outcome[0], version=outcome[1]))
        return BatchResult(value=ItemRef(id=outcome.id, version=outcome.changekey))

    def _item_failed(self, label: str, verb: str, error: Exception) -> ItemFailed:
        if isinstance(error, ErrorIrresolvableConflict):
            reason = "it changed in Exchange meanwhile (stale change key); the next pass merges it"
        else:
            reason = f"{type(error).__name__}: {error}"
        failure = ItemFailed(f"{label} in mailbox {self.address} was not {verb}: {reason}")
        failure.__cause__ = error
        return failure


_CHANGED, _DELETED = "changed", "deleted"
_Change = tuple[str, str, str | None]
"""(changed | deleted, item id, change key: ``None`` for a deletion)."""


def _distinct_changes(entries: Sequence[tuple[str, Any]], model: type[Any]
                      ) -> list[_Change]:
    """The changes in the server's order, each item once (its last change key), for
    ``model`` items."""
    distinct: dict[tuple[str, str], str | None] = {}
    for change_type, item in entries:
        if change_type == SyncItems.DELETE:
            key, version = (_DELETED, item.id), None
        elif (change_type in (SyncItems.CREATE, SyncItems.UPDATE)
              and item.model is not None and issubclass(item.model, model)):
            key, version = (_CHANGED, item.id), item.changekey
        else:
            continue  # read-flag changes; other classes (a message filed among tasks)
        if key not in distinct or version is not None:
            distinct[key] = version
    return [(what, item_id, version) for (what, item_id), version in distinct.items()]


def _label(item: ExchangeItem) -> str:
    erp = f", ERP id {item.erp_id}" if item.erp_id is not None else ""
    return f"{item.kind.value} {item.subject!r}{erp}"


def _complete(results: list[BatchResult[T] | None]) -> list[BatchResult[T]]:
    missing = [index for index, result in enumerate(results) if result is None]
    assert not missing, f"no result for elements {missing}"
    return [result for result in results if result is not None]

