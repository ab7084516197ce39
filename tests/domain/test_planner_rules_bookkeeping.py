"""The link kept after each kind of write (DESIGN.md §3): the pass that reads the
sync's own writes back writes nothing and keeps the pairing as it is. Hashes, synced
content and ids in the link are what the two sides hold after the writes; a wrong one
would turn the next pass's echo into an edit (a write, or an edit beating a delete)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest

from esexchange.domain.actions import CreateInErp, CreateInExchange, Detach, Plan, SaveLink
from esexchange.domain.model import ErpActivity, ExchangeItem, Kind, Sensitivity, Side, TaskStatus
from esexchange.domain.options import ConflictPolicy, ConnectionOptions, EmployeeSettings
from esexchange.domain.state import ErpChange, Link
from tests.domain.planner_support import Fate, as_stored, fate, same_pairing
from tests.domain.test_planner import (
    NOW,
    OPTIONS,
    activity,
    changed_erp,
    changed_exchange,
    deleted_erp,
    deleted_exchange,
    exchange_copy,
    link,
    remote,
    run,
)

TASK = activity(kind=Kind.TASK, start_at=None, end_at=None, activity_type_no=2,
                due_at=activity().start_at)
RICH = replace(OPTIONS, priority_as_text=True, equipment_as_text=True)


@dataclass(frozen=True)
class Scenario:
    """One pass's inputs, and each side's copy before the pass (``None``: absent)."""

    erp: ErpActivity | None
    exchange: ExchangeItem | None
    inputs: dict[str, Any]
    options: ConnectionOptions = OPTIONS
    kind: Kind = Kind.APPOINTMENT


def _edited_both(policy: ConflictPolicy) -> Scenario:
    erp, item = activity(subject="ERP"), exchange_copy(activity(), subject="Outlook")
    return Scenario(erp, item, {
        "erp": (changed_erp(erp),), "exchange": (changed_exchange(item, modified=NOW),),
        "links": (link(activity()),),
    }, replace(OPTIONS, conflict_policy=policy))


def _scenarios() -> dict[str, Scenario]:
    base = activity()
    moved = activity(location="Raum 2")
    outlook = exchange_copy(base, location="Raum 3", body="Notiz")
    stale_copy = exchange_copy(base, subject="Alt")
    unstamped = replace(exchange_copy(base), erp_id=None, subject="Zahnarzt")
    conference = activity(participant_ids=(7, 8))
    completed = replace(TASK, status=TaskStatus.COMPLETED, percent_complete=100)
    equipped = activity(equipment=("Beamer", "Flipchart"), priority_id=3)
    return {
        "merge-erp-edit": Scenario(moved, exchange_copy(base), {
            "erp": (changed_erp(moved),), "links": (link(base),)}),
        "merge-exchange-edit": Scenario(base, outlook, {
            "exchange": (changed_exchange(outlook),), "links": (link(base),),
            "erp_current": {1: base}}),
        "merge-different-fields": Scenario(moved, exchange_copy(base, subject="Neu"), {
            "erp": (changed_erp(moved),),
            "exchange": (changed_exchange(exchange_copy(base, subject="Neu")),),
            "links": (link(base),)}),
        "conflict-erp-wins": _edited_both(ConflictPolicy.ERP_WINS),
        "conflict-exchange-wins": _edited_both(ConflictPolicy.EXCHANGE_WINS),
        "refresh-fake-change": Scenario(base, exchange_copy(base), {
            "erp": (changed_erp(base),), "exchange": (changed_exchange(exchange_copy(base)),),
            "links": (link(base),)}),
        "adopt-stamped-copy": Scenario(moved, stale_copy, {
            "erp": (changed_erp(moved),), "stamped": {1: remote(stale_copy)}}),
        # An interrupted pass made the copy and crashed before keeping its link.
        "adopt-identical-copy": Scenario(base, exchange_copy(base), {
            "erp": (changed_erp(base),), "stamped": {1: remote(exchange_copy(base))}}),
        "adopt-from-exchange": Scenario(base, stale_copy, {
            "exchange": (changed_exchange(stale_copy),), "erp_current": {1: base}}),
        "create-in-exchange": Scenario(moved, None, {"erp": (changed_erp(moved),)}),
        "create-in-exchange-rich": Scenario(equipped, None, {"erp": (changed_erp(equipped),)},
                                            RICH),
        "merge-rich": Scenario(equipped, exchange_copy(base), {
            "erp": (changed_erp(equipped),), "links": (link(base),)}, RICH),
        "create-in-erp": Scenario(None, unstamped, {"exchange": (changed_exchange(unstamped),)}),
        "private-with-setting-off": Scenario(activity(private=True), exchange_copy(base), {
            "erp": (changed_erp(activity(private=True)),), "links": (link(base),),
            "settings": EmployeeSettings(no_private_appointments=False)}),
        "exchange-edit-beats-erp-delete": Scenario(None, outlook, {
            "erp": (deleted_erp(),), "exchange": (changed_exchange(outlook),),
            "links": (link(base),)}),
        "erp-edit-beats-exchange-delete": Scenario(moved, None, {
            "erp": (changed_erp(moved),), "exchange": (deleted_exchange(),),
            "links": (link(base),)}),
        # The new copy an interrupted pass made for the edit is adopted, not made again.
        "erp-edit-beats-exchange-delete-adopting": Scenario(moved, stale_copy, {
            "erp": (changed_erp(moved),), "exchange": (deleted_exchange(),),
            "links": (link(base),), "stamped": {1: remote(stale_copy, "EX2")}}),
        "conference-exchange-edit": Scenario(conference, exchange_copy(conference, body="x"), {
            "exchange": (changed_exchange(exchange_copy(conference, body="x")),),
            "links": (link(conference),), "erp_current": {1: conference}}),
        "alternative-text": Scenario(moved, exchange_copy(base, body="Outlook"), {
            "erp": (changed_erp(moved),),
            "exchange": (changed_exchange(exchange_copy(base, body="Outlook")),),
            "links": (link(base),)}, replace(OPTIONS, alternative_text_sync=True)),
        "task-completed": Scenario(completed, exchange_copy(TASK), {
            "erp": (changed_erp(completed),), "links": (link(TASK),)}, kind=Kind.TASK),
        "task-personal": Scenario(TASK, exchange_copy(TASK, sensitivity=Sensitivity.PERSONAL,
                                                      subject="Neu"), {
            "exchange": (changed_exchange(exchange_copy(
                TASK, sensitivity=Sensitivity.PERSONAL, subject="Neu")),),
            "links": (link(TASK),), "erp_current": {1: TASK}}, kind=Kind.TASK),
    }


SCENARIOS = _scenarios()


def _after(scenario: Scenario, first: Fate) -> tuple[ErpActivity, ExchangeItem, dict[str, Any]]:
    """Both sides after the first pass's writes, and the link as stored."""
    assert first.link is not None, "the pass kept no link"
    erp_id = first.link.erp_id or 50
    erp = first.erp_written if first.erp_written is not None else scenario.erp
    exchange = first.exchange_written if first.exchange_written is not None else (
        scenario.exchange
    )
    assert erp is not None and exchange is not None
    erp = replace(erp, id=erp_id, participant_ids=erp.participant_ids or (7,))
    exchange_id = first.link.exchange_id or "EX5"
    stored = as_stored(first.link, erp_id=erp_id, exchange_id=exchange_id, version="ck9")
    return erp, exchange, {
        "erp": (changed_erp(erp, seq=20),),
        "exchange": (changed_exchange(exchange, exchange_id, key="ck9"),),
        "links": (stored,),
    }


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_pass_after_each_kind_of_write_writes_nothing_and_keeps_the_pairing(
    name: str,
) -> None:
    scenario = SCENARIOS[name]
    more = dict(scenario.inputs)
    first = fate(run(kind=scenario.kind, options=scenario.options, **more))
    _, _, echo = _after(scenario, first)
    if "settings" in more:
        echo["settings"] = more["settings"]
    second = fate(run(kind=scenario.kind, options=scenario.options, **echo))
    assert (second.created, second.updated, second.deleted) == (set(), {}, set()), name
    assert second.detached is None and not second.link_dropped and not second.conflicts
    [stored] = echo["links"]
    assert second.link is None or same_pairing(second.link, stored), (second.link, stored)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_after_each_kind_of_write_deleting_one_copy_deletes_the_other(name: str) -> None:
    # The link's hashes say "unchanged since the pass", so a deletion now is followed.
    scenario = SCENARIOS[name]
    first = fate(run(kind=scenario.kind, options=scenario.options, **scenario.inputs))
    erp, _, echo = _after(scenario, first)
    settings = scenario.inputs.get("settings")
    extra = {} if settings is None else {"settings": settings}
    gone = fate(run(kind=scenario.kind, options=scenario.options, erp=echo["erp"],
                    exchange=(replace(echo["exchange"][0], remote=None),),
                    links=echo["links"], **extra))
    if erp.conference:
        assert gone.detached is Side.EXCHANGE
    else:
        assert gone.deleted == {Side.ERP}, name


