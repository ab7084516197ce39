"""Messages: MessageDisposition decides between saving, sending and both."""

from __future__ import annotations

from tests.sandbox.ews_support import NS, post, response_codes
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


def _folder(ews: RunningSandbox, name: str) -> str:
    body = (
        '<m:CreateFolder><m:ParentFolderId><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderId>'
        f"<m:Folders><t:Folder><t:DisplayName>{name}</t:DisplayName></t:Folder></m:Folders>"
        "</m:CreateFolder>"
    )
    _, root = post(ews.url, body, impersonate=ANNA)
    return root.find(".//t:FolderId", NS).get("Id")  # type: ignore[union-attr]


def _update_draft(ews: RunningSandbox, draft_id: str, attributes: str, saved_in: str = "") -> str:
    saved = f'<m:SavedItemFolderId><t:FolderId Id="{saved_in}"/></m:SavedItemFolderId>'
    body = (
        f'<m:UpdateItem ConflictResolution="AlwaysOverwrite"{attributes}>'
        f"{saved if saved_in else ''}<m:ItemChanges><t:ItemChange>"
        f'<t:ItemId Id="{draft_id}"/><t:Updates><t:SetItemField>'
        '<t:FieldURI FieldURI="item:Subject"/><t:Message><t:Subject>Angebot final</t:Subject>'
        "</t:Message></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>"
    )
    _, root = post(ews.url, body, impersonate=ANNA)
    (code,) = response_codes(root)
    return code


def test_an_updated_draft_is_sent_and_its_copy_saved_where_asked(ews: RunningSandbox) -> None:
    """MS-OXWSCORE_R514: UpdateItem's SavedItemFolderId is where the sent copy of the
    updated message is kept (SendAndSaveCopy); SendOnly keeps none; without a
    MessageDisposition an update of a message is ErrorMessageDispositionRequired; the
    same SavedItemFolderId on a CreateItem keeps its sent copy there too."""
    mailbox = ews.mailbox(ANNA)
    archive = _folder(ews, "Angebote")
    assert _create(ews, "SaveOnly", "Angebot") == ["NoError"]
    (draft_id,) = mailbox.items
    assert _update_draft(ews, draft_id, "") == "ErrorMessageDispositionRequired"
    assert _update_draft(ews, draft_id, ' MessageDisposition="SaveOnly"') == "NoError"
    assert mailbox.folder(mailbox.item(draft_id).folder_id).distinguished == "drafts"
    code = _update_draft(ews, draft_id, ' MessageDisposition="SendAndSaveCopy"', archive)
    assert code == "NoError"
    (copy,) = mailbox.items.values()  # the draft is gone, its sent copy is in the archive
    assert (copy.folder_id, copy.fields["Subject"]) == (archive, "Angebot final")
    assert _create(ews, "SaveOnly", "zweites Angebot") == ["NoError"]
    (second,) = set(mailbox.items) - {copy.id}
    assert _update_draft(ews, second, ' MessageDisposition="SendOnly"') == "NoError"
    assert set(mailbox.items) == {copy.id}
    assert [m.subject for m in mailbox.sent] == ["Angebot final", "Angebot final"]
    body = (
        '<m:CreateItem MessageDisposition="SendAndSaveCopy"><m:SavedItemFolderId>'
        f'<t:FolderId Id="{archive}"/></m:SavedItemFolderId><m:Items><t:Message>'
        f"<t:Subject>direkt</t:Subject><t:ToRecipients><t:Mailbox><t:EmailAddress>{BEN}"
        "</t:EmailAddress></t:Mailbox></t:ToRecipients></t:Message></m:Items></m:CreateItem>"
    )
    _, root = post(ews.url, body, impersonate=ANNA)
    assert response_codes(root) == ["NoError"]
    kept = {i.fields["Subject"]: i.folder_id for i in mailbox.items.values()}
    assert kept == {"Angebot final": archive, "direkt": archive}
