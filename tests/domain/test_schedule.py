"""When the service passes a mailbox again: the interval, growing while it fails."""

from datetime import UTC, datetime, timedelta

from esexchange.domain.schedule import back_off, is_due

FIVE = timedelta(minutes=5)
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_a_healthy_mailbox_waits_the_interval() -> None:
    assert back_off(FIVE, 0) == FIVE
    assert not is_due(NOW - timedelta(minutes=4), 0, FIVE, NOW)
    assert is_due(NOW - FIVE, 0, FIVE, NOW)


def test_a_mailbox_never_passed_is_due_at_once() -> None:
    assert is_due(None, 0, FIVE, NOW)


def test_failures_double_the_wait_up_to_an_hour_and_it_is_always_tried_again() -> None:
    waits = [back_off(FIVE, n) for n in range(1, 8)]
    assert waits[:3] == [timedelta(minutes=10), timedelta(minutes=20), timedelta(minutes=40)]
    assert waits[3:] == [timedelta(hours=1)] * 4
    assert is_due(NOW - timedelta(hours=1), 50, FIVE, NOW)


def test_an_interval_longer_than_an_hour_is_never_shortened() -> None:
    assert back_off(timedelta(hours=3), 4) == timedelta(hours=3)
