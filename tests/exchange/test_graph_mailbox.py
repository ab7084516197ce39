"""The Graph adapter against the Graph sandbox: reading, writing, adopting, categories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from esexchange.domain.model import (
    Category,
    ExchangeItem,
    Importance,
    ItemRef,
    Kind,
    Sensitivity,
    TaskStatus,
)
from esexchange.domain.state import WHOLE_FOLDER
from esexchange.exchange.errors import InvalidSyncState, ItemFailed
from esexchange.exchange.graph import GraphConnection
from esexchange.exchange.graph.mailbox import GraphMailbox
from esexchange.exchange.port import ChangePage, ExchangeUpdate, OwnWrites
from tests.support.graph_sandbox import ANNA, GraphHarness

SOON = datetime.now(UTC).replace(microsecond=0, second=0) + timedelta(days=2)


def appointment(subject: str, erp_id: int | None = None, **values: object) -> ExchangeItem:
    base = {"start": SOON, "end": SOON + timedelta(hours=1)}
    return ExchangeItem(Kind.APPOINTMENT, subject, erp_id=erp_id, **{**base, **values})  # type: ignore[arg-type]


def task(subject: str, erp_id: int | None = None, **values: object) -> ExchangeItem:
    return ExchangeItem(Kind.TASK, subject, erp_id=erp_id, **values)  # type: ignore[arg-type]


def read_all(mailbox: GraphMailbox, kind: Kind, state: str | None = None
             ) -> tuple[list[ChangePage], str]:
    pages = []
    while True:
        page = mailbox.changes(kind, state)
        pages.append(page)
        state = page.state
        if not page.more:
            return pages, state


def test_events_round_trip_with_their_erp_id_and_all_fields(online: GraphConnection) -> None:
    mailbox = online.mailbox(ANNA)
    sent = appointment(
        "Visit", 42, body="first line\nsecond line", location="Room 1",
        sensitivity=Sensitivity.PRIVATE, importance=Importance.HIGH,
        categories=("ES_3_Visit", "Mine"), reminder_minutes=30,
    )
    all_day = ExchangeItem(Kind.APPOINTMENT, "Holiday", start=SOON.date(),
                           end=SOON.date() + timedelta(days=1), erp_id=43)
    results = mailbox.create([sent, all_day])
    assert [r.error for r in results] == [None, None]
    pages, _ = read_all(mailbox, Kind.APPOINTMENT)
    read = {c.remote.item.erp_id: c.remote.item for p in pages for c in p.changes if c.remote}
    assert read[42] == sent
    assert read[43] == all_day
    assert pages[0].complete is not None and pages[0].complete.contains(sent)


def test_tasks_round_trip_with_a_linked_resource(online: GraphConnection) -> None:
    mailbox = online.mailbox(ANNA)
    sent = task("Call back", 7, body="about the offer", due=SOON.date(),
                start=SOON.date() - timedelta(days=1), status=TaskStatus.WAITING,
                importance=Importance.LOW, categories=("ES_2_Call",))
    assert mailbox.create([sent])[0].ok
    pages, _ = read_all(mailbox, Kind.TASK)
    assert pages[0].complete == WHOLE_FOLDER
    [change] = [c for p in pages for c in p.changes]
    assert change.remote is not None and change.remote.item == sent
    assert mailbox.capabilities(Kind.TASK).cannot_hold >= {"percent_complete", "private"}


def test_delta_pages_through_many_changes_and_then_reports_only_new_ones(
    graph: GraphHarness,
) -> None:
    connection = graph.connect(page_size=3)
    mailbox = connection.mailbox(ANNA)
    refs = [r.value for r in mailbox.create([appointment(f"E{n}", n) for n in range(8)])]
    pages, state = read_all(mailbox, Kind.APPOINTMENT)
    assert len(pages) == 3
    assert all(p.complete == pages[0].complete for p in pages)
    assert sorted(c.remote.item.subject for p in pages for c in p.changes if c.remote) == [
        f"E{n}" for n in range(8)]
    assert refs[0] is not None and refs[1] is not None
    mailbox.update([ExchangeUpdate(refs[0], appointment("E0 new", 0), frozenset({"subject"}))])
    assert mailbox.delete([refs[1]])[0].ok
    pages, _ = read_all(mailbox, Kind.APPOINTMENT, state)
    changes = {c.exchange_id: c.remote for p in pages for c in p.changes}
    assert pages[0].complete is None
    assert changes[refs[1].id] is None
    assert changes[refs[0].id] is not None and changes[refs[0].id].item.subject == "E0 new"
    connection.close()


def test_an_event_moved_out_of_the_window_is_reported_as_it_is_not_deleted(
    online: GraphConnection,
) -> None:
    mailbox = online.mailbox(ANNA)
    [created] = mailbox.create([appointment("Moves", 5)])
    assert created.value is not None
    _, state = read_all(mailbox, Kind.APPOINTMENT)
    far = SOON + timedelta(days=800)
    moved = appointment("Moves", 5, start=far, end=far + timedelta(hours=1))
    [result] = mailbox.update([ExchangeUpdate(created.value, moved, frozenset({"start", "end"}))])
    assert result.ok
    pages, _ = read_all(mailbox, Kind.APPOINTMENT, state)
    [change] = [c for p in pages for c in p.changes]
    assert change.remote is not None and change.remote.item.start == far


def test_a_stale_delta_token_asks_for_a_full_read(graph: GraphHarness, online: GraphConnection
                                                  ) -> None:
    mailbox = online.mailbox(ANNA)
    _, state = read_all(mailbox, Kind.APPOINTMENT)
    graph.sandbox.backend.reset_sync_states(ANNA)
    with pytest.raises(InvalidSyncState):
        mailbox.changes(Kind.APPOINTMENT, state)


def test_a_stale_version_fails_only_its_own_update(online: GraphConnection) -> None:
    mailbox = online.mailbox(ANNA)
    first, second = (r.value for r in mailbox.create([appointment("A", 1), appointment("B", 2)]))
    assert first is not None and second is not None
    mailbox.update([ExchangeUpdate(first, appointment("A by user", 1), frozenset({"subject"}))])
    results = mailbox.update([
        ExchangeUpdate(first, appointment("A by sync", 1), frozenset({"subject"})),
        ExchangeUpdate(second, appointment("B by sync", 2), frozenset({"subject"})),
    ])
    assert isinstance(results[0].error, ItemFailed) and "changed in Exchange" in str(
        results[0].error)
    assert results[1].ok


def test_writing_categories_keeps_the_users_own(graph: GraphHarness, online: GraphConnection
                                                ) -> None:
    mailbox = online.mailbox(ANNA)
    [created] = mailbox.create([appointment("Typed", 9, categories=("ES_1_Old",))])
    assert created.value is not None
    stored = graph.sandbox.backend.events(ANNA)[0]
    stored.data["categories"] = ["ES_1_Old", "Private stuff"]  # the user added one
    stale = ItemRef(created.value.id, "")
    [result] = mailbox.update([ExchangeUpdate(stale, appointment("Typed", 9, categories=(
        "ES_2_New",)), frozenset({"categories"}))])
    assert result.ok
    assert graph.sandbox.backend.events(ANNA)[0].data["categories"] == ["Private stuff",
                                                                        "ES_2_New"]


def test_deleting_events_and_tasks_and_what_is_already_gone(
    graph: GraphHarness, online: GraphConnection
) -> None:
    mailbox = online.mailbox(ANNA)
    [event] = mailbox.create([appointment("E", 1)])
    [todo] = mailbox.create([task("T", 2)])
    assert event.value is not None and todo.value is not None
    fresh = online.mailbox(ANNA)  # knows neither id: tries both paths
    results = fresh.delete([event.value, todo.value, ItemRef("AAkALgnothere", "")])
    assert all(r.ok for r in results)
    assert graph.sandbox.backend.events(ANNA) == []
    box = graph.sandbox.backend.mailbox(ANNA)
    assert all(not t.folder.items for t in box.task_lists.values())


def test_items_stamped_before_a_crash_are_found_by_their_erp_id(online: GraphConnection) -> None:
    mailbox = online.mailbox(ANNA)
    mailbox.create([appointment("E", 11), appointment("F", 12), appointment("G")])
    mailbox.create([task("T", 21), task("U")])
    events = online.mailbox(ANNA).find_by_erp_id(Kind.APPOINTMENT, [11, 12, 13])
    assert {k: v.item.subject for k, v in events.items()} == {11: "E", 12: "F"}
    tasks = online.mailbox(ANNA).find_by_erp_id(Kind.TASK, [21, 22])
    assert {k: v.item.subject for k, v in tasks.items()} == {21: "T"}


def test_the_state_after_the_passs_own_writes_skips_them_but_not_a_users_edit(
    graph: GraphHarness, online: GraphConnection
) -> None:
    """The delta link is moved past the pass's own writes (ids and etags, nothing read
    again), unless the delta also reports a change someone else made."""
    mailbox = online.mailbox(ANNA)
    _, state = read_all(mailbox, Kind.APPOINTMENT)
    made = [r.value for r in mailbox.create([appointment(f"E{n}", n) for n in range(3)])]
    assert all(made)
    gone = made.pop()
    assert gone is not None and all(r.ok for r in mailbox.delete([gone]))
    past = mailbox.state_after_writes(Kind.APPOINTMENT, state, OwnWrites(
        created=tuple(r for r in made if r), deleted=(gone.id,)))  # fmt: skip
    assert past is not None and past != state
    pages, _ = read_all(online.mailbox(ANNA), Kind.APPOINTMENT, past)
    assert [c for p in pages for c in p.changes] == []

    more = [r.value for r in mailbox.create([appointment("Mine", 9)])]
    graph.sandbox.backend.update_event(ANNA, made[0].id, {"subject": "Anna's"}, None)  # type: ignore[union-attr]
    kept = mailbox.state_after_writes(Kind.APPOINTMENT, past, OwnWrites(
        created=tuple(r for r in more if r)))  # fmt: skip
    assert kept == past
    pages, _ = read_all(online.mailbox(ANNA), Kind.APPOINTMENT, kept)
    assert sorted(c.remote.item.subject for p in pages for c in p.changes if c.remote) == [
        "Anna's", "Mine"]


def test_stamped_events_are_looked_up_by_ranges_of_erp_ids_in_one_batch(
    graph: GraphHarness, online: GraphConnection
) -> None:
    """One ``$filter`` range per 200 ids, all in one ``$batch``; an event stamped inside a
    range but not asked for is not reported."""
    mailbox = online.mailbox(ANNA)
    stamped = [*range(100, 105), 150, 300, 5000]
    mailbox.create([appointment(f"E{n}", n) for n in stamped])
    before = len(graph.sandbox.requests)

    found = online.mailbox(ANNA).find_by_erp_id(Kind.APPOINTMENT, [*range(100, 105), 300, 7])

    assert {k: v.item.subject for k, v in found.items()} == {
        n: f"E{n}" for n in (*range(100, 105), 300)
    }
    assert graph.sandbox.requests[before:] == ["POST /$batch"]


def test_a_lookup_range_with_more_than_a_page_of_events_reads_every_page(
    graph: GraphHarness, online: GraphConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("esexchange.exchange.graph.mailbox._LOOKUP_SPAN", 3)
    mailbox = online.mailbox(ANNA)
    mailbox.create([appointment(f"E{n}", n) for n in (3, 3, 3, 1, 2)])  # with a user's copies
    before = len(graph.sandbox.requests)

    found = online.mailbox(ANNA).find_by_erp_id(Kind.APPOINTMENT, [1, 2, 3])

    assert sorted(found) == [1, 2, 3]  # 1 and 2 are on the second page
    assert graph.sandbox.requests[before:] == ["POST /$batch", f"GET /users/{ANNA}/events"]


def test_categories_get_preset_colours_and_the_users_list_is_kept(
    graph: GraphHarness, online: GraphConnection
) -> None:
    mailbox = online.mailbox(ANNA)
    mailbox.ensure_categories([Category("ES_1_Visit", 4), Category("ES_2_Call", -1)])
    mailbox.ensure_categories([Category("ES_1_Visit", 9)])
    colours = {
        c.data["displayName"]: c.data["color"] for c in graph.sandbox.backend.categories(ANNA)
    }
    assert colours["ES_1_Visit"] == "preset9" and colours["ES_2_Call"] == "none"
    assert colours["Red category"] == "preset0"


def test_no_invitation_is_ever_sent(graph: GraphHarness, online: GraphConnection) -> None:
    mailbox = online.mailbox(ANNA)
    [created] = mailbox.create([appointment("Meeting", 1)])
    assert created.value is not None
    mailbox.update([ExchangeUpdate(created.value, appointment("Moved", 1), frozenset({"subject"}))])
    mailbox.delete([created.value])
    assert graph.sandbox.backend.mailbox(ANNA).sent == []
