"""Pure parts of the EWS adapter: UPN syntax, token URL, the category list XML."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from exchangelib import CalendarItem, Task
from lxml import etree

from esexchange.domain.model import Category
from esexchange.exchange.errors import AccessDenied
from esexchange.exchange.ews import AppAuth, EwsConnection, UserAuth, validate_upn
from esexchange.exchange.ews.categories import merge_categories, parse_categories
from esexchange.exchange.ews.items import ERP_ID_FIELD
from tests.exchange.ews_helpers import user_settings

NOW = datetime(2026, 5, 4, 9, 30, 15, 250000, tzinfo=UTC)


@pytest.mark.parametrize("upn", ["svc-esx@example.test", "  first.last@sub.contoso.com "])
def test_a_user_principal_name_is_accepted(upn: str) -> None:
    assert validate_upn(upn) == upn.strip()


def test_a_down_level_logon_name_is_refused_with_the_upn_syntax_explained() -> None:
    with pytest.raises(AccessDenied) as refused:
        validate_upn("CONTOSO\\svc-esx")
    message = str(refused.value)
    assert "DOMAIN\\user" in message
    assert "user@domain" in message
    assert "svc-esx@contoso.com" in message


@pytest.mark.parametrize("upn", ["svc-esx", "svc@", "@contoso.com", "a b@contoso.com"])
def test_something_that_is_no_upn_at_all_is_refused(upn: str) -> None:
    with pytest.raises(AccessDenied, match="user@domain"):
        validate_upn(upn)


def test_a_connection_with_a_down_level_name_fails_before_any_request() -> None:
    settings = user_settings(
        "http://127.0.0.1:9/EWS/Exchange.asmx", auth=UserAuth("CONTOSO\\svc", "pw")
    )
    with pytest.raises(AccessDenied, match="user@domain"):
        EwsConnection(settings)


def test_secrets_are_not_in_the_settings_repr() -> None:
    settings = user_settings("https://mail.example.test/EWS/Exchange.asmx")
    app = AppAuth("tenant", "client", "app-secret-value")
    assert "Sandbox-Service-1" not in repr(settings)
    assert "app-secret-value" not in repr(app)


def test_the_token_url_defaults_to_entra_for_the_tenant() -> None:
    assert AppAuth("t-1", "c", "s").resolved_token_url == (
        "https://login.microsoftonline.com/t-1/oauth2/v2.0/token"
    )
    custom = AppAuth("t-1", "c", "s", token_url="https://127.0.0.1:8443/{tenant}/oauth2/v2.0/token")
    assert custom.resolved_token_url == "https://127.0.0.1:8443/t-1/oauth2/v2.0/token"


OUTLOOK_LIST = b"""<?xml version="1.0"?>
<categories default="Red category" lastSavedSession="3" lastSavedTime="2025-01-02T10:00:00.000"
    xmlns="CategoryList.xsd">
  <category name="Red category" color="0" keyboardShortcut="2" usageCount="7"
      lastTimeUsed="2025-01-02T10:00:00.000" guid="{11111111-2222-3333-4444-555555555555}"
      renameOnFirstUse="0" futureAttribute="kept"/>
  <category name="ES_1_Visit" color="3" keyboardShortcut="0" lastTimeUsed="2025-01-01T00:00:00.000"
      guid="{AAAAAAAA-2222-3333-4444-555555555555}"/>
  <futureElement something="kept"/>
</categories>"""


def test_merging_adds_and_recolours_and_keeps_everything_else() -> None:
    merged = merge_categories(
        OUTLOOK_LIST, [Category("es_1_visit", 7), Category("ES_2_Call", 4)], NOW
    )
    assert merged is not None
    assert parse_categories(merged) == {"Red category": 0, "ES_1_Visit": 7, "ES_2_Call": 4}
    root = etree.fromstring(merged)
    ns = {"c": "CategoryList.xsd"}
    red = root.find("c:category[@name='Red category']", ns)
    assert red is not None
    assert red.get("futureAttribute") == "kept"
    assert red.get("usageCount") == "7" and red.get("keyboardShortcut") == "2"
    assert root.find("c:futureElement", ns) is not None
    assert root.get("default") == "Red category"
    visit = root.find("c:category[@name='ES_1_Visit']", ns)
    assert visit is not None
    assert visit.get("guid") == "{AAAAAAAA-2222-3333-4444-555555555555}"
    assert visit.get("lastTimeUsed") == "2026-05-04T09:30:15.250"
    call = root.find("c:category[@name='ES_2_Call']", ns)
    assert call is not None
    assert call.get("lastTimeUsed") == "2026-05-04T09:30:15.250"
    assert call.get("guid", "").startswith("{") and len(call.get("guid", "")) == 38
    assert root.get("lastSavedTime") == "2026-05-04T09:30:15.250"


def test_merging_what_is_already_there_changes_nothing() -> None:
    assert merge_categories(OUTLOOK_LIST, [Category("ES_1_Visit", 3)], NOW) is None


def test_a_missing_list_is_created_in_outlooks_namespace() -> None:
    created = merge_categories(None, [Category("ES_1_Visit", 7)], NOW)
    assert created is not None
    root = etree.fromstring(created)
    assert root.tag == "{CategoryList.xsd}categories"
    assert parse_categories(created) == {"ES_1_Visit": 7}


def test_the_erp_id_property_is_registered_again_after_someone_removed_it() -> None:
    EwsConnection(user_settings("http://127.0.0.1:9/EWS/Exchange.asmx"))
    CalendarItem.deregister(ERP_ID_FIELD)
    EwsConnection(user_settings("http://127.0.0.1:9/EWS/Exchange.asmx"))  # no network
    assert CalendarItem.get_field_by_fieldname(ERP_ID_FIELD).value_cls.property_name == (
        "EsExchangeErpId"
    )
    assert Task.get_field_by_fieldname(ERP_ID_FIELD) is not None
