"""What every mapping needs besides the item: options, reference data, the ERP zone."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from esexchange.domain.errors import InvalidOption
from esexchange.domain.model import Reference
from esexchange.domain.options import ConnectionOptions


@dataclass(frozen=True)
class MappingContext:
    """The options of a connection, the ERP reference data of this pass, the ERP zone."""

    options: ConnectionOptions
    reference: Reference
    erp_zone: ZoneInfo


def make_context(
    options: ConnectionOptions, reference: Reference, host_zone: str
) -> MappingContext:
    """A context, with the ERP zone resolved (``erp_time_zone``, else ``host_zone``).

    Raises ``InvalidOption`` naming the option when the zone does not exist, or when an
    option names a priority or an activity type that the ERP does not have.
    """
    name = options.erp_time_zone or host_zone
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        source = "" if options.erp_time_zone else " (the host's zone; set erp_time_zone)"
        raise InvalidOption(
            f"option 'erp_time_zone': {name!r}{source} is not an IANA time zone "
            "such as Europe/Berlin"
        ) from None
    _check_known(options, reference)
    return MappingContext(options=options, reference=reference, erp_zone=zone)


def _check_known(options: ConnectionOptions, reference: Reference) -> None:
    priorities = {p.id for p in reference.priorities}
    for key in ("priority_low", "priority_normal", "priority_high"):
        value = getattr(options, key)
        if value is not None and value not in priorities:
            raise InvalidOption(
                f"option {key!r}: the ERP has no priority {value}; "
                f"known: {', '.join(str(p) for p in sorted(priorities)) or 'none'}"
            )
    types = {t.no for t in reference.activity_types}
    for key in ("default_activity_type_appointment", "default_activity_type_task"):
        value = getattr(options, key)
        if value is not None and value not in types:
            raise InvalidOption(
                f"option {key!r}: the ERP has no activity type {value}; "
                f"known: {', '.join(str(t) for t in sorted(types)) or 'none'}"
            )
