"""Console sessions and CSRF tokens, kept in this process's memory.

A session is a random token in an HttpOnly, SameSite=Strict cookie (Secure when the
console is served over TLS); the server keeps what belongs to it: the signed-in admin (or
none yet) and the session's CSRF token, which every form carries in a hidden field and
every POST must send back. Sessions end at sign-out or after a day; a restart of the
service signs everyone out.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

COOKIE = "esx_session"
LIFETIME = timedelta(hours=24)


@dataclass
class Session:
    token: str
    csrf: str
    admin: str | None
    expires_at: datetime


class Sessions:
    """Every session of this console process."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def of(self, request: Request) -> Session | None:
        token = request.cookies.get(COOKIE, "")
        with self._lock:
            session = self._sessions.get(token)
            if session is not None and session.expires_at <= datetime.now(UTC):
                del self._sessions[token]
                return None
            return session

    def start(self, admin: str | None = None) -> Session:
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), admin,
                          datetime.now(UTC) + LIFETIME)
        with self._lock:
            self._sessions[session.token] = session
        return session

    def end(self, session: Session) -> None:
        with self._lock:
            self._sessions.pop(session.token, None)


def set_cookie(response: Response, request: Request, session: Session) -> None:
    response.set_cookie(COOKIE, session.token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/",
                        max_age=int(LIFETIME.total_seconds()))


def csrf_ok(session: Session | None, sent: object) -> bool:
    """Whether a form's CSRF field matches its session's token."""
    return (session is not None and isinstance(sent, str)
            and hmac.compare_digest(session.csrf, sent))
