"""User configurations: named objects of a folder (Outlook's ``CategoryList``...)."""

from __future__ import annotations

from esexchange.sandbox.models.errors import StoreError
from esexchange.sandbox.models.folders import UserConfiguration
from esexchange.sandbox.models.items import Item
from esexchange.sandbox.models.mailbox_state import MailboxState


class ConfigurationsMailbox(MailboxState):
    """Get, create, update and delete the user configurations of a mailbox's folders."""

    # user configurations -----------------------------------------------------------------

    def get_configuration(self, folder_id: str, name: str) -> UserConfiguration:
        """A folder's user configuration by name; ErrorItemNotFound if there is none."""
        found = self.folder(folder_id).configurations.get(name)
        if found is None:
            raise StoreError("ErrorItemNotFound", f"The user configuration {name!r} was not found.")
        return found

    def configuration_items(self, folder_id: str) -> list[Item]:
        """A folder's user configurations as the associated items Exchange keeps them as
        (``IPM.Configuration.<name>``, ``IsAssociated`` true), for a FindItem with
        Traversal Associated; they are read and written with the UserConfiguration
        operations."""
        folder = self.folder(folder_id)
        return [
            Item(config.item_id, "", "Message", folder.id,
                 {"ItemClass": f"IPM.Configuration.{config.name}", "IsAssociated": True},
                 {}, 0, 0)
            for config in folder.configurations.values()
        ]  # fmt: skip

    def create_configuration(self, folder_id: str, config: UserConfiguration) -> None:
        """Add a user configuration; a second one of the same name is refused."""
        folder = self.folder(folder_id)
        if config.name in folder.configurations:
            raise StoreError(
                "ErrorItemSave", f"The user configuration {config.name!r} already exists."
            )
        config.item_id = self._new_id(b"\x03")
        self._new_change_key()
        folder.configurations[config.name] = config

    def update_configuration(self, folder_id: str, config: UserConfiguration) -> None:
        """Replace the parts of a user configuration that the request carries."""
        current = self.get_configuration(folder_id, config.name)
        for part in ("dictionary", "xml_data", "binary_data"):
            if getattr(config, part) is not None:
                setattr(current, part, getattr(config, part))
        self._new_change_key()

    def delete_configuration(self, folder_id: str, name: str) -> None:
        """Remove a user configuration."""
        self.get_configuration(folder_id, name)
        del self.folder(folder_id).configurations[name]
        self._new_change_key()
