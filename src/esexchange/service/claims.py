"""The installation claims of the mailboxes (``domain.claims``): checked before a pass's
first write and renewed when due (``ClaimCheck``), taken over by an administrator
(``esexchange personnel claim``, the console's Take over button).

What this process last saw of its own claim in each mailbox (``_OWN_CLAIMS``: when it
was made) spares an idle pass both claim requests: the check waits for the pass's first
write, and a pass without one sends none, until the claim is due for renewal. A
take-over by another installation is seen by the next pass that writes; a pass that
writes nothing cannot synchronize anything behind the other installation's back.
"""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from esexchange import config
from esexchange.domain.claims import (
    RENEW_AFTER_INTERVALS,
    MailboxClaim,
    new_claim,
    refusal,
    refusing_claim,
    renewal_due,
)
from esexchange.domain.errors import EsExchangeError
from esexchange.exchange.errors import MailboxError, in_mailbox
from esexchange.exchange.port import Mailbox
from esexchange.service.adapter import open_connection
from esexchange.service.installation import installation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claimant:
    """This installation, as its claims name it, working over ``connection``; a claim of
    it holds for ``domain.claims.CLAIM_INTERVALS`` of its ``interval``s."""

    installation: str
    database: str
    connection: str
    interval: timedelta

    def claim(self, now: datetime) -> MailboxClaim:
        return new_claim(self.installation, self.database, socket.gethostname(), now,
                         self.interval)

    def key(self, mailbox: str) -> tuple[str, str, str]:
        """Where this process remembers its own claim in ``mailbox``."""
        return self.installation, self.connection, mailbox.lower()


_OWN_CLAIMS: dict[tuple[str, str, str], datetime] = {}
"""(installation, connection, mailbox in lower case) -> when the installation's claim
this process last wrote or read there was made."""
_OWN_CLAIMS_LOCK = threading.Lock()


def _remember(me: Claimant, mailbox: str, claimed_at: datetime | None) -> None:
    with _OWN_CLAIMS_LOCK:
        if claimed_at is None:
            _OWN_CLAIMS.pop(me.key(mailbox), None)
        else:
            _OWN_CLAIMS[me.key(mailbox)] = claimed_at


def _known(me: Claimant, mailbox: str) -> datetime | None:
    with _OWN_CLAIMS_LOCK:
        return _OWN_CLAIMS.get(me.key(mailbox))


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


class ClaimRefused(EsExchangeError):
    """Another installation holds the mailbox: the pass ends before its first write."""

    def __init__(self, refused: Refused) -> None:
        super().__init__(refused.problem)
        self.refused = refused


def claim_or_refuse(mailbox: Mailbox, me: Claimant, *, now: datetime,
                    renew: bool = True) -> Refused | None:
    """Read the mailbox's claim: ``Refused`` when another installation holds it; else
    (``renew``) write this installation's claim, fresh from ``now``, when there is none
    of it or it is due for renewal (``domain.claims.renewal_due``). Raises the adapter's
    ``MailboxError``."""
    found = mailbox.read_claim()
    other = refusing_claim(found, me.installation, now)
    if other is not None:
        _remember(me, mailbox.address, None)
        problem = refusal(other, mailbox.address, me.connection)
        log.warning("%s", problem)
        return Refused(other, problem)
    if renew and renewal_due(found, me.installation, now, me.interval):
        mailbox.write_claim(me.claim(now))
        _remember(me, mailbox.address, now)
    elif found is not None and found.installation == me.installation:
        _remember(me, mailbox.address, found.claimed_at)
    return None


class ClaimCheck:
    """The claim check of one pass over one mailbox, made at most once per pass.

    ``due_now`` says whether it must come first (this process does not know its claim
    there, or it is due for renewal); otherwise the engine calls ``ensure`` just before
    the pass's first write (``engine.run_pass``'s ``before_writes``).
    """

    def __init__(self, mailbox: Mailbox, me: Claimant, *, renew: bool) -> None:
        self._mailbox = mailbox
        self._me = me
        self._renew = renew
        self._done = False

    def due_now(self, now: datetime) -> bool:
        known = _known(self._me, self._mailbox.address)
        return known is None or now - known >= self._me.interval * RENEW_AFTER_INTERVALS

    def ensure(self) -> None:
        """Check (and renew when due) the claim unless done in this pass; raises
        ``ClaimRefused`` when another installation holds the mailbox, and the adapter's
        ``MailboxError``."""
        if self._done:
            return
        refused = claim_or_refuse(self._mailbox, self._me, now=datetime.now(UTC),
                                  renew=self._renew)
        self._done = True
        if refused is not None:
            raise ClaimRefused(refused)


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
                now = datetime.now(UTC)
                mailbox.write_claim(me.claim(now))
                _remember(me, mailbox.address, now)
            except MailboxError as error:
                results.append(TakeOver(person.email, problem=in_mailbox(person.email, error)))
                continue
            log.info("mailbox %s: taken over by installation %s (was %s)", person.email,
                     me.installation, previous.installation if previous else "unclaimed")
            results.append(TakeOver(person.email, previous))
    finally:
        exchange.close()
    return results


def forget_claims() -> None:
    """Forget what this process saw of its claims (a test's sandbox that was reset lost
    them); the next pass over each mailbox checks its claim first."""
    with _OWN_CLAIMS_LOCK:
        _OWN_CLAIMS.clear()
