"""Console administrators: accounts in ``esx_admin`` with argon2 password hashes.

``esexchange admin create NAME --password-stdin`` makes one; the console signs in with
``sign_in``. Repeated wrong passwords for an account are slowed down: after a few, the
account must wait (doubling each time, at most five minutes) before the next attempt is
even checked; a right password resets the count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from esexchange.domain.errors import EsExchangeError
from esexchange.erp.db import write_connection
from esexchange.erp.schema import esx_admin

FREE_ATTEMPTS = 3
MAX_WAIT = timedelta(minutes=5)
MIN_PASSWORD = 10
_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,100}$")
_hasher = PasswordHasher()


class AdminError(EsExchangeError):
    """An administrator account cannot be made as asked."""


@dataclass(frozen=True)
class SignIn:
    """The answer to a sign-in: ``ok``, or why not and how long to wait."""

    ok: bool
    wait_seconds: int = 0


def create_admin(engine: Engine, name: str, password: str) -> None:
    """Make the account ``name``; a second account of that name is refused."""
    if not _NAME.match(name):
        raise AdminError(f"admin name {name!r}: use letters, digits and . _ @ - only")
    if len(password) < MIN_PASSWORD:
        raise AdminError(f"admin {name}: the password needs at least {MIN_PASSWORD} characters")
    try:
        with write_connection(engine) as db, db.begin():
            db.execute(esx_admin.insert().values(name=name, password_hash=_hasher.hash(password)))
    except IntegrityError:
        raise AdminError(f"admin {name} exists already") from None


def admin_names(engine: Engine) -> list[str]:
    with engine.connect() as db:
        return list(db.scalars(select(esx_admin.c.name).order_by(esx_admin.c.name)))


def wait_after(failures: int) -> timedelta:
    """How long an account waits after ``failures`` wrong passwords in a row."""
    if failures < FREE_ATTEMPTS:
        return timedelta(0)
    return min(timedelta(seconds=2 ** (failures - FREE_ATTEMPTS + 1)), MAX_WAIT)


def sign_in(engine: Engine, name: str, password: str, now: datetime | None = None) -> SignIn:
    """Check ``password`` for ``name``; an unknown name is refused like a wrong password."""
    now = now or datetime.now(UTC)
    with write_connection(engine) as db, db.begin():
        row = db.execute(select(esx_admin).where(esx_admin.c.name == name)).first()
        if row is None:
            _hasher.hash(password)  # the same work as a known name: no timing hint
            return SignIn(False)
        if row.last_failed_at is not None:
            ready = row.last_failed_at + wait_after(row.failed_sign_ins)
            if ready > now:
                return SignIn(False, wait_seconds=int((ready - now).total_seconds()) + 1)
        try:
            _hasher.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            db.execute(esx_admin.update().where(esx_admin.c.name == name).values(
                failed_sign_ins=row.failed_sign_ins + 1, last_failed_at=now))
            return SignIn(False, wait_seconds=int(wait_after(row.failed_sign_ins + 1)
                                                  .total_seconds()))
        if row.failed_sign_ins:
            db.execute(esx_admin.update().where(esx_admin.c.name == name)
                       .values(failed_sign_ins=0, last_failed_at=None))
    return SignIn(True)
