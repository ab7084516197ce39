"""The demo's sample series in both sandboxes (issue 12, "Done when").

`esexchange demo --once` runs on each backend; then its sandbox is served again from the
demo's own files and read as any client reads a calendar (EWS: exchangelib's
CalendarView; Graph: calendarView). Each sample series is one series in every mailbox of
its participants, its occurrences exactly where python-dateutil's rrule puts them, minus
the deleted ones, with the moved one at its new time; nothing else carries its subject.
The first pass reports every pair it made as created, on one side or the other.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from exchangelib import (
    BASIC,
    IMPERSONATION,
    Account,
    Configuration,
    Credentials,
    EWSDateTime,
    EWSTimeZone,
)
from exchangelib.properties import ItemId
from exchangelib.version import EXCHANGE_2016, Version
from typer.testing import CliRunner

from esexchange import demo, demo_graph
from esexchange.cli import app
from esexchange.inprocess import BackgroundServer
from esexchange.sandbox.directory import load_directory
from esexchange.sandbox.ews.app import create_sandbox
from esexchange.sandbox.graph.app import create_graph_sandbox
from esexchange.sandbox.tls import ensure_tls_files
from tests.domain.recurrence_support import oracle

ZONE = ZoneInfo(demo.MAILBOX_ZONE)
# The sample's series start within two months; the longest one that ends (six months'
# last days) ends within nine. A no-end series is compared over the same span.
SPAN = timedelta(days=300)


@dataclass(frozen=True)
class SampleSeries:
    """A series as the demo's ERP holds it, read with SQL."""

    erp_id: int
    subject: str
    rule: str
    start: datetime
    duration: timedelta
    moved: dict[datetime, tuple[datetime, str]]  # original start -> (new start, subject)
    deleted: frozenset[datetime]

    def expected(self, until: datetime) -> list[tuple[datetime, str]]:
        """(UTC start, subject) of every occurrence before ``until``: dateutil's
        occurrences minus the deleted ones, a moved one at its new time."""
        shown = []
        for start in oracle(self.rule, self.start, before=until):
            if start in self.deleted:
                continue
            start, subject = self.moved.get(start, (start, self.subject))
            shown.append((start.replace(tzinfo=ZONE).astimezone(UTC), subject))
        return sorted(shown)


def _demo(folder: Path, backend: str) -> str:
    result = CliRunner().invoke(app, ["demo", "--backend", backend, "--once", "--dir",
                                      str(folder), "--port", "0", "--console-port", "0"])
    assert result.exit_code == 0, result.output
    return result.output


def _rows(folder: Path, sql: str, *params: object) -> list[sqlite3.Row]:
    with sqlite3.connect(folder / "erp.sqlite") as db:
        db.row_factory = sqlite3.Row
        return list(db.execute(sql, params))


