"""``esexchange demo``: the whole product on one machine, with nothing but loopback.

One command builds a SQLite ERP with sample data, serves the EWS sandbox in this process
with one mailbox per sample employee and a service account that may impersonate them
all, puts a few appointments and tasks into some mailboxes the way a user's Outlook
would (so the first pass moves items both ways), configures a connection with every
sample employee as personnel, and synchronizes: once, or every interval until Ctrl-C.

Everything lives in one folder (``./demo-data/`` by default): the ERP and the sandbox's
state and directory. A rerun continues where the last run stopped and duplicates
nothing.
"""

from __future__ import annotations

import secrets
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

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
from exchangelib.items import SEND_TO_NONE
from sqlalchemy import Engine, func, select

from esexchange import config
from esexchange.config import Auth, Backend, ConnectionConfig
from esexchange.domain.errors import EsExchangeError
from esexchange.domain.model import Employee
from esexchange.erp.db import open_engine
from esexchange.erp.sample import SERIES_RULES, fill_sample
from esexchange.erp.schema import employee
from esexchange.erp.script import install
from esexchange.erp.store import SqlErpStore
from esexchange.sandbox.directory import (
    AccountEntry,
    Directory,
    DirectoryError,
    MailboxEntry,
    load_directory,
    write_directory,
)
from esexchange.service.admins import create_admin

CONNECTION = "demo"
SERVICE_UPN = "svc-esexchange@example.test"
SAMPLE_EMPLOYEES = 5
SAMPLE_ACTIVITIES = 36
SAMPLE_SERIES = len(SERIES_RULES)  # one of each rule, with moved and deleted occurrences
MAILBOX_ZONE = "Europe/Berlin"


@dataclass(frozen=True)
class DemoFolder:
    """Where the demo keeps everything; ``root`` is created on first use."""

    root: Path

    @property
    def database(self) -> Path:
        return self.root / "erp.sqlite"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.database}"

    @property
    def directory(self) -> Path:
        return self.root / "sandbox-directory.toml"

    @property
    def state(self) -> Path:
        return self.root / "sandbox-state.sqlite"


def use_folder(root: Path) -> DemoFolder:
    """Create the folder.

    The stored password is encrypted with the user's usual key (``esexchange.secrets``),
    so every other command (sync, check) works on the demo ERP too.
    """
    folder = DemoFolder(root.resolve())
    folder.root.mkdir(parents=True, exist_ok=True)
    return folder


def prepare_erp(folder: DemoFolder, say: Callable[[str], None]) -> Engine:
    """The demo ERP: the database script installed, sample data in an empty ERP.

    A new ERP gets a new Exchange side too: items left in an old sandbox state carry the
    ERP ids of the old ERP, and the sync would adopt them as copies of new activities.
    """
    engine = open_engine(folder.db_url)
    install(engine)
    with engine.connect() as db:
        has_employees = db.scalar(select(func.count()).select_from(employee))
    if has_employees:
        say(f"Using the ERP {folder.database} from an earlier run.")
        return engine
    report = fill_sample(engine, employees=SAMPLE_EMPLOYEES, activities=SAMPLE_ACTIVITIES,
                         series=SAMPLE_SERIES)
    say(f"Created the ERP {folder.database} with sample data: {report.summary()}.")
    if folder.state.exists():
        for suffix in ("", "-wal", "-shm"):  # SQLite's write-ahead log beside it
            Path(f"{folder.state}{suffix}").unlink(missing_ok=True)
        say(f"Removed the sandbox state {folder.state}, which belonged to an older ERP.")
    return engine


def sample_employees(engine: Engine) -> list[Employee]:
    """Employees with an email address: each gets a mailbox and is synchronized."""
    return [e for e in SqlErpStore(engine).employees() if e.email]


def sandbox_directory(folder: DemoFolder, people: list[Employee]) -> tuple[Directory, str]:
    """The sandbox's directory (one mailbox per employee, the service account) and the
    account's password, kept from an earlier run so the stored connection still works."""
    password = None
    if folder.directory.exists():
        try:
            earlier = load_directory(folder.directory).account(SERVICE_UPN)
        except DirectoryError as error:  # the sandbox's own error, reported as ours
            raise EsExchangeError(str(error)) from None
        password = earlier.password if earlier else None
    password = password or secrets.token_urlsafe(12)
    directory = Directory(
        mailboxes=tuple(MailboxEntry(p.email, p.name, MAILBOX_ZONE) for p in people),
        accounts=(AccountEntry(SERVICE_UPN, password, ("*",)),),
    )
    write_directory(directory, folder.directory)
    return directory, password


