"""Bad input costs only itself (issue 10): an employee without an email, NULLs and
out-of-range values in ERP rows, texts beyond Exchange's limits. Each is reported in
words naming the item and the field, and the rest of the pass goes on."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.schema import CreateTable

from esexchange import config
from esexchange.config.errors import ConfigError
from esexchange.domain.mapping.text import ERP_TEXT_MAX
from esexchange.erp.db import open_engine
from esexchange.erp.schema import activity
from esexchange.erp.script import install
from esexchange.service.checks import check_assignment
from esexchange.service.summary import movement
from esexchange.status import mailbox_status
from tests.e2e.conftest import Person, World, new_world
from tests.e2e.sandbox import RunningSandbox


@pytest.mark.backends("ews")  # the ERP's refusal; no mailbox is reached
def test_an_employee_without_email_is_refused_at_add(world: World) -> None:
    nomail = world.employee(listed=False, email="")
    number = world.query("SELECT number FROM employee WHERE id = :i", i=nomail.id)[0]["number"]

    with pytest.raises(ConfigError, match=f"employee {number} .* has no email in the ERP"):
        config.add_personnel(world.engine, world.connection, [""])

    assert config.personnel(world.engine, world.connection) == []


def test_an_employee_whose_email_was_emptied_costs_only_itself(world: World) -> None:
    anna, emptied = world.employee(), world.employee()
    world.add("appointment", "Still arrives", anna)
    with world.engine.begin() as db:
        db.exec_driver_sql(f"UPDATE employee SET email = NULL WHERE id = {emptied.id}")

    outcomes = {o.employee.id: o for o in world.sync()}

    assert outcomes[anna.id].ok, outcomes[anna.id].problem
    assert "has no email in the ERP" in outcomes[emptied.id].problem
    assert anna.outlook.subjects("appointment") == ["Still arrives"]
    lines = [r for r in check_assignment(world.engine, world.connection)
             if not r.ok and "no email" in r.detail]
    assert len(lines) == 1 and lines[0].subject.startswith("employee E")


def test_a_mailbox_problem_names_the_mailbox_once(world: World) -> None:
    ghost = world.employee(mailbox=False)

    (outcome,) = world.sync()

    assert not outcome.ok
    assert outcome.problem.count(ghost.email) == 1, outcome.problem


def _failures(world: World, person: Person) -> list[str]:
    (outcome,) = [o for o in world.sync() if o.employee.id == person.id]
    assert outcome.report is not None and outcome.report.error is None, outcome.problem
    return outcome.report.failures


@pytest.mark.parametrize("due", [datetime(9999, 12, 31), datetime(1, 1, 1)])
def test_a_date_exchange_cannot_store_is_refused_in_words_once(
    world: World, due: datetime
) -> None:
    anna = world.employee()
    far = world.add_task("Far away", anna, due_at=due)
    world.add_task("Next week", anna)

    failures = _failures(world, anna)

    assert anna.outlook.subjects("task") == ["Next week"]
    assert len(failures) == 1, failures
    assert f"ERP activity {far}" in failures[0]
    assert (f"due_at {due:%Y-%m-%d} is outside the range Exchange accepts "
            "(1601-01-01 to 4500-08-31)") in failures[0]
    assert "ErrorSchemaValidation" not in failures[0]


def test_a_text_beyond_the_limit_is_refused_naming_field_and_limit(world: World) -> None:
    anna = world.employee()
    huge = world.add_appointment("Huge text", anna, text="x" * (ERP_TEXT_MAX + 1))
    world.add_appointment("Normal text", anna)

    failures = _failures(world, anna)

    assert anna.outlook.subjects("appointment") == ["Normal text"]
    assert len(failures) == 1 and f"ERP activity {huge}" in failures[0]
    assert f"{ERP_TEXT_MAX + 1:,} characters long, more than the {ERP_TEXT_MAX:,}" \
        in failures[0]
    assert "field text" in failures[0]


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("start_at", "next tuesday", "activity.start_at holds 'next tuesday', which is not a "
                                     "date and time"),
        ("reminder_minutes", "soon", "activity.reminder_minutes holds 'soon', which is not a "
                                     "whole number"),
    ],
)
def test_a_value_of_the_wrong_type_fails_only_its_item(
    world: World, column: str, value: str, expected: str
) -> None:
    if world.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL refuses a value of the wrong type when it is written")
    anna = world.employee()
    bad = world.add_appointment("Bad value", anna)
    world.add_appointment("Good value", anna)
    with world.engine.begin() as db:  # SQLite keeps what it is given, as an ERP may
        db.execute(text(f"UPDATE activity SET {column} = :v WHERE id = :i"), {"v": value, "i": bad})

    failures = _failures(world, anna)

    assert anna.outlook.subjects("appointment") == ["Good value"]
    assert len(failures) == 1 and f"ERP activity {bad}" in failures[0], failures
    assert expected in failures[0]


def test_a_task_status_the_sync_does_not_know_fails_only_its_item(world: World) -> None:
    anna = world.employee()
    bad = world.add_task("Odd status", anna)
    world.add_task("Known status", anna)
    with world.engine.begin() as db:  # as an ERP without the reference CHECK constraint
        if world.engine.dialect.name == "postgresql":
            # IF EXISTS: the module's ERP is shared by both backends' runs of this test
            db.execute(text("ALTER TABLE activity DROP CONSTRAINT IF EXISTS ck_activity_status"))
        else:
            db.execute(text("PRAGMA ignore_check_constraints = ON"))
        db.execute(text("UPDATE activity SET status = 'someday' WHERE id = :i"), {"i": bad})
        if world.engine.dialect.name == "sqlite":
            db.execute(text("PRAGMA ignore_check_constraints = OFF"))

    failures = _failures(world, anna)

    assert anna.outlook.subjects("task") == ["Known status"]
    assert len(failures) == 1 and "activity.status holds 'someday'" in failures[0], failures


def test_a_null_subject_in_the_erps_own_table_syncs_as_an_empty_subject(
    erp: Engine, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    if erp.dialect.name == "postgresql":
        with erp.begin() as db:
            db.execute(text("ALTER TABLE activity ALTER COLUMN subject DROP NOT NULL"))
        loose = erp
    else:  # SQLite cannot loosen a column: an ERP whose own table allows NULL
        loose = open_engine(f"sqlite:///{tmp_path / 'loose.sqlite'}")
        ddl = str(CreateTable(activity).compile(dialect=loose.dialect))
        with loose.begin() as db:
            db.execute(text(ddl.replace("subject VARCHAR(255) NOT NULL", "subject VARCHAR(255)")))
        install(loose)
    world = new_world(loose, sandbox)
    anna = world.employee()
    world.add_appointment(None, anna)  # type: ignore[arg-type]
    world.add_task("After the NULL one", anna)

    (outcome,) = world.sync()

    assert outcome.ok, (outcome.problem, outcome.report)
    assert len(anna.outlook.subjects("appointment")) == 1  # with an empty subject
    assert anna.outlook.subjects("task") == ["After the NULL one"]
    (again,) = world.sync()
    assert again.ok and again.report is not None
    assert not any(movement(again.report).to_exchange.values()), again.report
    assert [a["subject"] for a in world.activities(anna, "appointment")] == [None]


def test_status_keeps_the_failing_item_and_the_reason(world: World) -> None:
    anna = world.employee()
    far = world.add_task("Far away", anna, due_at=datetime(9999, 12, 31))
    world.add_task("Due later", anna, due_at=datetime(9999, 1, 1))
    world.sync()

    (row,) = [r for r in mailbox_status(world.engine, world.connection)
              if r.employee.id == anna.id]

    assert row.last_pass is not None and row.last_pass.outcome == "partial"
    assert f"ERP activity {far}" in row.last_pass.problem
    assert "due_at 9999-12-31 is outside the range Exchange accepts" in row.last_pass.problem
    assert row.last_pass.problem.endswith("(and 1 more)")
