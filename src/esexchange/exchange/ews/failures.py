"""exchangelib's and requests' exceptions, told as ``MailboxError``s that say what to fix."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests.exceptions
from exchangelib.errors import (
    ErrorAccessDenied,
    ErrorExceededConnectionCount,
    ErrorImpersonateUserDenied,
    ErrorImpersonationFailed,
    ErrorInvalidSyncStateData,
    ErrorNonExistentMailbox,
    ErrorServerBusy,
    EWSError,
    MalformedResponseError,
    RateLimitError,
    TransportError,
    UnauthorizedError,
)
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from esexchange.exchange.errors import (
    AccessDenied,
    InvalidSyncState,
    MailboxError,
    MailboxNotFound,
    MailboxUnreachable,
    causes,
)
from esexchange.exchange.ews.transport import last_answer

GRANT_IMPERSONATION = (
    "New-ManagementRoleAssignment -Name 'esExchange impersonation' "
    "-Role ApplicationImpersonation -User '{upn}'"
)
"""The Exchange Management Shell line that lets a service account impersonate mailboxes."""


@dataclass(frozen=True)
class Who:
    """Whom the messages name: the signed-in identity, the endpoint, the mailbox."""

    identity: str  # a UPN, or "app <client id>"
    is_app: bool
    url: str
    mailbox: str = ""


def translate(error: BaseException, who: Who) -> MailboxError | None:
    """The ``MailboxError`` for ``error``, or ``None`` when it is not a mailbox problem."""
    where = f"mailbox {who.mailbox}" if who.mailbox else who.url
    if isinstance(error, MailboxError):
        return error
    if isinstance(error, ErrorNonExistentMailbox):
        return MailboxNotFound(f"no mailbox has the address {who.mailbox or '?'} ({who.url})")
    if isinstance(error, ErrorImpersonateUserDenied | ErrorImpersonationFailed):
        return AccessDenied(_impersonation_denied(who))
    if isinstance(error, UnauthorizedError):
        if who.is_app:
            return AccessDenied(
                f"Exchange refused the token of {who.identity} at {who.url}: check that the "
                "app has the full_access_as_app permission with admin consent"
            )
        return AccessDenied(f"wrong user name or password for {who.identity} at {who.url}")
    if isinstance(error, OAuth2Error):
        return AccessDenied(
            f"the token endpoint refused {who.identity}: {error.error}"
            f"{': ' + error.description if error.description else ''}; check the tenant id, "
            "client id and client secret"
        )
    if isinstance(error, ErrorAccessDenied):
        return AccessDenied(f"{who.identity} may not access {where}: {error}")
    if isinstance(error, ErrorInvalidSyncStateData):
        return InvalidSyncState(f"Exchange refused the stored sync state of {where}: {error}")
    if isinstance(error, RateLimitError):
        return MailboxUnreachable(
            f"Exchange is throttling {who.identity} (ErrorServerBusy) longer than this "
            f"operation may wait ({error.wait:.0f} s); {where} is tried again next pass"
        )
    if isinstance(error, ErrorServerBusy | ErrorExceededConnectionCount):
        return MailboxUnreachable(
            f"Exchange is throttling {who.identity} ({type(error).__name__}: {error}); "
            f"{where} is tried again next pass"
        )
    if _certificate_problem(error):
        return MailboxUnreachable(
            f"the certificate of {who.url} is not trusted ({_root_cause(error)}): add the "
            "certificate authority that issued it with --ca-bundle FILE, or (only for a "
            "test system) accept untrusted certificates for this connection"
        )
    if any(isinstance(link, _NETWORK_ERRORS) for link in causes(error)):
        return MailboxUnreachable(f"cannot reach {who.url}: {_root_cause(error)}")
    if isinstance(error, MalformedResponseError | TransportError):
        return MailboxUnreachable(_not_ews(who, error))
    if isinstance(error, EWSError):
        # The rest: the server answered, but not usefully.
        return MailboxUnreachable(f"{where}: Exchange answered {type(error).__name__}: {error}")
    return None


@contextmanager
def translated(who: Who) -> Iterator[None]:
    """Raise what fails inside the block as its ``MailboxError`` (others unchanged)."""
    try:
        yield
    except Exception as error:
        mailbox_error = translate(error, who)
        if mailbox_error is None or mailbox_error is error:
            raise
        raise mailbox_error from error


_NETWORK_ERRORS = (requests.exceptions.ConnectionError, requests.exceptions.Timeout, OSError)


def _not_ews(who: Who, error: EWSError) -> str:
    """A server that answers, but not as EWS: a web page, a login form, a wrong path."""
    answer = last_answer()
    if answer is not None and "xml" not in answer.content_type.lower():
        got = "HTML" if "html" in answer.content_type.lower() else (
            answer.content_type.split(";")[0] or "an answer without a content type")
        where = answer.url or who.url
        return (f"this is not an EWS endpoint (got {got} from {where}, HTTP {answer.status}); "
                "check --ews-url")
    return (f"{who.url} did not answer as an EWS endpoint does ({type(error).__name__}: "
            f"{error}); check --ews-url")


def _impersonation_denied(who: Who) -> str:
    if who.is_app:
        return (
            f"{who.identity} may not open mailbox {who.mailbox}: grant the app the "
            "full_access_as_app permission (and include the mailbox in any application "
            "access policy)"
        )
    return (
        f"{who.identity} may not impersonate mailbox {who.mailbox}: the account lacks the "
        "ApplicationImpersonation role. Grant it in the Exchange Management Shell: "
        + GRANT_IMPERSONATION.format(upn=who.identity)
    )


def _certificate_problem(error: BaseException) -> bool:
    return any(
        isinstance(link, requests.exceptions.SSLError | ssl.SSLCertVerificationError)
        or "CERTIFICATE_VERIFY_FAILED" in str(link)
        for link in causes(error)
    )


def _root_cause(error: BaseException) -> str:
    """The innermost cause in words (connection refused, timed out, ...)."""
    for link in causes(error):
        if isinstance(link, ConnectionRefusedError):
            return "connection refused (is the server running and the port right?)"
        if isinstance(link, TimeoutError | requests.exceptions.Timeout):
            return "the connection timed out"
        if isinstance(link, ssl.SSLCertVerificationError):
            return link.verify_message or str(link)
    text = str(error)
    if "Connection refused" in text or "ConnectionRefused" in text:
        return "connection refused (is the server running and the port right?)"
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return "certificate verify failed"
    return text
