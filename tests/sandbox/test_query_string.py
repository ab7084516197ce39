"""FindItem's QueryString: the AQS keywords Exchange documents, read or refused, never ignored.

"Query strings for FindItem" and "AQS search by using EWS" (learn.microsoft.com) list the
keywords: text ones (subject, body/content, to, from, cc, bcc, participants, category,
attachment), ones of a value (importance, kind, isread, hasattachment, isflagged), and
the date and size ones (sent, received, size).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import escape

import pytest

from tests.sandbox.ews_support import NS, post, response_codes
from tests.support.sandbox import ANNA, BEN, CARL, RunningSandbox


def _message(ews: RunningSandbox, subject: str, fields: str) -> None:
    body = (
        '<m:CreateItem MessageDisposition="SaveOnly"><m:Items><t:Message>'
        f"<t:Subject>{subject}</t:Subject>{fields}</t:Message></m:Items></m:CreateItem>"
    )
    _, root = post(ews.url, body, impersonate=ANNA)
    assert response_codes(root) == ["NoError"]


def _recipients(kind: str, address: str) -> str:
    mailbox = f"<t:Mailbox><t:EmailAddress>{address}</t:EmailAddress></t:Mailbox>"
    return f"<t:{kind}>{mailbox}</t:{kind}>"


def _find(ews: RunningSandbox, query: str) -> tuple[list[str], set[str]]:
    body = (
        '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>Default</t:BaseShape>'
        '</m:ItemShape><m:ParentFolderIds><t:DistinguishedFolderId Id="drafts"/>'
        f"</m:ParentFolderIds><m:QueryString>{escape(query)}</m:QueryString></m:FindItem>"
    )
    _, root = post(ews.url, body, impersonate=ANNA)
    return response_codes(root), {s.text or "" for s in root.iterfind(".//t:Subject", NS)}


def test_value_and_recipient_keywords_are_read(ews: RunningSandbox) -> None:
    """cc:, bcc:, content:, importance:, isread:, kind:, hasattachment:, isflagged: and
    attachment: restrict the items (the sandbox keeps no attachments or flags)."""
    _message(ews, "Angebot", "<t:Importance>High</t:Importance>" + _recipients("CcRecipients", BEN))
    _message(ews, "Rechnung", '<t:Body BodyType="Text">offen</t:Body>'
             + _recipients("BccRecipients", CARL) + "<t:IsRead>false</t:IsRead>")  # fmt: skip
    everything = {"Angebot", "Rechnung"}
    for query, expected in (
        (f"cc:{BEN}", {"Angebot"}),
        ("bcc:carl", {"Rechnung"}),
        (f"participants:{CARL}", {"Rechnung"}),
        ("content:offen", {"Rechnung"}),
        ("importance:high", {"Angebot"}),
        ("importance:normal", {"Rechnung"}),
        ("isread:false", {"Rechnung"}),
        ("-isread:false", {"Angebot"}),
        ("kind:email", everything),
        ("kind:meetings", set()),
        ("hasattachment:true", set()),
        ("hasattachment:false", everything),
        ("isflagged:false", everything),
        ("attachment:bericht", set()),
    ):
        assert _find(ews, query) == (["NoError"], expected), query


def test_date_and_size_keywords_compare_the_items_dates_and_sizes(ews: RunningSandbox) -> None:
    """received: and sent: take a day, a span of days, a comparison or a word relative to
    today; size: a number of bytes, with KB/MB units (QueryString, learn.microsoft.com)."""
    _message(ews, "Kurz", "")
    _message(ews, "Lang", f'<t:Body BodyType="Text">{"x" * 6000}</t:Body>')
    both = {"Kurz", "Lang"}
    today = datetime.now(UTC).date()
    day, us_day = today.isoformat(), f"{today.month}/{today.day}/{today.year}"
    before, after = today - timedelta(days=1), today + timedelta(days=1)
    for query, expected in (
        (f"received:{day}", both),
        (f"received:{us_day}", both),
        (f"received:{before.isoformat()}", set()),
        (f"received:{before.isoformat()}..{after.isoformat()}", both),
        (f"received:>{day}", set()),
        (f"received:>={day}", both),
        (f"received:<{day}", set()),
        ("received:today", both),
        ("received:yesterday", set()),
        ('received:"this week"', both),
        ("received:last month", set()),
        (f"sent:{day}", both),  # drafts are messages: their date is their creation's
        ("size:>5000", {"Lang"}),
        ("size:<5KB", {"Kurz"}),
        ("size:1..10MB", both),
        ("-size:>5000", {"Kurz"}),
    ):
        assert _find(ews, query) == (["NoError"], expected), query


@pytest.mark.parametrize("query", ["received:someday", "sent:31/12/2026", "size:big",
                                   "kind:spreadsheets", "isread:maybe"])  # fmt: skip
def test_what_the_sandbox_does_not_read_is_refused(ews: RunningSandbox, query: str) -> None:
    """A date or size the sandbox cannot read, an unknown kind or a flag that is neither
    true nor false is ErrorInvalidOperation for its folder: never a search that leaves
    the keyword out."""
    _message(ews, "Angebot", "")
    assert _find(ews, query) == (["ErrorInvalidOperation"], set())
