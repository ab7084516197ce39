"""Errors of the configuration: each names the item and says what to fix.

    EsExchangeError
    ├── ConfigError                anything wrong with a configuration request
    │   ├── ConnectionNotFound     no connection of that name (lists the known ones)
    │   ├── ConnectionExists       a connection of that name exists already
    │   ├── InvalidConnection      a connection setting that cannot be used
    │   ├── EmployeeNotFound       no ERP employee with that email, or not in the personnel
    │   ├── ReferenceNotFound      no activity type / priority with that number or name
    │   └── InvalidColor           not an Outlook preset colour
    ├── InvalidOption              (domain) an option or setting value that cannot be used
    └── SecretError                (secrets) a stored secret cannot be written or read
        ├── SecretKeyUnusable
        └── SecretUnreadable
"""

from __future__ import annotations

from collections.abc import Iterable

from esexchange.domain.errors import EsExchangeError, InvalidOption
from esexchange.secrets import SecretError, SecretKeyUnusable, SecretUnreadable

__all__ = [
    "ConfigError",
    "ConnectionExists",
    "ConnectionNotFound",
    "EmployeeNotFound",
    "InvalidColor",
    "InvalidConnection",
    "InvalidOption",
    "ReferenceNotFound",
    "SecretError",
    "SecretKeyUnusable",
    "SecretUnreadable",
]


class ConfigError(EsExchangeError):
    """A configuration request that cannot be carried out as given."""


class ConnectionNotFound(ConfigError):
    """No connection has this name."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        names = sorted(known)
        hint = (
            f"known connections: {', '.join(names)}" if names
            else "no connection exists yet; add one with `esexchange connection add`"
        )
        super().__init__(f"no connection named {name!r}; {hint}")
        self.name = name


class ConnectionExists(ConfigError):
    """A connection of this name exists already."""


class InvalidConnection(ConfigError):
    """A connection setting that cannot be used (the message names the setting)."""


class EmployeeNotFound(ConfigError):
    """No ERP employee has this email, or the employee is not in the connection's personnel."""


class ReferenceNotFound(ConfigError):
    """No activity type or priority matches the number or name given."""


class InvalidColor(ConfigError):
    """Not one of Outlook's preset category colours."""
