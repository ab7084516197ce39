"""The planner's rules (DESIGN.md §3), one group per rule, with plain inputs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from esexchange.domain.actions import (
    CreateInErp,
    CreateInExchange,
    DeleteInErp,
    DeleteInExchange,
    Detach,
    Plan,
    SaveLink,
    SkipReason,
    UpdateInErp,
    UpdateInExchange,
)
from esexchange.domain.mapping import (
    erp_to_item,
    exchange_to_item,
    item_to_exchange,
    make_context,
)
from esexchange.domain.model import (
    ActivityType,
    ErpActivity,
    ExchangeItem,
    ItemRef,
    Kind,
    Priority,
    Reference,
    RemoteItem,
    Sensitivity,
    Side,
)
from esexchange.domain.options import ConflictPolicy, ConnectionOptions, EmployeeSettings
from esexchange.domain.planner import PlanInputs, exchange_view, plan
from esexchange.domain.state import (
    EVERYTHING,
    EWS_FOLDERS,
    WHOLE_FOLDER,
    ErpChange,
    Link,
    MailboxChange,
)
from tests.domain.planner_support import skips

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(hours=2)
REFERENCE = Reference(
    activity_types=(ActivityType(1, "Besprechung", 3), ActivityType(2, "Anruf")),
    priorities=(Priority(1, "Niedrig", 10), Priority(2, "Mittel", 20), Priority(3, "Hoch", 30)),
)
OPTIONS = ConnectionOptions(erp_time_zone="Europe/Berlin")
CTX = make_context(OPTIONS, REFERENCE, "UTC")


def activity(erp_id: int = 1, **values: object) -> ErpActivity:
    """A one-hour appointment of employee 7 on 5 November, 10:00 Berlin time."""
    base = ErpActivity(
        erp_id, Kind.APPOINTMENT, "Planung", start_at=datetime(2026, 11, 5, 10),
        end_at=datetime(2026, 11, 5, 11), participant_ids=(7,), priority_id=2,
        activity_type_no=1,
    )
    return replace(base, **values)  # type: ignore[arg-type]


def exchange_copy(erp: ErpActivity, **values: object) -> ExchangeItem:
    item = item_to_exchange(erp_to_item(erp, CTX), CTX, erp_id=erp.id)
    return replace(item, **values)  # type: ignore[arg-type]


def remote(item: ExchangeItem, item_id: str = "EX1", key: str = "ck2",
           modified: datetime = EARLIER) -> RemoteItem:
    return RemoteItem(ItemRef(item_id, key), item, modified)


def changed_erp(erp: ErpActivity, seq: int = 5, modified: datetime = EARLIER) -> ErpChange:
    assert erp.id is not None
    return ErpChange(erp.id, erp.kind, erp, seq, modified)


def deleted_erp(erp_id: int = 1, seq: int = 6) -> ErpChange:
    return ErpChange(erp_id, Kind.APPOINTMENT, None, seq, NOW)


def changed_exchange(item: ExchangeItem, item_id: str = "EX1", key: str = "ck2",
                     modified: datetime = EARLIER) -> MailboxChange:
    return MailboxChange(item_id, item.kind, remote(item, item_id, key, modified))


def deleted_exchange(item_id: str = "EX1") -> MailboxChange:
    return MailboxChange(item_id, Kind.APPOINTMENT, None)


def link(erp: ErpActivity, exchange_id: str = "EX1", key: str = "ck1") -> Link:
    """The link of a pair synced as ``erp`` reads."""
    assert erp.id is not None
    synced = erp_to_item(erp, CTX)
    return Link(
        erp.kind, erp.id, exchange_id, key, 1, synced.content_hash(),
        exchange_view(synced, CTX).content_hash(), synced,
    )


def run(
    *,
    erp: tuple[ErpChange, ...] = (),
    exchange: tuple[MailboxChange, ...] = (),
    links: tuple[Link, ...] = (),
    settings: EmployeeSettings = EmployeeSettings(),  # noqa: B008
    options: ConnectionOptions = OPTIONS,
    kind: Kind = Kind.APPOINTMENT,
    **more: object,
) -> Plan:
    ctx = CTX if options is OPTIONS else make_context(options, REFERENCE, "UTC")
    listing = more.pop("full_listing", False)  # True: the whole folder; or a window
    return plan(
        PlanInputs(
            kind=kind, erp_changes=erp, mailbox_changes=exchange,
            complete=WHOLE_FOLDER if listing is True else listing or None,  # type: ignore[arg-type]
            links=links, settings=settings, ctx=ctx, now=NOW, **more,  # type: ignore[arg-type]
        )
    )


def kinds(result: Plan) -> list[type]:
    return [type(a) for a in result.actions]


def reasons(result: Plan) -> set[SkipReason]:
    return {s.reason for s in result.skipped}


# -- creating on the other side --------------------------------------------------------


def test_a_new_erp_activity_is_created_in_exchange_with_the_erp_id_stamped() -> None:
    result = run(erp=(changed_erp(activity()),))
    [create] = result.actions
    assert isinstance(create, CreateInExchange)
    assert create.item.erp_id == 1 and create.item.subject == "Planung"
    assert create.link.synced == erp_to_item(activity(), CTX)


def test_a_new_exchange_item_is_created_in_the_erp() -> None:
    item = replace(exchange_copy(activity()), erp_id=None, subject="Zahnarzt")
    [create] = run(exchange=(changed_exchange(item),)).actions
    assert isinstance(create, CreateInErp)
    assert create.activity.subject == "Zahnarzt" and create.exchange_id == "EX1"


# -- per-employee settings -------------------------------------------------------------


def test_a_kind_switched_off_moves_nothing() -> None:
    result = run(
        erp=(changed_erp(activity()),),
        exchange=(changed_exchange(exchange_copy(activity(2)), "EX2"),),
        settings=EmployeeSettings(appointments=False),
    )
    assert result.actions == ()
    assert reasons(result) == {SkipReason.SETTING_OFF} and len(result.skipped) == 2


def test_the_plan_of_a_kind_switched_off_is_still_that_kinds() -> None:
    # The engine parks and reports a plan's pairs under its kind, an empty plan's too.
    result = run(kind=Kind.TASK, settings=EmployeeSettings(tasks=False))
    assert result.kind is Kind.TASK and result.actions == ()


def test_an_erp_deletion_deletes_the_exchange_copy() -> None:
    result = run(erp=(deleted_erp(),), links=(link(activity()),))
    assert result.actions == (DeleteInExchange(1, ItemRef("EX1", "ck1")),)


def test_an_erp_deletion_with_deleting_in_exchange_off_detaches_the_pair() -> None:
    result = run(
        erp=(deleted_erp(),), links=(link(activity()),),
        settings=EmployeeSettings(delete_appointments_in_exchange=False),
    )
    [detach] = result.actions
    assert isinstance(detach, Detach) and detach.link.detached is Side.ERP


def test_an_exchange_deletion_deletes_the_erp_activity() -> None:
    result = run(exchange=(deleted_exchange(),), links=(link(activity()),),
                 erp_current={1: activity()})
    assert result.actions == (DeleteInErp(1, "EX1"),)


def test_an_exchange_deletion_with_deleting_in_the_erp_off_detaches_the_pair() -> None:
    result = run(
        exchange=(deleted_exchange(),), links=(link(activity()),), erp_current={1: activity()},
        settings=EmployeeSettings(delete_appointments_in_erp=False),
    )
    [detach] = result.actions
    assert isinstance(detach, Detach) and detach.link.detached is Side.EXCHANGE


def test_a_kept_exchange_copy_is_never_imported_again() -> None:
    tombstone = replace(link(activity()), detached=Side.ERP)
    edited = exchange_copy(activity(), subject="Planung (verschoben)")
    result = run(exchange=(changed_exchange(edited),), links=(tombstone,))
    assert result.actions == ()
    assert reasons(result) == {SkipReason.DETACHED}


def test_a_kept_erp_activity_is_never_created_in_exchange_again() -> None:
    tombstone = replace(link(activity()), detached=Side.EXCHANGE)
    result = run(erp=(changed_erp(activity(subject="Neu")),), links=(tombstone,))
    assert result.actions == ()
    assert reasons(result) == {SkipReason.DETACHED}


# -- private items ---------------------------------------------------------------------


def test_private_items_are_not_synchronized_in_either_direction() -> None:
    private_item = replace(
        exchange_copy(activity(2)), erp_id=None, sensitivity=Sensitivity.CONFIDENTIAL
    )
    result = run(
        erp=(changed_erp(activity(private=True)),),
        exchange=(changed_exchange(private_item, "EX2"),),
    )
    assert result.actions == ()
    assert reasons(result) == {SkipReason.PRIVATE}


def test_private_items_are_synchronized_when_the_setting_is_off() -> None:
    result = run(
        erp=(changed_erp(activity(private=True)),),
        settings=EmployeeSettings(no_private_appointments=False),
    )
    [create] = result.actions
    assert isinstance(create, CreateInExchange)
    assert create.item.sensitivity is Sensitivity.PRIVATE


def test_a_linked_pair_that_becomes_private_stops_syncing_and_keeps_both_copies() -> None:
    made_private = exchange_copy(activity(), sensitivity=Sensitivity.PRIVATE, location="Home")
    result = run(
        exchange=(changed_exchange(made_private),), links=(link(activity()),),
        erp_current={1: activity()},
    )
    assert not [a for a in result.actions if not isinstance(a, SaveLink)]
    assert reasons(result) == {SkipReason.PRIVATE}
    # Deleting the ERP copy of a frozen pair detaches it; the private copy stays.
    result = run(erp=(deleted_erp(),), exchange=(changed_exchange(made_private),),
                 links=(link(activity()),))
    [detach] = result.actions
    assert isinstance(detach, Detach)


# -- conference appointments -----------------------------------------------------------


CONFERENCE = activity(participant_ids=(7, 8))


def test_an_exchange_edit_of_a_conference_appointment_is_not_imported() -> None:
    edited = exchange_copy(CONFERENCE, subject="Meine Notiz")
    result = run(exchange=(changed_exchange(edited),), links=(link(CONFERENCE),),
                 erp_current={1: CONFERENCE})
    assert UpdateInErp not in kinds(result)
    assert skips(result) == {(Side.EXCHANGE, "EX1", SkipReason.CONFERENCE)}


def test_an_exchange_edit_of_an_appointment_with_one_participant_is_imported() -> None:
    # Only conference appointments are the ERP's alone: nothing is skipped here.
    edited = exchange_copy(activity(), subject="Meine Notiz")
    result = run(exchange=(changed_exchange(edited),), links=(link(activity()),),
                 erp_current={1: activity()})
    [update] = [a for a in result.actions if isinstance(a, UpdateInErp)]
    assert update.activity.subject == "Meine Notiz" and result.skipped == ()


def test_an_outlook_edit_of_a_conference_appointment_is_undone_in_the_mailbox() -> None:
    edited = exchange_copy(CONFERENCE, subject="Meine Notiz")
    result = run(exchange=(changed_exchange(edited),), links=(link(CONFERENCE),),
                 erp_current={1: CONFERENCE})
    [update] = [a for a in result.actions if isinstance(a, UpdateInExchange)]
    assert update.item.subject == "Planung" and update.fields == {"subject", "erp_id"}


def test_deleting_a_conference_appointment_in_exchange_only_detaches_it() -> None:
    result = run(exchange=(deleted_exchange(),), links=(link(CONFERENCE),),
                 erp_current={1: CONFERENCE})
    [detach] = result.actions
    assert isinstance(detach, Detach) and detach.link.detached is Side.EXCHANGE


def test_the_next_erp_change_of_a_conference_appointment_wins_in_exchange() -> None:
    edited_in_exchange = exchange_copy(CONFERENCE, subject="Meine Notiz")
    moved = replace(CONFERENCE, location="Raum 2")
    result = run(
        erp=(changed_erp(moved),), exchange=(changed_exchange(edited_in_exchange),),
        links=(link(CONFERENCE),),
    )
    [update] = [a for a in result.actions if isinstance(a, UpdateInExchange)]
    assert update.item.subject == "Planung" and update.item.location == "Raum 2"
    assert UpdateInErp not in kinds(result)


# -- three-way merge -------------------------------------------------------------------


def test_a_field_changed_on_one_side_takes_that_sides_value_and_writes_only_it() -> None:
    result = run(erp=(changed_erp(activity(location="Raum 2")),), links=(link(activity()),))
    [update, save] = result.actions
    assert isinstance(update, UpdateInExchange) and isinstance(save, SaveLink)
    assert update.fields == {"location", "erp_id"} and update.item.location == "Raum 2"
    assert save.link.synced.location == "Raum 2"

    moved = exchange_copy(activity(), location="Raum 3")
    result = run(exchange=(changed_exchange(moved),), links=(link(activity()),),
                 erp_current={1: activity()})
    [erp_update, _] = result.actions
    assert isinstance(erp_update, UpdateInErp)
    assert erp_update.fields == {"location"} and erp_update.activity.location == "Raum 3"


@pytest.mark.parametrize(
    ("policy", "exchange_modified", "winner"),
    [
        (ConflictPolicy.NEWER_WINS, NOW, Side.EXCHANGE),
        (ConflictPolicy.NEWER_WINS, EARLIER - timedelta(hours=1), Side.ERP),
        (ConflictPolicy.NEWER_WINS, EARLIER, Side.ERP),  # a tie goes to the ERP
        (ConflictPolicy.ERP_WINS, NOW, Side.ERP),
        (ConflictPolicy.EXCHANGE_WINS, EARLIER - timedelta(hours=1), Side.EXCHANGE),
    ],
)
def test_a_field_changed_on_both_sides_is_a_conflict_resolved_by_the_policy(
    policy: ConflictPolicy, exchange_modified: datetime, winner: Side
) -> None:
    result = run(
        erp=(changed_erp(activity(subject="ERP"), modified=EARLIER),),
        exchange=(changed_exchange(exchange_copy(activity(), subject="Outlook"),
                                   modified=exchange_modified),),
        links=(link(activity()),),
        options=replace(OPTIONS, conflict_policy=policy),
    )
    [conflict] = result.conflicts
    assert (conflict.field, conflict.erp_value, conflict.exchange_value) == (
        "subject", "ERP", "Outlook"
    )
    assert conflict.winner is winner
    expected = "ERP" if winner is Side.ERP else "Outlook"
    [save] = [a for a in result.actions if isinstance(a, SaveLink)]
    assert save.link.synced.subject == expected


def test_every_conflict_of_a_pass_is_recorded_not_only_the_last_pairs() -> None:
    first, second = activity(1), activity(2)
    result = run(
        erp=(changed_erp(activity(1, subject="ERP 1")), changed_erp(activity(2, location="A"))),
        exchange=(changed_exchange(exchange_copy(first, subject="Outlook 1"), "EX1"),
                  changed_exchange(exchange_copy(second, location="B"), "EX2")),
        links=(link(first, "EX1"), link(second, "EX2")),
    )
    assert {(c.erp_id, c.field) for c in result.conflicts} == {(1, "subject"), (2, "location")}


def test_the_same_change_on_both_sides_is_no_conflict_and_no_write() -> None:
    result = run(
        erp=(changed_erp(activity(subject="Neu")),),
        exchange=(changed_exchange(exchange_copy(activity(), subject="Neu")),),
        links=(link(activity()),),
    )
    assert result.conflicts == ()
    assert kinds(result) == [SaveLink]


def test_different_fields_changed_on_each_side_are_both_kept() -> None:
    result = run(
        erp=(changed_erp(activity(subject="Neu")),),
        exchange=(changed_exchange(exchange_copy(activity(), location="Raum 9")),),
        links=(link(activity()),),
    )
    assert result.conflicts == ()
    synced = next(a for a in result.actions if isinstance(a, SaveLink)).link.synced
    assert (synced.subject, synced.location) == ("Neu", "Raum 9")


def test_with_alternative_text_sync_exchange_body_edits_are_not_imported() -> None:
    options = replace(OPTIONS, alternative_text_sync=True)
    result = run(
        exchange=(changed_exchange(exchange_copy(activity(), body="<p>Outlook</p>")),),
        links=(link(activity()),), erp_current={1: activity()}, options=options,
    )
    assert UpdateInErp not in kinds(result) and UpdateInExchange not in kinds(result)


# -- fake changes ----------------------------------------------------------------------


def test_a_moved_change_key_without_new_content_writes_nothing() -> None:
    result = run(exchange=(changed_exchange(exchange_copy(activity()), key="ck9"),),
                 links=(link(activity()),), erp_current={1: activity()})
    [save] = result.actions
    assert isinstance(save, SaveLink) and save.link.version == "ck9"


def test_an_erp_write_that_changed_nothing_only_moves_the_link_sequence() -> None:
    result = run(erp=(changed_erp(activity(), seq=42),), links=(link(activity()),))
    [save] = result.actions
    assert isinstance(save, SaveLink) and save.link.erp_seq == 42


def test_the_echo_of_the_syncs_own_update_writes_nothing() -> None:
    first = run(erp=(changed_erp(activity(location="Raum 2")),), links=(link(activity()),))
    update, save = first.actions
    assert isinstance(update, UpdateInExchange) and isinstance(save, SaveLink)
    written = replace(exchange_copy(activity()), location="Raum 2")
    echo = run(exchange=(changed_exchange(written, key="ck3"),), links=(save.link,),
               erp_current={1: activity(location="Raum 2")})
    assert kinds(echo) == [SaveLink]


# -- an edit beats a delete ------------------------------------------------------------


def test_an_exchange_edit_beats_an_erp_deletion() -> None:
    edited = exchange_copy(activity(), subject="Noch gebraucht")
    result = run(erp=(deleted_erp(),), exchange=(changed_exchange(edited),),
                 links=(link(activity()),))
    [create] = result.actions
    assert isinstance(create, CreateInErp)
    assert create.replaces == 1 and create.activity.subject == "Noch gebraucht"


def test_an_erp_edit_beats_an_exchange_deletion() -> None:
    result = run(erp=(changed_erp(activity(subject="Noch gebraucht")),),
                 exchange=(deleted_exchange(),), links=(link(activity()),))
    [create] = result.actions
    assert isinstance(create, CreateInExchange) and create.item.subject == "Noch gebraucht"


def test_a_removed_participants_edited_copy_is_not_brought_back_to_the_erp() -> None:
    edited = exchange_copy(CONFERENCE, subject="Meine Notiz")
    result = run(erp=(deleted_erp(),), exchange=(changed_exchange(edited),),
                 links=(link(CONFERENCE),), erp_current={1: replace(CONFERENCE,
                                                                    participant_ids=(8,))})
    assert kinds(result) == [DeleteInExchange]


# -- deletes need evidence -------------------------------------------------------------


def test_never_synced_items_are_never_deleted() -> None:
    result = run(erp=(deleted_erp(3),), exchange=(deleted_exchange("EX7"),))
    assert result.actions == ()


def test_only_a_complete_listing_turns_absence_into_a_deletion() -> None:
    assert run(links=(link(activity()),), erp_current={1: activity()}).actions == ()
    result = run(links=(link(activity()),), erp_current={1: activity()}, full_listing=True)
    assert result.actions == (DeleteInErp(1, "EX1"),)


# -- window, start of synchronization, recurring series --------------------------------


def test_unlinked_appointments_outside_the_window_are_skipped() -> None:
    far = activity(start_at=datetime(2028, 1, 5, 10), end_at=datetime(2028, 1, 5, 11))
    past = activity(2, start_at=datetime(2026, 9, 1, 10), end_at=datetime(2026, 9, 1, 11))
    result = run(erp=(changed_erp(far), changed_erp(past)))
    assert result.actions == () and reasons(result) == {SkipReason.OUTSIDE_WINDOW}


def test_a_linked_appointment_leaving_the_window_still_syncs_and_is_not_deleted() -> None:
    far = activity(start_at=datetime(2028, 1, 5, 10), end_at=datetime(2028, 1, 5, 11))
    result = run(erp=(changed_erp(far),), links=(link(activity()),))
    assert UpdateInExchange in kinds(result) and DeleteInExchange not in kinds(result)


def test_tasks_are_not_windowed() -> None:
    task = ErpActivity(5, Kind.TASK, "Bericht", due_at=datetime(2029, 1, 1),
                       participant_ids=(7,), priority_id=2)
    result = run(erp=(changed_erp(task),), kind=Kind.TASK)
    assert kinds(result) == [CreateInExchange]


def test_unlinked_items_modified_before_the_start_of_synchronization_are_skipped() -> None:
    result = run(erp=(changed_erp(activity(), modified=NOW - timedelta(days=45)),))
    assert result.actions == () and reasons(result) == {SkipReason.BEFORE_START}


def test_recurring_series_are_skipped_on_both_sides() -> None:
    series = replace(exchange_copy(activity(2)), erp_id=None, recurring=True)
    result = run(erp=(changed_erp(activity(recurring=True)),),
                 exchange=(changed_exchange(series, "EX2"),))
    assert result.actions == ()
    assert [s.reason for s in result.skipped] == [SkipReason.RECURRING] * 2


EVERY_OTHER_YEAR = "FREQ=YEARLY;INTERVAL=2;BYMONTH=11;BYMONTHDAY=5"
REFUSED_ON_EWS = ("this series repeats in a way Outlook cannot show: every 2 years (Exchange "
                  "Web Services repeats yearly patterns every year only) (INTERVAL) "
                  "(item activity 1, field recurrence)")


def test_a_yearly_series_with_an_interval_is_refused_for_ews_before_anything_is_sent() -> None:
    series = activity(recurrence=EVERY_OTHER_YEAR, recurring=True)

    on_ews = run(erp=(changed_erp(series),), capabilities=EWS_FOLDERS)
    on_graph = run(erp=(changed_erp(series),), capabilities=EVERYTHING)

    assert on_ews.actions == ()
    assert [(r.side, r.key, r.message) for r in on_ews.rejected] == [
        (Side.ERP, "1", REFUSED_ON_EWS)]
    # Graph's absoluteYearly and relativeYearly have an interval: written as it is.
    [create] = on_graph.actions
    assert isinstance(create, CreateInExchange) and create.item.recurrence is not None
    assert on_graph.rejected == ()


def test_a_linked_series_changed_to_every_other_year_is_refused_for_ews_whole() -> None:
    yearly = activity(recurrence="FREQ=YEARLY;BYMONTH=11;BYMONTHDAY=5", recurring=True)
    pair = link(yearly)
    changed = replace(yearly, recurrence=EVERY_OTHER_YEAR, subject="Jahresgespräch")

    result = run(erp=(changed_erp(changed),), links=(pair,), capabilities=EWS_FOLDERS)

    assert result.actions == ()  # not even the new subject: nothing of the series
    assert [r.message for r in result.rejected] == [REFUSED_ON_EWS]


# -- circuit breaker -------------------------------------------------------------------


def _many_linked(count: int) -> tuple[Link, ...]:
    return tuple(link(activity(i), f"EX{i}") for i in range(1, count + 1))


def test_the_breaker_holds_every_deletion_of_an_unusual_share() -> None:
    links = _many_linked(11)
    deletions = tuple(deleted_erp(i) for i in range(1, 12))
    new = changed_erp(activity(50))
    result = run(erp=(*deletions, new), links=links, stamped={})
    assert len(result.held) == 11
    assert kinds(result) == [CreateInExchange]  # the rest goes on
    approved = run(erp=deletions, links=links, approve_deletions=True)
    assert kinds(approved) == [DeleteInExchange] * 11


def test_the_breaker_lets_few_or_a_small_share_of_deletions_through() -> None:
    ten = run(erp=tuple(deleted_erp(i) for i in range(1, 11)), links=_many_linked(10))
    assert not ten.held and len(ten.actions) == 10
    small_share = run(erp=tuple(deleted_erp(i) for i in range(1, 12)), links=_many_linked(60))
    assert not small_share.held and len(small_share.actions) == 11


# -- adoption and one-to-one links -----------------------------------------------------


def test_a_stamped_exchange_item_without_a_link_is_adopted_not_imported() -> None:
    stamped = exchange_copy(activity())
    result = run(exchange=(changed_exchange(stamped),), erp_current={1: activity()})
    [save] = result.actions
    assert isinstance(save, SaveLink)
    assert (save.link.erp_id, save.link.exchange_id) == (1, "EX1")


def test_an_erp_create_whose_stamped_copy_exists_is_adopted_once() -> None:
    copy = exchange_copy(activity(), location="Raum 1")
    result = run(
        erp=(changed_erp(activity(location="Raum 2")),),
        exchange=(changed_exchange(copy),),
        stamped={1: remote(copy)},
    )
    assert kinds(result) == [UpdateInExchange, SaveLink]
    update = result.actions[0]
    assert isinstance(update, UpdateInExchange) and update.item.location == "Raum 2"


def test_an_outlook_copy_of_a_linked_item_is_imported_as_a_new_activity() -> None:
    copy = exchange_copy(activity())  # keeps the stamp of activity 1
    result = run(exchange=(changed_exchange(copy, "EX2"),), links=(link(activity()),),
                 erp_current={1: activity()})
    assert kinds(result) == [CreateInErp]


# -- bad items -------------------------------------------------------------------------


def test_an_item_that_cannot_be_mapped_is_rejected_and_the_others_go_on() -> None:
    broken = activity(3, start_at=None)
    result = run(erp=(changed_erp(broken), changed_erp(activity(4))))
    assert kinds(result) == [CreateInExchange]
    [rejected] = result.rejected
    assert rejected.key == "3" and "start" in rejected.message


def test_exchange_to_item_reads_back_what_the_planner_writes() -> None:
    item = erp_to_item(activity(), CTX)
    assert exchange_view(exchange_to_item(exchange_copy(activity()), CTX), CTX) == exchange_view(
        item, CTX
    )


def test_the_unfinished_copy_of_an_activity_deleted_before_its_first_pass_is_removed() -> None:
    orphan = exchange_copy(activity())  # stamped by a pass that crashed before its commit
    result = run(erp=(deleted_erp(),), exchange=(changed_exchange(orphan),))
    assert result.actions == (DeleteInExchange(1, ItemRef("EX1", "ck2")),)
    kept = run(erp=(deleted_erp(),), exchange=(changed_exchange(orphan),),
               settings=EmployeeSettings(delete_appointments_in_exchange=False))
    [detach] = kept.actions
    assert isinstance(detach, Detach) and detach.link.exchange_id == "EX1"


def test_appointment_sync_off_for_the_connection_moves_no_appointments() -> None:
    result = run(erp=(changed_erp(activity()),),
                 options=replace(OPTIONS, appointment_sync=False))
    assert result.actions == () and reasons(result) == {SkipReason.SETTING_OFF}