def _kept_links(plan_: Plan) -> list[Link]:
    return [a.link for a in plan_.actions if isinstance(a, SaveLink | Detach | CreateInErp
                                                        | CreateInExchange)]


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_link_a_plan_keeps_can_be_stored_and_names_what_it_saw(name: str) -> None:
    # The store refuses a link without a version, a journal position or hashes (NOT NULL):
    # the pair would fail every pass. The version is the one the pass saw (the engine puts
    # in the one a write returns), the position the newest ERP change synced (without one,
    # the position the pair had; a new pair has synced none).
    scenario = SCENARIOS[name]
    links = _kept_links(run(kind=scenario.kind, options=scenario.options, **scenario.inputs))
    assert links, name
    erp_changes = [c for c in scenario.inputs.get("erp", ()) if c.activity is not None]
    remotes = [c.remote for c in scenario.inputs.get("exchange", ()) if c.remote is not None]
    remotes += list(scenario.inputs.get("stamped", {}).values())
    [before] = scenario.inputs.get("links", (None,))
    for kept in links:
        assert isinstance(kept.version, str) and isinstance(kept.erp_seq, int), name
        assert isinstance(kept.erp_hash, str) and isinstance(kept.exchange_hash, str), name
        if erp_changes:
            assert kept.erp_seq == erp_changes[0].seq, name
        elif before is not None and kept.erp_id == before.erp_id:  # its position stays
            assert kept.erp_seq == before.erp_seq, name
        else:  # a new pair no ERP change was read for: no position synced yet
            assert kept.erp_seq == 0, name
        if remotes and kept.exchange_id == remotes[0].ref.id:
            assert kept.version == remotes[0].ref.version, name


