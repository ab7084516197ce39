"""Connection options: defaults of DESIGN.md §3, the start-of-synchronization clamp, and
the errors a user sees for a bad value."""

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from esexchange.domain.errors import InvalidOption
from esexchange.domain.options import (
    EMPLOYEE_SETTING_KEYS,
    OPTION_KEYS,
    REMAPPING_KEYS,
    ConflictPolicy,
    ConnectionOptions,
    EmployeeSettings,
    effective_start,
    parse_option,
    remaps,
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
    # and one the design does not have: how Graph tells the service of changes
    assert set(OPTION_KEYS) == design_keys | {"graph_notification_url"}


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


@pytest.mark.parametrize("text", ["on", "true", "yes", "1", "ON", " Yes "])
def test_every_spelling_of_on_switches_an_option_on(text: str) -> None:
    assert parse_option(ConnectionOptions(), "priority_as_text", text).priority_as_text is True


@pytest.mark.parametrize("text", ["off", "false", "no", "0", "OFF", " No "])
def test_every_spelling_of_off_switches_an_option_off(text: str) -> None:
    assert parse_option(ConnectionOptions(), "appointment_sync", text).appointment_sync is False


@pytest.mark.parametrize("text", ["", "default", "none", "Default", " NONE "])
@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("priority_high", 3),
        ("start_sync_at", NOW),
        ("erp_time_zone", "Europe/Berlin"),
        ("graph_notification_url", "https://esx.example.com/graph/notifications"),
    ],
)
def test_default_clears_an_optional_option(key: str, value: object, text: str) -> None:
    options = replace(ConnectionOptions(), **{key: value})
    assert getattr(parse_option(options, key, text), key) is None


def test_an_optional_option_takes_its_value_from_the_text() -> None:
    options = ConnectionOptions()
    task_type = parse_option(options, "default_activity_type_task", " 4 ")
    assert task_type.default_activity_type_task == 4
    assert parse_option(options, "erp_time_zone", " Europe/Vienna ").erp_time_zone == (
        "Europe/Vienna"
    )


def test_a_start_time_without_a_zone_is_utc_and_one_with_a_zone_is_converted_to_utc(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Whatever the host's zone: a host west of UTC must not shift or relabel the start.
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        options = ConnectionOptions()
        naive = parse_option(options, "start_sync_at", "2026-11-20T08:00:00").start_sync_at
        zoned = parse_option(options, "start_sync_at", "2026-11-20T08:00:00-05:00").start_sync_at
    finally:
        monkeypatch.undo()
        time.tzset()
    assert naive == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    assert zoned == datetime(2026, 11, 20, 13, 0, tzinfo=UTC)
    assert zoned is not None and zoned.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("key", "text", "expected"),
    [
        ("delete_guard_percent", "0", 0),
        ("delete_guard_percent", "100", 100),
        ("interval_minutes", "1", 1),
        ("window_future_days", "0", 0),
        ("window_future_days", "730", 730),
    ],
)
def test_whole_number_options_accept_their_bounds(key: str, text: str, expected: int) -> None:
    assert getattr(parse_option(ConnectionOptions(), key, text), key) == expected


@pytest.mark.parametrize(
    ("key", "text", "message"),
    [
        ("delete_guard_percent", "101",
         "option 'delete_guard_percent': '101' is not a whole number from 0 to 100"),
        ("delete_guard_percent", "-1",
         "option 'delete_guard_percent': '-1' is not a whole number from 0 to 100"),
        ("interval_minutes", "0", "option 'interval_minutes': '0' is not a positive whole number"),
        ("window_future_days", "-1",
         "option 'window_future_days': '-1' is not a whole number, 0 or more"),
        ("window_future_days", "ten",
         "option 'window_future_days': 'ten' is not a whole number, 0 or more"),
        ("priority_low", "low",
         "option 'priority_low': 'low' is not a whole number (or 'default')"),
        ("sync_activity_type", "", "option 'sync_activity_type': '' is not on or off"),
        ("conflict_policy", "newest",
         "option 'conflict_policy': 'newest' is not one of newer_wins, erp_wins, exchange_wins"),
        ("start_sync_at", "soon",
         "option 'start_sync_at': 'soon' is not an ISO time such as "
         "2026-11-01T08:00:00+01:00 (or 'default')"),
        ("graph_notification_url", "http://esx.example.com/graph/notifications",
         "option 'graph_notification_url': 'http://esx.example.com/graph/notifications' is "
         "not an absolute https:// URL at which Microsoft Graph reaches this service's "
         "/graph/notifications (or 'off')"),
        ("graph_notification_url", "/graph/notifications",
         "option 'graph_notification_url': '/graph/notifications' is not an absolute "
         "https:// URL at which Microsoft Graph reaches this service's /graph/notifications "
         "(or 'off')"),
    ],
)
def test_a_rejected_value_is_explained_in_full(key: str, text: str, message: str) -> None:
    with pytest.raises(InvalidOption) as caught:
        parse_option(ConnectionOptions(), key, text)
    assert str(caught.value) == message


