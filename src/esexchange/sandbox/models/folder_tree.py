"""Folder management: create, rename, move, delete and empty folders, as Exchange does.

Distinguished folders can be neither deleted nor moved; two folders of one parent cannot
share a name (compared without case); a folder's class is fixed at creation. What a
change does is numbered like item changes, so a hierarchy sync reports it once.
"""

from __future__ import annotations

from collections.abc import Callable

from esexchange.sandbox.models.errors import StoreError
from esexchange.sandbox.models.folders import (
    FOLDER_CLASSES,
    Folder,
    FolderTombstone,
    folder_type_for,
)
from esexchange.sandbox.models.items import Tombstone
from esexchange.sandbox.models.mailbox_state import MailboxState
from esexchange.sandbox.models.values import ExtendedKey, ExtendedValue, XmlValue


class FolderTreeMailbox(MailboxState):
    """The folder operations of a mailbox (the items they touch are removed with them)."""

    # Emptying a folder deletes its items as Mailbox.delete_item does (the mixin only
    # declares it, so there is no second implementation to drift).
    delete_item: Callable[..., None]

    def create_folder(
        self,
        parent_id: str,
        folder_type: str,
        display_name: str,
        folder_class: str | None = None,
        extended: dict[ExtendedKey, ExtendedValue] | None = None,
        properties: dict[str, XmlValue] | None = None,
    ) -> Folder:
        """A new folder below ``parent_id``; ErrorFolderExists if the parent has that name."""
        parent = self.folder(parent_id)
        if folder_type not in FOLDER_CLASSES:
            raise StoreError(
                "ErrorInvalidOperation", f"The sandbox does not create a {folder_type}."
            )
        self._check_free_name(parent.id, display_name)
        folder_class = folder_class or FOLDER_CLASSES[folder_type]
        folder = Folder(
            id=self._new_id(b"\x01"),
            change_key=self._new_change_key(),
            folder_type=folder_type_for(folder_type, folder_class),
            folder_class=folder_class,
            display_name=display_name,
            parent_id=parent.id,
            created_seq=self.seq,
            changed_seq=self.seq,
            extended=dict(extended or {}),
            properties=dict(properties or {}),
        )
        self.folders[folder.id] = folder
        return folder

    def update_folder(
        self,
        folder_id: str,
        *,
        display_name: str | None = None,
        folder_class: str | None = None,
        extended: dict[ExtendedKey, ExtendedValue | None] | None = None,
        properties: dict[str, XmlValue | None] | None = None,
    ) -> Folder:
        """Rename a folder or set its extended properties (None deletes one).

        A folder's class cannot change (ErrorObjectTypeChanged), a name its siblings
        have is ErrorFolderExists.
        """
        folder = self.folder(folder_id)
        if folder_class is not None and folder_class != folder.folder_class:
            raise StoreError("ErrorObjectTypeChanged", "The folder class cannot be changed.")
        if display_name is not None and display_name.casefold() != folder.display_name.casefold():
            self._check_free_name(folder.parent_id, display_name)
        if display_name is not None:
            folder.display_name = display_name
        for key, value in (extended or {}).items():
            if value is None:
                folder.extended.pop(key, None)
            else:
                folder.extended[key] = value
        for name, xml in (properties or {}).items():
            if xml is None:
                folder.properties.pop(name, None)
            else:
                folder.properties[name] = xml
        self._touch_folder(folder)
        return folder

    def move_folder(self, folder_id: str, to_parent_id: str) -> Folder:
        """Move a folder (its id stays, its change key is new); not a distinguished one."""
        folder = self.folder(folder_id)
        target = self.folder(to_parent_id)
        if folder.distinguished is not None:
            raise StoreError(
                "ErrorMoveDistinguishedFolder", "Distinguished folders cannot be moved."
            )
        inside = {folder.id} | {f.id for f in self.child_folders(folder.id, deep=True)}
        if target.id in inside:
            raise StoreError("ErrorMoveCopyFailed", "A folder cannot be moved into itself.")
        if target.id != folder.parent_id:
            self._check_free_name(target.id, folder.display_name)
        folder.parent_id = target.id
        self._touch_folder(folder)
        return folder

    def delete_folder(self, folder_id: str, delete_type: str) -> None:
        """MoveToDeletedItems moves a folder into Deleted Items, SoftDelete into the dumpster
        (MS-OXWSFOLD R34302, R34303); HardDelete removes it with its subfolders and items
        (R34301), as does deleting it where it was moved. Distinguished folders stay (R308)."""
        folder = self.folder(folder_id)
        if folder.distinguished is not None:
            raise StoreError(
                "ErrorDeleteDistinguishedFolder", "Distinguished folders cannot be deleted."
            )
        destination = {"MoveToDeletedItems": "deleteditems",
                       "SoftDelete": "recoverableitemsdeletions"}.get(delete_type)  # fmt: skip
        target = self.folder(distinguished=destination) if destination else None
        if target is not None and folder.parent_id != target.id:
            self.move_folder(folder.id, target.id)  # to Deleted Items, or to the dumpster
            return
        for gone in [*self.child_folders(folder.id, deep=True), folder]:
            self._remove_items(gone.id)
            del self.folders[gone.id]
            self.seq += 1
            self.folder_tombstones.append(
                FolderTombstone(gone.id, gone.parent_id, gone.created_seq, self.seq)
            )

    def empty_folder(
        self, folder_id: str, *, delete_sub_folders: bool, delete_type: str = "HardDelete"
    ) -> None:
        """Delete every item of a folder (HardDelete), or move them to Deleted Items or the
        dumpster (MS-OXWSFOLD R37801-R37803), and, when asked, its subfolders likewise."""
        folder = self.folder(folder_id)
        if folder.distinguished in ("root", "msgfolderroot"):
            raise StoreError(
                "ErrorCannotEmptyFolder", f"The folder {folder.display_name!r} cannot be emptied."
            )
        if delete_type == "HardDelete":
            self._remove_items(folder.id)
        else:
            for item in [i for i in self.items.values() if i.folder_id == folder.id]:
                self.delete_item(item.id, delete_type, send_cancellations=None,
                                 task_occurrences="AllOccurrences")  # fmt: skip
        if delete_sub_folders:
            for child in self.child_folders(folder.id, deep=False):
                if child.distinguished is None:
                    self.delete_folder(child.id, delete_type)

    def _remove_items(self, folder_id: str) -> None:
        for item in [i for i in self.items.values() if i.folder_id == folder_id]:
            del self.items[item.id]
            for exception_id in [k for k, e in self.exceptions.items() if e.master_id == item.id]:
                del self.exceptions[exception_id]
            self.seq += 1
            self.tombstones.append(Tombstone(item.id, folder_id, item.created_seq, self.seq))

    def _check_free_name(self, parent_id: str | None, name: str) -> None:
        siblings = (f for f in self.folders.values() if f.parent_id == parent_id)
        if name.casefold() in {f.display_name.casefold() for f in siblings}:
            raise StoreError(
                "ErrorFolderExists", f"Could not create folder {name!r}: the name is taken."
            )

    def _touch_folder(self, folder: Folder) -> None:
        folder.change_key = self._new_change_key()
        folder.changed_seq = self.seq
