"""Pull and streaming notifications of the calendar and tasks folders ("Notification
subscriptions, mailbox events, and EWS in Exchange", learn.microsoft.com): Subscribe,
GetEvents, GetStreamingEvents, Unsubscribe, driven by exchangelib."""

from __future__ import annotations

import pytest
from exchangelib import CalendarItem, EWSDateTime, EWSTimeZone, Task
from exchangelib.errors import ErrorSubscriptionNotFound
from exchangelib.items import SEND_TO_NONE
from exchangelib.properties import CreatedEvent, DeletedEvent, ModifiedEvent, StatusEvent

from tests.sandbox.ews_support import post, response_codes
from tests.support.sandbox import ANNA, RunningSandbox

BERLIN = EWSTimeZone("Europe/Berlin")


def _events(notifications) -> list:  # type: ignore[no-untyped-def]
    return [event for notification in notifications for event in notification.events]


def test_a_pull_subscription_reports_what_changed_after_its_watermark(
    ews: RunningSandbox,
) -> None:
    """Subscribe answers an id and a watermark; GetEvents with it reports items created,
    modified and deleted since, each with its own watermark; with nothing new a
    StatusEvent carries the watermark on; Unsubscribe ends it (ErrorSubscriptionNotFound)."""
    account = ews.account(ANNA)
    subscription_id, watermark = account.calendar.subscribe_to_pull()
    item = CalendarItem(account=account, folder=account.calendar, subject="neu",
                        start=EWSDateTime(2026, 12, 1, 9, tzinfo=BERLIN),
                        end=EWSDateTime(2026, 12, 1, 10, tzinfo=BERLIN))  # fmt: skip
    item.save(send_meeting_invitations=SEND_TO_NONE)
    Task(account=account, folder=account.tasks, subject="other folder").save()
    events = _events(account.calendar.get_events(subscription_id, watermark))
    assert [type(e) for e in events] == [CreatedEvent]
    assert events[0].item_id.id == item.id
    item.subject = "geändert"
    item.save(update_fields=["subject"], send_meeting_invitations=SEND_TO_NONE)
    item_id = item.id
    item.delete(send_meeting_cancellations=SEND_TO_NONE)
    events = _events(account.calendar.get_events(subscription_id, events[0].watermark))
    assert [type(e) for e in events] == [DeletedEvent]  # modified, then gone: one deletion
    assert events[0].item_id.id == item_id
    quiet = _events(account.calendar.get_events(subscription_id, events[0].watermark))
    assert [type(e) for e in quiet] == [StatusEvent]
    account.calendar.unsubscribe(subscription_id)
    with pytest.raises(ErrorSubscriptionNotFound):
        list(account.calendar.get_events(subscription_id, quiet[0].watermark))


def test_a_modification_is_a_modified_event(ews: RunningSandbox) -> None:
    """An item changed after the watermark, not created after it, is a ModifiedEvent."""
    account = ews.account(ANNA)
    task = Task(account=account, folder=account.tasks, subject="alt")
    task.save()
    subscription_id, watermark = account.tasks.subscribe_to_pull()
    task.subject = "neu"
    task.save(update_fields=["subject"])
    events = _events(account.tasks.get_events(subscription_id, watermark))
    assert [(type(e), e.item_id.id) for e in events] == [(ModifiedEvent, task.id)]


def test_push_subscriptions_are_refused(ews: RunningSandbox) -> None:
    """The sandbox calls no client back: a push subscription is ErrorInvalidOperation."""
    push = (
        "<m:Subscribe><m:PushSubscriptionRequest><t:FolderIds>"
        '<t:DistinguishedFolderId Id="calendar"/></t:FolderIds><t:EventTypes>'
        "<t:EventType>CreatedEvent</t:EventType></t:EventTypes><t:StatusFrequency>1"
        "</t:StatusFrequency><t:URL>http://127.0.0.1:9/</t:URL></m:PushSubscriptionRequest>"
        "</m:Subscribe>"
    )
    _, root = post(ews.url, push, impersonate=ANNA)
    assert response_codes(root) == ["ErrorInvalidOperation"]
