"""Messages: MessageDisposition decides between saving, sending and both."""

from __future__ import annotations

from tests.sandbox.ews_support import post, response_codes
from tests.support.sandbox import ANNA, BEN, RunningSandbox


def _create(ews: RunningSandbox, disposition: str | None, subject: str) -> list[str]:
    attribute = f' MessageDisposition="{disposition}"' if disposition else ""
    body = (
        f"<m:CreateItem{attribute}><m:Items><t:Message><t:Subject>{subject}</t:Subject>"
        f"<t:ToRecipients><t:Mailbox><t:EmailAddress>{BEN}</t:EmailAddress></t:Mailbox>"
        "</t:ToRecipients></t:Message></m:Items></m:CreateItem>"
    )
    _, root = post(ews.url, body, impersonate=ANNA)
    return response_codes(root)


def test_message_disposition(ews: RunningSandbox) -> None:
    """SaveOnly keeps a draft, SendOnly sends, SendAndSaveCopy sends and keeps a copy."""
    assert _create(ews, "SaveOnly", "draft") == ["NoError"]
    assert _create(ews, "SendOnly", "sent") == ["NoError"]
    assert _create(ews, "SendAndSaveCopy", "sent and kept") == ["NoError"]
    assert _create(ews, None, "no disposition") == ["ErrorMessageDispositionRequired"]
    mailbox = ews.mailbox(ANNA)
    folders = {
        item.fields["Subject"]: mailbox.folder(item.folder_id).distinguished
        for item in mailbox.items.values()
    }
    assert folders == {"draft": "drafts", "sent and kept": "sentitems"}
    assert [(m.kind, m.subject, m.recipients) for m in mailbox.sent] == [
        ("message", "sent", (BEN,)),
        ("message", "sent and kept", (BEN,)),
    ]