def _wall(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _sample_series(folder: Path) -> list[SampleSeries]:
    found = []
    for master in _rows(folder, "SELECT * FROM activity WHERE kind = 'appointment' "
                                "AND recurrence IS NOT NULL ORDER BY id"):
        moved = {_wall(r["original_start"]): (_wall(r["start_at"]), r["subject"])
                 for r in _rows(folder, "SELECT * FROM activity WHERE series_id = ?",
                                master["id"])}
        deleted = frozenset(_wall(r["original_start"]) for r in _rows(
            folder, "SELECT original_start FROM activity_exdate WHERE activity_id = ?",
            master["id"]))
        start = _wall(master["start_at"])
        found.append(SampleSeries(master["id"], master["subject"], master["recurrence"],
                                  start, _wall(master["end_at"]) - start, moved, deleted))
    return found


def _links(folder: Path, erp_id: int) -> dict[str, str]:
    """The Exchange id of ERP activity ``erp_id`` in each mailbox it was written to."""
    return {r["email"]: r["exchange_id"] for r in _rows(
        folder, "SELECT e.email, l.exchange_id FROM esx_link l JOIN employee e "
                "ON e.id = l.employee_id WHERE l.erp_id = ? AND l.kind = 'appointment'",
        erp_id)}


def _participants(folder: Path, erp_id: int) -> set[str]:
    return {r["email"] for r in _rows(
        folder, "SELECT e.email FROM activity_participant p JOIN employee e "
                "ON e.id = p.employee_id WHERE p.activity_id = ?", erp_id)}


def _created(cell: str) -> int:
    found = re.search(r"(\d+) created", cell)
    return int(found.group(1)) if found else 0


def _check_the_first_pass(folder: Path, output: str) -> list[SampleSeries]:
    series = _sample_series(folder)
    moved = sum(len(s.moved) for s in series)
    deleted = sum(len(s.deleted) for s in series)
    # One series per rule the sample knows; two in three with a moved, two in three with
    # a deleted occurrence.
    assert len(series) >= 5 and moved >= 3 and deleted >= 3, series
    assert (f"{len(series)} series with {moved} moved and {deleted} deleted occurrences"
            in " ".join(output.split()))  # as printed, wrapped at any width
    rows = [line.split("│") for line in output.splitlines() if "@example.test>" in line]
    assert rows, output
    for row in rows:
        email = row[1].split("<")[1].split(">")[0]
        links = _rows(folder, "SELECT count(*) AS n FROM esx_link l JOIN employee e ON "
                              "e.id = l.employee_id WHERE e.email = ?", email)[0]["n"]
        # Every pair of the first pass is new: each was created on one side, a series'
        # moved occurrence too; nothing was refused or skipped.
        assert _created(row[2]) + _created(row[3]) == links, row
        assert "updated" not in row[2] + row[3] and row[5].strip() == "ok", row
    for one in series:
        assert set(_links(folder, one.erp_id)) == _participants(folder, one.erp_id), one
    return series


def _span() -> tuple[datetime, datetime]:
    first = datetime.combine(date.today() - timedelta(days=1), time())
    return first, first + SPAN


def _by_mailbox(folder: Path, series: list[SampleSeries]
                ) -> dict[str, list[tuple[SampleSeries, str]]]:
    """Each mailbox's sample series with their Exchange ids there."""
    found: dict[str, list[tuple[SampleSeries, str]]] = {}
    for one in series:
        for email, master_id in _links(folder, one.erp_id).items():
            found.setdefault(email, []).append((one, master_id))
    return found


def _subjects(one: SampleSeries) -> set[str]:
    return {one.subject, *(subject for _, subject in one.moved.values())}


@contextmanager
def _ews_mailboxes(folder: Path) -> Iterator[Any]:
    """The demo's EWS sandbox again; yields ``mailbox(email)`` -> exchangelib Account."""
    files = demo.DemoFolder(folder)
    directory = load_directory(files.directory)
    [service] = directory.accounts
    with BackgroundServer(create_sandbox(directory, state_file=files.state).app) as server:
        config = Configuration(
            service_endpoint=f"{server.base_url}/EWS/Exchange.asmx",
            credentials=Credentials(service.upn, service.password), auth_type=BASIC,
            version=Version(build=EXCHANGE_2016))
        yield lambda email: Account(email, config=config, autodiscover=False,
                                    access_type=IMPERSONATION,
                                    default_timezone=EWSTimeZone("UTC"))


def test_the_ews_demo_shows_each_sample_series_as_dateutil_does(tmp_path: Path) -> None:
    output = _demo(tmp_path, "ews")
    series = _check_the_first_pass(tmp_path, output)

    first, until = _span()
    zone = EWSTimeZone(demo.MAILBOX_ZONE)
    with _ews_mailboxes(tmp_path) as mailbox:
        for email, linked in _by_mailbox(tmp_path, series).items():
            account = mailbox(email)
            view = list(account.calendar.view(
                start=EWSDateTime.from_datetime(first.replace(tzinfo=zone)),
                end=EWSDateTime.from_datetime(until.replace(tzinfo=zone))))
            uids = set()
            for one, master_id in linked:
                [master] = account.fetch(ids=[ItemId(id=master_id)])
                assert master.type == "RecurringMaster", (one, email)
                uids.add(master.uid)
                mine = [i for i in view if i.uid == master.uid]
                assert {i.type for i in mine} <= {"Occurrence", "Exception"}, (one, email)
                assert sorted((datetime.fromtimestamp(i.start.timestamp(), UTC), i.subject)
                              for i in mine) == one.expected(until), (one, email)
            # No second copy of a series (a single appointment, another series).
            copies = [i.subject for i in view if i.uid not in uids and any(
                i.subject in _subjects(one) for one, _ in linked)]
            assert copies == [], email


def _graph_view(http: Any, email: str) -> list[dict[str, Any]]:
    first, until = _span()
    url: str | None = f"/users/{email}/calendarView"
    params: dict[str, str] | None = {
        "startDateTime": first.replace(tzinfo=ZONE).astimezone(UTC).isoformat(),
        "endDateTime": until.replace(tzinfo=ZONE).astimezone(UTC).isoformat()}
    found: list[dict[str, Any]] = []
    while url:
        page = http.get(url, params=params, headers={"Prefer": "odata.maxpagesize=500"})
        assert page.status_code == 200, page.text
        found += page.json()["value"]
        url, params = page.json().get("@odata.nextLink"), None
    return found


def _graph_utc(event: dict[str, Any]) -> datetime:
    assert event["start"]["timeZone"] == "UTC"
    return datetime.fromisoformat(event["start"]["dateTime"][:19]).replace(tzinfo=UTC)


def test_the_graph_demo_shows_each_sample_series_as_dateutil_does(tmp_path: Path) -> None:
    output = _demo(tmp_path, "graph")
    series = _check_the_first_pass(tmp_path, output)

    files = demo_graph.GraphFiles(tmp_path)
    directory = load_directory(files.directory)
    [entry] = directory.apps
    graph_app = demo_graph.GraphApp(entry.tenant_id, entry.client_id, entry.client_secret)
    tls = ensure_tls_files(files.tls)
    sandbox = create_graph_sandbox(directory, state_file=files.state)
    _, until = _span()
    with BackgroundServer(sandbox, ssl_certfile=str(tls.certfile),
                          ssl_keyfile=str(tls.keyfile)) as server, \
            demo_graph.graph_client(server.base_url, graph_app, tls.ca_file) as http:
        for email, linked in _by_mailbox(tmp_path, series).items():
            view = _graph_view(http, email)
            masters = set()
            for one, master_id in linked:
                # The link holds the immutable id; a client's view lists the REST id.
                master = http.get(f"/users/{email}/events/{master_id}").json()
                assert master["type"] == "seriesMaster", (one, email, master)
                masters.add(master["id"])
                mine = [e for e in view if e.get("seriesMasterId") == master["id"]]
                assert {e["type"] for e in mine} <= {"occurrence", "exception"}, (one, email)
                assert sorted((_graph_utc(e), e["subject"]) for e in mine) == one.expected(
                    until), (one, email)
            copies = [e["subject"] for e in view if e.get("seriesMasterId") not in masters
                      and any(e["subject"] in _subjects(one) for one, _ in linked)]
            assert copies == [], email
