"""DESIGN.md §4, TLS and secrets, and the sign-in methods of a connection (issue 4):
certificates are verified unless the administrator allows otherwise, a CA bundle makes a
company CA trusted, a wrong password is a clear error, and an OAuth app signs in with
client credentials from a configurable token endpoint."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from esexchange import config
from esexchange.cli import app
from esexchange.config import Auth
from esexchange.domain.model import Kind, Side
from esexchange.engine import Outcome
from esexchange.service.checks import check_connection
from esexchange.service.token import request_token
from tests.e2e.conftest import GraphWorld, World, new_graph_world, new_world
from tests.e2e.sandbox import CLIENT_ID, CLIENT_SECRET, TENANT_ID, RunningSandbox, start_sandbox
from tests.e2e.test_guarantees import WRONG_SECRET


@pytest.fixture(scope="module")
def tls_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """The sandbox over HTTPS with a certificate from its own, self-made CA."""
    with start_sandbox(tmp_path_factory.mktemp("tls"), tls=True) as running:
        yield running


def _over_tls(
    request: pytest.FixtureRequest, erp: Engine, backend: str, *, trusted: bool
) -> World:
    """A connection to a sandbox serving HTTPS with its own CA (the Graph sandbox always
    does), trusting that CA only when ``trusted``."""
    if backend == "graph":
        online: GraphWorld = request.getfixturevalue("online")
        return new_graph_world(erp, online, ca_bundle=str(online.ca_file) if trusted else None)
    tls_sandbox: RunningSandbox = request.getfixturevalue("tls_sandbox")
    assert tls_sandbox.ca_file is not None
    return new_world(erp, tls_sandbox, ca_bundle=str(tls_sandbox.ca_file) if trusted else None)


def test_self_signed_certificate_is_refused(
    request: pytest.FixtureRequest, erp: Engine, backend: str
) -> None:
    world = _over_tls(request, erp, backend, trusted=False)
    anna = world.employee()
    world.add("appointment", "Never over an untrusted line", anna)

    (outcome,) = world.sync()

    assert not outcome.ok
    assert "certificate" in outcome.problem and "not trusted" in outcome.problem
    assert world.query("SELECT * FROM esx_link WHERE employee_id = :e", e=anna.id) == []
    checked = check_connection(world.engine, world.connection)
    assert not all(result.ok for result in checked)
    assert any("--ca-bundle" in result.detail for result in checked)


def test_certificate_from_a_trusted_ca_bundle_is_accepted(
    request: pytest.FixtureRequest, erp: Engine, backend: str
) -> None:
    world = _over_tls(request, erp, backend, trusted=True)
    anna = world.employee()
    world.add("appointment", "Over a trusted line", anna)

    (outcome,) = world.sync_ok()

    assert outcome.report is not None
    assert outcome.report.count(Kind.APPOINTMENT, Side.EXCHANGE, Outcome.CREATED) == 1
    assert len(world.query("SELECT * FROM esx_link WHERE employee_id = :e", e=anna.id)) == 1
    assert all(result.ok for result in check_connection(world.engine, world.connection))


def test_wrong_password_fails_the_connection_check_in_words(world: World) -> None:
    world.employee()
    config.set_connection_secret(world.engine, world.connection, "not-the-password")

    checked = check_connection(world.engine, world.connection)

    failed = [r for r in checked if not r.ok]
    assert failed and WRONG_SECRET[world.backend] in failed[0].detail


def test_oauth_app_signs_in_and_its_token_carries_the_ews_role(
    erp: Engine, tls_sandbox: RunningSandbox
) -> None:
    """OAuth needs HTTPS (the token is a bearer secret): the app signs in over TLS."""
    assert tls_sandbox.ca_file is not None
    world = new_world(erp, tls_sandbox, secret=CLIENT_SECRET, auth=Auth.APP, upn=None,
                      tenant_id=TENANT_ID, client_id=CLIENT_ID,
                      token_url=tls_sandbox.token_url, ca_bundle=str(tls_sandbox.ca_file))
    anna = world.employee()
    world.add("task", "Written by the app", anna)

    (outcome,) = world.sync_ok()

    assert outcome.report is not None
    assert outcome.report.count(Kind.TASK, Side.EXCHANGE, Outcome.CREATED) == 1
    token = request_token(world.engine, world.connection)
    assert not token.missing_roles
    assert token.token_url == tls_sandbox.token_url

    shown = CliRunner().invoke(app, ["token", world.connection, "--db",
                                     world.engine.url.render_as_string(hide_password=False)])
    assert shown.exit_code == 0, shown.output
    assert "full_access_as_app" in shown.output
    assert "eyJ" not in shown.output  # no JWT (they start with a base64 '{"')
