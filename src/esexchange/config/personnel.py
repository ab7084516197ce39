"""The synchronized personnel of a connection and their per-employee settings.

Employees are found by their main email address, case-insensitively (docs/design.md §3).
Employees who left or may not create appointments can be added, so an administrator can
prepare a list; the sync reports them instead of synchronizing them
(``Employee.syncable``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from esexchange.config._db import writing
from esexchange.config.connections import connection_id
from esexchange.config.errors import ConfigError, EmployeeNotFound
from esexchange.domain.model import Employee
from esexchange.domain.options import EmployeeSettings, widens_sync, with_setting
from esexchange.erp.port import Scope
from esexchange.erp.schema import employee, esx_personnel
from esexchange.erp.store import employee_from_row, reset_cursors


@dataclass(frozen=True)
class PersonnelAdded:
    """The outcome of ``add_personnel``: who was added, who was on the list already."""

    added: tuple[Employee, ...]
    already: tuple[Employee, ...]


def _employee_by_email(db: Connection, email: str) -> Employee:
    """The ERP employee whose email is ``email`` (any case).

    Raises ``EmployeeNotFound``, or ``ConfigError`` when several employees share it.
    """
    rows = db.execute(
        select(employee).where(func.lower(employee.c.email) == email.strip().lower())
    ).all()
    if not rows:
        raise EmployeeNotFound(f"no ERP employee has the email {email!r}")
    if len(rows) > 1:
        numbers = ", ".join(str(row.number) for row in rows)
        raise ConfigError(
            f"several ERP employees have the email {email!r} (numbers {numbers}); give each "
            "employee a mailbox address of their own in the ERP"
        )
    return employee_from_row(rows[0])


def missing_email(person: Employee) -> str:
    """What to tell about an employee whose ``employee.email`` is empty."""
    return (
        f"employee {person.number} ({person.name}) has no email in the ERP; enter the "
        "address of the employee's mailbox in employee.email"
    )


def add_personnel(engine: Engine, name: str, emails: Sequence[str]) -> PersonnelAdded:
    """Put employees on the connection's list with every setting on.

    All or nothing: an unknown email raises ``EmployeeNotFound`` naming it, an employee
    without an email in the ERP ``ConfigError``, and no one is added.
    """
    settings = json.dumps(asdict(EmployeeSettings()), sort_keys=True)
    added: list[Employee] = []
    already: list[Employee] = []
    with writing(engine) as db:
        connection = connection_id(db, name)
        listed = set(_listed_ids(db, connection))
        for email in emails:
            person = _employee_by_email(db, email)
            if not person.email.strip():
                raise ConfigError(missing_email(person))
            if person.id in listed:
                already.append(person)
                continue
            db.execute(
                insert(esx_personnel).values(
                    connection_id=connection, employee_id=person.id, settings_json=settings
                )
            )
            listed.add(person.id)
            added.append(person)
    return PersonnelAdded(tuple(added), tuple(already))


def set_personnel_setting(
    engine: Engine, name: str, email: str, key: str, on: bool
) -> EmployeeSettings:
    """Switch one per-employee setting; ``InvalidOption`` for an unknown key.

    A change that brings skipped items into the sync (``widens_sync``) makes the next
    pass for this employee read everything again, so those items arrive too.
    """
    with writing(engine) as db:
        connection = connection_id(db, name)
        person = _employee_by_email(db, email)
        current = _settings_of(db, connection, person, name)
        changed = with_setting(current, key, on)
        db.execute(
            update(esx_personnel)
            .where(esx_personnel.c.connection_id == connection,
                   esx_personnel.c.employee_id == person.id)
            .values(settings_json=json.dumps(asdict(changed), sort_keys=True))
        )
        if widens_sync(current, changed):
            # In the same transaction: a crash in between cannot lose the re-read.
            reset_cursors(db, Scope(connection, person.id))
    return changed


def remove_personnel(engine: Engine, name: str, emails: Sequence[str]) -> list[Employee]:
    """Take employees off the list (all or nothing); their links are kept for a re-add."""
    removed: list[Employee] = []
    with writing(engine) as db:
        connection = connection_id(db, name)
        for email in emails:
            person = _employee_by_email(db, email)
            _settings_of(db, connection, person, name)  # raises when not listed
            db.execute(
                delete(esx_personnel).where(
                    esx_personnel.c.connection_id == connection,
                    esx_personnel.c.employee_id == person.id,
                )
            )
            removed.append(person)
    return removed


def personnel(engine: Engine, name: str) -> list[tuple[Employee, EmployeeSettings]]:
    """The connection's employees (by name) with their settings."""
    with engine.connect() as db:
        connection = connection_id(db, name)
        rows = db.execute(
            select(employee, esx_personnel.c.settings_json)
            .join(esx_personnel, esx_personnel.c.employee_id == employee.c.id)
            .where(esx_personnel.c.connection_id == connection)
            .order_by(employee.c.name, employee.c.id)
        ).all()
    return [(employee_from_row(row), _settings(row.settings_json)) for row in rows]


def _listed_ids(db: Connection, connection: int) -> list[int]:
    return list(
        db.scalars(
            select(esx_personnel.c.employee_id).where(esx_personnel.c.connection_id == connection)
        )
    )


def _settings_of(db: Connection, connection: int, person: Employee, name: str) -> EmployeeSettings:
    text = db.scalar(
        select(esx_personnel.c.settings_json).where(
            esx_personnel.c.connection_id == connection,
            esx_personnel.c.employee_id == person.id,
        )
    )
    if text is None:
        raise EmployeeNotFound(
            f"{person.email} ({person.name}) is not in the personnel of connection {name!r}; "
            f"add them with `esexchange personnel add {name} {person.email}`"
        )
    return _settings(text)


def _settings(text: str) -> EmployeeSettings:
    """Settings from JSON; a key missing (added in a later version) takes its default."""
    stored = json.loads(text or "{}")
    known = {f.name for f in fields(EmployeeSettings)}
    return EmployeeSettings(**{k: bool(v) for k, v in stored.items() if k in known})
