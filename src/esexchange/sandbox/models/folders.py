"""Folders of a mailbox and the user configurations they hold."""

from __future__ import annotations

from dataclasses import dataclass, field

from esexchange.sandbox.models.values import XmlValue

# The distinguished folders every sandbox mailbox has: (name, parent, class, folder type,
# display name).
DISTINGUISHED_FOLDERS: tuple[tuple[str, str | None, str, str, str], ...] = (
    ("root", None, "", "Folder", "Top of Information Store"),
    ("msgfolderroot", "root", "IPF.Note", "Folder", "Top of Information Store"),
    ("inbox", "msgfolderroot", "IPF.Note", "Folder", "Inbox"),
    ("drafts", "msgfolderroot", "IPF.Note", "Folder", "Drafts"),
    ("sentitems", "msgfolderroot", "IPF.Note", "Folder", "Sent Items"),
    ("deleteditems", "msgfolderroot", "IPF.Note", "Folder", "Deleted Items"),
    ("calendar", "msgfolderroot", "IPF.Appointment", "CalendarFolder", "Calendar"),
    ("tasks", "msgfolderroot", "IPF.Task", "TasksFolder", "Tasks"),
    ("contacts", "msgfolderroot", "IPF.Contact", "ContactsFolder", "Contacts"),
    ("recoverableitemsroot", "root", "", "Folder", "Recoverable Items"),
    ("recoverableitemsdeletions", "recoverableitemsroot", "", "Folder", "Deletions"),
)


@dataclass
class UserConfiguration:
    """A named configuration object of a folder (e.g. Outlook's ``CategoryList``)."""

    name: str
    item_id: str
    dictionary: XmlValue | None = None
    xml_data: bytes | None = None
    binary_data: bytes | None = None


@dataclass
class Folder:
    """A mail folder; distinguished folders have their well-known name."""

    id: str
    change_key: str
    folder_type: str
    folder_class: str
    display_name: str
    parent_id: str | None
    distinguished: str | None = None
    configurations: dict[str, UserConfiguration] = field(default_factory=dict)
