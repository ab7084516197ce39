"""Graph change notification subscriptions of one mailbox: made, renewed and deleted
through ``/subscriptions`` as Microsoft documents it.

One subscription per folder esExchange reads: the calendar (``users/{id}/events``) and
the default To Do list (``users/{id}/todo/lists/{list}/tasks``), each for ``created``,
``updated`` and ``deleted``, with basic notifications (no resource data: a notification
only says *that* something changed; the pass reads what with its delta queries). The
lifetime is at most Graph's maximum for the resource (10,080 minutes for events, 4,230
for To Do tasks), a minute less so clocks that disagree a little do not refuse it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import quote

from esexchange.exchange.errors import AccessDenied, MailboxError
from esexchange.exchange.graph.client import Answer, SubRequest
from esexchange.exchange.graph.mailbox import GraphMailbox

Folder = Literal["calendar", "tasks"]
FOLDERS: tuple[Folder, ...] = ("calendar", "tasks")
MAX_LIFETIME: dict[Folder, timedelta] = {
    "calendar": timedelta(minutes=10080), "tasks": timedelta(minutes=4230)}
_MARGIN = timedelta(minutes=1)


class SubscriptionGone(MailboxError):
    """Graph no longer has the subscription (expired or removed): make it again."""


@dataclass(frozen=True)
class Subscription:
    """One subscription as Graph made it. ``client_state`` is a secret: never shown."""

    id: str
    mailbox: str
    folder: Folder
    client_state: str
    expires: datetime

    def __repr__(self) -> str:
        return f"Subscription({self.id}, {self.mailbox}, {self.folder}, until {self.expires})"


def lifetime_of(folder: Folder, wanted: timedelta | None) -> timedelta:
    """The lifetime to ask for: ``wanted`` (None: the longest) within Graph's maximum."""
    longest = MAX_LIFETIME[folder] - _MARGIN
    return longest if wanted is None else min(wanted, longest)


def subscribe(mailbox: GraphMailbox, folder: Folder, url: str, client_state: str,
              lifetime: timedelta | None = None) -> Subscription:
    """A new subscription to ``folder`` delivering to ``url`` (also its lifecycle events).
    Graph performs the validation handshake against ``url`` before it answers."""
    user = f"users/{quote(mailbox.address, safe='@')}"
    resource = (f"{user}/events" if folder == "calendar"
                else f"{user}/todo/lists/{mailbox.task_list_id()}/tasks")
    expires = _expiry(folder, lifetime)
    answer = _send(mailbox, SubRequest("POST", "/subscriptions", {
        "changeType": "created,updated,deleted",
        "notificationUrl": url,
        "lifecycleNotificationUrl": url,
        "resource": resource,
        "expirationDateTime": _text(expires),
        "clientState": client_state,
        "latestSupportedTlsVersion": "v1_2",
    }))
    if not answer.ok:
        raise _failure(mailbox, answer, f"subscribe to changes of its {folder}")
    return Subscription(str(answer.body["id"]), mailbox.address, folder, client_state,
                        _parse(answer.body.get("expirationDateTime"), expires))


def renew(mailbox: GraphMailbox, subscription: Subscription,
          lifetime: timedelta | None = None) -> Subscription:
    """The same subscription with a later expiry (PATCH ``expirationDateTime``)."""
    expires = _expiry(subscription.folder, lifetime)
    answer = _send(mailbox, SubRequest("PATCH", f"/subscriptions/{subscription.id}",
                                       {"expirationDateTime": _text(expires)}))
    if answer.status == 404:
        raise SubscriptionGone(f"{mailbox.address}: the subscription to its "
                               f"{subscription.folder} is gone")
    if not answer.ok:
        raise _failure(mailbox, answer, f"renew the subscription to its {subscription.folder}")
    return Subscription(subscription.id, subscription.mailbox, subscription.folder,
                        subscription.client_state,
                        _parse(answer.body.get("expirationDateTime"), expires))


def unsubscribe(mailbox: GraphMailbox, subscription: Subscription) -> None:
    """Delete the subscription; one Graph no longer has is as good as deleted."""
    answer = _send(mailbox, SubRequest("DELETE", f"/subscriptions/{subscription.id}"))
    if not answer.ok and answer.status != 404:
        raise _failure(mailbox, answer, f"delete the subscription to its {subscription.folder}")


def _send(mailbox: GraphMailbox, request: SubRequest) -> Answer:
    return mailbox.client.send(request, mailbox=mailbox.address)


def _failure(mailbox: GraphMailbox, answer: Answer, what: str) -> MailboxError:
    kind = AccessDenied if answer.status == 403 else MailboxError
    return kind(f"{mailbox.address}: cannot {what}: {answer.status} {answer.code}: "
                f"{answer.message}")


def _expiry(folder: Folder, lifetime: timedelta | None) -> datetime:
    return datetime.now(UTC) + lifetime_of(folder, lifetime)


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _parse(text: object, fallback: datetime) -> datetime:
    if not isinstance(text, str):
        return fallback
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return fallback
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
