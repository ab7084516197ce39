"""The admin console: server-rendered pages over the functions the CLI calls.

Every page reads through ``config``, ``status``, ``audit``, ``service.checks``,
``service.token``, ``service.workers`` and ``service.runner`` exactly as the commands
do; a view only parses its form, calls one of them, and renders the answer (a user error
is shown as the CLI's one line, on the page). Every POST needs the session's CSRF token;
every page but the sign-in needs a signed-in administrator.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from esexchange import audit, config, status
from esexchange.config import PRESET_NAMES, Auth, Backend, ConnectionChange, ConnectionConfig
from esexchange.config.labels import option_labels, show_value
from esexchange.domain.errors import EsExchangeError
from esexchange.domain.mapping.categories import category_name
from esexchange.domain.model import Employee
from esexchange.domain.options import OPTION_KEYS, effective_start
from esexchange.domain.schedule import next_pass_at
from esexchange.erp.store import SqlErpStore
from esexchange.service import workers
from esexchange.service.admins import sign_in
from esexchange.service.checks import check_assignment, check_connection
from esexchange.service.claims import take_over
from esexchange.service.conflicts import apply_other_side
from esexchange.service.runner import sync_connection
from esexchange.service.token import request_token
from esexchange.web.help import OPTION_HELP, SETTING_KEYS, SETTING_LABELS
from esexchange.web.i18n import COOKIE as LANG_COOKIE
from esexchange.web.i18n import LANGUAGES, language, translator
from esexchange.web.security import Session, Sessions, csrf_ok, set_cookie

Handler = Callable[[Request], Awaitable[Response]]

_templates = Environment(loader=PackageLoader("esexchange.web", "templates"),
                         autoescape=select_autoescape(), trim_blocks=True, lstrip_blocks=True)


class Console:
    """The console's routes for one database."""

    def __init__(self, engine: Engine, *, interval: timedelta | None = None,
                 graph_notifications: Callable[[], dict[str, str]] = dict) -> None:
        self.engine = engine
        self.interval = interval
        self.graph_notifications = graph_notifications  # this worker's, per mailbox
        self.sessions = Sessions(engine)

    def routes(self) -> list[BaseRoute]:
        page, post = self._page, self._post
        return [
            Route("/", self.home),
            Route("/signin", self.signin_form, methods=["GET"]),
            Route("/signin", self.signin, methods=["POST"]),
            Route("/signout", post(self.signout), methods=["POST"]),
            Route("/lang/{code}", self.switch_language),
            Route("/status", page(self.status)),
            Route("/status/approve", post(self.approve), methods=["POST"]),
            Route("/status/reject", post(self.reject), methods=["POST"]),
            Route("/status/claim", post(self.claim), methods=["POST"]),
            Route("/status/conflicts/{conflict:int}/apply", post(self.apply_other),
                  methods=["POST"]),
            Route("/connections", page(self.connections)),
            Route("/connections/new", page(self.connection_form), methods=["GET"]),
            Route("/connections/new", post(self.save_connection), methods=["POST"]),
            Route("/connections/{name}/edit", page(self.connection_form), methods=["GET"]),
            Route("/connections/{name}/edit", post(self.save_connection), methods=["POST"]),
            Route("/connections/{name}/check", post(self.check_connection), methods=["POST"]),
            Route("/connections/{name}/token", post(self.token), methods=["POST"]),
            Route("/connections/{name}/options", page(self.options), methods=["GET"]),
            Route("/connections/{name}/options", post(self.save_options), methods=["POST"]),
            Route("/connections/{name}/personnel", page(self.personnel), methods=["GET"]),
            Route("/connections/{name}/personnel/move", post(self.move), methods=["POST"]),
            Route("/connections/{name}/personnel/settings", post(self.settings),
                  methods=["POST"]),
            Route("/connections/{name}/personnel/check", post(self.check_assignment),
                  methods=["POST"]),
            Route("/activity-types", page(self.activity_types), methods=["GET"]),
            Route("/activity-types", post(self.save_color), methods=["POST"]),
            Route("/audit", page(self.audit)),
            Route("/workers", page(self.workers)),
            Mount("/static", StaticFiles(packages=[("esexchange.web", "static")]),
                  name="static"),
        ]

    # --- plumbing -----------------------------------------------------------------------

    def _page(self, view: Callable[[Request, Session], Response]) -> Handler:
        """A page for signed-in admins; ``view`` runs in a thread (it reads the database)."""

        async def handle(request: Request) -> Response:
            session = await run_in_threadpool(self.sessions.of, request)
            if session is None or session.admin is None:
                return RedirectResponse(f"/signin?next={quote(request.url.path)}", 303)
            return await run_in_threadpool(view, request, session)

        return handle

    def _post(self, view: Callable[[Request, Session, FormData], Response]) -> Handler:
        """A form's target: signed-in admin and the session's CSRF token, or refused."""

        async def handle(request: Request) -> Response:
            session = await run_in_threadpool(self.sessions.of, request)
            form = await request.form()
            if not csrf_ok(session, form.get("csrf")):
                t = translator(language(request))
                return HTMLResponse(t("The form is missing its security token or it has "
                                      "expired; reload the page."), status_code=403)
            assert session is not None
            if session.admin is None:
                return RedirectResponse("/signin", 303)
            return await run_in_threadpool(view, request, session, form)

        return handle

    def render(self, request: Request, session: Session | None, template: str,
               status_code: int = 200, **values: Any) -> HTMLResponse:
        lang = language(request)
        html = _templates.get_template(template).render(
            t=translator(lang), lang=lang, languages=LANGUAGES, session=session,
            path=request.url.path, query=request.url.query, admin=session and session.admin,
            connections=[c.name for c in config.list_connections(self.engine)]
            if session and session.admin else [],
            iso=_iso, **values)
        return HTMLResponse(html, status_code=status_code)

    # --- sign-in, language --------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        return RedirectResponse("/status", 303)

    async def signin_form(self, request: Request, error: str = "",
                          status_code: int = 200) -> Response:
        session = await run_in_threadpool(self.sessions.of, request)
        if session is None:
            session = await run_in_threadpool(self.sessions.start)
        response = self.render(request, session, "signin.html", status_code, error=error,
                               next=_local(request.query_params.get("next", "/status")))
        set_cookie(response, request, session)
        return response

    async def signin(self, request: Request) -> Response:
        session = await run_in_threadpool(self.sessions.of, request)
        form = await request.form()
        t = translator(language(request))
        if not csrf_ok(session, form.get("csrf")):
            return HTMLResponse(t("The form is missing its security token or it has "
                                  "expired; reload the page."), status_code=403)
        name, password = str(form.get("name", "")), str(form.get("password", ""))
        answer = await run_in_threadpool(sign_in, self.engine, name, password)
        if not answer.ok:
            await asyncio.sleep(1)  # every wrong guess costs the guesser a second
            error = (t("Too many wrong passwords: wait {n} seconds, then try again.",
                       n=answer.wait_seconds) if answer.wait_seconds
                     else t("Wrong name or password."))
            return await self.signin_form(request, error, status_code=401)
        assert session is not None
        # A new token once signed in (no session fixation).
        await run_in_threadpool(self.sessions.end, session)
        signed_in = await run_in_threadpool(self.sessions.start, name)
        response = RedirectResponse(_local(str(form.get("next", "/status"))), 303)
        set_cookie(response, request, signed_in)
        return response

    def signout(self, request: Request, session: Session, form: FormData) -> Response:
        self.sessions.end(session)
        response = RedirectResponse("/signin", 303)
        response.delete_cookie("esx_session", path="/")
        return response

    async def switch_language(self, request: Request) -> Response:
        code = request.path_params["code"]
        response = RedirectResponse(_local(request.query_params.get("next", "/status")), 303)
        if code in LANGUAGES:
            response.set_cookie(LANG_COOKIE, code, samesite="strict", path="/",
                                max_age=365 * 24 * 3600)
        return response

    # --- status -------------------------------------------------------------------------

    def status(self, request: Request, session: Session, message: str = "",
               error: str = "") -> Response:
        now = datetime.now(UTC)
        groups = []
        for conn in config.list_connections(self.engine):
            assert conn.id is not None
            interval = self.interval or timedelta(minutes=conn.options.interval_minutes)
            history = status.pass_history(self.engine, conn.id)
            rows = []
            for mailbox in status.mailbox_status(self.engine, conn.name):
                last, failures = history.get(mailbox.employee.id, (None, 0))
                rows.append((mailbox, next_pass_at(last, failures, interval), failures))
            groups.append((conn, rows, status.conflicts(self.engine, conn.name, 50)))
        return self.render(request, session, "status.html", groups=groups, now=now,
                           message=message, error=error)

    def approve(self, request: Request, session: Session, form: FormData) -> Response:
        """``esexchange sync --approve-deletions --employee EMAIL``."""
        return self._held_pass(request, session, form, approve=True)

    def reject(self, request: Request, session: Session, form: FormData) -> Response:
        """``esexchange sync --reject-deletions --employee EMAIL``."""
        return self._held_pass(request, session, form, approve=False)

    def _held_pass(self, request: Request, session: Session, form: FormData, *,
                   approve: bool) -> Response:
        name, email = str(form.get("connection", "")), str(form.get("email", ""))
        deadline = time.monotonic() + 30
        try:
            # While the service's own pass holds the mailbox, wait for it to end.
            while True:
                outcomes = sync_connection(self.engine, name, employee=email,
                                           approve_deletions=approve,
                                           reject_deletions=not approve)
                if not any(o.busy for o in outcomes) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
        except EsExchangeError as failure:
            return self.status(request, session, error=str(failure))
        problems = "; ".join(o.problem for o in outcomes if o.problem)
        done = ("deletions approved and carried out." if approve else
                "deletions rejected: the remaining copies are kept and no longer synchronized.")
        return self.status(request, session, error=problems,
                           message="" if problems else f"{email}: {done}")

    def apply_other(self, request: Request, session: Session, form: FormData) -> Response:
        """``esexchange conflicts apply-other ID``, in the admin's name."""
        try:
            applied = apply_other_side(self.engine, int(request.path_params["conflict"]),
                                       by=session.admin or "console")
        except EsExchangeError as failure:
            return self.status(request, session, error=str(failure))
        side = "Exchange" if applied.side == "exchange" else "ERP"
        return self.status(request, session, message=(
            f"Conflict {applied.conflict_id}: the {side} value {applied.value!r} of "
            f"{applied.field} is applied; the next pass writes it to Exchange."))

    def claim(self, request: Request, session: Session, form: FormData) -> Response:
        """``esexchange personnel claim CONNECTION EMAIL``: this installation's claim."""
        name, email = str(form.get("connection", "")), str(form.get("email", ""))
        try:
            [result] = take_over(self.engine, name, [email])
        except EsExchangeError as failure:
            return self.status(request, session, error=str(failure))
        if result.problem:
            return self.status(request, session, error=result.problem)
        return self.status(request, session, message=f"{email}: claimed for this installation; "
                                                     "its next pass synchronizes it.")

    # --- connections --------------------------------------------------------------------

    def connections(self, request: Request, session: Session) -> Response:
        return self.render(request, session, "connections.html",
                           items=config.list_connections(self.engine))

    def connection_form(self, request: Request, session: Session, error: str = "",
                        values: dict[str, str] | None = None,
                        status_code: int = 200) -> Response:
        name = request.path_params.get("name")
        current = config.get_connection(self.engine, name) if name else None
        if values is None:
            values = _connection_values(current) if current else {
                "backend": "ews", "auth": "user", "server": "autodiscover"}
        return self.render(request, session, "connection_form.html", current=current,
                           values=values, error=error, status_code=status_code)

    def save_connection(self, request: Request, session: Session, form: FormData) -> Response:
        name = request.path_params.get("name")
        values = {key: str(value).strip() for key, value in form.items()
                  if key not in ("csrf", "secret")}
        secret = str(form.get("secret", ""))
        try:
            if name is None:
                config.add_connection(self.engine, _new_connection(values), secret)
                name = values.get("name", "")
            else:
                config.update_connection(self.engine, name, _change(values),
                                         secret=secret or None)
        except EsExchangeError as failure:
            return self.connection_form(request, session, str(failure), values, 400)
        return RedirectResponse(f"/connections?saved={quote(name)}", 303)

    def check_connection(self, request: Request, session: Session, form: FormData) -> Response:
        results = check_connection(self.engine, request.path_params["name"])
        return self.render(request, session, "_results.html", results=results)

    def token(self, request: Request, session: Session, form: FormData) -> Response:
        try:
            info = request_token(self.engine, request.path_params["name"])
        except EsExchangeError as failure:
            return self.render(request, session, "_token.html", error=str(failure))
        return self.render(request, session, "_token.html", info=info)

    # --- options ------------------------------------------------------------------------

    def options(self, request: Request, session: Session, error: str = "",
                message: str = "", status_code: int = 200) -> Response:
        name = request.path_params["name"]
        settings = config.option_settings(self.engine, name)
        labels = option_labels(self.engine, name)
        stored = config.options(self.engine, name).start_sync_at
        rows = [(s, show_value(s.value), labels.get(s.key, ""), OPTION_HELP[s.key])
                for s in settings]
        return self.render(request, session, "options.html", name=name, rows=rows,
                           effective_start=effective_start(stored, datetime.now(UTC)),
                           error=error, message=message, status_code=status_code)

    def save_options(self, request: Request, session: Session, form: FormData) -> Response:
        name = request.path_params["name"]
        current = {s.key: show_value(s.value) for s in config.option_settings(self.engine, name)}
        wanted = {key: str(form.get(key, "")).strip() for key in OPTION_KEYS if key in form}
        for key in OPTION_KEYS:  # an unticked switch is not sent at all
            if isinstance(getattr(config.options(self.engine, name), key), bool):
                wanted[key] = "on" if form.get(key) == "on" else "off"
        changed = {k: (v or "default") for k, v in wanted.items() if v != current.get(k)}
        try:
            if changed:
                config.set_options(self.engine, name, changed)
        except EsExchangeError as failure:
            return self.options(request, session, error=str(failure), status_code=400)
        return self.options(request, session, message="Saved.")

    # --- personnel ----------------------------------------------------------------------

    def personnel(self, request: Request, session: Session, error: str = "") -> Response:
        name = request.path_params["name"]
        listed = config.personnel(self.engine, name)
        listed_ids = {person.id for person, _ in listed}
        others = [e for e in status_employees(self.engine) if e.id not in listed_ids]
        return self.render(request, session, "personnel.html", name=name, listed=listed,
                           others=others, setting_keys=SETTING_KEYS,
                           setting_labels=SETTING_LABELS, error=error)

    def move(self, request: Request, session: Session, form: FormData) -> Response:
        name = request.path_params["name"]
        action = str(form.get("move", ""))
        try:
            if action == "add":
                config.add_personnel(self.engine, name, [str(v) for v in form.getlist("add")])
            elif action == "add_all":
                listed = {p.id for p, _ in config.personnel(self.engine, name)}
                emails = [e.email for e in status_employees(self.engine)
                          if e.id not in listed]
                if emails:
                    config.add_personnel(self.engine, name, emails)
            elif action == "remove":
                config.remove_personnel(self.engine, name,
                                        [str(v) for v in form.getlist("remove")])
            elif action == "remove_all":
                emails = [p.email for p, _ in config.personnel(self.engine, name)]
                if emails:
                    config.remove_personnel(self.engine, name, emails)
        except EsExchangeError as failure:
            return self.personnel(request, session, str(failure))
        return RedirectResponse(f"/connections/{quote(name)}/personnel", 303)

    def settings(self, request: Request, session: Session, form: FormData) -> Response:
        name = request.path_params["name"]
        try:
            for person, current in config.personnel(self.engine, name):
                for key in SETTING_KEYS:
                    wanted = form.get(f"{person.id}:{key}") == "on"
                    if getattr(current, key) != wanted:
                        config.set_personnel_setting(self.engine, name, person.email, key,
                                                     wanted)
        except EsExchangeError as failure:
            return self.personnel(request, session, str(failure))
        return RedirectResponse(f"/connections/{quote(name)}/personnel", 303)

    def check_assignment(self, request: Request, session: Session, form: FormData) -> Response:
        results = check_assignment(self.engine, request.path_params["name"])
        return self.render(request, session, "_results.html", results=results)

    # --- activity types -----------------------------------------------------------------

    def activity_types(self, request: Request, session: Session, error: str = "") -> Response:
        types = [(t, category_name(t)) for t in config.activity_types(self.engine)]
        return self.render(request, session, "activity_types.html", types=types,
                           presets=list(enumerate(PRESET_NAMES)), error=error)

    def save_color(self, request: Request, session: Session, form: FormData) -> Response:
        try:
            config.set_activity_type_color(self.engine, int(str(form.get("no", "0"))),
                                           int(str(form.get("color", "-1"))))
        except (EsExchangeError, ValueError) as failure:
            return self.activity_types(request, session, str(failure))
        return RedirectResponse("/activity-types", 303)

    # --- audit, workers -----------------------------------------------------------------

    def audit(self, request: Request, session: Session) -> Response:
        q = request.query_params
        day = None
        with contextlib.suppress(ValueError):
            day = date.fromisoformat(q["day"]) if q.get("day") else None
        page = audit.audit_log(self.engine, employee_text=q.get("employee", ""),
                               item=q.get("item", ""), day=day,
                               page=int(q.get("page", "1") or 1) if q.get("page", "1")
                               .isdigit() else 1)
        return self.render(request, session, "audit.html", page=page, filters=dict(q))

    def workers(self, request: Request, session: Session) -> Response:
        return self.render(request, session, "workers.html", items=workers.workers(self.engine),
                           notifications=sorted(self.graph_notifications().items()))


