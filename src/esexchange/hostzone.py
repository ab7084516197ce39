"""The host's IANA time zone name, the default of the ``erp_time_zone`` option.

A leaf: it imports nothing of esExchange, so config/ and service/ can both use it."""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def host_time_zone() -> str:
    """``TZ`` when it names a zone, else the zone ``/etc/localtime`` points at, else the
    one ``/etc/timezone`` names, else UTC.

    Python's ``datetime.astimezone()`` only knows the abbreviation (``CET``), which is
    ambiguous; an ERP's naive times need the full rules of an IANA zone.
    """
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        target = str(localtime.resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    timezone_file = Path("/etc/timezone")
    if timezone_file.is_file():
        candidates.append(timezone_file.read_text().strip())
    for name in candidates:
        if name and _is_zone(name):
            return name
    return "UTC"


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
