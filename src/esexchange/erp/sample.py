"""Realistic sample data for an empty ERP: employees, reference data, appointments, tasks.

German and English names and subjects, all-day items, private items, conference
appointments with two or three participants, equipment, reminders, recurring series
(weekly, fortnightly, monthly, every workday, the last day of the month; taking the rules
in turn, two series in three have a moved occurrence and two in three a deleted one),
tasks in every status and a few regenerating tasks. The sync writes the series, their
moved and their deleted occurrences to Exchange like any other appointment. The same
seed and start day give the same data.

Everything is written with ordinary inserts, so the journal triggers record it like any
other ERP change.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Engine, func, inspect, select

from esexchange.domain.recurrence import generated, parse_rrule
from esexchange.erp.db import write_connection
from esexchange.erp.errors import ErpNotEmpty
from esexchange.erp.schema import (
    activity,
    activity_equipment,
    activity_exdate,
    activity_participant,
    activity_type,
    employee,
    equipment,
    esx_activity_type_color,
    priority,
)

# Activity types with an Outlook preset colour each (index into Outlook's 25 presets).
ACTIVITY_TYPES = ((1, "Meeting", 7), (2, "Call", 4), (3, "Visit", 3), (4, "Training", 5),
                  (5, "Task", 9))
MEETING, CALL, VISIT, TRAINING, TASK = (no for no, _, _ in ACTIVITY_TYPES)
PRIORITIES = (("Low", 10), ("Normal", 20), ("High", 30), ("Urgent", 40))
EQUIPMENT = ("Beamer", "Laptop", "Firmenwagen", "Besprechungsraum A", "Meeting room B",
             "Videokonferenz-Set", "Flipchart")

_FIRST_DE = ("Anna", "Lukas", "Sophie", "Jonas", "Marie", "Felix", "Lena", "Maximilian",
             "Laura", "Paul", "Katharina", "Tobias", "Julia", "Matthias", "Sabine", "Jürgen",
             "Ursula", "Stefan", "Claudia", "Björn", "Jörg", "Gülsen")
_LAST_DE = ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
            "Schulz", "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
            "Braun", "Zimmermann", "Krüger", "Hartmann", "Weiß", "Groß")
_FIRST_EN = ("James", "Emily", "Oliver", "Charlotte", "Harry", "Amelia", "George", "Olivia",
             "Jack", "Grace", "Thomas", "Hannah", "William", "Chloe")
_LAST_EN = ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
            "Robinson", "Wright", "Thompson", "Evans", "Walker", "O'Brien")

_COMPANIES = ("Müller GmbH", "Schneider & Söhne KG", "Acme Ltd", "Northwind Traders",
              "Contoso AG", "Fabrikam Inc.", "Bäckerei Weiß", "Stadtwerke Köln")
_PROJECTS = ("Phoenix", "ERP-Migration", "Website relaunch", "Lager Nord", "Q1 planning")
_TOPICS = ("Excel für Fortgeschrittene", "Datenschutz (DSGVO)", "Time management",
           "Sales negotiation", "Arbeitssicherheit")
_CITIES = ("Hannover", "München", "London", "Frankfurt am Main", "Birmingham")
_LOCATIONS = ("Besprechungsraum 1", "Meeting room B", "Köln, Hohenzollernring 12",
              "London office", "Microsoft Teams", "Hamburg, Speicherstadt", "", "")

# (subject template, activity type)
_APPOINTMENTS = (
    ("Projektbesprechung {project}", MEETING), ("Project review: {project}", MEETING),
    ("Kundenbesuch bei {company}", VISIT), ("Customer visit at {company}", VISIT),
    ("Telefonat mit {company}", CALL), ("Call with {company}", CALL),
    ("Schulung: {topic}", TRAINING), ("Training: {topic}", TRAINING),
    ("Abteilungsmeeting", MEETING), ("Weekly sync", MEETING),
    ("Jahresgespräch", MEETING), ("Quarterly business review", MEETING),
    ("Mittagessen mit {company}", VISIT), ("Lunch with {company}", VISIT),
)
_PRIVATE = (("Zahnarzttermin", None), ("Arzttermin", None), ("Dentist", None),
            ("Elternabend", None), ("Parents' evening", None))
_ALL_DAY = (("Messe {city}", VISIT), ("Trade fair in {city}", VISIT),
            ("Betriebsausflug", MEETING), ("Offsite workshop", TRAINING),
            ("Inventur", None))
_RECURRING = (("Jour fixe", MEETING), ("Monday stand-up", MEETING), ("Team-Runde", MEETING),
              ("Monthly review", MEETING))
SERIES_RULES = ("FREQ=WEEKLY;BYDAY=MO", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;COUNT=12",
                 "FREQ=MONTHLY;BYDAY=1WE", "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;COUNT=20",
                 "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=6")
_REGENERATING = ("FREQ=WEEKLY;INTERVAL=2;X-REGENERATE=1", "FREQ=MONTHLY;X-REGENERATE=1")
_TASKS = (
    "Angebot für {company} erstellen", "Reisekostenabrechnung einreichen",
    "Prepare slides for {project}", "Follow up with {company}", "Vertrag prüfen",
    "Update the price list", "Inventur vorbereiten", "Send invoice to {company}",
    "Protokoll {project} verschicken", "Review pull requests for {project}",
)
_TEXTS = (
    "", "",
    "Agenda:\n1. Stand der Dinge\n2. Nächste Schritte\n3. Verschiedenes",
    "Please bring the latest figures.",
    "Parkplatz über die Einfahrt Süd; Anmeldung am Empfang.",
    "Dial-in details follow.\nQuestions? Ask Grace.",
    "Unterlagen liegen im Ordner »Vertrieb/2026«.",
)
_TASK_STATUSES = (("not_started", 4), ("in_progress", 4), ("completed", 2), ("waiting", 1),
                  ("deferred", 1))
_REMINDERS = (None, None, 5, 15, 15, 15, 30, 60, 1440)
_DURATIONS = (30, 45, 60, 60, 90, 120, 180)


@dataclass(frozen=True)
class SampleReport:
    """What ``fill_sample`` wrote."""

    employees: int
    appointments: int
    tasks: int
    all_day: int
    private: int
    conference: int
    with_equipment: int
    recurring: int
    """Series of either kind: appointment series and recurring tasks."""
    recurring_tasks: int
    modified_occurrences: int
    deleted_occurrences: int

    def summary(self) -> str:
        """What was written, in one line (``db sample`` and the demo print it)."""
        return (
            f"{self.employees} employees, {self.appointments} appointments "
            f"({self.all_day} all-day, {self.conference} conference, "
            f"{self.recurring - self.recurring_tasks} series with "
            f"{self.modified_occurrences} moved and {self.deleted_occurrences} deleted "
            f"occurrences) and {self.tasks} tasks ({self.recurring_tasks} recurring); "
            f"{self.private} private, {self.with_equipment} with equipment"
        )


def fill_sample(
    engine: Engine, *, employees: int, activities: int, seed: int = 1,
    start: date | None = None, force: bool = False, series: int = 0,
) -> SampleReport:
    """Write sample data; appointments fall in the four weeks from ``start`` (today).

    About one appointment in twelve is a series; ``series`` makes at least that many of
    the ``activities`` appointment series (the demo asks for one of each rule).
    Refuses (``ErpNotEmpty``) an ERP that already has employees or activities, unless
    ``force``: then the sample is added beside what is there. Needs the reference tables
    (``esexchange db install`` creates them).
    """
    if employees < 1 or activities < 0:
        raise ValueError("employees must be at least 1 and activities not negative")
    if not 0 <= series <= activities:
        raise ValueError("series must be between 0 and the number of activities")
    rng = random.Random(seed)
    first_day = start or date.today()
    with write_connection(engine) as conn, conn.begin():
        people, things = _counts(conn)
        if (people or things) and not force:
            raise ErpNotEmpty(
                f"the ERP already holds {people} employees and {things} activities; sample "
                "data only goes into an empty ERP (use --force to add it anyway)"
            )
        _reference(conn)
        staff = _employees(conn, rng, employees)
        priority_ids = {name: id_ for name, id_ in
                        conn.execute(select(priority.c.name, priority.c.id))}
        equipment_ids = list(conn.scalars(select(equipment.c.id).order_by(equipment.c.id)))
        has_series = ({"recurrence", "series_id", "original_start"}
                      <= {c["name"] for c in inspect(conn).get_columns("activity")}
                      and inspect(conn).has_table(activity_exdate.name))
        maker = _Maker(rng, first_day, staff, priority_ids, equipment_ids, has_series)
        if series and not has_series:
            raise ValueError("this ERP has no series columns; run esexchange db install")
        planned = ([maker.series_appointment() for _ in range(series)]
                   + [maker.activity() for _ in range(activities - series)])
        return _insert(conn, planned, len(staff))


def _counts(conn: Connection) -> tuple[int, int]:
    people = conn.scalar(select(func.count()).select_from(employee)) or 0
    things = conn.scalar(select(func.count()).select_from(activity)) or 0
    return people, things


def _reference(conn: Connection) -> None:
    """Activity types with colours, priorities and equipment, where missing."""
    known_types = set(conn.scalars(select(activity_type.c.no)))
    colored = set(conn.scalars(select(esx_activity_type_color.c.activity_type_no)))
    for no, description, color in ACTIVITY_TYPES:
        if no not in known_types:
            conn.execute(activity_type.insert().values(no=no, description=description))
        if no not in colored:
            conn.execute(esx_activity_type_color.insert().values(activity_type_no=no, color=color))
    known_priorities = set(conn.scalars(select(priority.c.name)))
    for name, rank in PRIORITIES:
        if name not in known_priorities:
            conn.execute(priority.insert().values(name=name, rank=rank))
    known_equipment = set(conn.scalars(select(equipment.c.name)))
    for name in EQUIPMENT:
        if name not in known_equipment:
            conn.execute(equipment.insert().values(name=name))


def _employees(conn: Connection, rng: random.Random, count: int) -> list[int]:
    """New employees with unique numbers and ``first.last@example.test`` addresses."""
    emails = {e.lower() for e in conn.scalars(select(employee.c.email)) if e}
    numbers = set(conn.scalars(select(employee.c.number)))
    rows: list[dict[str, Any]] = []
    next_number = 1
    for index in range(count):
        german = rng.random() < 0.6
        first = rng.choice(_FIRST_DE if german else _FIRST_EN)
        last = rng.choice(_LAST_DE if german else _LAST_EN)
        email = _unique(f"{_ascii(first)}.{_ascii(last)}", emails)
        while f"P{next_number:04d}" in numbers:
            next_number += 1
        numbers.add(f"P{next_number:04d}")
        # The first eight are always active, so small samples sync completely.
        status = "active" if index < 8 else rng.choices(
            ("active", "inactive", "left"), weights=(90, 5, 5))[0]
        rows.append({
            "number": f"P{next_number:04d}", "name": f"{first} {last}", "email": email,
            "employment_status": status,
            "may_create_appointments": index < 8 or rng.random() > 0.05,
        })
    result = conn.execute(
        employee.insert().returning(employee.c.id, sort_by_parameter_order=True), rows)
    return list(result.scalars())


def _ascii(name: str) -> str:
    folded = name.lower().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
    folded = folded.replace("ß", "ss").replace("'", "")
    return unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()


def _unique(local: str, taken: set[str]) -> str:
    candidate, n = f"{local}@example.test", 1
    while candidate in taken:
        n += 1
        candidate = f"{local}{n}@example.test"
    taken.add(candidate)
    return candidate


@dataclass
class _Planned:
    row: dict[str, Any]
    participants: list[int]
    equipment: list[int]
    exceptions: list[dict[str, Any]] = field(default_factory=list)  # rows without series_id
    exdates: list[datetime] = field(default_factory=list)


class _Maker:
    """Draws one activity at a time from the seeded generator."""

    def __init__(self, rng: random.Random, first_day: date, staff: Sequence[int],
                 priority_ids: dict[str, int], equipment_ids: Sequence[int],
                 has_series: bool) -> None:
        self.rng, self.first_day, self.staff = rng, first_day, list(staff)
        self.priority_ids, self.equipment_ids = priority_ids, list(equipment_ids)
        self.has_series = has_series
        self.series_made = 0

    def activity(self) -> _Planned:
        planned = self.task() if self.rng.random() < 0.3 else self.appointment()
        planned.row.setdefault("recurrence", None)
        if not self.has_series:
            del planned.row["recurrence"]
        return planned

    def series_appointment(self) -> _Planned:
        """An appointment series, whatever the dice say (``fill_sample(series=...)``)."""
        return self.appointment(series=True)

    def _series(self, planned: _Planned) -> None:
        """Make ``planned`` the next series: the next rule, started on its first
        occurrence; the second occurrence moved and the third deleted, or one of them."""
        row, rng, number = planned.row, self.rng, self.series_made
        self.series_made += 1
        rule = SERIES_RULES[number % len(SERIES_RULES)]
        duration = row["end_at"] - row["start_at"]
        first, second, third = islice(generated(parse_rrule(
            rule, start=row["start_at"], time_zone="UTC")), 3)
        row.update(recurrence=rule, start_at=first, end_at=first + duration)
        if number % 3 != 2:
            # Outlook moves an occurrence only between its neighbours' days (Exchange
            # refuses a moved occurrence that crosses an adjacent one): a day later only
            # where the next occurrence is later still.
            shifts = [timedelta(hours=1), timedelta(hours=2)]
            if (second + timedelta(days=1)).date() < third.date():
                shifts.append(timedelta(days=1))
            start = second + rng.choice(shifts)
            planned.exceptions.append({
                **row, "subject": f"{row['subject']} ({rng.choice(('verschoben', 'moved'))})",
                "start_at": start, "end_at": start + duration, "recurrence": None,
                "original_start": second,
            })
        if number % 3 != 1:
            planned.exdates.append(third)

    def _fill(self, template: str) -> str:
        rng = self.rng
        return template.format(company=rng.choice(_COMPANIES), project=rng.choice(_PROJECTS),
                               topic=rng.choice(_TOPICS), city=rng.choice(_CITIES))

    def _workday(self, offset_days: int) -> date:
        day = self.first_day + timedelta(days=offset_days)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        return day

    def _priority(self) -> int | None:
        name = self.rng.choices(("Low", "Normal", "High", "Urgent"), weights=(2, 10, 3, 1))[0]
        return self.priority_ids.get(name)

    def appointment(self, *, series: bool = False) -> _Planned:
        rng = self.rng
        owner = rng.choice(self.staff)
        day = self._workday(rng.randrange(28))
        roll = rng.random()
        series = series or (self.has_series and 0.22 <= roll < 0.30)
        if roll < 0.12 and not series:
            template, type_no = rng.choice(_ALL_DAY)
            start = datetime.combine(day, time())
            end = start + timedelta(days=rng.choice((1, 1, 2, 3)))
            all_day, private = True, False
        else:
            if series:
                template, type_no = rng.choice(_RECURRING)
                private = False
            elif roll < 0.22:
                template, type_no = rng.choice(_PRIVATE)
                private = True
            else:
                template, type_no = rng.choice(_APPOINTMENTS)
                private = False
            start = datetime.combine(day, time(7)) + timedelta(minutes=30 * rng.randrange(21))
            end = start + timedelta(minutes=rng.choice(_DURATIONS))
            all_day = False
        participants = [owner]
        if not private and len(self.staff) > 1 and rng.random() < 0.18:
            others = [e for e in self.staff if e != owner]
            participants += rng.sample(others, min(len(others), rng.choice((1, 1, 2))))
        things: list[int] = []
        if not private and self.equipment_ids and rng.random() < 0.2:
            things = rng.sample(self.equipment_ids, rng.choice((1, 1, 2)))
        row = {
            "kind": "appointment", "subject": self._fill(template), "text": rng.choice(_TEXTS),
            "start_at": start, "end_at": end, "all_day": all_day,
            "location": rng.choice(_LOCATIONS) or None, "due_at": None, "status": None,
            "percent_complete": 0, "completed_at": None, "private": private,
            "priority_id": self._priority(), "activity_type_no": type_no,
            "reminder_minutes": None if all_day else rng.choice(_REMINDERS),
            "recurrence": None,
        }
        planned = _Planned(row, participants, things)
        if series:
            self._series(planned)
        return planned

    def task(self) -> _Planned:
        rng = self.rng
        status = rng.choices([s for s, _ in _TASK_STATUSES],
                             weights=[w for _, w in _TASK_STATUSES])[0]
        due_day = self._workday(rng.randrange(-7, 36))
        due = None if rng.random() < 0.2 else datetime.combine(due_day, time())
        starts = rng.random() < 0.4 and due is not None
        percent = {"not_started": 0, "completed": 100, "deferred": 0}.get(
            status, 5 * rng.randrange(1, 19) if status == "in_progress" else 0)
        completed = (datetime.combine(due_day - timedelta(days=rng.randrange(3)), time(16, 30))
                     if status == "completed" else None)
        row = {
            "kind": "task", "subject": self._fill(rng.choice(_TASKS)),
            "text": rng.choice(_TEXTS),
            "start_at": due - timedelta(days=rng.randrange(1, 8)) if starts and due else None,
            "end_at": None, "all_day": False, "location": None, "due_at": due,
            "status": status, "percent_complete": percent, "completed_at": completed,
            "private": rng.random() < 0.05, "priority_id": self._priority(),
            "activity_type_no": TASK, "reminder_minutes": None,
        }
        if self.has_series and due is not None and rng.random() < 0.06:
            row["recurrence"] = rng.choice(_REGENERATING)
        return _Planned(row, [rng.choice(self.staff)], [])


def _insert(conn: Connection, planned: list[_Planned], employees: int) -> SampleReport:
    ids: list[int] = []
    if planned:
        result = conn.execute(
            activity.insert().returning(activity.c.id, sort_by_parameter_order=True),
            [p.row for p in planned],
        )
        ids = list(result.scalars())
    participant_rows = [{"activity_id": i, "employee_id": e}
                        for i, p in zip(ids, planned, strict=True) for e in p.participants]
    equipment_rows = [{"activity_id": i, "equipment_id": e}
                      for i, p in zip(ids, planned, strict=True) for e in p.equipment]
    if participant_rows:
        conn.execute(activity_participant.insert(), participant_rows)
    if equipment_rows:
        conn.execute(activity_equipment.insert(), equipment_rows)
    # Participants of a series are the master's: an exception has none of its own.
    exception_rows = [{**e, "series_id": i}
                      for i, p in zip(ids, planned, strict=True) for e in p.exceptions]
    exdate_rows = [{"activity_id": i, "original_start": d}
                   for i, p in zip(ids, planned, strict=True) for d in p.exdates]
    if exception_rows:
        conn.execute(activity.insert(), exception_rows)
    if exdate_rows:
        conn.execute(activity_exdate.insert(), exdate_rows)
    rows = [p.row for p in planned]
    return SampleReport(
        employees=employees,
        appointments=sum(r["kind"] == "appointment" for r in rows),
        tasks=sum(r["kind"] == "task" for r in rows),
        all_day=sum(bool(r["all_day"]) for r in rows),
        private=sum(bool(r["private"]) for r in rows),
        conference=sum(len(p.participants) >= 2 for p in planned),
        with_equipment=sum(bool(p.equipment) for p in planned),
        recurring=sum(r.get("recurrence") is not None for r in rows),
        recurring_tasks=sum(r.get("recurrence") is not None and r["kind"] == "task"
                            for r in rows),
        modified_occurrences=len(exception_rows),
        deleted_occurrences=len(exdate_rows),
    )
