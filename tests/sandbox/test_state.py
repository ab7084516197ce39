"""``--state FILE``: mailboxes survive a restart; and the command that serves them."""

from __future__ import annotations

import os
import re
import signal
import ssl
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from exchangelib import CalendarItem, EWSDateTime, EWSTimeZone, Task
from exchangelib.items import SEND_TO_NONE

from esexchange.inprocess import BackgroundServer
from esexchange.sandbox.directory import write_directory
from esexchange.sandbox.ews.app import create_sandbox
from esexchange.sandbox.models import FieldChange
from esexchange.sandbox.models.persistence import open_backend
from esexchange.sandbox.models.values import (
    ExtendedKey,
    Pattern,
    PatternKind,
    RangeKind,
    Recurrence,
    RecurrenceRange,
)
from tests.support.sandbox import ANNA, SANDBOX_DIRECTORY, RunningSandbox

BERLIN = EWSTimeZone("Europe/Berlin")


def _running(state: Path, port: int) -> RunningSandbox:
    sandbox = create_sandbox(SANDBOX_DIRECTORY, state_file=state, validate_responses=True)
    return RunningSandbox(f"http://127.0.0.1:{port}/EWS/Exchange.asmx", sandbox)


def test_items_sync_states_and_configurations_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.db"
    first = create_sandbox(SANDBOX_DIRECTORY, state_file=state)
    with BackgroundServer(first.app) as server:
        account = RunningSandbox(f"{server.base_url}/EWS/Exchange.asmx", first).account(ANNA)
        item = CalendarItem(
            account=account, folder=account.calendar, subject="kept", body="text",
            start=EWSDateTime(2026, 12, 1, 9, tzinfo=BERLIN),
            end=EWSDateTime(2026, 12, 1, 10, tzinfo=BERLIN), categories=["A"],
        )  # fmt: skip
        item.save(send_meeting_invitations=SEND_TO_NONE)
        Task(
            account=account, folder=account.tasks, subject="todo", status="InProgress",
            percent_complete=Decimal(50),
        ).save()  # fmt: skip
        account.calendar.create_user_configuration(name="CategoryList", xml_data=b"<x/>")
        list(account.calendar.sync_items())
        sync_state = account.calendar.item_sync_state
    second = create_sandbox(SANDBOX_DIRECTORY, state_file=state)
    with BackgroundServer(second.app) as server:
        account = RunningSandbox(f"{server.base_url}/EWS/Exchange.asmx", second).account(ANNA)
        got = account.calendar.get(id=item.id)
        assert (got.changekey, got.subject, got.body, got.categories) == (
            item.changekey, "kept", "text", ["A"],
        )  # fmt: skip
        assert got.start == item.start and got._start_timezone == BERLIN
        assert [t.percent_complete for t in account.tasks.all()] == [50]
        assert account.calendar.get_user_configuration(name="CategoryList").xml_data == b"<x/>"
        assert list(account.calendar.sync_items(sync_state=sync_state)) == []
        got.subject = "changed after the restart"
        got.save(update_fields=["subject"], send_meeting_invitations=SEND_TO_NONE)
        kinds = [kind for kind, _ in account.calendar.sync_items(sync_state=sync_state)]
        assert kinds == ["update"]
        assert got.changekey != item.changekey


def test_the_command_serves_the_directory_file(tmp_path: Path) -> None:
    """``esexchange sandbox ews --directory FILE --port 0`` prints its URL and answers."""
    directory = tmp_path / "directory.toml"
    write_directory(SANDBOX_DIRECTORY, directory)
    command = [sys.executable, "-m", "esexchange", "sandbox", "ews", "--directory",
               str(directory), "--port", "0", "--state", str(tmp_path / "state.db")]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env={**os.environ})
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/EWS/Exchange\.asmx", first_line)
        assert match, first_line
        running = _running(tmp_path / "unused.db", int(match.group(1)))
        account = running.account(ANNA)
        assert account.calendar.folder_class == "IPF.Appointment"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
    assert (tmp_path / "state.db").exists()


