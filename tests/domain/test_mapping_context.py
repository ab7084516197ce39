"""The mapping context (DESIGN.md §3): the ERP zone from ``erp_time_zone`` or the host,
and options naming priorities or activity types the ERP has; a wrong one is refused
with a message naming the option and what the ERP knows."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from esexchange.domain.errors import InvalidOption
from esexchange.domain.mapping import make_context
from esexchange.domain.model import Reference
from esexchange.domain.options import ConnectionOptions
from tests.domain.mapping_support import REFERENCE


def refusal(options: ConnectionOptions, reference: Reference = REFERENCE,
            host_zone: str = "UTC") -> str:
    with pytest.raises(InvalidOption) as caught:
        make_context(options, reference, host_zone)
    return str(caught.value)


def test_the_erp_zone_is_the_option_else_the_hosts() -> None:
    chosen = make_context(ConnectionOptions(erp_time_zone="Europe/Berlin"), REFERENCE, "UTC")
    hosts = make_context(ConnectionOptions(), REFERENCE, "America/New_York")
    assert chosen.erp_zone == ZoneInfo("Europe/Berlin")
    assert hosts.erp_zone == ZoneInfo("America/New_York")
    assert (hosts.options, hosts.reference) == (ConnectionOptions(), REFERENCE)


def test_an_unknown_zone_is_refused_naming_where_it_came_from() -> None:
    assert refusal(ConnectionOptions(erp_time_zone="Mars/Olympus")) == (
        "option 'erp_time_zone': 'Mars/Olympus' is not an IANA time zone such as Europe/Berlin"
    )
    assert refusal(ConnectionOptions(), host_zone="Local/Nowhere") == (
        "option 'erp_time_zone': 'Local/Nowhere' (the host's zone; set erp_time_zone) is not "
        "an IANA time zone such as Europe/Berlin"
    )
    assert "is not an IANA" in refusal(ConnectionOptions(erp_time_zone="../etc/passwd"))


@pytest.mark.parametrize("key", ["priority_low", "priority_normal", "priority_high"])
def test_a_priority_option_the_erp_does_not_have_is_refused(key: str) -> None:
    options = ConnectionOptions(**{key: 77})  # type: ignore[arg-type]
    assert refusal(options) == f"option {key!r}: the ERP has no priority 77; known: 10, 20, 30"
    assert refusal(options, Reference()) == (
        f"option {key!r}: the ERP has no priority 77; known: none"
    )


@pytest.mark.parametrize(
    "key", ["default_activity_type_appointment", "default_activity_type_task"]
)
def test_an_activity_type_option_the_erp_does_not_have_is_refused(key: str) -> None:
    options = ConnectionOptions(**{key: 42})  # type: ignore[arg-type]
    assert refusal(options) == f"option {key!r}: the ERP has no activity type 42; known: 1, 5, 7"
    assert refusal(options, Reference()) == (
        f"option {key!r}: the ERP has no activity type 42; known: none"
    )


def test_options_naming_what_the_erp_has_are_accepted() -> None:
    options = ConnectionOptions(priority_low=10, priority_normal=20, priority_high=30,
                                default_activity_type_appointment=1, default_activity_type_task=5)
    assert make_context(options, REFERENCE, "UTC").options is options
