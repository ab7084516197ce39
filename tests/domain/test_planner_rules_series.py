"""Series as pairs (docs/recurrence.md, "How a series is synchronized"): a series is one
pair, master with master; its pattern, range and deleted occurrences are fields of that
pair; a new series travels whole in one pass; series are followed while they reach into
the window and never deleted for leaving it; a change that deletes occurrences happens
only where the delete settings allow; what cannot be synchronized whole is refused.
The occurrence pairs' rules are in ``test_planner_rules_series_occurrences.py``."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from esexchange.domain.actions import CreateInErp, CreateInExchange, SkipReason, UpdateOccurrence
from esexchange.domain.errors import ItemRejected
from esexchange.domain.mapping.times import erp_to_utc
from esexchange.domain.model import ItemRef, Kind, OccurrenceKey, Side
from esexchange.domain.options import ConflictPolicy, EmployeeSettings
from esexchange.domain.recurrence import parse_rrule
from esexchange.domain.state import EVERYTHING, CompleteWindow
from tests.domain.planner_series_support import (
    DELETED,
    FIRST,
    HOUR,
    MOVED,
    RULE,
    SERIES,
    WEEK,
    exception,
    key,
    master,
    occurrence_copy,
    occurrence_link,
    outlook_series,
    row,
    series,
)
from tests.domain.planner_support import fate, skips
from tests.domain.test_planner import (
    CTX,
    NOW,
    OPTIONS,
    activity,
    changed_erp,
    changed_exchange,
    deleted_erp,
    deleted_exchange,
    exchange_copy,
    link,
    run,
)

BERLIN = CTX.erp_zone
NO_SERIES = replace(EVERYTHING, series=False)


def rule_of(text: str, first: datetime = FIRST) -> object:
    return parse_rrule(text, start=first, time_zone=BERLIN.key)


# -- a new series travels whole, in one pass ----------------------------------------------


def test_a_new_erp_series_reaches_exchange_with_its_exceptions_and_deletions_in_one_pass(
) -> None:
    erp = master(exdates=(DELETED,))
    result = run(erp=(changed_erp(erp),), erp_series=series(erp, row()))
    create, moved = (step.exchange for step in result.steps)  # one step each, master first
    assert isinstance(create, CreateInExchange) and isinstance(moved, UpdateOccurrence)
    assert create.item.recurrence == replace(rule_of(RULE), deleted=frozenset({DELETED}))
    assert create.item.erp_id == 1 and create.link.synced.exdates == (DELETED,)
    # The occurrence is written by key once the engine has the new series' id.
    assert (moved.erp_id, moved.series_erp_id, moved.key, moved.ref) == (
        2, 1, OccurrenceKey("", MOVED), None)
    assert moved.item.subject == "Planung (verlegt)"
    assert moved.item.start == erp_to_utc(MOVED + 4 * HOUR, BERLIN)
    assert (moved.item.erp_id, moved.item.recurring, moved.item.recurrence) == (None, False, None)
    assert moved.fields >= {"subject", "start", "end", "location", "body"}
    assert moved.link is not None and (moved.link.erp_id, moved.link.erp_seq) == (2, 5)


def test_a_new_outlook_series_reaches_the_erp_with_its_exceptions_and_deletions_in_one_pass(
) -> None:
    item = replace(exchange_copy(master(exdates=(DELETED,))), erp_id=None, subject="Teamrunde")
    moved = occurrence_copy(row(), subject="Teamrunde (Raum 3)")
    result = run(exchange=(outlook_series(item, exception(moved)),))
    imported, occurrence = (step.erp for step in result.steps)
    assert isinstance(imported, CreateInErp) and isinstance(occurrence, CreateInErp)
    assert (imported.activity.recurrence, imported.activity.exdates) == (RULE, (DELETED,))
    assert imported.activity.start_at == FIRST and imported.exchange_id == SERIES
    # The row's series_id is filled by the engine from the master it creates.
    assert occurrence.series_exchange_id == SERIES and occurrence.replaces is None
    written = occurrence.activity
    assert (written.subject, written.original_start, written.start_at, written.recurring) == (
        "Teamrunde (Raum 3)", MOVED, MOVED + 4 * HOUR, True)
    assert written.recurrence is None
    assert occurrence.link.exchange_id == str(key()) and occurrence.link.version == "ok2"


def test_a_series_copy_an_interrupted_pass_made_is_adopted_with_its_outlook_exception(
) -> None:
    # The pass that made the copy crashed before keeping its link; since then an
    # occurrence of the copy was edited in Outlook. Adopted, the copy's occurrence edit
    # reaches the ERP as a row of the series in the same pass, as for any linked series.
    edited = exception(occurrence_copy(row(), location="Raum 9"))
    copy = outlook_series(exchange_copy(master()), edited)
    result = run(erp=(changed_erp(master()),), erp_series=series(master()),
                 stamped={1: copy.remote})
    assert fate(result, erp_id=1).created == set()  # adopted, not made again
    [occurrence] = [step.erp for step in result.steps if isinstance(step.erp, CreateInErp)]
    assert isinstance(occurrence, CreateInErp)
    written = occurrence.activity
    assert (written.series_id, written.original_start, written.location) == (1, MOVED, "Raum 9")


def test_a_series_on_a_backend_without_series_is_skipped_as_recurring_on_both_sides() -> None:
    outlook = replace(exchange_copy(master(2)), erp_id=None)
    result = run(erp=(changed_erp(master()),), exchange=(outlook_series(outlook, item_id="EX2"),),
                 capabilities=NO_SERIES)
    assert result.actions == ()
    assert skips(result) == {(Side.ERP, "1", SkipReason.RECURRING),
                             (Side.EXCHANGE, "EX2", SkipReason.RECURRING)}


@pytest.mark.parametrize("erp", [row(), activity(recurring=True)],
                         ids=["occurrence-row-alone", "recurring-without-rule"])
def test_an_erp_row_that_is_no_series_master_is_skipped_as_recurring(erp: object) -> None:
    result = run(erp=(changed_erp(erp),))  # type: ignore[arg-type]
    assert result.actions == () and {s.reason for s in result.skipped} == {SkipReason.RECURRING}


def test_an_outlook_item_marked_recurring_without_a_readable_pattern_is_skipped() -> None:
    unread = replace(exchange_copy(activity()), erp_id=None, recurring=True, recurrence=None)
    result = run(exchange=(changed_exchange(unread),))
    assert result.actions == () and skips(result) == {
        (Side.EXCHANGE, "EX1", SkipReason.RECURRING)}


def test_a_linked_series_on_a_backend_without_series_is_frozen() -> None:
    edited = master(subject="Neu")
    outcome = fate(run(erp=(changed_erp(edited),), links=(link(master()),),
                       erp_series=series(edited), capabilities=NO_SERIES))
    assert outcome.created == set() and outcome.updated == {}
    assert outcome.skipped == {SkipReason.RECURRING}


# -- pattern, range and deleted occurrences are fields of the series ---------------------


def _linked(erp_edit: dict[str, object] | None = None,
            outlook_edit: dict[str, object] | None = None, **more: object) -> object:
    """A pass over the linked series after edits of the master on either side."""
    erp = master(**(erp_edit or {}))
    outlook = exchange_copy(master(), **(outlook_edit or {}))
    return run(erp=(changed_erp(erp),), erp_series=series(erp),
               exchange=(outlook_series(outlook, modified=NOW),), links=(link(master()),),
               **more)


def test_a_range_changed_in_the_erp_is_written_to_the_exchange_series() -> None:
    outcome = fate(_linked({"recurrence": "FREQ=WEEKLY;BYDAY=WE;COUNT=20"}), erp_id=1)
    assert outcome.updated == {Side.EXCHANGE: outcome.updated[Side.EXCHANGE]}
    assert "recurrence" in outcome.updated[Side.EXCHANGE]
    assert outcome.exchange_written is not None
    assert outcome.exchange_written.recurrence == rule_of("FREQ=WEEKLY;BYDAY=WE;COUNT=20")
    assert outcome.link is not None
    assert outcome.link.synced.recurrence == "FREQ=WEEKLY;BYDAY=WE;COUNT=20"


def test_a_pattern_changed_in_outlook_is_written_to_the_erp_master() -> None:
    twice = rule_of("FREQ=WEEKLY;BYDAY=MO,WE;COUNT=24")
    outcome = fate(_linked(outlook_edit={"recurrence": twice}), erp_id=1)
    assert outcome.updated == {Side.ERP: frozenset({"recurrence"})}
    assert outcome.erp_written is not None
    assert outcome.erp_written.recurrence == "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=24"


def test_an_occurrence_deleted_in_outlook_becomes_an_exdate_of_the_erp_master() -> None:
    gone = replace(rule_of(RULE), deleted=frozenset({DELETED}))
    outcome = fate(_linked(outlook_edit={"recurrence": gone}), erp_id=1)
    assert outcome.updated == {Side.ERP: frozenset({"exdates"})}
    assert outcome.erp_written is not None and outcome.erp_written.exdates == (DELETED,)


def test_an_exdate_added_in_the_erp_deletes_the_occurrence_in_exchange() -> None:
    outcome = fate(_linked({"exdates": (DELETED,)}), erp_id=1)
    assert set(outcome.updated) == {Side.EXCHANGE}
    assert outcome.exchange_written is not None and outcome.exchange_written.recurrence
    assert outcome.exchange_written.recurrence.deleted == {DELETED}


@pytest.mark.parametrize(("policy", "winner"), [(ConflictPolicy.NEWER_WINS, "outlook"),
                                                (ConflictPolicy.ERP_WINS, "erp")])
def test_a_pattern_changed_on_both_sides_is_a_conflict_decided_by_the_policy(
    policy: ConflictPolicy, winner: str
) -> None:
    rules = {"erp": "FREQ=WEEKLY;BYDAY=WE;COUNT=20", "outlook": "FREQ=WEEKLY;BYDAY=WE;COUNT=30"}
    result = _linked({"recurrence": rules["erp"]},
                     {"recurrence": rule_of(rules["outlook"])},
                     options=replace(OPTIONS, conflict_policy=policy))
    outcome = fate(result, erp_id=1)
    assert outcome.conflicts == {"recurrence"}
    assert outcome.link is not None and outcome.link.synced.recurrence == rules[winner]


def test_occurrences_deleted_on_both_sides_differently_are_a_conflict_of_the_series() -> None:
    # Merged as one field (docs/recurrence.md): the winner's deleted occurrences stand.
    other = replace(rule_of(RULE), deleted=frozenset({FIRST + 3 * WEEK}))
    outcome = fate(_linked({"exdates": (DELETED,)}, {"recurrence": other}), erp_id=1)
    assert outcome.conflicts == {"exdates"}
    assert outcome.link is not None and outcome.link.synced.exdates == (FIRST + 3 * WEEK,)


# -- deleting occurrences only where the delete settings allow ----------------------------


def test_a_series_shortened_in_outlook_deletes_the_later_occurrence_rows_where_allowed() -> None:
    late = row(FIRST + 8 * WEEK, erp_id=3)
    shorter = rule_of("FREQ=WEEKLY;BYDAY=WE;COUNT=4")
    result = run(erp=(changed_erp(master()),), erp_series=series(master(), row(), late),
                 exchange=(outlook_series(exchange_copy(master(), recurrence=shorter),
                                          exception(occurrence_copy(row()))),),
                 links=(link(master()), occurrence_link(row()),
                        occurrence_link(late)))
    outcome = fate(result, erp_id=1)
    assert outcome.erp_written is not None
    assert outcome.erp_written.recurrence == "FREQ=WEEKLY;BYDAY=WE;COUNT=4"
    assert fate(result, erp_id=3).deleted == {Side.ERP}
    assert fate(result, erp_id=2).deleted == set()


def test_a_series_shortened_in_outlook_is_refused_in_words_when_deleting_in_the_erp_is_off(
) -> None:
    shorter = rule_of("FREQ=WEEKLY;BYDAY=WE;COUNT=4")
    result = run(erp=(changed_erp(master()),), erp_series=series(master(), row()),
                 exchange=(outlook_series(exchange_copy(master(), recurrence=shorter)),),
                 links=(link(master()), occurrence_link(row())),
                 settings=EmployeeSettings(delete_appointments_in_erp=False))
    assert result.actions == () and result.conflicts == ()  # nothing of the series
    [refused] = result.rejected
    assert (refused.side, refused.key) == (Side.ERP, "1")
    assert refused.message == (
        "the series changed so that 8 occurrence(s) from 2026-12-02 10:00 would be deleted "
        "in the ERP, and deleting appointments there is off for this employee; nothing of "
        "the series is written (item activity 1, field recurrence)")


def test_an_exdate_added_in_the_erp_is_refused_when_deleting_in_exchange_is_off() -> None:
    result = _linked({"exdates": (DELETED,)},
                     settings=EmployeeSettings(delete_appointments_in_exchange=False))
    assert result.actions == ()
    [refused] = result.rejected
    assert refused.message.startswith(
        "the series changed so that 1 occurrence(s) from 2026-11-18 10:00 would be deleted "
        "in Exchange, and deleting appointments there is off")


def test_a_series_made_longer_deletes_nothing_and_needs_no_delete_setting() -> None:
    off = EmployeeSettings(delete_appointments_in_exchange=False,
                           delete_appointments_in_erp=False)
    result = _linked({"recurrence": "FREQ=WEEKLY;BYDAY=WE;COUNT=20"}, settings=off)
    assert result.rejected == () and Side.EXCHANGE in fate(result, erp_id=1).updated


def test_moving_a_single_appointment_deletes_no_occurrence_whatever_the_settings() -> None:
    off = EmployeeSettings(delete_appointments_in_exchange=False,
                           delete_appointments_in_erp=False)
    later = activity(start_at=datetime(2026, 11, 6, 10), end_at=datetime(2026, 11, 6, 11))
    result = run(erp=(changed_erp(later),), links=(link(activity()),), settings=off)
    assert result.rejected == ()
    assert fate(result).updated[Side.EXCHANGE] >= {"start", "end"}


def test_occurrences_beyond_the_window_do_not_count_as_deleted() -> None:
    # A series without end has occurrences for ever; its unmodified ones are compared up
    # to the window's end (365 days ahead), so ending it after that is no deletion.
    endless = master(rule="FREQ=WEEKLY;BYDAY=WE")
    ends = rule_of("FREQ=WEEKLY;BYDAY=WE;UNTIL=20280105")
    result = run(erp=(changed_erp(endless),), erp_series=series(endless),
                 exchange=(outlook_series(exchange_copy(endless, recurrence=ends)),),
                 links=(link(endless),),
                 settings=EmployeeSettings(delete_appointments_in_erp=False))
    assert result.rejected == ()
    outcome = fate(result, erp_id=1)
    assert outcome.erp_written is not None
    assert outcome.erp_written.recurrence == "FREQ=WEEKLY;BYDAY=WE;UNTIL=20280105"


@pytest.mark.parametrize("known_by", ["erp-row", "outlook-exception", "occurrence-link"])
def test_a_modified_occurrence_beyond_the_window_is_protected_by_the_delete_setting(
    known_by: str
) -> None:
    # Its ERP row (or Outlook's exception) holds a user's edit: ending the series before
    # it deletes it, so the delete setting of that side decides, however far ahead.
    endless = master(rule="FREQ=WEEKLY;BYDAY=WE")
    far = row(datetime(2028, 2, 2, 10), erp_id=3)
    ended = master(rule="FREQ=WEEKLY;BYDAY=WE;UNTIL=20280105")
    links: tuple[object, ...] = (link(endless),)
    if known_by == "erp-row":  # Outlook ends the series; the ERP has a new row
        erp, rows, exceptions = endless, (far,), ()
        outlook: tuple[object, ...] = (outlook_series(exchange_copy(endless, recurrence=rule_of(
            "FREQ=WEEKLY;BYDAY=WE;UNTIL=20280105"))),)
        settings, where = EmployeeSettings(delete_appointments_in_erp=False), "the ERP"
    else:  # the ERP ends the series; Outlook has an exception (read, or linked only)
        erp, rows = ended, ()
        exceptions = (exception(occurrence_copy(far), far.original_start or FIRST),)
        outlook = (outlook_series(exchange_copy(endless), *exceptions),)
        if known_by == "occurrence-link":
            outlook, links = (), (*links, occurrence_link(far))
        settings, where = EmployeeSettings(delete_appointments_in_exchange=False), "Exchange"
    result = run(erp=(changed_erp(erp),), erp_series=series(erp, *rows), exchange=outlook,
                 links=links, settings=settings)  # type: ignore[arg-type]
    assert result.actions == ()
    [refused] = result.rejected
    assert f"4 occurrence(s) from 2028-01-12 10:00 would be deleted in {where}" in (
        refused.message)


def test_the_last_occurrence_before_the_window_end_counts_as_deleted() -> None:
    tuesdays = master(rule="FREQ=WEEKLY;BYDAY=TU", start_at=datetime(2026, 11, 3, 9, 30),
                      end_at=datetime(2026, 11, 3, 10, 30))
    ends = parse_rrule("FREQ=WEEKLY;BYDAY=TU;UNTIL=20271101", start=tuesdays.start_at,
                       time_zone=BERLIN.key)
    result = run(erp=(changed_erp(tuesdays),), erp_series=series(tuesdays),
                 exchange=(outlook_series(exchange_copy(tuesdays, recurrence=ends)),),
                 links=(link(tuesdays),),
                 settings=EmployeeSettings(delete_appointments_in_erp=False))
    [refused] = result.rejected  # 2 November 2027, 09:30 is before the end (10:00)
    assert "1 occurrence(s) from 2027-11-02 09:30 would be deleted in the ERP" in (
        refused.message)


def test_a_series_made_single_in_outlook_deletes_its_occurrence_rows() -> None:
    single = replace(exchange_copy(master()), recurring=False, recurrence=None)
    result = run(erp=(changed_erp(master()),), erp_series=series(master(), row()),
                 exchange=(changed_exchange(single),),
                 links=(link(master()), occurrence_link(row())))
    outcome = fate(result, erp_id=1)
    assert outcome.erp_written is not None and outcome.erp_written.recurrence is None
    assert fate(result, erp_id=2).deleted == {Side.ERP}


def test_a_series_made_single_in_outlook_while_the_erp_deleted_an_occurrence_ends_single(
) -> None:
    # The ERP's new deletion has no rule left to delete from: the pair ends single.
    single = replace(exchange_copy(master()), recurring=False, recurrence=None)
    erp = master(exdates=(DELETED,))
    result = run(erp=(changed_erp(erp),), erp_series=series(erp),
                 exchange=(changed_exchange(single),), links=(link(master()),))
    outcome = fate(result, erp_id=1)
    assert not outcome.rejected and not outcome.conflicts
    assert outcome.erp_written is not None and outcome.erp_written.recurrence is None
    assert outcome.link is not None and outcome.link.synced.recurrence is None
    assert not any(isinstance(a, CreateInExchange | UpdateOccurrence) for a in result.actions)


def test_a_series_made_single_in_outlook_is_refused_when_deleting_in_the_erp_is_off() -> None:
    single = replace(exchange_copy(master()), recurring=False, recurrence=None)
    result = run(erp=(changed_erp(master()),), erp_series=series(master()),
                 exchange=(changed_exchange(single),), links=(link(master()),),
                 settings=EmployeeSettings(delete_appointments_in_erp=False))
    [refused] = result.rejected
    assert "11 occurrence(s) from 2026-11-11 10:00 would be deleted in the ERP" in (
        refused.message)


# -- the window ---------------------------------------------------------------------------


@pytest.mark.parametrize(("first", "rule", "synced"), [
    (datetime(2025, 1, 8, 10), "FREQ=WEEKLY;BYDAY=WE", True),  # began long ago, goes on
    (datetime(2025, 1, 8, 10), "FREQ=WEEKLY;BYDAY=WE;COUNT=3", False),  # ended long ago
    (datetime(2028, 1, 5, 10), "FREQ=WEEKLY;BYDAY=WE", False),  # begins after the window
    # Its only occurrence began before the window's start (30 days back, 03 October
    # 11:00 Berlin time) and ends after it.
    (datetime(2026, 10, 3, 10, 30), "FREQ=DAILY;COUNT=1", True),
    (datetime(2026, 10, 3, 9, 30), "FREQ=DAILY;COUNT=1", False),  # ended before it
    # The window ends 365 days ahead: 2 November 2027, 10:00 Berlin time.
    (datetime(2027, 11, 2, 9, 30), "FREQ=WEEKLY;BYDAY=TU", True),
    (datetime(2027, 11, 2, 10, 30), "FREQ=WEEKLY;BYDAY=TU", False),
], ids=["ongoing", "ended", "future", "running-at-start", "ended-before-start",
        "begins-before-the-end", "begins-after-the-end"])
@pytest.mark.parametrize("side", list(Side))
def test_an_unsynchronized_series_is_followed_while_any_occurrence_lies_in_the_window(
    first: datetime, rule: str, synced: bool, side: Side
) -> None:
    erp = master(rule=rule, start_at=first, end_at=first + HOUR)
    if side is Side.ERP:
        result = run(erp=(changed_erp(erp, modified=NOW),), erp_series=series(erp))
    else:
        outlook = replace(exchange_copy(erp), erp_id=None)
        result = run(exchange=(outlook_series(outlook, modified=NOW),))
    outcome = fate(result)
    assert outcome.created == ({side.other} if synced else set())
    assert outcome.skipped == (set() if synced else {SkipReason.OUTSIDE_WINDOW})


@pytest.mark.parametrize(("first", "synced"), [
    (datetime(2026, 10, 3, 10, 59), False),  # a minute before the window's start
    (datetime(2026, 10, 3, 11, 0), True),
])
def test_a_series_without_an_end_time_counts_by_its_start_against_the_window(
    first: datetime, synced: bool
) -> None:
    erp = master(rule="FREQ=DAILY;COUNT=1", start_at=first, end_at=None)
    outcome = fate(run(erp=(changed_erp(erp, modified=NOW),), erp_series=series(erp)))
    assert outcome.created == ({Side.EXCHANGE} if synced else set())


def test_a_linked_series_is_never_windowed() -> None:
    ended = datetime(2025, 1, 8, 10)
    old = master(rule="FREQ=WEEKLY;BYDAY=WE;COUNT=3", start_at=ended, end_at=ended + HOUR)
    edited = replace(old, location="Raum 2")
    outcome = fate(run(erp=(changed_erp(edited),), erp_series=series(edited),
                       links=(link(old),)))
    assert outcome.updated == {Side.EXCHANGE: frozenset({"location"}) | {"erp_id"}}


def test_a_linked_series_missing_from_a_windowed_listing_is_not_deleted() -> None:
    # A listing complete only within a window (Graph's calendarView) may leave out a
    # series whose other occurrences lie elsewhere: no evidence of a deletion.
    window = CompleteWindow(erp_to_utc(FIRST, BERLIN) - WEEK, erp_to_utc(FIRST, BERLIN) + WEEK)
    windowed = run(links=(link(master()),), erp_current={1: master()},
                   full_listing=window)
    assert fate(windowed).untouched
    whole = run(links=(link(master()),), erp_current={1: master()}, full_listing=True)
    assert fate(whole, erp_id=1).deleted == {Side.ERP}


# -- deleting a master -------------------------------------------------------------------


@pytest.mark.parametrize("deleted_in", list(Side))
def test_deleting_a_master_deletes_the_series_and_ends_its_occurrence_pairs(
    deleted_in: Side
) -> None:
    links = (link(master()), occurrence_link(row()))
    if deleted_in is Side.ERP:
        result = run(erp=(deleted_erp(),), links=links)
    else:
        result = run(exchange=(deleted_exchange(),), links=links, erp_current={1: master()})
    assert fate(result, erp_id=1).deleted == {deleted_in.other}
    occurrence = fate(result, erp_id=2, exchange_id=str(key()))
    assert occurrence.link_dropped and occurrence.deleted == set()


def test_a_kept_master_whose_copy_was_deleted_ends_its_occurrence_pairs() -> None:
    result = run(exchange=(deleted_exchange(),), links=(link(master()), occurrence_link(row())),
                 erp_current={1: master()},
                 settings=EmployeeSettings(delete_appointments_in_erp=False))
    assert fate(result, exchange_id=SERIES).detached is Side.EXCHANGE
    assert fate(result, erp_id=2, exchange_id=str(key())).link_dropped


def test_a_series_edited_while_frozen_and_deleted_in_outlook_comes_back_with_its_rows(
) -> None:
    # An edit beats a delete, also one the ERP made while the pair was frozen (no ERP
    # change this pass): the series is made again in Exchange, its modified occurrence
    # with it, and its occurrence pair is booked like the master's.
    edited = master(subject="Planung (neu)")
    result = run(exchange=(deleted_exchange(),), links=(link(master()),),
                 erp_current={1: edited}, erp_series=series(edited, row()))
    create, moved = (step.exchange for step in result.steps)
    assert isinstance(create, CreateInExchange) and isinstance(moved, UpdateOccurrence)
    assert create.item.subject == "Planung (neu)" and moved.item.subject == "Planung (verlegt)"
    assert moved.link is not None and moved.link.erp_seq == create.link.erp_seq


def test_occurrence_links_of_a_series_without_a_master_link_are_forgotten() -> None:
    outcome = fate(run(links=(occurrence_link(row()),)), erp_id=2)
    assert outcome.link_dropped and outcome.deleted == set() and outcome.updated == {}


# -- conference series -------------------------------------------------------------------


def test_an_outlook_edit_of_a_conference_series_is_not_imported_and_is_undone() -> None:
    conference = master(participant_ids=(7, 8))
    result = run(exchange=(outlook_series(exchange_copy(conference, location="Raum X")),),
                 erp_current={1: conference}, erp_series=series(conference),
                 links=(link(conference),))
    outcome = fate(result, erp_id=1, exchange_id=SERIES)
    assert Side.ERP not in outcome.updated and outcome.skipped == {SkipReason.CONFERENCE}
    assert outcome.exchange_written is not None and outcome.exchange_written.location == ""


def test_an_outlook_exception_of_a_conference_series_gets_the_series_content_back() -> None:
    conference = master(participant_ids=(7, 8))
    moved = occurrence_copy(row(), subject="Anders")
    result = run(exchange=(outlook_series(exchange_copy(conference), exception(moved)),),
                 erp_current={1: conference}, erp_series=series(conference),
                 links=(link(conference),))
    occurrence = fate(result, exchange_id=str(key()))
    assert occurrence.created == set() and occurrence.link is None
    assert skips(result) == {(Side.EXCHANGE, str(key()), SkipReason.CONFERENCE)}
    [write] = [a for a in result.actions if isinstance(a, UpdateOccurrence)]
    assert (write.key, write.ref) == (key(), ItemRef("OCC-11", "ok2"))
    assert (write.item.subject, write.item.start) == ("Planung", erp_to_utc(MOVED, BERLIN))


def test_a_conference_series_deleted_in_outlook_is_kept_in_the_erp() -> None:
    conference = master(participant_ids=(7, 8))
    outcome = fate(run(exchange=(deleted_exchange(),), links=(link(conference),),
                       erp_current={1: conference}))
    assert outcome.deleted == set() and outcome.detached is Side.EXCHANGE


# -- refused, never synchronized half -----------------------------------------------------


@pytest.mark.parametrize("backend", [
    replace(EVERYTHING, yearly_interval=False),  # EWS
    replace(EVERYTHING, regenerating=False),  # Microsoft To Do
], ids=["no-yearly-interval", "no-regenerating"])
@pytest.mark.parametrize("kind", [Kind.APPOINTMENT, Kind.TASK])
def test_a_single_item_syncs_on_a_backend_that_cannot_hold_every_series(
    backend: object, kind: Kind
) -> None:
    # The series checks concern series only: a single item is created and merged as
    # on any backend.
    new = activity(kind=kind, activity_type_no=2)
    edited = activity(2, kind=kind, activity_type_no=2)
    result = run(erp=(changed_erp(new), changed_erp(replace(edited, subject="Neu"))),
                 links=(link(edited, "EX2"),), kind=kind, capabilities=backend)
    assert result.rejected == ()
    assert fate(result, erp_id=1).created == {Side.EXCHANGE}
    assert fate(result, erp_id=2).updated.get(Side.EXCHANGE, frozenset()) >= {"subject"}


def test_a_rule_outlook_cannot_show_is_refused_in_words() -> None:
    hourly = master(rule="FREQ=HOURLY;COUNT=3")
    result = run(erp=(changed_erp(hourly),))
    assert result.actions == ()
    [refused] = result.rejected
    assert refused.message.startswith("this series repeats in a way Outlook cannot show: ")
    assert refused.message.endswith("(item ERP activity 1 'Planung', field recurrence)")


def test_a_series_whose_rows_do_not_fit_is_refused_whole() -> None:
    misfit = ItemRejected("the series has no occurrence at 2026-11-12 10:00",
                          item="activity 2 (an occurrence of activity 1)",
                          field="original_start")
    for links in ((), (link(master()),)):
        result = run(erp=(changed_erp(master(location="Raum 2")),), erp_series={1: misfit},
                     links=links)
        assert result.actions == ()
        assert [r.message for r in result.rejected] == [str(misfit)]


def test_a_task_series_merged_into_one_without_a_first_occurrence_is_refused_by_its_id(
) -> None:
    # The start cleared in the ERP, the due day in Outlook: each side still has its first
    # occurrence, the merge has none. Refused whole, the message names the ERP activity.
    first = datetime(2026, 11, 5)
    task = activity(kind=Kind.TASK, start_at=first, end_at=None, due_at=first,
                    activity_type_no=2, recurrence="FREQ=WEEKLY;BYDAY=TH;COUNT=5",
                    recurring=True)
    no_due = replace(exchange_copy(task), due=None)
    result = run(erp=(changed_erp(replace(task, start_at=None)),),
                 exchange=(changed_exchange(no_due),), links=(link(task),), kind=Kind.TASK)
    assert result.actions == ()
    [refused] = result.rejected
    assert (refused.side, refused.key) == (Side.ERP, "1")
    assert refused.message == ("a series needs its first occurrence, and it is empty "
                               "(item activity 1, field start)")


def test_an_outlook_series_in_another_time_zone_is_refused() -> None:
    outlook = replace(exchange_copy(master()), erp_id=None)
    assert outlook.recurrence is not None
    elsewhere = replace(outlook, recurrence=replace(outlook.recurrence,
                                                    time_zone="America/New_York"))
    result = run(exchange=(outlook_series(elsewhere),))
    assert result.actions == ()
    [refused] = result.rejected
    assert refused.message == (
        "the series repeats in time zone America/New_York and the ERP's is Europe/Berlin: "
        "some occurrences would move by an hour around the DST switches "
        "(item Exchange appointment 'Planung', field recurrence)")


def test_an_all_day_series_keeps_its_days() -> None:
    day = datetime(2026, 11, 4)
    all_day = master(start_at=day, end_at=day + timedelta(days=1), all_day=True)
    [create] = run(erp=(changed_erp(all_day),), erp_series=series(all_day)).actions
    assert isinstance(create, CreateInExchange)
    assert (create.item.start, create.item.end) == (date(2026, 11, 4), date(2026, 11, 5))
    assert create.item.recurrence == rule_of(RULE, day)
