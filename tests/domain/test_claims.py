"""The installation claim of a mailbox: whose claim refuses a pass, and for how long."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from esexchange.domain.claims import (
    MailboxClaim,
    new_claim,
    refusal,
    refusing_claim,
    renewal_due,
)

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
FIVE = timedelta(minutes=5)


def test_a_claim_holds_for_four_intervals_of_its_installation() -> None:
    claim = new_claim("prod", "postgresql://db:5432/erp", "erp1", NOW, FIVE)
    assert claim.fresh_until == NOW + timedelta(minutes=20)
    assert refusing_claim(claim, "test", NOW + timedelta(minutes=19)) == claim
    assert refusing_claim(claim, "test", NOW + timedelta(minutes=20)) is None  # lapsed


def test_the_own_claim_and_no_claim_refuse_nothing() -> None:
    claim = new_claim("prod", "", "erp1", NOW, FIVE)
    assert refusing_claim(claim, "prod", NOW) is None
    assert refusing_claim(None, "prod", NOW) is None


def test_a_claim_survives_its_text_form() -> None:
    claim = new_claim("prod", "sqlite:h:/x.sqlite", "erp1", NOW, FIVE)
    assert MailboxClaim.from_fields(claim.to_fields()) == claim


@pytest.mark.parametrize("fields", [
    {}, {"installation": "x", "claimed_at": "yesterday", "fresh_until": NOW.isoformat()},
    {"installation": "", "claimed_at": NOW.isoformat(), "fresh_until": NOW.isoformat()},
    {"installation": "x", "claimed_at": "2026-12-02T09:00", "fresh_until": "2026-12-02T10:00"},
])
def test_a_damaged_claim_is_no_claim(fields: dict[str, str]) -> None:
    assert MailboxClaim.from_fields(fields) is None


def test_the_refusal_names_installation_host_time_and_the_way_out() -> None:
    claim = new_claim("4f2a", "postgresql://db:5432/erp", "erp1", NOW, FIVE)
    text = refusal(claim, "anna@example.test", "prod")
    assert text == (
        "mailbox anna@example.test: claimed by installation 4f2a (database "
        "postgresql://db:5432/erp, host erp1) at 2026-12-02 09:00 UTC; nothing synchronized. "
        "If this installation should work on it, take it over with: "
        "esexchange personnel claim prod anna@example.test"
    )


def test_a_claim_is_renewed_at_every_other_pass_of_an_interval_schedule() -> None:
    claim = new_claim("prod", "", "erp1", NOW, FIVE)
    assert not renewal_due(claim, "prod", NOW + FIVE, FIVE)  # the next pass leaves it
    assert renewal_due(claim, "prod", NOW + 2 * FIVE, FIVE)  # the one after renews it
    assert refusing_claim(claim, "test", NOW + 3 * FIVE) == claim  # one pass may be missed
    assert renewal_due(None, "prod", NOW, FIVE)
    lapsed_other = new_claim("test", "", "erp2", NOW - 5 * FIVE, FIVE)
    assert renewal_due(lapsed_other, "prod", NOW, FIVE)
