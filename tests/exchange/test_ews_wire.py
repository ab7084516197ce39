"""The CreateItem element built straight from an appointment (``ews.wire``) says what
exchangelib says for the ``CalendarItem`` the adapter used to build: the same XML once
canonicalized, and a refusal wherever exchangelib's ``clean`` refuses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from exchangelib import BASIC, IMPERSONATION, Account, Configuration, Credentials, EWSTimeZone
from exchangelib.items import ID_ONLY
from exchangelib.properties import DistinguishedFolderId, FolderId
from exchangelib.properties import Mailbox as MailboxAddress
from exchangelib.services import SyncFolderItems
from exchangelib.version import Build, Version
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from esexchange.domain.model import ExchangeItem, Importance, Kind, Sensitivity
from esexchange.exchange.ews.items import register_erp_id_property, to_exchangelib
from esexchange.exchange.ews.services import SyncItems, sync_folder_id
from esexchange.exchange.ews.wire import appointment_element, direct_create

VERSION = Version(build=Build(15, 1, 2507, 6))
ZONES = ("Europe/Berlin", "America/New_York", "UTC", "Asia/Kolkata")


def _account(zone: str) -> Account:
    register_erp_id_property()
    config = Configuration(service_endpoint="https://exchange.invalid/EWS/Exchange.asmx",
                           credentials=Credentials("svc@example.test", "x"), auth_type=BASIC,
                           version=VERSION)
    return Account(primary_smtp_address="anna@example.test", config=config,
                   autodiscover=False, access_type=IMPERSONATION,
                   default_timezone=EWSTimeZone(zone), locale="en_US")


ACCOUNTS = {zone: _account(zone) for zone in ZONES}


def _exchangelib_element(item: ExchangeItem, account: Account) -> Any:
    built = to_exchangelib(item, account=account, folder=None)
    built.clean(version=VERSION)
    return built.to_xml(version=VERSION)


def _canonical(element: Any) -> bytes:
    return bytes(etree.tostring(element, method="c14n"))


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
instants = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2040, 12, 31),
                        timezones=st.just(UTC))
days = st.dates(min_value=date(1990, 1, 1), max_value=date(2040, 12, 31))


@st.composite
def appointments(draw: st.DrawFn) -> ExchangeItem:
    if draw(st.booleans()):
        start: date | datetime = draw(days)
        end: date | datetime = start + timedelta(days=draw(st.integers(-1, 3)))
    else:
        start = draw(instants).replace(microsecond=draw(st.sampled_from([0, 0, 500])))
        end = start + timedelta(minutes=draw(st.integers(-30, 60 * 30)))
    return ExchangeItem(
        Kind.APPOINTMENT,
        draw(st.one_of(texts, st.text(min_size=250, max_size=260))),
        body=draw(texts), start=start, end=end, location=draw(texts),
        sensitivity=draw(st.sampled_from(Sensitivity)),
        importance=draw(st.sampled_from(Importance)),
        categories=tuple(draw(st.lists(texts, max_size=3))),
        reminder_minutes=draw(st.one_of(st.none(), st.integers(-5, 10_000))),
        erp_id=draw(st.one_of(st.none(), st.integers(1, 2**40))),
    )


@settings(max_examples=300, deadline=None)
@given(item=appointments(), zone=st.sampled_from(ZONES))
def test_an_appointment_element_is_what_exchangelib_sends(item: ExchangeItem, zone: str) -> None:
    account = ACCOUNTS[zone]
    assert direct_create(item, VERSION)
    try:
        expected: bytes | None = _canonical(_exchangelib_element(item, account))
    except ValueError:
        expected = None
    try:
        ours: bytes | None = _canonical(appointment_element(item, account.default_timezone))
    except ValueError:
        ours = None
    assert ours == expected


def test_a_refusal_says_what_exchangelib_says() -> None:
    start = datetime(2026, 12, 3, 9, tzinfo=UTC)
    backwards = ExchangeItem(Kind.APPOINTMENT, "Backwards", start=start,
                             end=start - timedelta(hours=1))
    account = ACCOUNTS["Europe/Berlin"]
    for item in (backwards, ExchangeItem(Kind.APPOINTMENT, "x" * 256, start=start, end=start)):
        try:
            _exchangelib_element(item, account)
        except ValueError as error:
            expected = str(error)
        try:
            appointment_element(item, account.default_timezone)
        except ValueError as error:
            assert str(error) == expected
        else:
            raise AssertionError(f"{item.subject[:10]} was not refused")


def test_series_tasks_and_old_servers_keep_exchangelibs_path() -> None:
    start = datetime(2026, 12, 3, 9, tzinfo=UTC)
    timed = ExchangeItem(Kind.APPOINTMENT, "Timed", start=start, end=start)
    assert direct_create(timed, VERSION)
    assert not direct_create(ExchangeItem(Kind.TASK, "Task"), VERSION)
    assert not direct_create(ExchangeItem(Kind.APPOINTMENT, "No end", start=start), VERSION)
    assert not direct_create(timed, Version(build=Build(8, 3, 83, 6)))  # Exchange 2007 SP1


# Exchange's ids, change keys and sync states are base64 tokens.
tokens = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=",
                 min_size=1, max_size=80)
folders = st.one_of(
    st.builds(FolderId, id=tokens, changekey=st.one_of(st.none(), tokens)),
    st.builds(DistinguishedFolderId, id=st.sampled_from(["calendar", "tasks"]),
              mailbox=st.builds(MailboxAddress, email_address=st.emails())),
)


@settings(max_examples=60, deadline=None)
@given(folder=folders, state=st.one_of(st.none(), tokens), page=st.integers(1, 512))
def test_an_id_only_sync_request_says_what_exchangelibs_says(
    folder: FolderId | DistinguishedFolderId, state: str | None, page: int,
) -> None:
    # SyncItems writes its IdOnly request itself, around the folder's element written
    # once (cheaper than exchangelib's field machinery per request); the server must get
    # the same request all the same.
    account = ACCOUNTS["Europe/Berlin"]
    arguments = {"folder": folder, "shape": ID_ONLY, "additional_fields": set(),
                 "sync_state": state, "ignore": None, "max_changes_returned": page,
                 "sync_scope": None}
    once = sync_folder_id(folder, VERSION)
    ours = SyncItems(account=account, folder_element=once).get_payload(**arguments)
    theirs = SyncFolderItems(account=account).get_payload(**arguments)
    assert _canonical(ours) == _canonical(theirs)
    assert once.getparent() is None, "the element written once stays for the next request"
