"""Errors of the ERP layer: problems with the database a user can act on.

    EsExchangeError (domain/errors.py)
    └── ErpError                  anything about the ERP database
        ├── DatabaseNotConfigured neither --db nor ESEXCHANGE_DB names a database
        ├── DatabaseUnreachable   the database cannot be opened or reached
        ├── ScriptNotInstalled    the esx_* tables are missing or older than this release
        ├── ScriptTooNew          the database was installed by a newer esExchange
        ├── ErpNotEmpty           sample data refused: the ERP already holds data
        ├── ActivityNotFound      an activity the sync meant to write is gone
        └── PairWriteFailed       the database refused one pair's writes (rolled back)
"""

from __future__ import annotations

from esexchange.domain.errors import EsExchangeError


class ErpError(EsExchangeError):
    """A problem with the ERP database; the message says what to fix."""


class DatabaseNotConfigured(ErpError):
    """Neither ``--db`` nor ``ESEXCHANGE_DB`` names a database."""


class DatabaseUnreachable(ErpError):
    """The database cannot be opened or reached."""


class ScriptNotInstalled(ErpError):
    """The database script is missing or older than this release: run ``esexchange db install``."""


class ScriptTooNew(ErpError):
    """The database was installed by a newer esExchange than this one."""


class ErpNotEmpty(ErpError):
    """Sample data is only written into an empty ERP unless forced."""


class PairWriteFailed(ErpError):
    """The database refused a write inside a savepoint; that savepoint was rolled back
    and the rest of the unit of work goes on."""


class ActivityNotFound(ErpError):
    """An activity the sync meant to change no longer exists."""

    def __init__(self, erp_id: int):
        super().__init__(f"activity {erp_id} no longer exists in the ERP")
        self.erp_id = erp_id
