"""One installation per mailbox: the claim a pass leaves in the mailbox, and when it refuses.

A test system on a copy of the ERP database must not work on the production mailboxes.
A pass reads the mailbox's claim (EWS: the user configuration ``esExchange.Claim`` of
the calendar folder; Graph: a named extended property of the calendar) before it writes
anything on either side, and first of all when its installation's claim there is due for
renewal. A claim of another installation that is still fresh refuses the pass: nothing
is written. Otherwise the pass renews its own claim when due and goes on. A pass with
nothing to write and a claim renewed recently sends no claim request at all.

"Fresh" is decided by the claimer: a claim holds for ``CLAIM_INTERVALS`` times the
interval at which its installation passes over the mailbox. It is renewed once it is
``RENEW_AFTER_INTERVALS`` intervals old (``renewal_due``): at every other pass of an
interval schedule, not at every pass, since an idle pass should cost one request per
synchronized folder and nothing more. So a claim is renewed at least once more before it
lapses even when a pass is missed, and a mailbox whose installation stopped (or was
moved) is free again at most four intervals after its last pass. An administrator takes
a mailbox over at once with ``esexchange personnel claim`` (or the console), which writes
this installation's claim.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

CLAIM_NAME = "esExchange.Claim"
"""The name of the claim object in the mailbox."""

CLAIM_INTERVALS = 4
"""A claim stays fresh for this many of its installation's pass intervals."""

RENEW_AFTER_INTERVALS = 1.5
"""A claim this old (in its installation's intervals) is renewed by the next pass: every
other pass of an interval schedule, leaving at least one more before it lapses."""


@dataclass(frozen=True)
class MailboxClaim:
    """Who works on a mailbox: the installation's id, where it runs, and until when the
    claim holds unless renewed."""

    installation: str
    database: str
    """Where the installation's database lives (for people: which system is it?)."""
    host: str
    """The host that wrote the claim."""
    claimed_at: datetime
    fresh_until: datetime

    def to_fields(self) -> dict[str, str]:
        """The claim as text fields, how both backends store it."""
        return {"installation": self.installation, "database": self.database,
                "host": self.host, "claimed_at": self.claimed_at.isoformat(),
                "fresh_until": self.fresh_until.isoformat()}

    @classmethod
    def from_fields(cls, fields: Mapping[str, object]) -> MailboxClaim | None:
        """The claim stored as ``fields``; ``None`` when they are not a readable claim
        (a damaged object is overwritten by the next pass, never trusted)."""
        try:
            claimed_at = datetime.fromisoformat(str(fields["claimed_at"]))
            fresh_until = datetime.fromisoformat(str(fields["fresh_until"]))
            installation = str(fields["installation"])
        except (KeyError, ValueError):
            return None
        if not installation or claimed_at.tzinfo is None or fresh_until.tzinfo is None:
            return None
        return cls(installation, str(fields.get("database", "")), str(fields.get("host", "")),
                   claimed_at, fresh_until)


def new_claim(installation: str, database: str, host: str, now: datetime,
              interval: timedelta) -> MailboxClaim:
    """The claim a pass at ``now`` leaves, for an installation passing every ``interval``."""
    return MailboxClaim(installation, database, host, now, now + interval * CLAIM_INTERVALS)


def refusing_claim(found: MailboxClaim | None, installation: str,
                   now: datetime) -> MailboxClaim | None:
    """The claim that keeps ``installation`` out of the mailbox at ``now``, if any: one of
    another installation that has not lapsed."""
    if found is None or found.installation == installation or found.fresh_until <= now:
        return None
    return found


def renewal_due(found: MailboxClaim | None, installation: str, now: datetime,
                interval: timedelta) -> bool:
    """Whether a pass of ``installation`` at ``now`` writes its claim, ``found`` being the
    claim in the mailbox that does not refuse it: none, another's that lapsed, or its own
    that is ``RENEW_AFTER_INTERVALS`` old."""
    return (found is None or found.installation != installation
            or now - found.claimed_at >= interval * RENEW_AFTER_INTERVALS)


def refusal(claim: MailboxClaim, mailbox: str, connection: str) -> str:
    """What the status says about a refused mailbox, and how to take it over."""
    where = f"database {claim.database}, " if claim.database else ""
    at = claim.claimed_at.astimezone(UTC)
    return (
        f"mailbox {mailbox}: claimed by installation {claim.installation} ({where}host "
        f"{claim.host or 'unknown'}) at {at:%Y-%m-%d %H:%M} UTC; nothing "
        f"synchronized. If this installation should work on it, take it over with: "
        f"esexchange personnel claim {connection} {mailbox}"
    )
