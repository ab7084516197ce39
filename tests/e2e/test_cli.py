"""The command line as an administrator uses it: ``esexchange sync`` (with ``--dry-run``
and ``--employee``), ``esexchange check assignment`` and ``check connection``."""

from __future__ import annotations

from sqlalchemy import Engine
from typer.testing import CliRunner

from esexchange import config
from esexchange.cli import app
from esexchange.status import mailbox_status
from tests.e2e.conftest import World, new_world
from tests.e2e.sandbox import RunningSandbox
from tests.support.ports import free_port

runner = CliRunner()


def _run(world: World, *args: str) -> tuple[int, str]:
    url = world.engine.url.render_as_string(hide_password=False)
    result = runner.invoke(app, [*args, "--db", url])
    return result.exit_code, result.output


def test_sync_prints_what_moved_per_employee(world: World) -> None:
    anna = world.employee()
    world.add("appointment", "From the ERP", anna)
    anna.outlook.add("task", "From Outlook")

    code, output = _run(world, "sync", "--connection", world.connection)

    assert code == 0, output
    line = next(line for line in output.splitlines() if anna.email in line)
    assert "1 created" in line.split("│")[2]  # ERP -> Exchange
    assert "1 created" in line.split("│")[3]  # Exchange -> ERP


def test_sync_dry_run_prints_the_plan_and_changes_nothing(world: World) -> None:
    anna = world.employee()
    world.add("appointment", "Only planned", anna)

    code, output = _run(world, "sync", "--connection", world.connection, "--dry-run")

    assert code == 0, output
    assert "would move" in output and "1 created" in output
    assert anna.outlook.subjects("appointment") == []
    assert world.query("SELECT * FROM esx_link WHERE employee_id = :e", e=anna.id) == []
    assert world.query("SELECT * FROM esx_pass WHERE employee_id = :e", e=anna.id) == []


def test_sync_one_employee_leaves_the_others_alone(world: World) -> None:
    anna, ben = world.employee(), world.employee()
    world.add("appointment", "Anna's", anna)
    world.add("appointment", "Ben's", ben)

    code, output = _run(world, "sync", "--connection", world.connection,
                        "--employee", ben.email.upper())

    assert code == 0, output
    assert anna.outlook.subjects("appointment") == []
    assert ben.outlook.subjects("appointment") == ["Ben's"]


def test_check_assignment_says_what_to_fix_per_employee(world: World) -> None:
    fine = world.employee()
    gone = world.employee(employment_status="left")
    barred = world.employee(may_create_appointments=False)
    ghost = world.employee(mailbox=False)

    code, output = _run(world, "check", "assignment", world.connection)

    assert code == 1
    lines = {person.email: " ".join(t for t in output.splitlines() if person.email in t)
             for person in (fine, gone, barred, ghost)}
    assert "FAILED" not in lines[fine.email]
    assert "has left" in lines[gone.email]
    assert "may not create appointments" in lines[barred.email]
    assert "no mailbox" in lines[ghost.email] or "no mailbox" in output


def test_check_connection_reports_a_working_connection(world: World) -> None:
    code, output = _run(world, "check", "connection", world.connection)

    assert code == 0, output
    assert "ok" in output and world.sandbox.endpoint in output


def test_sync_of_an_employee_not_on_the_list_says_how_to_add_them(world: World) -> None:
    world.employee()

    code, output = _run(world, "sync", "--connection", world.connection,
                        "--employee", "nobody@example.test")

    assert code == 2
    assert f"esexchange personnel add {world.connection} nobody@example.test" in output


def test_sync_one_employee_over_every_connection_that_lists_them(world: World) -> None:
    """Without --connection, --employee runs the connections that list the employee."""
    anna = world.employee()
    world.add("task", "Found without naming the connection", anna)

    code, output = _run(world, "sync", "--employee", anna.email)

    assert code == 0, output
    assert anna.outlook.subjects("task") == ["Found without naming the connection"]
    assert f"Connection {world.connection}" in output


def test_connection_set_ews_url_repairs_a_wrong_url_and_keeps_the_personnel(
    erp: Engine, sandbox: RunningSandbox
) -> None:
    wrong = f"http://127.0.0.1:{free_port()}/EWS/Exchange.asmx"
    world = new_world(erp, sandbox, ews_url=wrong)
    anna = world.employee()
    world.add("appointment", "After the repair", anna)

    code, output = _run(world, "check", "connection", world.connection)
    assert code != 0 and wrong in output

    code, output = _run(world, "connection", "set", world.connection,
                        "--ews-url", sandbox.ews_url)
    assert code == 0, output
    code, output = _run(world, "check", "connection", world.connection)
    assert code == 0, output

    code, output = _run(world, "sync", "--connection", world.connection)
    assert code == 0, output
    assert anna.outlook.subjects("appointment") == ["After the repair"]
    assert [p.email for p, _ in config.personnel(erp, world.connection)] == [anna.email]


def test_sync_verbose_lists_each_skipped_item_with_its_reason(world: World) -> None:
    anna = world.employee()
    world.add("appointment", "Private one", anna, private=True)
    world.setting(anna, "no_private_appointments", True)

    code, output = _run(world, "sync", "--connection", world.connection, "-v")

    assert code == 0, output
    line = next(line for line in output.splitlines() if line.startswith("skipped:"))
    assert anna.email in line and "Private one" in line
    assert "private items are not synchronized" in line
    assert "1 skipped: private" in output  # the table says why, too
    (row,) = [r for r in mailbox_status(world.engine, world.connection)
              if r.employee.id == anna.id]
    assert row.last_pass is not None and len(row.last_pass.skipped) == 1
    assert "Private one" in row.last_pass.skipped[0]