def configure_connection(engine: Engine, ews_url: str, password: str,
                         people: list[Employee]) -> None:
    """The ``demo`` connection with every sample employee; on a rerun only the URL (the
    port may differ) is brought up to date."""
    names = {c.name for c in config.list_connections(engine)}
    if CONNECTION in names:
        config.store_ews_url(engine, CONNECTION, ews_url)
        config.set_connection_secret(engine, CONNECTION, password)
    else:
        config.add_connection(
            engine,
            ConnectionConfig(name=CONNECTION, backend=Backend.EWS, auth=Auth.USER,
                             ews_url=ews_url, upn=SERVICE_UPN),
            password,
        )
        config.set_option(engine, CONNECTION, "erp_time_zone", MAILBOX_ZONE)
    config.add_personnel(engine, CONNECTION, [p.email for p in people])


def seed_mailboxes(ews_url: str, password: str, people: list[Employee]) -> int:
    """A few items made in Outlook, in the first mailboxes; returns how many."""
    made = 0
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    for index, person in enumerate(people[:3]):
        account = _outlook(ews_url, password, person.email)
        begins = EWSDateTime.from_datetime(start + timedelta(days=index, hours=index))
        CalendarItem(
            folder=account.calendar, subject=f"Lunch with a customer ({person.name})",
            start=begins, end=begins + timedelta(hours=1), location="Café am Markt",
            body="Planned in Outlook.", categories=["Personal"],
        ).save(send_meeting_invitations=SEND_TO_NONE)
        Task(
            folder=account.tasks, subject="Call back about the offer",
            due_date=EWSDate.from_date((start + timedelta(days=5)).date()),
            body="Entered in Outlook.", importance="High",
        ).save()
        made += 2
    return made


def _outlook(ews_url: str, password: str, email: str) -> Account:
    configuration = Configuration(
        service_endpoint=ews_url, credentials=Credentials(SERVICE_UPN, password),
        auth_type=BASIC,
    )
    return Account(
        primary_smtp_address=email, config=configuration, autodiscover=False,
        access_type=IMPERSONATION, default_timezone=EWSTimeZone("UTC"),
    )


CONSOLE_ADMIN = "admin"


def console_admin(engine: Engine, folder: DemoFolder) -> str:
    """The demo's console sign-in (``admin``): its password, made on the first run and
    kept in the demo folder (a demo-only password, like the sandbox's)."""
    stored = folder.root / "console-password.txt"
    if stored.exists():
        return stored.read_text().strip()
    password = f"demo-{secrets.token_urlsafe(9)}"
    create_admin(engine, CONSOLE_ADMIN, password)
    stored.write_text(password + "\n")
    return password


def esexchange_command() -> str:
    """``esexchange`` as the user can type it: the bare name only when ``PATH`` finds this
    installation (``make demo`` does not activate ``.venv``), else the script's path."""
    script = Path(sys.executable).with_name("esexchange")
    found = shutil.which("esexchange")
    if found and script.exists() and Path(found).resolve() == script.resolve():
        return "esexchange"
    if script.exists():
        return str(script)
    return f"{sys.executable} -m esexchange"


def instructions(folder: DemoFolder, ews_url: str, password: str, first_email: str) -> str:
    """How to look at both sides while the demo runs; every command works as printed."""
    port = urlsplit(ews_url).port
    esx = esexchange_command()
    return f"""\
Look at the Exchange side (the sandbox at {ews_url}):
  service account {SERVICE_UPN}, password {password} (a demo-only password)
  {sys.executable} - <<'PY'
  from exchangelib import Account, Configuration, Credentials, BASIC, IMPERSONATION
  c = Configuration(service_endpoint="{ews_url}",
                    credentials=Credentials("{SERVICE_UPN}", "{password}"), auth_type=BASIC)
  a = Account("{first_email}", config=c, autodiscover=False, access_type=IMPERSONATION)
  for item in a.calendar.all(): print(item.start, item.subject, item.categories)
  for task in a.tasks.all(): print(task.due_date, task.subject, task.status)
  PY
After the demo stops, the same mailboxes are served by:
  {esx} sandbox ews --directory {folder.directory} --state {folder.state} --port {port}
Look at the ERP side:
  sqlite3 {folder.database} "select id, kind, subject, start_at, due_at from activity order by id"
  {esx} status --db {folder.db_url}
And at esExchange itself (while the demo runs):
  {esx} check assignment {CONNECTION} --db {folder.db_url}
  {esx} sync --dry-run --db {folder.db_url}
"""