def test_a_tombstone_can_be_stored() -> None:
    copy = exchange_copy(activity())
    kept = EmployeeSettings(delete_appointments_in_exchange=False)
    [tombstone] = _kept_links(run(erp=(deleted_erp(),), stamped={1: remote(copy)},
                                  settings=kept))
    assert tombstone.detached is Side.ERP and tombstone.version == "ck2"
    assert isinstance(tombstone.erp_seq, int) and isinstance(tombstone.erp_hash, str)


def test_a_merge_after_edits_seen_while_frozen_rewrites_the_whole_exchange_copy() -> None:
    # The link saw an Exchange copy that differs from the synced content (edits made
    # while frozen) but the copy is not in hand: the ERP's version is written whole.
    seen_other = replace(link(activity()), exchange_hash="edited-while-frozen")
    outcome = fate(run(erp=(changed_erp(activity(location="Raum 2")),), links=(seen_other,)))
    assert outcome.updated[Side.EXCHANGE] >= {"subject", "location", "start", "end", "body"}
    assert outcome.link is not None and outcome.link.synced.location == "Raum 2"


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_after_each_kind_of_write_deleting_the_erp_activity_deletes_the_exchange_copy(
    name: str,
) -> None:
    # The link's Exchange hash is the copy as written (or as read): the copy is not
    # "edited" after the pass, so it does not come back into the ERP.
    scenario = SCENARIOS[name]
    first = fate(run(kind=scenario.kind, options=scenario.options, **scenario.inputs))
    _, _, echo = _after(scenario, first)
    settings = scenario.inputs.get("settings")
    extra = {} if settings is None else {"settings": settings}
    [stored] = echo["links"]
    gone = fate(run(kind=scenario.kind, options=scenario.options,
                    erp=(ErpChange(stored.erp_id, scenario.kind, None, 21, NOW),),
                    exchange=echo["exchange"],
                    links=echo["links"], **extra))
    assert gone.deleted == {Side.EXCHANGE} and gone.created == set(), name


def test_an_erp_edit_exchange_cannot_show_writes_only_the_erp_side_of_the_link() -> None:
    # Equipment without equipment_as_text never reaches Exchange: no Exchange write, and
    # the link keeps the Exchange copy's hash as it was.
    equipped = activity(equipment=("Beamer",))
    before = link(activity())
    outcome = fate(run(erp=(changed_erp(equipped),), links=(before,)))
    assert outcome.updated == {} and outcome.link is not None
    assert outcome.link.exchange_hash == before.exchange_hash
    assert outcome.link.synced.equipment == ("Beamer",)


def test_an_erp_edit_beating_an_exchange_delete_adopts_the_copy_under_its_erp_id() -> None:
    scenario = SCENARIOS["erp-edit-beats-exchange-delete-adopting"]
    outcome = fate(run(**scenario.inputs), erp_id=1)
    assert outcome.created == set() and outcome.link is not None
    assert (outcome.link.erp_id, outcome.link.exchange_id) == (1, "EX2")