def test_the_graph_notification_url_is_an_https_address_or_off() -> None:
    url = "https://esx.example.com/graph/notifications"
    on = parse_option(ConnectionOptions(), "graph_notification_url", f" {url} ")
    assert on.graph_notification_url == url
    assert parse_option(on, "graph_notification_url", "off").graph_notification_url is None


@pytest.mark.parametrize("text", [
    "https:///graph/notifications",  # no host
    "https://esx.example.com/graph/notifications#events",  # a fragment Graph would drop
])
def test_a_graph_notification_url_needs_a_host_and_no_fragment(text: str) -> None:
    with pytest.raises(InvalidOption, match="absolute https:// URL"):
        parse_option(ConnectionOptions(), "graph_notification_url", text)


def test_an_unknown_option_lists_every_known_one() -> None:
    with pytest.raises(InvalidOption) as caught:
        parse_option(ConnectionOptions(), "colour", "red")
    assert str(caught.value) == "unknown option 'colour'; known options: " + ", ".join(OPTION_KEYS)


def test_parse_option_changes_only_its_key() -> None:
    options = ConnectionOptions(interval_minutes=9, erp_time_zone="Europe/Berlin")
    changed = parse_option(options, "conflict_policy", "exchange_wins")
    assert changed == replace(options, conflict_policy=ConflictPolicy.EXCHANGE_WINS)


def test_a_start_of_synchronization_just_now_is_kept() -> None:
    assert effective_start(NOW, NOW) == NOW
    assert effective_start(NOW - timedelta(days=30, seconds=1), NOW) == NOW - timedelta(days=30)


def test_a_setting_switches_back_on_and_an_unknown_one_is_named_with_the_known_ones() -> None:
    off = EmployeeSettings(no_private_tasks=False)
    assert with_setting(off, "no_private_tasks", True) == EmployeeSettings()
    with pytest.raises(InvalidOption) as caught:
        with_setting(off, "holidays", True)
    assert str(caught.value) == (
        "unknown employee setting 'holidays'; known: " + ", ".join(EMPLOYEE_SETTING_KEYS)
    )


# An option changed to another value, for every option; the keys of docs/design.md §3
# that change how an item maps (zone, priorities, activity types, the text options).
_ANOTHER_VALUE: dict[str, object] = {
    "appointment_sync": False, "interval_minutes": 15, "start_sync_at": NOW,
    "default_activity_type_appointment": 3, "default_activity_type_task": 4,
    "priority_low": 1, "priority_normal": 2, "priority_high": 3,
    "sync_activity_type": False, "priority_as_text": True, "equipment_as_text": True,
    "alternative_text_sync": True, "allow_address_book_sync": True,
    "conflict_policy": ConflictPolicy.ERP_WINS, "erp_time_zone": "Europe/Berlin",
    "window_future_days": 30, "delete_guard_percent": 50,
    "graph_notification_url": "https://esx.example.com/graph/notifications",
}
_MAPPING_KEYS = {
    "erp_time_zone", "priority_low", "priority_normal", "priority_high",
    "sync_activity_type", "priority_as_text", "equipment_as_text", "alternative_text_sync",
    "default_activity_type_appointment", "default_activity_type_task",
}


@pytest.mark.parametrize("key", OPTION_KEYS)
def test_only_an_option_that_changes_how_items_map_remaps_the_pairs(key: str) -> None:
    before = ConnectionOptions()
    after = replace(before, **{key: _ANOTHER_VALUE[key]})
    assert remaps(before, after) is (key in _MAPPING_KEYS)
    assert remaps(after, before) is (key in _MAPPING_KEYS)
    assert remaps(after, after) is False


def test_every_option_is_judged_remapping_or_not() -> None:
    assert set(_ANOTHER_VALUE) == set(OPTION_KEYS)
    assert REMAPPING_KEYS == _MAPPING_KEYS
    # Two options changed at once remap when either one would.
    both = replace(ConnectionOptions(), interval_minutes=15, priority_as_text=True)
    assert remaps(ConnectionOptions(), both)
