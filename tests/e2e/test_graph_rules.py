"""Sync rules of DESIGN.md §3 on a Graph connection, with the same assertions as the EWS
rows where Graph can carry the data (private appointments, conference appointments,
the time window, detach) and Graph's own answer where it cannot (private tasks)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.e2e.conftest import GraphWorld, World, graph_events, graph_tasks, soon, tomorrow_at


def _user_event(online: GraphWorld, email: str, subject: str, **extra: Any) -> str:
    start = soon()
    body = {
        "subject": subject,
        "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        "end": {
            "dateTime": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"),
            "timeZone": "UTC",
        },
        **extra,
    }
    with online.user() as user:
        answer = user.post(f"/users/{email}/events", json=body)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])


def _subjects(online: GraphWorld, email: str) -> list[str]:
    return sorted(e["subject"] for e in graph_events(online, email))


def test_no_private_setting_keeps_private_appointments_on_their_side(
    graph_world: tuple[World, GraphWorld],
) -> None:
    world, online = graph_world
    anna = world.employee()
    world.add_appointment("Private in the ERP", anna, private=True)
    world.add_appointment("Public in the ERP", anna, start_at=tomorrow_at(12))
    _user_event(online, anna.email, "Private in Outlook", sensitivity="private")
    _user_event(online, anna.email, "Confidential in Outlook", sensitivity="confidential")
    world.sync_ok()
    assert _subjects(online, anna.email) == [
        "Confidential in Outlook",
        "Private in Outlook",
        "Public in the ERP",
    ]
    assert world.subjects(anna, "appointment") == ["Private in the ERP", "Public in the ERP"]


def test_private_appointments_move_when_the_setting_is_off(
    graph_world: tuple[World, GraphWorld],
) -> None:
    world, online = graph_world
    anna = world.employee()
    world.setting(anna, "no_private_appointments", False)
    world.add_appointment("Private in the ERP", anna, private=True)
    _user_event(online, anna.email, "Private in Outlook", sensitivity="private")
    world.sync_ok()
    sent = next(e for e in graph_events(online, anna.email) if e["subject"] == "Private in the ERP")
    assert sent["sensitivity"] == "private"
    assert world.activity_named(anna, "appointment", "Private in Outlook")["private"]


def test_a_private_erp_task_stays_in_the_erp_and_to_do_has_no_private_flag(
    graph_world: tuple[World, GraphWorld],
) -> None:
    world, online = graph_world
    anna = world.employee()
    world.add_task("Private task", anna, private=True)
    world.add_task("Public task", anna)
    world.sync_ok()
    assert [t["title"] for t in graph_tasks(online, anna.email)] == ["Public task"]
    world.setting(anna, "no_private_tasks", False)
    world.sync_ok()
    assert sorted(t["title"] for t in graph_tasks(online, anna.email)) == [
        "Private task",
        "Public task",
    ]
    assert all("sensitivity" not in t for t in graph_tasks(online, anna.email))
    world.sync_ok()  # the flag To Do cannot hold is ERP-owned: no change read back
    assert world.activity_named(anna, "task", "Private task")["private"]


def test_a_conference_appointment_reaches_both_and_outlook_never_changes_it_in_the_erp(
    graph_world: tuple[World, GraphWorld],
) -> None:
    world, online = graph_world
    anna, ben = world.employee(), world.employee()
    erp_id = world.add_appointment("Quarterly review", anna, ben, location="Room 4")
    world.sync_ok()
    assert _subjects(online, anna.email) == _subjects(online, ben.email) == ["Quarterly review"]
    [event] = graph_events(online, ben.email)
    with online.user() as user:
        user.patch(f"/users/{ben.email}/events/{event['id']}", json={"subject": "Ben's own title"})
    world.sync_ok()
    world.sync_ok()
    assert world.activity(erp_id)["subject"] == "Quarterly review"  # type: ignore[index]
    assert _subjects(online, anna.email) == ["Quarterly review"]
    with online.user() as user:
        user.delete(f"/users/{anna.email}/events/{graph_events(online, anna.email)[0]['id']}")
    world.sync_ok()
    assert world.activity(erp_id) is not None
    assert online.sandbox.backend.mailbox(anna.email).sent == []


def test_an_outlook_appointment_moved_beyond_the_window_is_not_deleted_in_the_erp(
    graph_world: tuple[World, GraphWorld],
) -> None:
    world, online = graph_world
    world.option("window_future_days", "30")
    anna = world.employee()
    event_id = _user_event(online, anna.email, "Moved far ahead in Outlook")
    world.sync_ok()
    erp_id = world.activity_named(anna, "appointment", "Moved far ahead in Outlook")["id"]
    far = soon(days=90)
    with online.user() as user:
        user.patch(
            f"/users/{anna.email}/events/{event_id}",
            json={
                "start": {"dateTime": far.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
                "end": {
                    "dateTime": (far + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"),
                    "timeZone": "UTC",
                },
            },
        )
    world.sync_ok()
    world.sync_ok()
    assert world.activity(erp_id) is not None
    assert _subjects(online, anna.email) == ["Moved far ahead in Outlook"]


def test_an_erp_appointment_moved_beyond_the_window_is_not_deleted_in_exchange(
    graph_world: tuple[World, GraphWorld],
) -> None:
    world, online = graph_world
    world.option("window_future_days", "30")
    anna = world.employee()
    erp_id = world.add_appointment("Moved far ahead in the ERP", anna)
    world.sync_ok()
    far = tomorrow_at(10) + timedelta(days=90)
    world.update_activity(erp_id, start_at=far, end_at=far + timedelta(hours=1))
    world.sync_ok()
    world.sync_ok()
    assert _subjects(online, anna.email) == ["Moved far ahead in the ERP"]
    assert world.activity(erp_id) is not None


def test_a_deletion_the_setting_does_not_propagate_detaches_the_pair(
    graph_world: tuple[World, GraphWorld],
) -> None:
    world, online = graph_world
    anna = world.employee()
    world.setting(anna, "delete_appointments_in_erp", False)
    erp_id = world.add_appointment("Survives in the ERP", anna)
    world.sync_ok()
    with online.user() as user:
        user.delete(f"/users/{anna.email}/events/{graph_events(online, anna.email)[0]['id']}")
    world.sync_ok()
    world.update_activity(erp_id, subject="Survives in the ERP, edited")
    world.sync_ok()
    assert world.activity(erp_id) is not None
    assert graph_events(online, anna.email) == []  # the detached copy never comes back


def _conflicts(world: World, erp_id: int) -> list[tuple[str, str]]:
    rows = world.query("SELECT field, winner FROM esx_conflict WHERE erp_id = :i", i=erp_id)
    return [(r["field"], r["winner"]) for r in rows]


def test_changes_to_different_fields_merge_and_one_field_on_both_sides_is_a_conflict(
    graph_world: tuple[World, GraphWorld],
) -> None:
    world, online = graph_world
    world.option("conflict_policy", "erp_wins")
    anna = world.employee()
    erp_id = world.add_appointment("Planning", anna, location="Room 1")
    world.sync_ok()
    [event] = graph_events(online, anna.email)
    world.update_activity(erp_id, location="Room 2")
    with online.user() as user:
        user.patch(
            f"/users/{anna.email}/events/{event['id']}", json={"subject": "Planning (Outlook)"}
        )
    world.sync_ok()
    row = world.activity(erp_id)
    assert row is not None and (row["subject"], row["location"]) == ("Planning (Outlook)", "Room 2")
    assert _conflicts(world, erp_id) == []
    world.update_activity(erp_id, subject="Title from the ERP")
    with online.user() as user:
        user.patch(
            f"/users/{anna.email}/events/{event['id']}", json={"subject": "Title from Outlook"}
        )
    world.sync_ok()
    assert world.activity(erp_id)["subject"] == "Title from the ERP"  # type: ignore[index]
    assert _subjects(online, anna.email) == ["Title from the ERP"]
    assert _conflicts(world, erp_id) == [("subject", "erp")]


def test_a_mass_deletion_is_held_for_approval(graph_world: tuple[World, GraphWorld]) -> None:
    world, online = graph_world
    anna = world.employee()
    ids = [world.add_task(f"Task {n:02d}", anna) for n in range(14)]
    world.sync_ok()
    for erp_id in ids[:12]:
        world.delete_activity(erp_id)
    (held,) = world.sync()
    assert held.report is not None and not held.ok
    assert any("held" in failure for failure in held.report.failures)
    assert len(graph_tasks(online, anna.email)) == 14
    world.sync(approve_deletions=True)
    assert sorted(t["title"] for t in graph_tasks(online, anna.email)) == ["Task 12", "Task 13"]


def test_the_appointments_setting_off_moves_nothing_until_switched_on(
    graph_world: tuple[World, GraphWorld],
) -> None:
    world, online = graph_world
    anna = world.employee()
    world.setting(anna, "appointments", False)
    world.add_appointment("ERP only", anna)
    _user_event(online, anna.email, "Outlook only")
    world.sync_ok()
    assert _subjects(online, anna.email) == ["Outlook only"]
    assert world.subjects(anna, "appointment") == ["ERP only"]
    world.setting(anna, "appointments", True)
    world.sync_ok()
    assert _subjects(online, anna.email) == ["ERP only", "Outlook only"]
    assert world.subjects(anna, "appointment") == ["ERP only", "Outlook only"]


def test_the_priority_map_meets_to_do_importance(graph_world: tuple[World, GraphWorld]) -> None:
    world, online = graph_world
    for key, priority in (("priority_low", "1"), ("priority_normal", "2"), ("priority_high", "3")):
        world.option(key, priority)
    anna = world.employee()
    world.add_task("ERP high", anna, priority_id=3)
    world.add_task("ERP unmapped", anna, priority_id=4)
    with online.user() as user:
        lists = user.get(f"/users/{anna.email}/todo/lists").json()["value"]
        user.post(
            f"/users/{anna.email}/todo/lists/{lists[0]['id']}/tasks",
            json={"title": "To Do low", "importance": "low"},
        )
    world.sync_ok()
    importance = {t["title"]: t.get("importance") for t in graph_tasks(online, anna.email)}
    assert importance["ERP high"] == "high" and importance["ERP unmapped"] == "normal"
    assert world.activity_named(anna, "task", "To Do low")["priority_id"] == 1
