"""`esexchange activity-type color` and `esexchange priority map`."""

from __future__ import annotations

import pytest

from tests.cli.conftest import Run


def _row(output: str, start: str) -> str:
    return next(line for line in output.splitlines() if line.strip("│ ").startswith(start))


def test_a_colour_is_set_by_outlook_name_and_listed(esx: Run) -> None:
    result = esx("activity-type", "color", "5", "light", "green")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "Activity type 5 (Task): Green (4)"
    assert esx("activity-type", "color", "7", "dark steel").exit_code == 0
    listing = esx("activity-type", "color").stdout
    assert "ES_5_Task" in _row(listing, "5 ") and "Green (4)" in _row(listing, "5 ")
    assert "Dark Steel (11)" in _row(listing, "7 ")
    assert "None (-1)" in _row(listing, "1 ")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("5", "pink"), "'pink' is not an Outlook colour; use an index from -1 (none) to 24"),
        (("9", "red"), "no activity type has the number 9; known numbers: 1, 5, 7"),
    ],
)
def test_a_bad_colour_or_type_is_refused(esx: Run, args: tuple[str, ...], expected: str) -> None:
    result = esx("activity-type", "color", *args)
    assert result.exit_code == 2
    assert expected in result.stderr


def test_the_priority_map_shows_the_rank_defaults_then_the_choices(
    esx: Run, contoso: str
) -> None:
    shown = esx("priority", "map", contoso)
    assert shown.exit_code == 0
    assert "1 Niedrig" in _row(shown.stdout, "Low") and "by rank" in _row(shown.stdout, "Low")
    assert "3 Hoch" in _row(shown.stdout, "High")
    changed = esx("priority", "map", contoso, "--normal", "Niedrig", "--high", "2")
    assert changed.exit_code == 0, changed.output
    assert "1 Niedrig" in _row(changed.stdout, "Normal")
    assert "by rank" not in _row(changed.stdout, "Normal")
    assert "2 Mittel" in _row(changed.stdout, "High")
    assert "by rank" in _row(changed.stdout, "Low")


def test_an_unknown_priority_is_refused_and_nothing_changes(esx: Run, contoso: str) -> None:
    result = esx("priority", "map", contoso, "--low", "Hoch", "--high", "Dringend")
    assert result.exit_code == 2
    assert "no ERP priority has the id or name 'Dringend'; known: 1 Niedrig, 2 Mittel, 3 Hoch" in (
        result.stderr
    )
    assert "by rank" in _row(esx("priority", "map", contoso).stdout, "Low")