def test_the_command_serves_https_with_its_own_ca(tmp_path: Path) -> None:
    """``--tls``: HTTPS with a certificate of the CA written next to the state file."""
    directory = tmp_path / "directory.toml"
    write_directory(SANDBOX_DIRECTORY, directory)
    state = tmp_path / "state" / "sandbox.db"
    state.parent.mkdir()
    command = [sys.executable, "-m", "esexchange", "sandbox", "ews", "--directory",
               str(directory), "--port", "0", "--state", str(state), "--tls"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = re.search(r"https://\S+", process.stdout.readline())
        assert url, "no URL printed"
        ca = state.parent / "ca.pem"
        assert ca.exists()
        schema = url.group(0).replace("Exchange.asmx", "types.xsd")
        trusted = ssl.create_default_context(cafile=str(ca))
        assert httpx.get(schema, verify=trusted).status_code == 200
        with pytest.raises(httpx.ConnectError):  # not trusted without the sandbox's CA
            httpx.get(schema)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)


def test_series_exceptions_and_deleted_occurrences_are_kept(tmp_path: Path) -> None:
    """The state file keeps what only the model knows: exceptions, deleted occurrences."""
    rule = Recurrence(
        Pattern(PatternKind.DAILY, interval=1),
        RecurrenceRange(RangeKind.NUMBERED, date(2026, 12, 1), count=3),
    )
    backend, store = open_backend(SANDBOX_DIRECTORY, tmp_path / "state.db")
    assert store is not None
    with backend.locked(ANNA) as mailbox:
        calendar = mailbox.folder(distinguished="calendar").id
        fields = {"Subject": "series", "Start": datetime(2026, 12, 1, 8, tzinfo=UTC),
                  "End": datetime(2026, 12, 1, 9, tzinfo=UTC), "Recurrence": rule}  # fmt: skip
        master = mailbox.create_item(calendar, "CalendarItem", fields, {})
        second, third = (mailbox.occurrence(master, i) for i in (2, 3))
        mailbox.update_item(second.id, None, "AutoResolve", [FieldChange("set", "Subject", "x")])
        mailbox.delete_item(third.id, "HardDelete", send_cancellations="SendToNone")
        store.save(mailbox)
    reopened, _ = open_backend(SANDBOX_DIRECTORY, tmp_path / "state.db")
    with reopened.locked(ANNA) as mailbox:
        assert mailbox.item(second.id).fields["Subject"] == "x"
        assert mailbox.item(second.id).fields["CalendarItemType"] == "Exception"
        start, end = datetime(2026, 11, 30, tzinfo=UTC), datetime(2026, 12, 5, tzinfo=UTC)
        view = mailbox.calendar_view(calendar, start, end)
        assert [o.fields["Subject"] for o in view] == ["series", "x"]


def test_created_folders_and_their_properties_survive_a_restart(tmp_path: Path) -> None:
    """A folder a client created (name, class, extended properties, a deletion's
    tombstone) is in the state file; distinguished folders a file lacks are added."""
    size_key = ExtendedKey("Integer", property_tag=0x3001)
    backend, store = open_backend(SANDBOX_DIRECTORY, tmp_path / "state.db")
    assert store is not None
    with backend.locked(ANNA) as mailbox:
        inbox = mailbox.folder(distinguished="inbox").id
        kept = mailbox.create_folder(inbox, "Folder", "Projekt", "IPF.Note", {size_key: "7"})
        gone = mailbox.create_folder(inbox, "Folder", "weg")
        mailbox.delete_folder(gone.id, "HardDelete")
        del mailbox.folders[mailbox.folder(distinguished="outbox").id]  # an older file
        store.save(mailbox)
    again, _ = open_backend(SANDBOX_DIRECTORY, tmp_path / "state.db")
    with again.locked(ANNA) as restored:
        folder = restored.folder(kept.id)
        assert (folder.display_name, folder.folder_class) == ("Projekt", "IPF.Note")
        assert folder.extended == {size_key: "7"}
        assert [s.folder_id for s in restored.folder_tombstones] == [gone.id]
        assert restored.folder(distinguished="outbox").display_name == "Outbox"
