"""Optional persistence of the sandbox (``--state FILE``): one SQLite row per mailbox.

A mailbox is written as JSON after every request that changed it, while its lock is
held, and read back the first time it is used after a restart. Without a state file the
sandbox lives in memory only.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import sqlite3
import threading
from datetime import date, datetime
from pathlib import Path
from typing import Any

from esexchange.sandbox.directory import Directory
from esexchange.sandbox.models.backend import Backend
from esexchange.sandbox.models.folders import Folder, FolderTombstone, UserConfiguration
from esexchange.sandbox.models.items import Item, Tombstone
from esexchange.sandbox.models.mailbox import Mailbox
from esexchange.sandbox.models.meetings import SentMessage
from esexchange.sandbox.models.values import (
    Body,
    DeletedStarts,
    ExtendedKey,
    ExtendedValue,
    OccurrenceRef,
    OccurrenceRefs,
    Pattern,
    PatternKind,
    RangeKind,
    Recurrence,
    RecurrenceRange,
    TimeZone,
    Value,
    XmlValue,
)

SCHEMA = "CREATE TABLE IF NOT EXISTS mailbox (email TEXT PRIMARY KEY, state TEXT NOT NULL)"


def open_backend(
    directory: Directory, state_file: str | Path | None
) -> tuple[Backend, StateStore | None]:
    """A backend for ``directory``; persistent through a :class:`StateStore` if a file is given."""

    def lookup(email: str) -> tuple[str, str] | None:
        entry = directory.mailbox(email)
        return (entry.email, entry.name) if entry else None

    if state_file is None:
        return Backend(lookup), None
    store = StateStore(Path(state_file))
    return Backend(lookup, restore=store.load), store


class StateStore:
    """Mailboxes in a SQLite file."""

    def __init__(self, path: Path) -> None:
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute(SCHEMA)
        self._lock = threading.Lock()

    def save(self, mailbox: Mailbox) -> None:
        """Write the whole state of a mailbox."""
        state = json.dumps(_dump(mailbox), separators=(",", ":"))
        with self._lock:
            self._connection.execute(
                "INSERT INTO mailbox (email, state) VALUES (?, ?) "
                "ON CONFLICT (email) DO UPDATE SET state = excluded.state",
                (mailbox.email.lower(), state),
            )

    def load(self, mailbox: Mailbox) -> None:
        """Fill a fresh mailbox from the file, if it was saved before."""
        with self._lock:
            row = self._connection.execute(
                "SELECT state FROM mailbox WHERE email = ?", (mailbox.email.lower(),)
            ).fetchone()
        if row is not None:
            _load(mailbox, json.loads(row[0]))


def _dump(mailbox: Mailbox) -> dict[str, Any]:
    return {
        "seq": mailbox.seq,
        "folders": [_dump_folder(f) for f in mailbox.folders.values()],
        "items": [_dump_item(i) for i in mailbox.items.values()],
        "exceptions": [_dump_item(e) for e in mailbox.exceptions.values()],
        "tombstones": [
            [s.item_id, s.folder_id, s.created_seq, s.deleted_seq, s.associated]
            for s in mailbox.tombstones
        ],
        "sent": [[s.kind, s.item_id, s.subject, list(s.recipients)] for s in mailbox.sent],
        "folder_tombstones": [
            [s.folder_id, s.parent_id, s.created_seq, s.deleted_seq]
            for s in mailbox.folder_tombstones
        ],
    }


def _load(mailbox: Mailbox, data: dict[str, Any]) -> None:
    mailbox.seq = data["seq"]
    mailbox.folders = {f["id"]: _load_folder(f) for f in data["folders"]}
    mailbox.items = {i["id"]: _load_item(i) for i in data["items"]}
    mailbox.exceptions = {e["id"]: _load_item(e) for e in data.get("exceptions", [])}
    mailbox.tombstones = [Tombstone(*entry) for entry in data["tombstones"]]
    mailbox.sent = [SentMessage(k, i, s, tuple(r)) for k, i, s, r in data["sent"]]
    mailbox.folder_tombstones = [FolderTombstone(*s) for s in data.get("folder_tombstones", [])]
    mailbox.add_missing_folders()  # a file of an earlier version has fewer


def _bytes(value: bytes | None) -> str | None:
    return base64.b64encode(value).decode() if value is not None else None


def _unbytes(value: str | None) -> bytes | None:
    return base64.b64decode(value) if value is not None else None


def _dump_folder(folder: Folder) -> dict[str, Any]:
    configurations = [
        {
            "name": c.name,
            "item_id": c.item_id,
            "dictionary": c.dictionary.xml.decode() if c.dictionary else None,
            "xml_data": _bytes(c.xml_data),
            "binary_data": _bytes(c.binary_data),
        }
        for c in folder.configurations.values()
    ]
    return {
        "id": folder.id, "change_key": folder.change_key, "folder_type": folder.folder_type,
        "folder_class": folder.folder_class, "display_name": folder.display_name,
        "parent_id": folder.parent_id, "distinguished": folder.distinguished,
        "configurations": configurations, "created_seq": folder.created_seq,
        "changed_seq": folder.changed_seq, "extended": _dump_extended(folder.extended),
        "properties": {name: xml.xml.decode() for name, xml in folder.properties.items()},
    }  # fmt: skip


def _load_folder(data: dict[str, Any]) -> Folder:
    configurations = {
        c["name"]: UserConfiguration(
            c["name"],
            c["item_id"],
            XmlValue(c["dictionary"].encode()) if c["dictionary"] else None,
            _unbytes(c["xml_data"]),
            _unbytes(c["binary_data"]),
        )
        for c in data.pop("configurations")
    }
    extended = _load_extended(data.pop("extended", []))
    properties = {n: XmlValue(x.encode()) for n, x in data.pop("properties", {}).items()}
    return Folder(**data, configurations=configurations, extended=extended, properties=properties)


def _dump_item(item: Item) -> dict[str, Any]:
    return {
        "id": item.id, "change_key": item.change_key, "kind": item.kind,
        "folder_id": item.folder_id, "created_seq": item.created_seq,
        "changed_seq": item.changed_seq, "read_seq": item.read_seq, "master_id": item.master_id,
        "fields": {name: _dump_value(value) for name, value in item.fields.items()},
        "extended": _dump_extended(item.extended),
    }  # fmt: skip


def _dump_extended(extended: dict[ExtendedKey, ExtendedValue]) -> list[Any]:
    return [
        [list(key.__dict__.values()), list(v) if isinstance(v, tuple) else v]
        for key, v in extended.items()
    ]


def _load_extended(data: list[Any]) -> dict[ExtendedKey, ExtendedValue]:
    return {ExtendedKey(*key): tuple(v) if isinstance(v, list) else v for key, v in data}


def _load_item(data: dict[str, Any]) -> Item:
    return Item(
        id=data["id"],
        change_key=data["change_key"],
        kind=data["kind"],
        folder_id=data["folder_id"],
        fields={name: _load_value(value) for name, value in data["fields"].items()},
        extended=_load_extended(data["extended"]),
        created_seq=data["created_seq"],
        changed_seq=data["changed_seq"],
        read_seq=data.get("read_seq", 0),
        master_id=data.get("master_id"),
    )


def _dump_value(value: Value) -> list[Any]:
    if isinstance(value, bool):
        return ["bool", value]
    if isinstance(value, datetime):
        return ["datetime", value.isoformat()]
    if isinstance(value, tuple):
        return ["strings", list(value)]
    if isinstance(value, Body):
        return ["body", value.body_type, value.text]
    if isinstance(value, XmlValue):
        return ["xml", value.xml.decode()]
    if isinstance(value, Recurrence):
        pattern = dataclasses.asdict(value.pattern)
        pattern["days_of_week"] = list(value.pattern.days_of_week)
        span = value.range
        dates = [span.start.isoformat(), span.end.isoformat() if span.end else None]
        return ["recurrence", pattern, [span.kind.value, *dates, span.count]]
    if isinstance(value, TimeZone):
        return ["zone", value.zone_id, value.definition.decode()]
    if isinstance(value, DeletedStarts):
        return ["deleted", [start.isoformat() for start in value.starts]]
    if isinstance(value, OccurrenceRefs):
        return ["occurrences", [_dump_ref(ref) for ref in value.entries]]
    if isinstance(value, OccurrenceRef):
        return ["occurrence", _dump_ref(value)]
    return [type(value).__name__, value]


def _dump_ref(ref: OccurrenceRef) -> list[str]:
    times = (ref.start, ref.end, ref.original_start)
    return [ref.item_id, ref.change_key, *(time.isoformat() for time in times)]


def _load_ref(data: list[str]) -> OccurrenceRef:
    item_id, change_key, *times = data
    start, end, original = (datetime.fromisoformat(time) for time in times)
    return OccurrenceRef(item_id, change_key, start, end, original)


def _load_value(data: list[Any]) -> Value:
    kind = data[0]
    if kind == "datetime":
        return datetime.fromisoformat(data[1])
    if kind == "strings":
        return tuple(data[1])
    if kind == "body":
        return Body(data[1], data[2])
    if kind == "xml":
        return XmlValue(data[1].encode())
    if kind == "float":
        return float(data[1])
    if kind == "recurrence":
        pattern = {**data[1], "kind": PatternKind(data[1]["kind"])}
        pattern["days_of_week"] = tuple(pattern["days_of_week"])
        range_kind, start, end, count = data[2]
        span = RecurrenceRange(
            RangeKind(range_kind), date.fromisoformat(start),
            date.fromisoformat(end) if end else None, count,
        )  # fmt: skip
        return Recurrence(Pattern(**pattern), span)
    if kind == "zone":
        return TimeZone(data[1], data[2].encode())
    if kind == "deleted":
        return DeletedStarts(tuple(datetime.fromisoformat(start) for start in data[1]))
    if kind == "occurrences":
        return OccurrenceRefs(tuple(_load_ref(ref) for ref in data[1]))
    if kind == "occurrence":
        return _load_ref(data[1])
    value: Value = data[1]
    return value