def status_employees(engine: Engine) -> list[Employee]:
    """Every ERP employee, by name (for the "not synchronized" list)."""
    return sorted(SqlErpStore(engine).employees(), key=lambda e: (e.name.lower(), e.email))


def _iso(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat() if value else ""


def _local(target: str) -> str:
    """Only a path of this console (never another site) is followed after a redirect."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/"):
        return "/status"
    return target


def _connection_values(conn: ConnectionConfig) -> dict[str, str]:
    return {
        "name": conn.name, "backend": conn.backend.value, "auth": conn.auth.value,
        "server": "autodiscover" if conn.autodiscover_email else "url",
        "ews_url": conn.ews_url or "", "autodiscover_email": conn.autodiscover_email or "",
        "upn": conn.upn or "", "tenant_id": conn.tenant_id or "",
        "client_id": conn.client_id or "", "token_url": conn.token_url or "",
        "graph_url": conn.graph_url or "",
    }


def _new_connection(values: dict[str, str]) -> ConnectionConfig:
    auth = Auth(values.get("auth", "user"))
    by_url = values.get("server") == "url"
    return ConnectionConfig(
        name=values.get("name", ""), backend=Backend(values.get("backend", "ews")), auth=auth,
        ews_url=(values.get("ews_url") or None) if by_url else None,
        autodiscover_email=None if by_url else (values.get("autodiscover_email") or None),
        upn=(values.get("upn") or None) if auth is Auth.USER else None,
        tenant_id=(values.get("tenant_id") or None) if auth is Auth.APP else None,
        client_id=(values.get("client_id") or None) if auth is Auth.APP else None,
        token_url=(values.get("token_url") or None) if auth is Auth.APP else None,
        graph_url=(values.get("graph_url") or None) if auth is Auth.APP else None,
    )


def _change(values: dict[str, str]) -> ConnectionChange:
    wanted = _new_connection(values)
    return ConnectionChange(
        ews_url=wanted.ews_url, autodiscover_email=wanted.autodiscover_email,
        auth=wanted.auth, upn=wanted.upn, tenant_id=wanted.tenant_id,
        client_id=wanted.client_id, token_url=wanted.token_url, graph_url=wanted.graph_url,
    )
