"""Which esExchange installation this database is: an identity for the mailbox claims.

A test system on a copy of the ERP database must not work on the production mailboxes.
The identity is a random id kept in ``esx_meta`` together with the fingerprint of the
database it was made for (PostgreSQL: server address, port and database name; SQLite: the
file's path). A copy carries the id but not the fingerprint: the first service or pass on
the copy sees the mismatch and makes the copy an installation of its own.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.exc import IntegrityError

from esexchange.erp.db import write_connection
from esexchange.erp.schema import esx_meta

ID_KEY = "installation_id"
FINGERPRINT_KEY = "installation_fingerprint"


@dataclass(frozen=True)
class Installation:
    """``id`` identifies the installation; ``label`` says where it runs, for people."""

    id: str
    label: str


def installation(engine: Engine) -> Installation:
    """This database's installation, made (or remade, for a copy) on first use."""
    fingerprint = database_fingerprint(engine)
    for _attempt in range(2):
        try:
            with write_connection(engine) as db, db.begin():
                stored = _read(db)
                if stored.get(FINGERPRINT_KEY) == fingerprint and stored.get(ID_KEY):
                    return Installation(stored[ID_KEY], fingerprint)
                new_id = uuid.uuid4().hex
                for key, value in ((ID_KEY, new_id), (FINGERPRINT_KEY, fingerprint)):
                    if key in stored:
                        db.execute(esx_meta.update().where(esx_meta.c.key == key)
                                   .values(value=value))
                    else:
                        db.execute(esx_meta.insert().values(key=key, value=value))
                return Installation(new_id, fingerprint)
        except IntegrityError:  # another process made it at the same moment: read theirs
            continue
    raise RuntimeError("the installation id could not be stored")


def _read(db: Connection) -> dict[str, str]:
    rows = db.execute(select(esx_meta.c.key, esx_meta.c.value)
                      .where(esx_meta.c.key.in_((ID_KEY, FINGERPRINT_KEY))))
    return {row.key: row.value for row in rows}


def database_fingerprint(engine: Engine) -> str:
    """Where this database lives: ``postgresql://ADDRESS:PORT/NAME`` or ``sqlite:PATH``."""
    if engine.dialect.name == "sqlite":
        path = engine.url.database or ""
        return f"sqlite:{socket.gethostname()}:{os.path.realpath(path)}"
    with engine.connect() as db:
        name, address, port = db.execute(
            text("SELECT current_database(), inet_server_addr(), inet_server_port()")
        ).one()
    host = address if address and str(address) not in ("127.0.0.1", "::1") else (
        f"{socket.gethostname()}"
    )
    return f"postgresql://{host}:{port}/{name}"
