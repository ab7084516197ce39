"""The engine's ERP side on the real store: a pass over SqlErpStore and the in-memory
mailbox writes ERP rows, links and the cursor in one transaction, on both dialects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from esexchange.domain.mapping import make_context
from esexchange.domain.model import ExchangeItem, Kind
from esexchange.domain.options import ConnectionOptions, EmployeeSettings
from esexchange.engine import PassReport, run_pass
from esexchange.erp.port import Scope
from esexchange.erp.store import SqlErpStore, SqlErpTransaction
from tests.erp.conftest import Erp
from tests.memory_mailbox import MemoryMailbox

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


class Crash(BaseException):
    """The process dies at the commit."""


class World:
    def __init__(self, erp: Erp, store: SqlErpStore) -> None:
        self.erp, self.store = erp, store
        self.anna_id = erp.employee("Anna Schmidt")
        self.john_id = erp.employee("John Miller")
        [self.anna] = store.employees([self.anna_id])
        connection = erp.sql("INSERT INTO esx_connection (name, backend, auth) "
                             "VALUES ('Zentrale', 'ews', 'user') RETURNING id")
        self.scope = Scope(connection, self.anna_id)
        self.mailbox = MemoryMailbox(self.anna.email, clock=lambda: NOW, seed=3)
        options = ConnectionOptions(erp_time_zone="Europe/Berlin")
        self.ctx = make_context(options, store.reference(), "UTC")

    def run(self, now: datetime = NOW) -> PassReport:
        return run_pass(self.store, self.mailbox, self.scope, self.anna, EmployeeSettings(),
                        self.ctx, now)

    def journal_length(self) -> int:
        return int(self.erp.sql("SELECT count(*) FROM esx_change"))

    def activity_subjects(self) -> list[str]:
        with self.erp.engine.connect() as conn:
            return sorted(s for (s,) in conn.execute(text(
                "SELECT subject FROM activity a JOIN activity_participant p "
                "ON p.activity_id = a.id WHERE p.employee_id = :e"), {"e": self.anna_id}))


@pytest.fixture
def world(erp: Erp, store: SqlErpStore) -> World:
    return World(erp, store)


def test_a_pass_copies_the_erp_then_a_second_pass_writes_nothing(world: World) -> None:
    erp = world.erp
    erp.appointment("Projektbesprechung", world.anna_id,
                    start_at=datetime(2026, 12, 2, 9), end_at=datetime(2026, 12, 2, 10))
    erp.appointment("Messe Hannover", world.anna_id, all_day=True,
                    start_at=datetime(2026, 12, 7), end_at=datetime(2026, 12, 9))
    erp.appointment("Quarterly review", world.anna_id, world.john_id,
                    start_at=datetime(2026, 12, 3, 14), end_at=datetime(2026, 12, 3, 15))
    erp.appointment("Zahnarzt", world.anna_id, private=True,
                    start_at=datetime(2026, 12, 4, 8), end_at=datetime(2026, 12, 4, 9))
    erp.task("Angebot schreiben", world.anna_id, due_at=datetime(2026, 12, 5))

    first = world.run()

    assert first.ok, first.failures
    assert sorted(i.subject for i in world.mailbox.items(Kind.APPOINTMENT).values()) == [
        "Messe Hannover", "Projektbesprechung", "Quarterly review"]  # private stays out
    assert [i.subject for i in world.mailbox.items(Kind.TASK).values()] == ["Angebot schreiben"]
    assert len(world.store.links(world.scope, Kind.APPOINTMENT)) == 3
    last_seq = erp.sql("SELECT max(seq) FROM esx_change")
    assert world.store.cursor(world.scope, Kind.APPOINTMENT).erp_seq == last_seq

    writes, journal = world.mailbox.writes, world.journal_length()
    second = world.run()

    assert second.ok
    assert (world.mailbox.writes, world.journal_length()) == (writes, journal)


def test_exchange_creates_and_deletes_reach_the_erp_with_an_archive(world: World) -> None:
    doomed = world.erp.appointment("Alter Termin", world.anna_id,
                                   start_at=datetime(2026, 12, 2, 9),
                                   end_at=datetime(2026, 12, 2, 10))
    world.run()
    # A second pass first: it reads the mailbox past the sync's own creation. (An item
    # created by a pass and deleted before the next one is never reported by a sync
    # state read before the creation: that is the engine's business, not the store's.)
    world.run()
    [exchange_id] = world.mailbox.items(Kind.APPOINTMENT)
    world.mailbox.user_delete(Kind.APPOINTMENT, exchange_id)
    world.mailbox.user_create(ExchangeItem(
        Kind.APPOINTMENT, "Call with Contoso", start=NOW + timedelta(days=3),
        end=NOW + timedelta(days=3, hours=1)))

    report = world.run()

    assert report.ok, report.failures
    assert world.activity_subjects() == ["Call with Contoso"]
    assert world.erp.sql("SELECT activity_id FROM esx_archive") == doomed
    [link] = world.store.links(world.scope, Kind.APPOINTMENT)
    assert link.synced.subject == "Call with Contoso"


def test_a_crash_at_the_commit_loses_nothing_and_duplicates_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.erp.appointment("Schon da", world.anna_id, start_at=datetime(2026, 12, 2, 9),
                          end_at=datetime(2026, 12, 2, 10))
    world.run()
    cursor = world.store.cursor(world.scope, Kind.APPOINTMENT)
    world.mailbox.user_create(ExchangeItem(
        Kind.APPOINTMENT, "Neu aus Outlook", start=NOW + timedelta(days=1),
        end=NOW + timedelta(days=1, hours=1)))

    def crash(self: SqlErpTransaction) -> None:
        raise Crash

    with monkeypatch.context() as patch:
        patch.setattr(SqlErpTransaction, "commit", crash)
        with pytest.raises(Crash):
            world.run()

    # Nothing of the crashed pass is in the database: no row, no link, same cursor.
    assert world.activity_subjects() == ["Schon da"]
    assert len(world.store.links(world.scope, Kind.APPOINTMENT)) == 1
    assert world.store.cursor(world.scope, Kind.APPOINTMENT) == cursor

    report = world.run()

    assert report.ok, report.failures
    assert world.activity_subjects() == ["Neu aus Outlook", "Schon da"]
    assert len(world.store.links(world.scope, Kind.APPOINTMENT)) == 2
    assert len(world.mailbox.items(Kind.APPOINTMENT)) == 2


def _refuse_links_where(world: World, condition: str) -> None:
    """A database trigger that refuses the links matching ``condition`` on ``NEW`` (a
    real database error, for one pair)."""
    if world.erp.engine.dialect.name == "sqlite":
        world.erp.sql(
            "CREATE TRIGGER refuse_link BEFORE INSERT ON esx_link "
            f"WHEN {condition} BEGIN SELECT RAISE(ABORT, 'link refused'); END")
    else:
        world.erp.sql(
            "CREATE FUNCTION refuse_link() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF {condition} THEN RAISE EXCEPTION 'link refused'; END IF; "
            "RETURN NEW; END $$")
        world.erp.sql("CREATE TRIGGER refuse_link BEFORE INSERT ON esx_link "
                      "FOR EACH ROW EXECUTE FUNCTION refuse_link()")


def _accept_links(world: World) -> None:
    world.erp.sql("DROP TRIGGER refuse_link" + (
        "" if world.erp.engine.dialect.name == "sqlite" else " ON esx_link"))


def test_a_pair_the_database_refuses_rolls_back_only_itself(world: World) -> None:
    ids = [
        world.erp.appointment(f"Termin {n}", world.anna_id,
                              start_at=datetime(2026, 12, 2 + n, 9),
                              end_at=datetime(2026, 12, 2 + n, 10))
        for n in range(3)
    ]
    world.mailbox.user_create(ExchangeItem(
        Kind.APPOINTMENT, "Aus Outlook", start=NOW + timedelta(days=1),
        end=NOW + timedelta(days=1, hours=1)))
    _refuse_links_where(world, f"NEW.erp_id = {ids[1]}")

    report = world.run()

    assert not report.ok
    [failure] = report.failures
    assert f"ERP activity {ids[1]} (Termin 1)" in failure and "link refused" in failure
    # The other pairs of the pass are applied: their links and the import are there.
    linked = {link.erp_id for link in world.store.links(world.scope, Kind.APPOINTMENT)}
    assert ids[0] in linked and ids[2] in linked and ids[1] not in linked
    assert "Aus Outlook" in world.activity_subjects()
    [parked] = world.store.parked(world.scope, Kind.APPOINTMENT)
    assert parked.erp_id == ids[1] and "link refused" in parked.last_error
    assert parked.exchange_id in world.mailbox.items(Kind.APPOINTMENT)  # retried by id

    _accept_links(world)
    again = world.run(now=parked.next_try_at)

    assert again.ok, again.failures
    # The refused pair's Exchange copy (made before the refusal) is adopted by its stamp.
    assert sorted(i.subject for i in world.mailbox.items(Kind.APPOINTMENT).values()) == [
        "Aus Outlook", "Termin 0", "Termin 1", "Termin 2"]
    assert len(world.store.links(world.scope, Kind.APPOINTMENT)) == 4

    # And the pass after the retry writes nothing.
    writes, journal = world.mailbox.writes, world.journal_length()
    assert world.run(now=parked.next_try_at + timedelta(hours=7)).ok
    assert (world.mailbox.writes, world.journal_length()) == (writes, journal)


def test_an_import_the_database_refuses_leaves_no_erp_row_and_is_imported_once_later(
    world: World,
) -> None:
    kept = world.erp.appointment("Termin im ERP", world.anna_id,
                                 start_at=datetime(2026, 12, 2, 9),
                                 end_at=datetime(2026, 12, 2, 10))
    refused = world.mailbox.user_create(ExchangeItem(
        Kind.APPOINTMENT, "Aus Outlook", start=NOW + timedelta(days=1),
        end=NOW + timedelta(days=1, hours=1)))
    world.mailbox.user_create(ExchangeItem(
        Kind.APPOINTMENT, "Auch aus Outlook", start=NOW + timedelta(days=2),
        end=NOW + timedelta(days=2, hours=1)))
    _refuse_links_where(world, f"NEW.exchange_id = '{refused}'")

    report = world.run()

    [failure] = report.failures
    assert "Aus Outlook" in failure and "link refused" in failure
    # The refused pair's activity is rolled back with its link; the rest is applied.
    assert world.activity_subjects() == ["Auch aus Outlook", "Termin im ERP"]
    linked = {link.exchange_id for link in world.store.links(world.scope, Kind.APPOINTMENT)}
    assert refused not in linked and len(linked) == 2
    assert kept in {link.erp_id for link in world.store.links(world.scope, Kind.APPOINTMENT)}
    [parked] = world.store.parked(world.scope, Kind.APPOINTMENT)
    assert (parked.erp_id, parked.exchange_id, parked.attempts) == (None, refused, 1)

    _accept_links(world)
    assert world.run(now=parked.next_try_at).ok
    assert world.activity_subjects() == ["Auch aus Outlook", "Aus Outlook", "Termin im ERP"]
    assert world.store.parked(world.scope, Kind.APPOINTMENT) == []
    writes, journal = world.mailbox.writes, world.journal_length()
    assert world.run(now=parked.next_try_at + timedelta(hours=7)).ok
    assert (world.mailbox.writes, world.journal_length()) == (writes, journal)
