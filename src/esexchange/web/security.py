"""Console sessions and CSRF tokens, kept in the database (``esx_console_session``).

A session is a random token in an HttpOnly, SameSite=Strict cookie (Secure when the
console is served over TLS); the database keeps what belongs to it, under the token's
SHA-256 (a copy of the table signs nobody in): the signed-in admin (or none yet) and the
session's CSRF token, which every form carries in a hidden field and every POST must send
back. Kept in the database, a sign-in survives a restart of the service and holds on
every ``esexchange run`` behind one load balancer. Sessions end at sign-out or after a
day; expired ones are removed when a new one starts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, insert, select
from starlette.requests import Request
from starlette.responses import Response

from esexchange.erp.db import write_connection
from esexchange.erp.schema import esx_console_session

COOKIE = "esx_session"
LIFETIME = timedelta(hours=24)


@dataclass
class Session:
    token: str
    csrf: str
    admin: str | None
    expires_at: datetime


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Sessions:
    """The console sessions of one installation, shared by all its service processes.
    Blocking: call from a worker thread."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def of(self, request: Request) -> Session | None:
        token = request.cookies.get(COOKIE, "")
        if not token:
            return None
        s = esx_console_session.c
        with self._engine.connect() as db:
            row = db.execute(select(esx_console_session).where(s.token_hash == _key(token))
                             ).first()
        if row is None or row.expires_at <= datetime.now(UTC):
            return None
        return Session(token, row.csrf, row.admin, row.expires_at)

    def start(self, admin: str | None = None) -> Session:
        now = datetime.now(UTC)
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), admin,
                          now + LIFETIME)
        s = esx_console_session.c
        with write_connection(self._engine) as db, db.begin():
            db.execute(delete(esx_console_session).where(s.expires_at <= now))
            db.execute(insert(esx_console_session).values(
                token_hash=_key(session.token), csrf=session.csrf, admin=admin,
                expires_at=session.expires_at))
        return session

    def end(self, session: Session) -> None:
        with write_connection(self._engine) as db, db.begin():
            db.execute(delete(esx_console_session)
                       .where(esx_console_session.c.token_hash == _key(session.token)))


def set_cookie(response: Response, request: Request, session: Session) -> None:
    response.set_cookie(COOKIE, session.token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/",
                        max_age=int(LIFETIME.total_seconds()))


def csrf_ok(session: Session | None, sent: object) -> bool:
    """Whether a form's CSRF field matches its session's token."""
    return (session is not None and isinstance(sent, str)
            and hmac.compare_digest(session.csrf, sent))
