"""The installation claims of the mailboxes (``domain.claims``): checked and renewed at the
start of every pass, taken over by an administrator (``esexchange personnel claim``, the
console's Take over button)."""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from esexchange import config
from esexchange.domain.claims import MailboxClaim, new_claim, refusal, refusing_claim
from esexchange.exchange.errors import MailboxError, in_mailbox
from esexchange.exchange.port import Mailbox
from esexchange.service.adapter import open_connection
from esexchange.service.installation import installation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claimant:
    """This installation, as its claims name it, working over ``connection``; a claim of
    it holds for three ``interval``s."""

    installation: str
    database: str
    connection: str
    interval: timedelta

    def claim(self, now: datetime) -> MailboxClaim:
        return new_claim(self.installation, self.database, socket.gethostname(), now,
                         self.interval)


def claimant(engine: Engine, connection: str, interval: timedelta) -> Claimant:
    """This database's installation, passing over the mailboxes of ``connection`` every
    ``interval``."""
    own = installation(engine)
    return Claimant(own.id, own.label, connection, interval)


@dataclass(frozen=True)
class Refused:
    """A pass that must leave the mailbox alone: who claimed it, in words."""

    claim: MailboxClaim
    problem: str


def claim_or_refuse(mailbox: Mailbox, me: Claimant, *, now: datetime,
                    renew: bool = True) -> Refused | None:
    """Read the mailbox's claim: ``Refused`` when another installation holds it; else
    (``renew``) write this installation's claim, fresh from ``now``. Raises the
    adapter's ``MailboxError``."""
    other = refusing_claim(mailbox.read_claim(), me.installation, now)
    if other is not None:
        problem = refusal(other, mailbox.address, me.connection)
        log.warning("%s", problem)
        return Refused(other, problem)
    if renew:
        mailbox.write_claim(me.claim(now))
    return None


@dataclass(frozen=True)
class TakeOver:
    """The result for one mailbox: the claim it had before (if any), or what failed."""

    email: str
    previous: MailboxClaim | None = None
    problem: str = ""


def take_over(engine: Engine, connection: str, emails: list[str]) -> list[TakeOver]:
    """Write this installation's claim into the mailboxes of ``emails`` (synchronized
    over ``connection``), whoever claimed them; the other installation's passes are
    refused from then on. One mailbox that fails costs only itself."""
    conn = config.get_connection(engine, connection)
    listed = {person.email.lower(): person for person, _s in config.personnel(engine, conn.name)}
    me = claimant(engine, conn.name, timedelta(minutes=conn.options.interval_minutes))
    exchange = open_connection(engine, conn)
    results = []
    try:
        for email in emails:
            person = listed.get(email.strip().lower())
            if person is None:
                results.append(TakeOver(email, problem=(
                    f"{email} is not synchronized over connection {conn.name!r}; add the "
                    f"employee with: esexchange personnel add {conn.name} {email}")))
                continue
            try:
                mailbox = exchange.mailbox(person.email)
                previous = mailbox.read_claim()
                mailbox.write_claim(me.claim(datetime.now(UTC)))
            except MailboxError as error:
                results.append(TakeOver(person.email, problem=in_mailbox(person.email, error)))
                continue
            log.info("mailbox %s: taken over by installation %s (was %s)", person.email,
                     me.installation, previous.installation if previous else "unclaimed")
            results.append(TakeOver(person.email, previous))
    finally:
        exchange.close()
    return results
