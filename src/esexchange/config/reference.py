"""ERP reference data as the configuration sees it: activity types with their Outlook
colours, priorities, and finding either by number, id or name."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, delete, insert, select

from esexchange.config._db import writing
from esexchange.config.errors import ReferenceNotFound
from esexchange.domain.model import ActivityType, Priority
from esexchange.erp.schema import activity_type, esx_activity_type_color
from esexchange.erp.store import read_activity_types, read_priorities


def activity_types(engine: Engine) -> list[ActivityType]:
    """Every activity type by number, with its Outlook colour (-1 when none was chosen)."""
    with engine.connect() as db:
        return read_activity_types(db)


def set_activity_type_color(engine: Engine, no: int, color: int) -> ActivityType:
    """Give activity type ``no`` an Outlook preset colour (-1..24, see ``config.colors``)."""
    with writing(engine) as db:
        description = db.scalar(select(activity_type.c.description).where(activity_type.c.no == no))
        if description is None:
            known = ", ".join(str(n) for n in db.scalars(select(activity_type.c.no)
                                                         .order_by(activity_type.c.no)))
            raise ReferenceNotFound(
                f"no activity type has the number {no}; known numbers: {known or 'none'}"
            )
        db.execute(delete(esx_activity_type_color)
                   .where(esx_activity_type_color.c.activity_type_no == no))
        db.execute(insert(esx_activity_type_color).values(activity_type_no=no, color=color))
    return ActivityType(no, description, color)


def find_priority(db: Connection, text: str) -> Priority:
    """The priority whose id or name (any case) is ``text``."""
    wanted = text.strip()
    available = read_priorities(db)
    for candidate in available:
        if wanted == str(candidate.id) or wanted.lower() == candidate.name.lower():
            return candidate
    known = ", ".join(f"{p.id} {p.name}" for p in available) or "none (the priority table is empty)"
    raise ReferenceNotFound(f"no ERP priority has the id or name {text!r}; known: {known}")


def find_activity_type(db: Connection, text: str) -> int:
    """The number of the activity type whose number or description (any case) is ``text``."""
    wanted = text.strip()
    rows = db.execute(select(activity_type).order_by(activity_type.c.no)).all()
    for row in rows:
        if wanted == str(row.no) or wanted.lower() == row.description.lower():
            return int(row.no)
    known = ", ".join(f"{row.no} {row.description}" for row in rows) or "none"
    raise ReferenceNotFound(f"no activity type has the number or name {text!r}; known: {known}")
