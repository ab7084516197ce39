"""Bad input costs only itself (issue 10): an employee without an email, NULLs and
out-of-range values in ERP rows, texts beyond Exchange's limits. Each is reported in
words naming the item and the field, and the rest of the pass goes on."""

from __future__ import annotations

import pytest

from esexchange import config
from esexchange.config.errors import ConfigError
from esexchange.service.checks import check_assignment
from tests.e2e.conftest import World


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
