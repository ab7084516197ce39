"""The audit log: every change the sync applied (``esx_audit``), searchable and paged.

A read model for the console (and anything else that wants it): by employee (a part of
the email address or name), by item (an ERP id, or a part of the Exchange id or the
detail), and by day (UTC), newest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine, Select, func, or_, select

from esexchange.erp.schema import employee, esx_audit, esx_connection

PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    connection: str
    email: str
    action: str
    erp_id: int | None
    exchange_id: str | None
    detail: str


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    page: int
    pages: int
    total: int


def audit_log(
    engine: Engine, *, employee_text: str = "", item: str = "", day: date | None = None,
    page: int = 1, page_size: int = PAGE_SIZE,
) -> AuditPage:
    """One page (from 1) of the entries matching every filter given."""
    query = _filtered(
        select(esx_audit.c.at, esx_connection.c.name.label("connection"),
               func.coalesce(employee.c.email, "").label("email"), esx_audit.c.action,
               esx_audit.c.erp_id, esx_audit.c.exchange_id, esx_audit.c.detail),
        employee_text, item, day)
    with engine.connect() as db:
        total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
        pages = max(1, -(-total // page_size))
        page = min(max(page, 1), pages)
        rows = db.execute(query.order_by(esx_audit.c.id.desc())
                          .limit(page_size).offset((page - 1) * page_size)).all()
    return AuditPage([AuditEntry(r.at, r.connection, r.email, r.action, r.erp_id,
                                 r.exchange_id, r.detail) for r in rows], page, pages, total)


def _filtered(query: Select[tuple[object, ...]], employee_text: str, item: str,
              day: date | None) -> Select[tuple[object, ...]]:
    query = (query.select_from(esx_audit)
             .join(esx_connection, esx_connection.c.id == esx_audit.c.connection_id)
             .outerjoin(employee, employee.c.id == esx_audit.c.employee_id))
    if employee_text.strip():
        like = f"%{employee_text.strip().lower()}%"
        query = query.where(or_(func.lower(employee.c.email).like(like),
                                func.lower(employee.c.name).like(like)))
    if item.strip():
        text = item.strip()
        matches = [esx_audit.c.exchange_id.contains(text), esx_audit.c.detail.contains(text)]
        if text.isdigit():
            matches.append(esx_audit.c.erp_id == int(text))
        query = query.where(or_(*matches))
    if day is not None:
        start = datetime.combine(day, time(), UTC)
        query = query.where(esx_audit.c.at >= start, esx_audit.c.at < start + timedelta(days=1))
    return query
