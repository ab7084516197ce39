"""What the sync writes over an existing copy (DESIGN.md §3): every Exchange update
carries the ERP id stamp; the user's own categories and a Personal sensitivity stay;
with ``alternative_text_sync`` the ERP's text wins; an Exchange item is paired at most
once (adoption claims both ids)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest

from esexchange.domain.actions import DeleteInExchange, SkipReason, UpdateInExchange
from esexchange.domain.mapping import erp_to_item, item_to_exchange, make_context
from esexchange.domain.model import ExchangeItem, Importance, Kind, Sensitivity, Side, TaskStatus
from esexchange.domain.options import ConflictPolicy
from esexchange.domain.planner import exchange_view
from tests.domain.planner_support import fate, skips
from tests.domain.test_planner import (
    NOW,
    OPTIONS,
    REFERENCE,
    activity,
    changed_erp,
    changed_exchange,
    deleted_erp,
    exchange_copy,
    link,
    remote,
    run,
)


def test_every_exchange_update_stamps_the_erp_id() -> None:
    # An imported item has no stamp yet; the first update gives it one, so a crash after
    # the update finds the copy instead of making another.
    unstamped = exchange_copy(activity(), erp_id=None)
    outcome = fate(run(erp=(changed_erp(activity(location="Raum 2")),),
                       exchange=(changed_exchange(unstamped),), links=(link(activity()),)))
    assert outcome.updated[Side.EXCHANGE] >= {"erp_id", "location"}
    assert outcome.exchange_written is not None and outcome.exchange_written.erp_id == 1


def test_an_update_keeps_the_users_own_categories() -> None:
    mine = exchange_copy(activity())
    mine = replace(mine, categories=("Kunde", *mine.categories, "Privat-Notiz"))
    outcome = fate(run(erp=(changed_erp(activity(location="Raum 2")),),
                       exchange=(changed_exchange(mine),), links=(link(activity()),)))
    written = outcome.exchange_written
    assert written is not None and written.location == "Raum 2"
    assert written.categories[:1] == ("Kunde",) and "Privat-Notiz" in written.categories


def test_an_update_keeps_a_personal_sensitivity() -> None:
    personal = exchange_copy(activity(), sensitivity=Sensitivity.PERSONAL)
    outcome = fate(run(erp=(changed_erp(activity(location="Raum 2")),),
                       exchange=(changed_exchange(personal),), links=(link(activity()),)))
    assert outcome.exchange_written is not None
    assert outcome.exchange_written.sensitivity is Sensitivity.PERSONAL


@pytest.mark.parametrize("policy", list(ConflictPolicy))
def test_with_alternative_text_sync_the_erp_text_wins_when_both_edited(
    policy: ConflictPolicy,
) -> None:
    options = replace(OPTIONS, alternative_text_sync=True, conflict_policy=policy)
    outcome = fate(run(
        erp=(changed_erp(activity(text="Agenda aus dem ERP")),),
        exchange=(changed_exchange(exchange_copy(activity(), body="Notiz aus Outlook"),
                                   modified=NOW),),
        links=(link(activity()),), options=options,
    ))
    assert "body" not in outcome.conflicts and Side.ERP not in outcome.updated
    assert outcome.link is not None and outcome.link.synced.body == "Agenda aus dem ERP"


def test_without_alternative_text_sync_an_exchange_body_edit_is_imported() -> None:
    outcome = fate(run(exchange=(changed_exchange(exchange_copy(activity(), body="Notiz")),),
                       links=(link(activity()),), erp_current={1: activity()}))
    assert outcome.updated[Side.ERP] == {"text"}
    assert outcome.erp_written is not None and outcome.erp_written.text == "Notiz"


def test_a_stamped_item_found_twice_is_adopted_once_and_never_imported() -> None:
    copy = exchange_copy(activity())
    outcome = fate(run(erp=(changed_erp(activity(location="Raum 2")),),
                       exchange=(changed_exchange(copy, "EX9"),),
                       stamped={1: remote(copy, "EX9")}))
    assert outcome.created == set()
    assert outcome.link is not None and (outcome.link.erp_id, outcome.link.exchange_id) == (
        1, "EX9"
    )


def test_two_items_stamped_with_one_erp_id_pair_only_one_of_them() -> None:
    # An Outlook copy keeps the stamp: one item becomes the partner, the other is new.
    first, second = exchange_copy(activity()), exchange_copy(activity(), subject="Kopie")
    result = run(exchange=(changed_exchange(first, "EX1"), changed_exchange(second, "EX2")),
                 erp_current={1: activity()})
    adopted, imported = fate(result, exchange_id="EX1"), fate(result, exchange_id="EX2")
    assert adopted.link is not None and adopted.link.erp_id == 1 and adopted.created == set()
    assert imported.created == {Side.ERP}


def test_an_activity_adopting_its_copy_is_not_created_again_by_its_own_change() -> None:
    copy = exchange_copy(activity())
    result = run(erp=(changed_erp(activity()),), exchange=(changed_exchange(copy),),
                 erp_current={1: activity()})
    outcome = fate(result)
    assert outcome.created == set() and outcome.link is not None
    assert outcome.link.exchange_id == "EX1"


def test_an_adopted_copy_gets_the_erp_content() -> None:
    stale = exchange_copy(activity(), subject="Alt", location="Raum 1")
    outcome = fate(run(erp=(changed_erp(activity(location="Raum 2")),),
                       stamped={1: remote(stale)}))
    written = outcome.exchange_written
    assert written is not None and (written.subject, written.location) == ("Planung", "Raum 2")
    assert Side.ERP not in outcome.updated
    assert outcome.link is not None and outcome.link.synced.location == "Raum 2"


def test_an_adopted_copy_keeps_the_users_categories_and_personal_sensitivity() -> None:
    copy = exchange_copy(activity(), sensitivity=Sensitivity.PERSONAL, location="Raum 1")
    copy = replace(copy, categories=("Kunde", *copy.categories))
    outcome = fate(run(erp=(changed_erp(activity(location="Raum 2")),),
                       stamped={1: remote(copy)}))
    written = outcome.exchange_written
    assert written is not None and written.location == "Raum 2"
    assert written.sensitivity is Sensitivity.PERSONAL and written.categories[0] == "Kunde"


def test_a_completed_exchange_task_is_imported_completed_now() -> None:
    task = ExchangeItem(Kind.TASK, "Erledigt", due=date(2026, 11, 3),
                        status=TaskStatus.COMPLETED, percent_complete=100)
    outcome = fate(run(kind=Kind.TASK, exchange=(changed_exchange(task),)))
    assert outcome.created == {Side.ERP} and outcome.erp_written is not None
    # NOW is 09:00 UTC, 10:00 in the ERP's Berlin time.
    assert outcome.erp_written.completed_at == datetime(2026, 11, 2, 10, 0)


def test_a_skipped_item_is_reported_by_its_side_and_id() -> None:
    private_item = replace(exchange_copy(activity(2)), erp_id=None,
                           sensitivity=Sensitivity.PRIVATE)
    result = run(erp=(changed_erp(activity(private=True)),),
                 exchange=(changed_exchange(private_item, "EX2"),))
    assert skips(result) == {
        (Side.ERP, "1", SkipReason.PRIVATE), (Side.EXCHANGE, "EX2", SkipReason.PRIVATE)
    }


def test_an_imported_item_is_linked_with_its_id_and_version() -> None:
    item = replace(exchange_copy(activity()), erp_id=None, subject="Zahnarzt")
    outcome = fate(run(exchange=(changed_exchange(item, "EX4", key="ck7"),)))
    assert outcome.created == {Side.ERP} and outcome.link is not None
    assert (outcome.link.exchange_id, outcome.link.version) == ("EX4", "ck7")


def test_a_conflict_is_recorded_against_its_pairs_erp_activity() -> None:
    result = run(erp=(changed_erp(activity(subject="ERP")),),
                 exchange=(changed_exchange(exchange_copy(activity(), subject="Outlook")),),
                 links=(link(activity()),))
    assert [(c.erp_id, c.field) for c in result.conflicts] == [(1, "subject")]


def test_a_linked_task_completed_in_outlook_is_completed_now_in_the_erp() -> None:
    task = activity(kind=Kind.TASK, start_at=None, end_at=None, activity_type_no=2,
                    due_at=datetime(2026, 11, 3))
    done = exchange_copy(task, status=TaskStatus.COMPLETED, percent_complete=100)
    outcome = fate(run(kind=Kind.TASK, exchange=(changed_exchange(done),),
                       links=(link(task),), erp_current={1: task}))
    assert outcome.erp_written is not None
    assert outcome.erp_written.completed_at == datetime(2026, 11, 2, 10, 0)  # NOW in Berlin


def test_an_importance_edit_rewrites_the_priority_trailer_with_the_new_priority() -> None:
    # priority_as_text: the body ends with the ERP priority's name; High importance in
    # Outlook makes the ERP priority "Hoch", and the trailer says so.
    options = replace(OPTIONS, priority_as_text=True)
    ctx = make_context(options, REFERENCE, "UTC")
    synced = erp_to_item(activity(), ctx)
    pair = replace(link(activity()), synced=synced,
                   exchange_hash=exchange_view(synced, ctx).content_hash())
    high = replace(item_to_exchange(synced, ctx, erp_id=1), importance=Importance.HIGH)
    outcome = fate(run(exchange=(changed_exchange(high),), links=(pair,),
                       erp_current={1: activity()}, options=options))
    assert outcome.erp_written is not None and outcome.erp_written.priority_id == 3
    assert outcome.link is not None and outcome.link.synced.priority_name == "Hoch"
    written = outcome.exchange_written
    assert written is not None and "Hoch" in written.body and "Mittel" not in written.body


def test_a_trailer_read_back_with_windows_line_ends_is_not_rewritten() -> None:
    # Exchange may hand the body back with CRLF line ends: the same trailer, no write.
    options = replace(OPTIONS, priority_as_text=True)
    ctx = make_context(options, REFERENCE, "UTC")
    synced = erp_to_item(activity(text="Agenda"), ctx)
    copy = item_to_exchange(synced, ctx, erp_id=1)
    assert "Mittel" in copy.body
    crlf = replace(copy, body=copy.body.replace("\n", "\r\n"))
    pair = replace(link(activity(text="Agenda")), synced=synced,
                   exchange_hash=exchange_view(synced, ctx).content_hash())
    outcome = fate(run(exchange=(changed_exchange(crlf),), links=(pair,),
                       erp_current={1: activity(text="Agenda")}, options=options))
    assert outcome.updated == {}


def test_an_adopted_copy_is_written_only_where_it_differs_from_the_erp() -> None:
    stale = exchange_copy(activity(), location="Raum 1")
    outcome = fate(run(erp=(changed_erp(activity(location="Raum 2")),),
                       stamped={1: remote(stale)}))
    assert outcome.updated == {Side.EXCHANGE: {"location", "erp_id"}}


def test_with_alternative_text_sync_an_outlook_body_edit_is_neither_imported_nor_undone() -> None:
    # The body is the ERP's: an Exchange edit of it is no change to merge, so a location
    # edit in the same save is imported and the Outlook body is not written over.
    options = replace(OPTIONS, alternative_text_sync=True)
    edited = exchange_copy(activity(), body="Notiz aus Outlook", location="Raum 3")
    outcome = fate(run(exchange=(changed_exchange(edited),), links=(link(activity()),),
                       erp_current={1: activity()}, options=options))
    assert outcome.updated == {Side.ERP: {"location"}}


def test_a_trailer_option_switched_on_rewrites_only_the_body() -> None:
    # priority_as_text turned on: the next pass re-reads the pair unchanged on both sides
    # and writes the body again, now with the priority's name at its end. The copy was
    # saved again since (a new version, same content): still one write and one link.
    options = replace(OPTIONS, priority_as_text=True)
    copy = exchange_copy(activity(text="Agenda"))
    result = run(erp=(changed_erp(activity(text="Agenda")),), exchange=(changed_exchange(copy),),
                 links=(link(activity(text="Agenda")),), options=options)
    [update] = [a for a in result.actions if isinstance(a, UpdateInExchange)]
    assert (update.erp_id, update.ref.id, update.ref.version) == (1, "EX1", "ck2")
    outcome = fate(result)
    assert outcome.updated == {Side.EXCHANGE: {"body", "erp_id"}}
    written = outcome.exchange_written
    assert written is not None and written.body.startswith("Agenda") and "Mittel" in written.body
    assert (written.subject, written.location) == (copy.subject, copy.location)
    assert outcome.link is not None and outcome.link.version == "ck2"


def test_a_trailer_rewrite_stamps_the_erp_id_and_keeps_the_users_categories() -> None:
    # The trailer-only write is an Exchange update like any other: an imported copy
    # without a stamp gets one, and the user's own category stays.
    options = replace(OPTIONS, priority_as_text=True)
    copy = exchange_copy(activity(), erp_id=None)
    copy = replace(copy, categories=("Kunde", *copy.categories))
    result = run(exchange=(changed_exchange(copy),), links=(link(activity()),),
                 erp_current={1: activity()}, options=options)
    outcome = fate(result)
    assert outcome.updated == {Side.EXCHANGE: {"body", "erp_id"}}
    written = outcome.exchange_written
    assert written is not None and written.erp_id == 1 and "Mittel" in written.body
    assert written.categories[0] == "Kunde"


def test_an_erp_deletion_deletes_the_exchange_copy_at_the_version_read_now() -> None:
    touched = changed_exchange(exchange_copy(activity()), key="ck5")
    result = run(erp=(deleted_erp(),), exchange=(touched,), links=(link(activity()),))
    [delete] = [a for a in result.actions if isinstance(a, DeleteInExchange)]
    assert (delete.ref.id, delete.ref.version) == ("EX1", "ck5")
