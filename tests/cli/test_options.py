"""`esexchange options ...`: every key of DESIGN.md §3, typed values, errors that teach."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from esexchange.domain.options import OPTION_KEYS
from tests.cli.conftest import Run


def _row(output: str, key: str) -> str:
    return next(line for line in output.splitlines() if f" {key} " in line)


def test_every_option_is_listed_with_its_default_marked(esx: Run, contoso: str) -> None:
    result = esx("options", "list", contoso)
    assert result.exit_code == 0
    for key in OPTION_KEYS:
        assert "(default)" in _row(result.stdout, key)
    assert "newer_wins" in _row(result.stdout, "conflict_policy")
    assert "by rank, 3 Hoch" in _row(result.stdout, "priority_high")
    assert "lowest type, 1 Besprechung" in _row(result.stdout, "default_activity_type_task")
    assert "now minus 30 days" in _row(result.stdout, "start_sync_at")


def test_a_set_option_is_listed_as_set(esx: Run, contoso: str) -> None:
    assert esx("options", "set", contoso, "appointment_sync", "off").exit_code == 0
    assert esx("options", "set", contoso, "priority_low", "mittel").stdout.startswith(
        "contoso: priority_low = 2 Mittel\n"
    )
    listed = esx("options", "list", contoso).stdout
    assert "off" in _row(listed, "appointment_sync")
    assert "(default)" not in _row(listed, "appointment_sync")
    assert "2 Mittel" in _row(listed, "priority_low")
    assert esx("options", "set", contoso, "appointment_sync", "default").exit_code == 0
    assert "(default)" in _row(esx("options", "list", contoso).stdout, "appointment_sync")


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("appointment_sync", "maybe", "option 'appointment_sync': 'maybe' is not on or off"),
        ("interval_minutes", "five", "option 'interval_minutes': 'five' is not a positive"),
        ("interval_minutes", "-5", "option 'interval_minutes': '-5' is not a positive"),
        ("start_sync_at", "yesterday", "option 'start_sync_at': 'yesterday' is not an ISO time"),
        ("conflict_policy", "latest", "one of newer_wins, erp_wins, exchange_wins"),
        ("priority_high", "Urgent", "no ERP priority has the id or name 'Urgent'; known: 1 Nied"),
        ("colour", "red", "unknown option 'colour'; known options: appointment_sync,"),
    ],
)
def test_a_bad_value_names_the_key_and_what_is_accepted(
    esx: Run, contoso: str, key: str, value: str, expected: str
) -> None:
    result = esx("options", "set", contoso, key, value)
    assert result.exit_code == 2
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_options_of_an_unknown_connection(esx: Run, contoso: str) -> None:
    result = esx("options", "list", "northwind")
    assert result.exit_code == 2
    assert "no connection named 'northwind'; known connections: contoso" in result.stderr


def test_setting_an_option_that_changes_how_items_map_says_they_are_remapped(
    esx: Run, contoso: str
) -> None:
    first = esx("options", "set", contoso, "priority_as_text", "on")
    again = esx("options", "set", contoso, "priority_as_text", "on")
    other = esx("options", "set", contoso, "interval_minutes", "10")

    assert "maps every linked item again" in first.stdout
    assert "maps every linked item again" not in again.stdout  # nothing changed
    assert "maps every linked item again" not in other.stdout


@pytest.mark.parametrize(("days", "why"), [(10, "in the future"), (-45, "more than 30 days back")])
def test_a_start_out_of_bounds_is_listed_as_the_start_in_effect(
    esx: Run, contoso: str, days: int, why: str
) -> None:
    stored = (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)
    assert esx("options", "set", contoso, "start_sync_at", stored.isoformat()).exit_code == 0
    listed = esx("options", "list", contoso, env={"COLUMNS": "200"}).stdout
    row = _row(listed, "start_sync_at")
    assert "now minus 30 days" in row and why in row, row
    in_effect = datetime.now(UTC) - timedelta(days=30)
    assert in_effect.strftime("%Y-%m-%dT%H:") in row, row
    within = (datetime.now(UTC) - timedelta(days=5)).replace(microsecond=0)
    assert esx("options", "set", contoso, "start_sync_at", within.isoformat()).exit_code == 0
    row = _row(esx("options", "list", contoso).stdout, "start_sync_at")
    assert within.isoformat() in row and "clamped" not in row
