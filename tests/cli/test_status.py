"""`esexchange status` as an administrator reads it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert

from esexchange.erp.db import open_engine
from esexchange.erp.schema import esx_conflict, esx_retry
from tests.cli.conftest import Run
from tests.support.config_db import record_pass


def test_status_shows_each_mailbox_with_its_last_pass(esx: Run, config_sqlite_url: str) -> None:
    assert esx("status").stdout.startswith("No personnel to show")
    esx("connection", "add", "contoso", "--ews-url", "https://mail.contoso.com/EWS",
        "--auth", "user", "--upn", "svc@contoso.com", "--password-stdin", input="pw")
    esx("personnel", "add", "contoso", "anna.berg@example.com", "bernd.lang@example.com")
    engine = open_engine(config_sqlite_url)
    record_pass(engine, 1, datetime(2026, 11, 28, 9, 0, tzinfo=UTC), "ok",
                {"to_exchange": {"created": 12}, "to_erp": {"updated": 3}, "failures": []})
    with engine.begin() as db:
        db.execute(insert(esx_conflict).values(
            connection_id=1, employee_id=1, erp_id=7, field="subject", erp_value="a",
            exchange_value="b", winner="erp", at=datetime(2026, 11, 28, 9, 1, tzinfo=UTC)))
    engine.dispose()
    result = esx("status", "--connection", "contoso")
    assert result.exit_code == 0, result.output
    anna = next(line for line in result.stdout.splitlines() if "anna.berg" in line)
    cells = [cell.strip() for cell in anna.split("│")[1:-1]]
    assert cells[:8] == ["contoso", "anna.berg@example.com", "2026-11-28 09:00", "ok", "12",
                         "3", "0", "1 (last 2026-11-28 09:01)"]
    bernd = next(line for line in result.stdout.splitlines() if "bernd.lang" in line)
    assert "never" in bernd and "not synchronized: has left" in bernd


def test_status_names_the_items_waiting_to_be_retried_and_why(
    esx: Run, config_sqlite_url: str
) -> None:
    esx("connection", "add", "contoso", "--ews-url", "https://mail.contoso.com/EWS",
        "--auth", "user", "--upn", "svc@contoso.com", "--password-stdin", input="pw")
    esx("personnel", "add", "contoso", "anna.berg@example.com")
    engine = open_engine(config_sqlite_url)
    with engine.begin() as db:
        db.execute(insert(esx_retry).values(
            connection_id=1, employee_id=1, kind="appointment", pair_key="erp:117",
            erp_id=117, exchange_id=None, label="ERP activity 117 (Termin 117)", attempts=3,
            last_error="ErrorInvalidPropertyValue: the reminder is out of range",
            next_try_at=datetime(2026, 11, 28, 9, 4, tzinfo=UTC)))
    engine.dispose()
    result = esx("status")
    assert result.exit_code == 0, result.output
    assert "Waiting to be retried:" in result.stdout
    [line] = [line for line in result.stdout.splitlines() if "Termin 117" in line]
    assert "anna.berg@example.com: appointment ERP activity 117 (Termin 117)" in line
    assert "the reminder is out of range (attempt 3, next try 2026-11-28 09:04 UTC)" in line
