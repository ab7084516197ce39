"""User configurations: Outlook's master category list in the calendar folder."""

from __future__ import annotations

import pytest
from exchangelib.errors import ErrorItemNotFound, ErrorItemSave

from tests.sandbox.ews_support import NS, post, response_codes
from tests.support.sandbox import ANNA, BEN, RunningSandbox

CATEGORY_LIST = (
    b'<?xml version="1.0"?><categories default="Red Category" lastSavedSession="2" '
    b'lastSavedTime="2026-11-28T10:00:00.000" xmlns="CategoryList.xsd">'
    b'<category name="ES_3_Customer visit" color="7" keyboardShortcut="0" '
    b'guid="{4E1D2A9B-7C37-4C29-9E4D-6A5D1B0C2F11}" renameOnFirstUse="0"/></categories>'
)


def test_category_list_lifecycle(ews: RunningSandbox) -> None:
    """Create, read, update and delete the CategoryList configuration of the calendar."""
    calendar = ews.account(ANNA).calendar
    with pytest.raises(ErrorItemNotFound):
        calendar.get_user_configuration(name="CategoryList")
    calendar.create_user_configuration(name="CategoryList", xml_data=CATEGORY_LIST)
    with pytest.raises(ErrorItemSave):
        calendar.create_user_configuration(name="CategoryList", xml_data=CATEGORY_LIST)
    got = calendar.get_user_configuration(name="CategoryList", properties="XmlData")
    assert got.xml_data == CATEGORY_LIST and got.id is None
    renamed = CATEGORY_LIST.replace(b'color="7"', b'color="12"')
    calendar.update_user_configuration(name="CategoryList", xml_data=renamed)
    got = calendar.get_user_configuration(name="CategoryList")
    assert got.xml_data == renamed and got.id is not None
    assert ews.account(BEN).calendar is not None
    with pytest.raises(ErrorItemNotFound):  # Ben has his own mailbox and no list yet
        ews.account(BEN).calendar.get_user_configuration(name="CategoryList")
    calendar.delete_user_configuration(name="CategoryList")
    with pytest.raises(ErrorItemNotFound):
        calendar.get_user_configuration(name="CategoryList")


def test_dictionary_and_binary_data_round_trip(ews: RunningSandbox) -> None:
    """A configuration may hold a typed dictionary and binary data beside the XML."""
    create = (
        '<m:CreateUserConfiguration><m:UserConfiguration><t:UserConfigurationName Name="Demo">'
        '<t:DistinguishedFolderId Id="calendar"/></t:UserConfigurationName><t:Dictionary>'
        "<t:DictionaryEntry><t:DictionaryKey><t:Type>String</t:Type><t:Value>piKey</t:Value>"
        "</t:DictionaryKey><t:DictionaryValue><t:Type>Integer32</t:Type><t:Value>31</t:Value>"
        "</t:DictionaryValue></t:DictionaryEntry></t:Dictionary><t:BinaryData>AAEC</t:BinaryData>"
        "</m:UserConfiguration></m:CreateUserConfiguration>"
    )
    _, root = post(ews.url, create, impersonate=ANNA)
    assert response_codes(root) == ["NoError"]
    get = (
        '<m:GetUserConfiguration><m:UserConfigurationName Name="Demo">'
        '<t:DistinguishedFolderId Id="calendar"/></m:UserConfigurationName>'
        "<m:UserConfigurationProperties>Dictionary BinaryData</m:UserConfigurationProperties>"
        "</m:GetUserConfiguration>"
    )
    _, root = post(ews.url, get, impersonate=ANNA)
    assert root.findtext(".//t:DictionaryValue/t:Value", namespaces=NS) == "31"
    assert root.findtext(".//t:BinaryData", namespaces=NS) == "AAEC"
    assert root.find(".//m:UserConfiguration/t:ItemId", NS) is None
