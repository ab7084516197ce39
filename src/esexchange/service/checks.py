"""``esexchange check connection|assignment``: is everything in place for a first pass?

Each result names what was checked and, when it failed, says in words what to fix. A
check never changes an item; the only thing it may store is the EWS URL that
Autodiscover found (the next pass would look it up and store it anyway).
Employees who left or may not create appointments fail their line: they are on the
list but will not be synchronized, which is what an administrator wants to hear about.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from esexchange import config
from esexchange.config import Auth, Backend
from esexchange.domain.errors import EsExchangeError
from esexchange.domain.model import Employee
from esexchange.exchange.errors import AccessDenied, MailboxError, MailboxNotFound
from esexchange.exchange.port import Exchange
from esexchange.secrets import SecretError
from esexchange.service.adapter import BackendNotAvailable, open_connection

_ENDPOINT_LABEL = {Backend.EWS: "EWS URL", Backend.GRAPH: "Graph endpoint"}


@dataclass(frozen=True)
class CheckResult:
    """One line of a check: ``subject`` (a connection or an employee), ``check``, outcome."""

    subject: str
    check: str
    ok: bool
    detail: str


def check_connection(engine: Engine, name: str) -> list[CheckResult]:
    """The service URL (EWS: Autodiscover when none is stored), TLS, and the sign-in of
    ``name``."""
    conn = config.get_connection(engine, name)
    try:
        exchange = open_connection(engine, conn)
    except EsExchangeError as error:
        return [CheckResult(name, _setup_step(error), False, str(error))]
    results = [CheckResult(name, _ENDPOINT_LABEL[conn.backend], True, exchange.endpoint)]
    who = conn.upn if conn.auth is Auth.USER else f"app {conn.client_id}"
    try:
        exchange.check()
    except AccessDenied as error:  # the adapter's message says what to grant or correct
        results.append(CheckResult(name, "sign-in", False, str(error)))
    except MailboxError as error:
        results.append(CheckResult(name, "server and certificate", False, str(error)))
    else:
        results.append(CheckResult(name, "server, certificate and sign-in", True,
                                   f"the server answered and accepted {who}"))
    finally:
        exchange.close()
    return results


def check_assignment(engine: Engine, name: str) -> list[CheckResult]:
    """Per synchronized employee: employment status, ERP permission, mailbox, impersonation."""
    conn = config.get_connection(engine, name)
    people = config.personnel(engine, name)
    if not people:
        return [CheckResult(name, "personnel", False,
                            f"nobody is synchronized: esexchange personnel add {name} EMAIL...")]
    results: list[CheckResult] = []
    exchange: Exchange | None
    try:
        exchange = open_connection(engine, conn)
    except EsExchangeError as error:
        exchange = None
        results.append(CheckResult(name, _setup_step(error), False, str(error)))
    for person, _settings in people:
        results.extend(_erp_checks(name, person))
        if exchange is not None:
            results.append(_mailbox_check(exchange, person))
    if exchange is not None:
        exchange.close()
    return results


def _setup_step(error: EsExchangeError) -> str:
    """Which step of opening the connection failed, for the check's label."""
    if isinstance(error, SecretError):
        return "stored secret"
    if isinstance(error, BackendNotAvailable):
        return "backend"
    return "EWS URL (Autodiscover)"


def _erp_checks(name: str, person: Employee) -> list[CheckResult]:
    who = _subject(person)
    if person.employment_status == "left":
        status = CheckResult(who, "employment status", False,
                             f"{person.name} has left: not synchronized; remove with "
                             f"esexchange personnel remove {name} {who}")
    else:
        status = CheckResult(who, "employment status", True, person.employment_status)
    if person.may_create_appointments:
        permission = CheckResult(who, "ERP permission", True, "may create appointments")
    else:
        permission = CheckResult(
            who, "ERP permission", False,
            f"{person.name} may not create appointments in the ERP: not synchronized until "
            "employee.may_create_appointments is set",
        )
    return [status, permission]


def _subject(person: Employee) -> str:
    return person.email or f"employee {person.number}"


def _mailbox_check(exchange: Exchange, person: Employee) -> CheckResult:
    who = person.email
    if not who.strip():
        return CheckResult(_subject(person), "email", False, config.missing_email(person))
    try:
        exchange.mailbox(who).check()
    except MailboxNotFound:
        return CheckResult(who, "mailbox", False,
                           f"Exchange has no mailbox {who}: correct the employee's email "
                           "in the ERP (it must be the mailbox's primary SMTP address)")
    except AccessDenied as error:
        return CheckResult(who, "impersonation", False, str(error))
    except MailboxError as error:
        return CheckResult(who, "mailbox", False, str(error))
    return CheckResult(who, "mailbox and impersonation", True, "found, impersonation allowed")
