"""Issue 11: where the sandbox differed from Exchange, each fix against Microsoft's documents.

Each test names the requirement (``MS-OXWS..._R...``) or the documentation page it proves.
"""

from __future__ import annotations

from exchangelib import CalendarItem, EWSDateTime, EWSTimeZone, HTMLBody, Message
from exchangelib.items import SEND_TO_NONE

from tests.sandbox.ews_support import NS, WELL_FORMED_UNKNOWN, post, response_codes
from tests.support.sandbox import ANNA, RunningSandbox

BERLIN = EWSTimeZone("Europe/Berlin")


def _appointment(account, subject: str, day: int = 1, **fields) -> CalendarItem:  # type: ignore[no-untyped-def]
    item = CalendarItem(
        account=account, folder=account.calendar, subject=subject,
        start=EWSDateTime(2026, 12, day, 9, tzinfo=BERLIN),
        end=EWSDateTime(2026, 12, day, 10, tzinfo=BERLIN), **fields,
    )  # fmt: skip
    item.save(send_meeting_invitations=SEND_TO_NONE)
    return item


def test_a_subject_is_truncated_to_255_characters(ews: RunningSandbox) -> None:
    """MS-OXWSCORE_R74: "This value [Subject] is limited to 255 characters"; Exchange
    keeps the first 255, on create and on update alike (raw SOAP: exchangelib refuses
    a longer subject before sending it)."""
    create = (
        '<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem>'
        f"<t:Subject>{'x' * 300}</t:Subject><t:Start>2026-12-01T09:00:00Z</t:Start>"
        "<t:End>2026-12-01T10:00:00Z</t:End></t:CalendarItem></m:Items></m:CreateItem>"
    )
    _, root = post(ews.url, create, impersonate=ANNA)
    item_id = root.find(".//t:ItemId", NS)
    assert item_id is not None
    assert ews.mailbox(ANNA).item(item_id.get("Id", "")).fields["Subject"] == "x" * 255
    update = (
        '<m:UpdateItem ConflictResolution="AlwaysOverwrite" '
        'SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange>'
        f'<t:ItemId Id="{item_id.get("Id")}"/><t:Updates><t:SetItemField>'
        '<t:FieldURI FieldURI="item:Subject"/><t:CalendarItem>'
        f"<t:Subject>{'y' * 256}</t:Subject></t:CalendarItem></t:SetItemField></t:Updates>"
        "</t:ItemChange></m:ItemChanges></m:UpdateItem>"
    )
    post(ews.url, update, impersonate=ANNA)
    account = ews.account(ANNA)
    assert account.calendar.get(id=item_id.get("Id")).subject == "y" * 255


def test_restrictions_compare_text_without_case(ews: RunningSandbox) -> None:
    """IsEqualTo on a string ignores case (subjects and categories alike), and Contains
    follows its ContainmentComparison as documented (learn.microsoft.com, "Contains":
    Exact, IgnoreCase, IgnoreNonSpacingCharacters, Loose...)."""
    account = ews.account(ANNA)
    _appointment(account, "Quartalsbericht Müller", categories=["ES_1_Besprechung"])
    _appointment(account, "other", day=2)
    calendar = account.calendar
    assert [i.subject for i in calendar.filter(subject="quartalsbericht müller")] == [
        "Quartalsbericht Müller"
    ]
    assert calendar.filter(categories__contains=["es_1_besprechung"]).count() == 1
    assert calendar.filter(subject__icontains="BERICHT").count() == 1
    assert calendar.filter(subject__contains="Bericht").count() == 0  # Exact keeps case
    template = (
        '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>'
        '</m:ItemShape><m:Restriction><t:Contains ContainmentMode="Substring" '
        'ContainmentComparison="{comparison}"><t:FieldURI FieldURI="item:Subject"/>'
        '<t:Constant Value="{wanted}"/></t:Contains></m:Restriction><m:ParentFolderIds>'
        '<t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>'
    )
    for comparison, wanted, found in (
        ("IgnoreNonSpacingCharacters", "Muller", 1),
        ("IgnoreNonSpacingCharacters", "muller", 0),
        ("IgnoreCaseAndNonSpacingCharacters", "MULLER", 1),
        ("LooseAndIgnoreCase", "mUller", 1),
        ("Exact", "Müller", 1),
    ):
        _, root = post(ews.url, template.format(comparison=comparison, wanted=wanted),
                       impersonate=ANNA)  # fmt: skip
        assert len(root.findall(".//t:CalendarItem", NS)) == found, (comparison, wanted)


