"""Events: create, read, update, delete; transactionId; immutable ids; extended properties."""

from __future__ import annotations

import httpx

from tests.sandbox_graph.conftest import ANNA, Graph

ERP_ID = "Long {8d3f6c1e-2b7a-4e59-9c0d-5a4e1f7b3c26} Name EsExchangeErpId"


def an_event(subject: str = "Review", **extra: object) -> dict[str, object]:
    return {
        "subject": subject,
        "body": {"contentType": "text", "content": "line one\nline two"},
        "start": {"dateTime": "2026-12-01T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-01T10:00:00", "timeZone": "UTC"},
        **extra,
    }


def test_an_event_is_created_read_changed_and_deleted(client: httpx.Client) -> None:
    created = client.post(f"/users/{ANNA}/events", json=an_event())
    assert created.status_code == 201
    event_id = created.json()["id"]
    read = client.get(f"/users/{ANNA}/events/{event_id}").json()
    assert read["subject"] == "Review"
    assert read["start"] == {"dateTime": "2026-12-01T09:00:00.0000000", "timeZone": "UTC"}
    changed = client.patch(f"/users/{ANNA}/events/{event_id}", json={"subject": "Retro"})
    assert changed.json()["subject"] == "Retro"
    assert changed.json()["changeKey"] != read["changeKey"]
    assert client.delete(f"/users/{ANNA}/events/{event_id}").status_code == 204
    gone = client.get(f"/users/{ANNA}/events/{event_id}")
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "ErrorItemNotFound"


def test_a_text_body_reads_back_as_html_unless_text_is_preferred(client: httpx.Client) -> None:
    event_id = client.post(f"/users/{ANNA}/events", json=an_event()).json()["id"]
    default = client.get(f"/users/{ANNA}/events/{event_id}").json()["body"]
    assert default["contentType"] == "html" and "line one<br>" in default["content"]
    text = client.get(
        f"/users/{ANNA}/events/{event_id}",
        headers={"Prefer": 'outlook.body-content-type="text"'},
    ).json()["body"]
    assert text == {"contentType": "text", "content": "line one\nline two"}


def test_times_come_back_in_the_preferred_zone(client: httpx.Client) -> None:
    event_id = client.post(f"/users/{ANNA}/events", json=an_event()).json()["id"]
    berlin = client.get(
        f"/users/{ANNA}/events/{event_id}",
        headers={"Prefer": 'outlook.timezone="Europe/Berlin"'},
    ).json()
    assert berlin["start"] == {"dateTime": "2026-12-01T10:00:00.0000000",
                               "timeZone": "Europe/Berlin"}  # fmt: skip


def test_a_retried_post_with_the_same_transaction_id_creates_one_event(
    client: httpx.Client,
) -> None:
    first = client.post(f"/users/{ANNA}/events", json=an_event(transactionId="tx-1"))
    again = client.post(f"/users/{ANNA}/events", json=an_event(transactionId="tx-1"))
    assert first.json()["id"] == again.json()["id"]
    assert len(client.get(f"/users/{ANNA}/events").json()["value"]) == 1


def test_immutable_ids_are_given_on_request_and_both_forms_are_accepted(
    client: httpx.Client,
) -> None:
    prefer = {"Prefer": 'IdType="ImmutableId"'}
    immutable = client.post(f"/users/{ANNA}/events", json=an_event(), headers=prefer).json()["id"]
    rest = client.get(f"/users/{ANNA}/events").json()["value"][0]["id"]
    assert immutable != rest
    assert client.get(f"/users/{ANNA}/events/{immutable}").status_code == 200
    assert client.get(f"/users/{ANNA}/events/{rest}", headers=prefer).json()["id"] == immutable


def test_events_are_found_by_their_extended_property(client: httpx.Client) -> None:
    for erp_id in ("41", "42"):
        stamped = an_event(f"ERP {erp_id}", singleValueExtendedProperties=[
            {"id": ERP_ID, "value": erp_id}])  # fmt: skip
        client.post(f"/users/{ANNA}/events", json=stamped)
    client.post(f"/users/{ANNA}/events", json=an_event("not stamped"))
    found = client.get(f"/users/{ANNA}/events", params={
        "$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{ERP_ID}' and "
                   "ep/value eq '42')",
        "$expand": f"singleValueExtendedProperties($filter=id eq '{ERP_ID}')",
    }).json()["value"]  # fmt: skip
    assert [e["subject"] for e in found] == ["ERP 42"]
    assert found[0]["singleValueExtendedProperties"] == [{"id": ERP_ID, "value": "42"}]
    plain = client.get(f"/users/{ANNA}/events/{found[0]['id']}").json()
    assert "singleValueExtendedProperties" not in plain


def test_a_numeric_extended_property_is_compared_as_a_number(client: httpx.Client) -> None:
    """The ERP id property is a Long: ``ge``/``le`` ranges compare numbers (9 < 10), a
    string property takes only eq and ne."""
    for erp_id in ("9", "10", "11", "200"):
        stamped = an_event(f"ERP {erp_id}", singleValueExtendedProperties=[
            {"id": ERP_ID, "value": erp_id}])  # fmt: skip
        client.post(f"/users/{ANNA}/events", json=stamped)
    found = client.get(f"/users/{ANNA}/events", params={
        "$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{ERP_ID}' and "
                   "ep/value ge '9' and ep/value le '11')",
    }).json()["value"]  # fmt: skip
    assert sorted(e["subject"] for e in found) == ["ERP 10", "ERP 11", "ERP 9"]
    text_property = "String {00020329-0000-0000-c000-000000000046} Name Colour"
    refused = client.get(f"/users/{ANNA}/events", params={
        "$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{text_property}' and "
                   "ep/value ge 'b')",
    })  # fmt: skip
    assert refused.status_code == 400


def test_a_stale_etag_is_refused(client: httpx.Client) -> None:
    created = client.post(f"/users/{ANNA}/events", json=an_event()).json()
    client.patch(f"/users/{ANNA}/events/{created['id']}", json={"subject": "moved on"})
    stale = client.patch(f"/users/{ANNA}/events/{created['id']}", json={"subject": "late"},
                         headers={"If-Match": created["@odata.etag"]})  # fmt: skip
    assert stale.status_code == 412


def test_attendees_are_mailed_which_is_why_the_sync_never_sends_any(
    graph: Graph, client: httpx.Client
) -> None:
    invited = an_event(attendees=[{"emailAddress": {"address": "x@example.test"},
                                   "type": "required"}])  # fmt: skip
    client.post(f"/users/{ANNA}/events", json=invited)
    assert graph.sandbox.backend.mailbox(ANNA).sent == ["invitation:x@example.test:Review"]


def test_an_unknown_property_is_refused_with_graphs_error(client: httpx.Client) -> None:
    refused = client.post(f"/users/{ANNA}/events", json=an_event(color="red"))
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "RequestBodyRead"
