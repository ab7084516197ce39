"""Connection options: defaults of DESIGN.md §3, the start-of-synchronization clamp, and
the errors a user sees for a bad value."""

from datetime import UTC, datetime, timedelta

import pytest

from esexchange.domain.errors import InvalidOption
from esexchange.domain.options import (
    EMPLOYEE_SETTING_KEYS,
    OPTION_KEYS,
    ConflictPolicy,
    ConnectionOptions,
    EmployeeSettings,
    effective_start,
    parse_option,
    widens_sync,
    with_setting,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_defaults_are_those_of_the_design() -> None:
    options = ConnectionOptions()
    assert options.appointment_sync and options.sync_activity_type
    assert options.interval_minutes == 5
    assert not (options.priority_as_text or options.equipment_as_text)
    assert not (options.alternative_text_sync or options.allow_address_book_sync)
    assert options.conflict_policy is ConflictPolicy.NEWER_WINS
    assert (options.window_future_days, options.delete_guard_percent) == (365, 20)


def test_every_design_key_is_an_option() -> None:
    design_keys = {
        "appointment_sync", "interval_minutes", "start_sync_at",
        "default_activity_type_appointment", "default_activity_type_task",
        "priority_low", "priority_normal", "priority_high", "sync_activity_type",
        "priority_as_text", "equipment_as_text", "alternative_text_sync",
        "allow_address_book_sync", "conflict_policy", "erp_time_zone",
        "window_future_days", "delete_guard_percent",
    }
    assert set(OPTION_KEYS) == design_keys


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        (None, NOW - timedelta(days=30)),
        (NOW + timedelta(minutes=1), NOW - timedelta(days=30)),
        (NOW - timedelta(days=31), NOW - timedelta(days=30)),
        (NOW - timedelta(days=3), NOW - timedelta(days=3)),
        (NOW - timedelta(days=30), NOW - timedelta(days=30)),
    ],
    ids=["unset", "future", "older-than-30-days", "recent-kept", "exactly-30-days"],
)
def test_start_of_synchronization_clamp(requested: datetime | None, expected: datetime) -> None:
    assert effective_start(requested, NOW) == expected


def test_parse_option_types_values() -> None:
    options = ConnectionOptions()
    options = parse_option(options, "priority_as_text", "on")
    options = parse_option(options, "interval_minutes", "15")
    options = parse_option(options, "conflict_policy", "erp_wins")
    options = parse_option(options, "start_sync_at", "2026-11-20T08:00:00+01:00")
    assert options.priority_as_text is True
    assert options.interval_minutes == 15
    assert options.conflict_policy is ConflictPolicy.ERP_WINS
    assert options.start_sync_at == datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
    assert parse_option(options, "priority_high", "default").priority_high is None


@pytest.mark.parametrize(
    ("key", "text", "hint"),
    [
        ("priority_as_text", "maybe", "on or off"),
        ("interval_minutes", "0", "positive whole number"),
        ("delete_guard_percent", "150", "0 to 100"),
        ("conflict_policy", "mine", "newer_wins"),
        ("start_sync_at", "yesterday", "ISO time"),
        ("no_such_key", "on", "known options"),
    ],
)
def test_bad_option_value_names_the_key_and_what_is_accepted(
    key: str, text: str, hint: str
) -> None:
    with pytest.raises(InvalidOption) as caught:
        parse_option(ConnectionOptions(), key, text)
    assert key in str(caught.value)
    assert hint in str(caught.value)


def test_new_employee_has_every_setting_on_and_settings_switch_one_by_one() -> None:
    settings = EmployeeSettings()
    assert all(getattr(settings, key) for key in EMPLOYEE_SETTING_KEYS)
    off = with_setting(settings, "delete_tasks_in_erp", False)
    assert not off.delete_tasks_in_erp and off.tasks
    with pytest.raises(InvalidOption, match="unknown employee setting"):
        with_setting(settings, "holidays", True)


def test_only_switching_a_no_private_setting_off_widens_the_sync() -> None:
    on = EmployeeSettings()
    assert widens_sync(on, with_setting(on, "no_private_tasks", False))
    assert widens_sync(on, with_setting(on, "no_private_appointments", False))
    assert not widens_sync(with_setting(on, "no_private_tasks", False), on)
    assert not widens_sync(on, with_setting(on, "delete_tasks_in_erp", False))
    assert not widens_sync(with_setting(on, "tasks", False), on)
