"""`esexchange personnel ...`: who is synchronized, with which settings."""

from __future__ import annotations

from esexchange.domain.options import EMPLOYEE_SETTING_KEYS
from tests.cli.conftest import Run


def _settings_of(listing: str, email: str) -> dict[str, str]:
    lines = listing.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(email))
    block = lines[start + 1 : start + 1 + len(EMPLOYEE_SETTING_KEYS)]
    return dict(line.split() for line in block)  # type: ignore[misc]


def test_personnel_are_added_with_every_setting_on(esx: Run, contoso: str) -> None:
    added = esx("personnel", "add", contoso, "Anna.Berg@EXAMPLE.com", "dora.exner@example.com")
    assert added.exit_code == 0, added.output
    assert "Added anna.berg@example.com (Anna Berg)." in added.stdout
    listing = esx("personnel", "list", contoso).stdout
    assert "anna.berg@example.com (Anna Berg) #1001, active" in listing
    assert _settings_of(listing, "anna.berg@example.com") == dict.fromkeys(
        EMPLOYEE_SETTING_KEYS, "on"
    )


def test_employees_who_left_or_may_not_create_are_added_with_a_warning(
    esx: Run, contoso: str
) -> None:
    result = esx("personnel", "add", contoso, "bernd.lang@example.com",
                 "clara.weiss@example.com")
    assert result.exit_code == 0
    assert "warning: bernd.lang@example.com (Bernd Lang) has left" in result.stderr
    assert "warning: clara.weiss@example.com (Clara Weiss) may not create appointments" in (
        result.stderr
    )
    listing = esx("personnel", "list", contoso).stdout
    assert "#1002, left (has left: not synchronized)" in listing


def test_an_unknown_email_is_named_and_no_one_is_added(esx: Run, contoso: str) -> None:
    result = esx("personnel", "add", contoso, "anna.berg@example.com", "anna@example.org")
    assert result.exit_code == 2
    assert "no ERP employee has the email 'anna@example.org'" in result.stderr
    assert "No personnel on contoso yet" in esx("personnel", "list", contoso).stdout


def test_one_setting_is_switched_off_and_on(esx: Run, contoso: str) -> None:
    esx("personnel", "add", contoso, "anna.berg@example.com", "dora.exner@example.com")
    result = esx("personnel", "set", contoso, "anna.berg@example.com",
                 "delete_appointments_in_erp", "off")
    assert result.exit_code == 0, result.output
    listing = esx("personnel", "list", contoso).stdout
    assert _settings_of(listing, "anna.berg@example.com")["delete_appointments_in_erp"] == "off"
    assert _settings_of(listing, "Dora.Exner@Example.com")["delete_appointments_in_erp"] == "on"
    bad = esx("personnel", "set", contoso, "anna.berg@example.com", "tasks", "perhaps")
    assert bad.exit_code == 2 and "'perhaps' is not on or off" in bad.stderr
    unknown = esx("personnel", "set", contoso, "anna.berg@example.com", "calendar", "off")
    assert unknown.exit_code == 2
    assert "unknown employee setting 'calendar'; known: appointments," in unknown.stderr


def test_removed_personnel_leave_the_list(esx: Run, contoso: str) -> None:
    esx("personnel", "add", contoso, "anna.berg@example.com", "dora.exner@example.com")
    result = esx("personnel", "remove", contoso, "anna.berg@example.com")
    assert result.exit_code == 0
    listing = esx("personnel", "list", contoso).stdout
    assert "anna.berg" not in listing and "Dora.Exner@Example.com" in listing
    again = esx("personnel", "remove", contoso, "anna.berg@example.com")
    assert again.exit_code == 2
    assert "is not in the personnel of connection 'contoso'" in again.stderr
