"""Reachability checks: each failure is told in words that say what to fix."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator

import pytest

from esexchange.domain.model import Kind
from esexchange.domain.state import WHOLE_FOLDER
from esexchange.exchange.errors import AccessDenied, MailboxNotFound, MailboxUnreachable
from esexchange.exchange.ews import EwsConnection, UserAuth
from tests.exchange.ews_helpers import connected, user_settings
from tests.support.sandbox import (
    ANNA,
    BEN,
    NARROW_PASSWORD,
    NARROW_UPN,
    SERVICE_UPN,
    RunningSandbox,
)


@pytest.fixture
def connection(ews: RunningSandbox) -> Iterator[EwsConnection]:
    with connected(user_settings(ews.url)) as opened:
        yield opened


def test_a_reachable_mailbox_passes(connection: EwsConnection) -> None:
    connection.check()
    connection.mailbox(ANNA).check()


def test_a_wrong_password_is_named(ews: RunningSandbox) -> None:
    settings = user_settings(ews.url, auth=UserAuth(SERVICE_UPN, "not the password"))
    with connected(settings) as connection:
        with pytest.raises(AccessDenied, match=f"wrong user name or password for {SERVICE_UPN}"):
            connection.check()
        with pytest.raises(AccessDenied, match="wrong user name or password"):
            connection.mailbox(ANNA).check()


def test_impersonation_denied_says_which_role_to_grant(ews: RunningSandbox) -> None:
    settings = user_settings(ews.url, auth=UserAuth(NARROW_UPN, NARROW_PASSWORD))
    with connected(settings) as connection:
        connection.mailbox(BEN).check()  # the one mailbox it may impersonate
        with pytest.raises(AccessDenied) as denied:
            connection.mailbox(ANNA).changes(Kind.APPOINTMENT, None)
    message = str(denied.value)
    assert ANNA in message and NARROW_UPN in message
    assert "ApplicationImpersonation" in message
    assert f"New-ManagementRoleAssignment -Name 'esExchange impersonation' " \
           f"-Role ApplicationImpersonation -User '{NARROW_UPN}'" in message


def test_an_unknown_mailbox_is_not_found(connection: EwsConnection) -> None:
    with pytest.raises(MailboxNotFound, match=r"nobody@example\.test"):
        connection.mailbox("nobody@example.test").check()


def test_a_closed_port_is_unreachable_in_words() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with connected(user_settings(f"http://127.0.0.1:{port}/EWS/Exchange.asmx")) as connection:
        with pytest.raises(MailboxUnreachable, match="connection refused"):
            connection.check()
        with pytest.raises(MailboxUnreachable, match="connection refused"):
            connection.mailbox(ANNA).check()


def test_one_failing_mailbox_does_not_stop_another(connection: EwsConnection) -> None:
    with pytest.raises(MailboxNotFound):
        connection.mailbox("nobody@example.test").changes(Kind.APPOINTMENT, None)
    assert connection.mailbox(ANNA).changes(Kind.APPOINTMENT, None).complete == WHOLE_FOLDER



class _WebPage(http.server.BaseHTTPRequestHandler):
    """A plain web server (a login page), where an EWS URL was expected."""

    status = 200

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = b"<html><head><title>Sign in</title></head><body>Sign in</body></html>"
        self.send_response(self.status)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(params=[200, 404])
def web_page(request: pytest.FixtureRequest) -> Iterator[str]:
    handler = type("Page", (_WebPage,), {"status": request.param})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/EWS/Exchange.asmx"
    server.shutdown()
    server.server_close()


def test_a_web_page_is_not_an_ews_endpoint(web_page: str) -> None:
    with connected(user_settings(web_page)) as connection:
        with pytest.raises(MailboxUnreachable) as server:
            connection.check()
        with pytest.raises(MailboxUnreachable) as mailbox:
            connection.mailbox(ANNA).changes(Kind.APPOINTMENT, None)
    for raised in (server, mailbox):
        assert str(raised.value).startswith(
            f"this is not an EWS endpoint (got HTML from {web_page}"
        ), raised.value
        assert str(raised.value).endswith("check --ews-url")