def test_empty_values_sort_first_in_ascending_order(ews: RunningSandbox) -> None:
    """An item without the sorted property is lowest: first ascending, last descending
    (learn.microsoft.com, "SortOrder"; exchangelib's own ordering tests expect this)."""
    account = ews.account(ANNA)
    _appointment(account, "b", location="Berlin")
    _appointment(account, "none", day=2)
    _appointment(account, "a", day=3, location="aachen")  # case does not order
    ascending = [i.subject for i in account.calendar.all().order_by("location")]
    assert ascending == ["none", "a", "b"]
    assert [i.subject for i in account.calendar.all().order_by("-location")] == ["b", "a", "none"]


def test_boolean_dictionary_entries_come_back_canonical(ews: RunningSandbox) -> None:
    """A Boolean of a user configuration dictionary is an xs:boolean: stored "1"/"0",
    Exchange returns "true"/"false" (MS-OXWSUSRCFG, UserConfigurationDictionaryObjectType)."""
    entry = (
        "<t:DictionaryEntry><t:DictionaryKey><t:Type>String</t:Type><t:Value>{key}</t:Value>"
        "</t:DictionaryKey><t:DictionaryValue><t:Type>Boolean</t:Type><t:Value>{value}"
        "</t:Value></t:DictionaryValue></t:DictionaryEntry>"
    )
    entries = entry.format(key="on", value="1") + entry.format(key="off", value="0")
    create = (
        "<m:CreateUserConfiguration><m:UserConfiguration>"
        '<t:UserConfigurationName Name="Flags"><t:DistinguishedFolderId Id="calendar"/>'
        f"</t:UserConfigurationName><t:Dictionary>{entries}</t:Dictionary>"
        "</m:UserConfiguration></m:CreateUserConfiguration>"
    )
    _, created = post(ews.url, create, impersonate=ANNA)
    assert response_codes(created) == ["NoError"]
    get = (
        '<m:GetUserConfiguration><m:UserConfigurationName Name="Flags">'
        '<t:DistinguishedFolderId Id="calendar"/></m:UserConfigurationName>'
        "<m:UserConfigurationProperties>Dictionary</m:UserConfigurationProperties>"
        "</m:GetUserConfiguration>"
    )
    _, root = post(ews.url, get, impersonate=ANNA)
    values = [v.text for v in root.iterfind(".//t:DictionaryValue/t:Value", NS)]
    assert values == ["true", "false"]


def test_a_malformed_id_is_error_invalid_id_malformed(ews: RunningSandbox) -> None:
    """Exchange tells an id it cannot parse (ErrorInvalidIdMalformed, MS-OXWSCDATA
    ResponseCodeType) from a well-formed id of nothing it holds (ErrorItemNotFound)."""
    get = (
        '<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:ItemIds>'
        '<t:ItemId Id="not-an-id"/><t:ItemId Id="AAAA"/>'
        f'<t:ItemId Id="{WELL_FORMED_UNKNOWN}"/></m:ItemIds></m:GetItem>'
    )
    _, root = post(ews.url, get, impersonate=ANNA)
    assert response_codes(root) == [
        "ErrorInvalidIdMalformed", "ErrorInvalidIdMalformed", "ErrorItemNotFound",
    ]  # fmt: skip


def test_text_body_is_returned_when_asked_for(ews: RunningSandbox) -> None:
    """MS-OXWSCORE_R1731 MS-OXWSCORE_R2061: TextBody, the body as text, is returned
    (Exchange 2013 and later); MS-OXWSCORE_R2060 MS-OXWSCORE_R2356: it is read-only."""
    account = ews.account(ANNA)
    message = Message(account=account, folder=account.drafts, subject="t",
                      body=HTMLBody("<html><body><p>Hallo &amp; gr&uuml;&szlig;</p>"
                                    "<p>Zweite <b>Zeile</b></p></body></html>"))  # fmt: skip
    message.save()
    get = (
        "<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>"
        '<t:FieldURI FieldURI="item:TextBody"/></t:AdditionalProperties></m:ItemShape>'
        f'<m:ItemIds><t:ItemId Id="{message.id}"/></m:ItemIds></m:GetItem>'
    )
    _, root = post(ews.url, get, impersonate=ANNA)
    text = root.find(".//t:TextBody", NS)
    assert text is not None and text.get("BodyType") == "Text"
    assert text.text == "Hallo & grüß\nZweite Zeile"
    create = (
        '<m:CreateItem MessageDisposition="SaveOnly"><m:Items><t:Message><t:Subject>x'
        '</t:Subject><t:TextBody BodyType="Text">no</t:TextBody></t:Message></m:Items>'
        "</m:CreateItem>"
    )
    _, refused = post(ews.url, create, impersonate=ANNA)
    assert response_codes(refused) == ["ErrorInvalidPropertySet"]
