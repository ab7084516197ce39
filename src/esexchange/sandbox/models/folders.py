"""Folders of a mailbox and the user configurations they hold."""

from __future__ import annotations

from dataclasses import dataclass, field

from esexchange.sandbox.models.values import ExtendedKey, ExtendedValue, XmlValue

# The distinguished folders every sandbox mailbox has: (name, parent, class, folder type,
# display name), as an Exchange 2016 mailbox in English names them. The root is "root"
# and has no class; the Top of Information Store has none either.
DISTINGUISHED_FOLDERS: tuple[tuple[str, str | None, str, str, str], ...] = (
    ("root", None, "", "Folder", "root"),
    ("msgfolderroot", "root", "", "Folder", "Top of Information Store"),
    ("inbox", "msgfolderroot", "IPF.Note", "Folder", "Inbox"),
    ("outbox", "msgfolderroot", "IPF.Note", "Folder", "Outbox"),
    ("drafts", "msgfolderroot", "IPF.Note", "Folder", "Drafts"),
    ("sentitems", "msgfolderroot", "IPF.Note", "Folder", "Sent Items"),
    ("deleteditems", "msgfolderroot", "IPF.Note", "Folder", "Deleted Items"),
    ("junkemail", "msgfolderroot", "IPF.Note", "Folder", "Junk Email"),
    ("calendar", "msgfolderroot", "IPF.Appointment", "CalendarFolder", "Calendar"),
    ("tasks", "msgfolderroot", "IPF.Task", "TasksFolder", "Tasks"),
    ("contacts", "msgfolderroot", "IPF.Contact", "ContactsFolder", "Contacts"),
    ("recipientcache", "contacts", "IPF.Contact.RecipientCache", "ContactsFolder",
     "Recipient Cache"),
    ("quickcontacts", "contacts", "IPF.Contact.MOC.QuickContacts", "ContactsFolder",
     "Quick Contacts"),
    ("imcontactlist", "contacts", "IPF.Contact.MOC.ImContactList", "ContactsFolder",
     "IM Contact List"),
    ("journal", "msgfolderroot", "IPF.Journal", "Folder", "Journal"),
    ("notes", "msgfolderroot", "IPF.StickyNote", "Folder", "Notes"),
    ("conversationhistory", "msgfolderroot", "", "Folder", "Conversation History"),
    ("syncissues", "msgfolderroot", "IPF.Note", "Folder", "Sync Issues"),
    ("conflicts", "syncissues", "", "Folder", "Conflicts"),
    ("localfailures", "syncissues", "", "Folder", "Local Failures"),
    ("serverfailures", "syncissues", "", "Folder", "Server Failures"),
    ("searchfolders", "root", "", "Folder", "Finder"),
    ("recoverableitemsroot", "root", "", "Folder", "Recoverable Items"),
    ("recoverableitemsdeletions", "recoverableitemsroot", "", "Folder", "Deletions"),
    ("recoverableitemsversions", "recoverableitemsroot", "", "Folder", "Versions"),
    ("recoverableitemspurges", "recoverableitemsroot", "", "Folder", "Purges"),
    ("recoverableitemsdiscoveryholds", "recoverableitemsroot", "", "Folder", "DiscoveryHolds"),
)  # fmt: skip

# The class a new folder of each type gets when the request names none (a plain Folder
# has none, as exchangelib's tests against Exchange find).
FOLDER_CLASSES = {"Folder": "", "CalendarFolder": "IPF.Appointment",
                  "ContactsFolder": "IPF.Contact", "TasksFolder": "IPF.Task"}  # fmt: skip


def folder_type_for(folder_type: str, folder_class: str) -> str:
    """The type a folder is returned as: Exchange reads it off the folder's class, so a
    plain ``Folder`` created with ``IPF.Appointment`` (or a class below it, such as
    ``IPF.Appointment.Birthday``) is a ``CalendarFolder``, and likewise for contacts and
    tasks; a typed folder keeps its type."""
    if folder_type != "Folder":
        return folder_type
    for typed, base_class in FOLDER_CLASSES.items():
        if base_class and (folder_class == base_class or folder_class.startswith(base_class + ".")):
            return typed
    return folder_type


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
    created_seq: int = 0  # distinguished folders exist from the start
    changed_seq: int = 0
    extended: dict[ExtendedKey, ExtendedValue] = field(default_factory=dict)
    # Other properties a client set (PermissionSet...), kept as sent, returned when asked.
    properties: dict[str, XmlValue] = field(default_factory=dict)


@dataclass(frozen=True)
class FolderTombstone:
    """What a hierarchy sync needs to know about a deleted folder."""

    folder_id: str
    parent_id: str | None
    created_seq: int
    deleted_seq: int
