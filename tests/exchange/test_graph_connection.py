"""The Graph adapter's wire: tokens, throttling, faults, batching, limits, access errors."""

from __future__ import annotations

import concurrent.futures

import pytest

from esexchange.domain.model import Kind
from esexchange.exchange.errors import AccessDenied, MailboxNotFound, MailboxUnreachable
from esexchange.exchange.graph import GraphConnection
from esexchange.exchange.graph.mailbox import GraphMailbox
from esexchange.exchange.graph.settings import NEEDED_ROLES
from esexchange.sandbox.graph.knobs import GraphKnobs
from tests.exchange.test_graph_mailbox import appointment, read_all, task
from tests.support.graph_sandbox import ANNA, BEN, BEN_ONLY_APP_ID, GraphHarness


def test_writes_go_in_batches_of_twenty(graph: GraphHarness, online: GraphConnection) -> None:
    mailbox = online.mailbox(ANNA)
    before = online.requests
    results = mailbox.create([appointment(f"E{n}", n) for n in range(45)])
    assert all(r.ok for r in results)
    assert online.requests - before == 3  # ceil(45 / 20) $batch requests
    assert len(graph.sandbox.backend.events(ANNA)) == 45


def test_a_throttled_sub_request_is_retried_alone_and_everything_applied_once(
    graph: GraphHarness, online: GraphConnection
) -> None:
    graph.sandbox.injector.knobs = GraphKnobs(throttle_rate=0.3, retry_after_s=0, seed=5)
    results = online.mailbox(ANNA).create([appointment(f"E{n}", n) for n in range(15)])
    assert all(r.ok for r in results)
    assert graph.sandbox.injector.counters.throttled > 0
    subjects = sorted(e.data["subject"] for e in graph.sandbox.backend.events(ANNA))
    assert subjects == sorted(f"E{n}" for n in range(15))


def test_unavailable_answers_and_dropped_connections_are_retried(
    graph: GraphHarness, online: GraphConnection
) -> None:
    mailbox = online.mailbox(ANNA)
    graph.sandbox.injector.knobs = GraphKnobs(http_503_rate=0.25, drop_rate=0.25, seed=3)
    assert all(r.ok for r in mailbox.create([appointment(f"E{n}", n) for n in range(60)]))
    counters = graph.sandbox.injector.counters
    assert counters.http_503 and counters.dropped
    assert _subjects(mailbox, Kind.APPOINTMENT) == sorted(f"E{n}" for n in range(60))


def _subjects(mailbox: GraphMailbox, kind: Kind) -> list[str]:
    pages, _ = read_all(mailbox, kind)
    return sorted(c.remote.item.subject for p in pages for c in p.changes if c.remote)


def test_a_task_create_whose_answer_was_lost_is_not_sent_again(
    graph: GraphHarness, online: GraphConnection
) -> None:
    """To Do has no transactionId: sent again, the tasks would exist twice. The pass fails
    for the mailbox instead, and the next one adopts the tasks by their ERP id."""
    mailbox = online.mailbox(ANNA)
    assert _subjects(mailbox, Kind.TASK) == []  # (which also finds the To Do list)
    graph.sandbox.injector.knobs = GraphKnobs(lost_answer_rate=1.0)
    with pytest.raises(MailboxUnreachable, match="not sent again"):
        mailbox.create([task("T1", 1), task("T2", 2)])
    graph.sandbox.injector.knobs = GraphKnobs()
    assert graph.sandbox.injector.counters.lost_answers == 1
    assert _subjects(mailbox, Kind.TASK) == ["T1", "T2"]  # made once, not twice
    assert sorted(mailbox.find_by_erp_id(Kind.TASK, [1, 2])) == [1, 2]


def test_an_event_create_whose_answer_was_lost_is_sent_again_and_made_once(
    graph: GraphHarness, online: GraphConnection
) -> None:
    """An event carries a transactionId, so Graph drops the second copy of a resent POST."""
    mailbox = online.mailbox(ANNA)
    graph.sandbox.injector.knobs = GraphKnobs(lost_answer_rate=0.3, seed=1)
    results = mailbox.create([appointment(f"E{n}", n) for n in range(30)])
    assert all(r.ok for r in results)
    assert graph.sandbox.injector.counters.lost_answers > 0
    assert _subjects(mailbox, Kind.APPOINTMENT) == sorted(f"E{n}" for n in range(30))


def test_a_token_that_expires_mid_pass_is_renewed(graph: GraphHarness,
                                                  online: GraphConnection) -> None:
    mailbox = online.mailbox(ANNA)
    mailbox.create([appointment("before", 1)])
    issuer = graph.sandbox.issuer
    clock = issuer.clock
    object.__setattr__(issuer, "clock", lambda: clock() + 2 * 3600)  # msal still trusts it
    try:
        assert mailbox.create([appointment("after", 2)])[0].ok
    finally:
        object.__setattr__(issuer, "clock", clock)
    assert online.tokens.issued == 2


def test_four_requests_per_mailbox_at_most_so_exchange_never_refuses_one(
    graph: GraphHarness, online: GraphConnection
) -> None:
    graph.sandbox.injector.knobs = GraphKnobs(latency_ms=150)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: online.mailbox(ANNA).check(), range(8)))
    assert graph.sandbox.injector.counters.concurrency_limit == 0


def test_a_wrong_secret_says_what_the_administrator_must_do(graph: GraphHarness) -> None:
    connection = graph.connect(client_secret="not the secret")
    with pytest.raises(AccessDenied, match=r"AADSTS7000215.*Certificates & secrets"):
        connection.check()


def test_a_revoked_app_says_what_the_administrator_must_do(graph: GraphHarness) -> None:
    connection = graph.connect(client_id="5a0c7d1e-0000-4000-8000-00000000dead")
    with pytest.raises(AccessDenied, match=r"does not exist in tenant .*restore it"):
        connection.mailbox(ANNA).check()


def test_a_mailbox_outside_the_apps_scope_names_rbac_for_applications(
    graph: GraphHarness,
) -> None:
    connection = graph.connect(client_id=BEN_ONLY_APP_ID)
    connection.mailbox(BEN).check()
    with pytest.raises(AccessDenied) as refused:
        connection.mailbox(ANNA).check()
    assert "New-ManagementRoleAssignment -App" in str(refused.value)
    assert "Test-ServicePrincipalAuthorization" in str(refused.value)


def test_an_unknown_mailbox_is_not_found(online: GraphConnection) -> None:
    with pytest.raises(MailboxNotFound):
        online.mailbox("nobody@example.test").check()


def test_the_token_shows_expiry_and_roles_never_itself(online: GraphConnection) -> None:
    token = online.token()
    assert token.missing_roles == ()
    assert set(NEEDED_ROLES) <= set(token.roles)
    assert token.token_url.endswith("/oauth2/v2.0/token")
