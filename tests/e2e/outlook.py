"""A user's Outlook, as the end-to-end tests drive the Exchange side: plain exchangelib.

It deliberately shares nothing with ``esexchange.exchange.ews``: what it writes is what
any EWS client would write, so the adapter is tested against the wire, not against
itself.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from exchangelib import (
    BASIC,
    IMPERSONATION,
    Account,
    CalendarItem,
    Configuration,
    Credentials,
    EWSDate,
    EWSDateTime,
    EWSTimeZone,
    Task,
)
from exchangelib.errors import ErrorItemNotFound
from exchangelib.items import SEND_TO_NONE
from exchangelib.version import EXCHANGE_2016, Version
from lxml import etree

UTC_ZONE = EWSTimeZone("UTC")


class Outlook:
    """One mailbox, reached with the service account by impersonation."""

    def __init__(self, url: str, upn: str, password: str, email: str) -> None:
        config = Configuration(
            service_endpoint=url, credentials=Credentials(upn, password), auth_type=BASIC,
            version=Version(build=EXCHANGE_2016),  # as a configured client: no probe
        )
        self.account = Account(
            primary_smtp_address=email, config=config, autodiscover=False,
            access_type=IMPERSONATION, default_timezone=UTC_ZONE,
        )

    # --- appointments ---------------------------------------------------------------------

    def add_appointment(
        self, subject: str, start: datetime, end: datetime, **fields: Any
    ) -> CalendarItem:
        """Create a timed appointment (``start``/``end`` aware UTC), sending nothing."""
        item = CalendarItem(
            folder=self.account.calendar, subject=subject, start=_utc(start), end=_utc(end),
            **fields,
        )
        item.save(send_meeting_invitations=SEND_TO_NONE)
        return item

    def appointments(self) -> list[CalendarItem]:
        return list(self.account.calendar.all())

    def appointment(self, subject: str) -> CalendarItem:
        """The one appointment with this subject (fails the test when there are 0 or 2+)."""
        found = [i for i in self.appointments() if i.subject == subject]
        assert len(found) == 1, f"{len(found)} appointments named {subject!r}"
        return found[0]

    # --- tasks ----------------------------------------------------------------------------

    def add_task(self, subject: str, due: date | None = None, **fields: Any) -> Task:
        item = Task(
            folder=self.account.tasks, subject=subject,
            due_date=EWSDate.from_date(due) if due else None, **fields,
        )
        item.save()
        return item

    def tasks(self) -> list[Task]:
        return list(self.account.tasks.all())

    def task(self, subject: str) -> Task:
        found = [i for i in self.tasks() if i.subject == subject]
        assert len(found) == 1, f"{len(found)} tasks named {subject!r}"
        return found[0]

    # --- either kind (``"appointment"`` or ``"task"``) ----------------------------------------

    def add(self, kind: str, subject: str, **fields: Any) -> CalendarItem | Task:
        """An item of ``kind`` a few days ahead."""
        if kind == "appointment":
            start = datetime.combine(date.today() + timedelta(days=3), time(9), tzinfo=UTC)
            return self.add_appointment(subject, start, start + timedelta(hours=1), **fields)
        return self.add_task(subject, date.today() + timedelta(days=3), **fields)

    def items(self, kind: str) -> list[CalendarItem | Task]:
        return list(self.appointments() if kind == "appointment" else self.tasks())

    def item(self, kind: str, subject: str) -> CalendarItem | Task:
        return self.appointment(subject) if kind == "appointment" else self.task(subject)

    def subjects(self, kind: str) -> list[str]:
        return sorted(i.subject for i in self.items(kind))

    # --- both -----------------------------------------------------------------------------

    def edit(self, item: CalendarItem | Task, **fields: Any) -> None:
        """Change fields of an item and save only those, as Outlook does."""
        for name, value in fields.items():
            setattr(item, name, _utc(value) if isinstance(value, datetime) else value)
        if isinstance(item, CalendarItem):
            item.save(update_fields=list(fields), send_meeting_invitations=SEND_TO_NONE)
        else:
            item.save(update_fields=list(fields))

    def delete(self, item: CalendarItem | Task) -> None:
        if isinstance(item, CalendarItem):
            item.delete(send_meeting_cancellations=SEND_TO_NONE)
        else:
            item.delete()

    def master_categories(self) -> dict[str, int]:
        """The mailbox's master category list: name -> Outlook colour preset index."""
        config = self.account.calendar.get_user_configuration("CategoryList")
        root = etree.fromstring(config.xml_data)
        return {
            element.get("name"): int(element.get("color", "-1"))
            for element in root.iter()
            if etree.QName(element).localname == "category"
        }

    def set_master_categories(self, categories: dict[str, int]) -> None:
        """Write the master category list as Outlook would (replacing it)."""
        entries = "".join(
            f'<category name="{name}" color="{color}" keyboardShortcut="0" '
            f'guid="{{{index:08d}-0000-0000-0000-000000000000}}"/>'
            for index, (name, color) in enumerate(categories.items())
        )
        xml = (
            '<?xml version="1.0"?><categories default="" lastSavedSession="0" '
            f'xmlns="CategoryList.xsd">{entries}</categories>'
        ).encode()
        try:
            self.account.calendar.update_user_configuration("CategoryList", xml_data=xml)
        except ErrorItemNotFound:  # no list yet: Outlook creates it
            self.account.calendar.create_user_configuration("CategoryList", xml_data=xml)


def _utc(value: datetime) -> EWSDateTime:
    assert value.tzinfo is not None, "the tests use aware UTC times"
    return EWSDateTime.from_datetime(value).astimezone(UTC_ZONE)
