"""Extended MAPI properties: how they are named, typed, stored and returned."""

from __future__ import annotations

import pytest

from tests.sandbox.ews_support import NS, post, response_codes
from tests.support.sandbox import ANNA, RunningSandbox

GUID = "3f0f9d1a-4c0b-4f6e-9a55-2f7d2f1e6c01"


def _create(ews: RunningSandbox, uri: str, value: str) -> list[str]:
    body = (
        '<m:CreateItem MessageDisposition="SaveOnly"><m:Items><t:Task><t:Subject>x</t:Subject>'
        f"<t:ExtendedProperty>{uri}{value}</t:ExtendedProperty></t:Task></m:Items></m:CreateItem>"
    )
    _, root = post(ews.url, body, impersonate=ANNA)
    return response_codes(root)


@pytest.mark.parametrize(
    "uri",
    [
        f'<t:ExtendedFieldURI PropertySetId="{GUID}" PropertyName="n" PropertyType="String"/>',
        '<t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyName="n" '
        'PropertyType="String"/>',
        f'<t:ExtendedFieldURI PropertySetId="{GUID}" PropertyId="33" PropertyType="String"/>',
        '<t:ExtendedFieldURI PropertyTag="0x3A4E" PropertyType="String"/>',
        '<t:ExtendedFieldURI PropertyTag="14926" PropertyType="String"/>',
    ],
    ids=["set+name", "distinguished+name", "set+id", "hex tag", "short tag"],
)
def test_valid_ways_to_name_a_property(ews: RunningSandbox, uri: str) -> None:
    """MS-OXWSXPROP_R37 MS-OXWSXPROP_R148 MS-OXWSXPROP_R149 MS-OXWSXPROP_R150
    MS-OXWSXPROP_R151 MS-OXWSXPROP_R152 MS-OXWSXPROP_R153 MS-OXWSXPROP_R50
    """
    assert _create(ews, uri, "<t:Value>v</t:Value>") == ["NoError"]


@pytest.mark.parametrize(
    "uri",
    [
        f'<t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertySetId="{GUID}" '
        'PropertyName="n" PropertyType="String"/>',
        '<t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyTag="0x3A4E" '
        'PropertyType="String"/>',
        f'<t:ExtendedFieldURI PropertySetId="{GUID}" PropertyTag="0x3A4E" PropertyType="String"/>',
        '<t:ExtendedFieldURI PropertyTag="0x3A4E" PropertyName="n" PropertyType="String"/>',
        '<t:ExtendedFieldURI PropertyTag="0x3A4E" PropertyId="3" PropertyType="String"/>',
        '<t:ExtendedFieldURI PropertyName="n" PropertyType="String"/>',
        '<t:ExtendedFieldURI PropertyId="3" PropertyType="String"/>',
        f'<t:ExtendedFieldURI PropertySetId="{GUID}" PropertyType="String"/>',
    ],
    ids=[
        "two sets",
        "distinguished+tag",
        "set+tag",
        "tag+name",
        "tag+id",
        "bare name",
        "bare id",
        "set alone",
    ],
)
def test_invalid_combinations_are_refused(ews: RunningSandbox, uri: str) -> None:
    """MS-OXWSXPROP_R42 MS-OXWSXPROP_R161 MS-OXWSXPROP_R43 MS-OXWSXPROP_R157
    MS-OXWSXPROP_R158 MS-OXWSXPROP_R47 MS-OXWSXPROP_R51 MS-OXWSXPROP_R138 MS-OXWSXPROP_R139
    MS-OXWSXPROP_R140 MS-OXWSXPROP_R53 MS-OXWSXPROP_R55
    """
    assert _create(ews, uri, "<t:Value>v</t:Value>") == ["ErrorInvalidExtendedProperty"]
    assert ews.mailbox(ANNA).items == {}


def test_values_must_fit_the_property_type(ews: RunningSandbox) -> None:
    """Single types take Value, array types Values with at least one value.

    MS-OXWSXPROP_R23 MS-OXWSXPROP_R146 MS-OXWSXPROP_R147
    """
    uri = '<t:ExtendedFieldURI PropertySetId="{g}" PropertyName="n" PropertyType="{t}"/>'
    cases = [
        ("Integer", "<t:Value>42</t:Value>", "NoError"),
        ("Integer", "<t:Value>forty-two</t:Value>", "ErrorInvalidExtendedPropertyValue"),
        ("Boolean", "<t:Value>maybe</t:Value>", "ErrorInvalidExtendedPropertyValue"),
        ("SystemTime", "<t:Value>2026-12-01T10:00:00Z</t:Value>", "NoError"),
        ("StringArray", "<t:Values><t:Value>a</t:Value><t:Value>b</t:Value></t:Values>", "NoError"),
        ("StringArray", "<t:Value>a</t:Value>", "ErrorInvalidExtendedPropertyValue"),
        (
            "String",
            "<t:Values><t:Value>a</t:Value></t:Values>",
            "ErrorInvalidExtendedPropertyValue",
        ),
    ]
    for property_type, value, code in cases:
        assert _create(ews, uri.format(g=GUID, t=property_type), value) == [code], (
            property_type,
            value,
        )


def test_array_values_come_back_in_order(ews: RunningSandbox) -> None:
    """MS-OXWSCORE_R101 MS-OXWSCORE_R1336"""
    uri = (
        f'<t:ExtendedFieldURI PropertySetId="{GUID}" PropertyName="tags" '
        'PropertyType="StringArray"/>'
    )
    values = "<t:Values><t:Value>b</t:Value><t:Value>a</t:Value><t:Value>c</t:Value></t:Values>"
    assert _create(ews, uri, values) == ["NoError"]
    (item_id,) = ews.mailbox(ANNA).items
    get = (
        "<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>"
        f'{uri}</t:AdditionalProperties></m:ItemShape><m:ItemIds><t:ItemId Id="{item_id}"/>'
        "</m:ItemIds></m:GetItem>"
    )
    _, root = post(ews.url, get, impersonate=ANNA)
    got = [v.text for v in root.iterfind(".//t:ExtendedProperty/t:Values/t:Value", NS)]
    assert got == ["b", "a", "c"]
    returned = root.find(".//t:ExtendedProperty/t:ExtendedFieldURI", NS)
    assert returned is not None and returned.get("PropertySetId") == GUID
