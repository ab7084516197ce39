"""Who may reach what: tokens, application roles, the mailboxes an app is scoped to."""

from __future__ import annotations

import httpx

from tests.sandbox_graph.conftest import ANNA, BEN, NARROW_APP_ID, Graph


def test_a_request_without_a_token_is_unauthorized(graph: Graph) -> None:
    answer = httpx.get(f"{graph.base_url}/v1.0/users/{ANNA}/calendar")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_an_expired_token_is_refused(graph: Graph, client: httpx.Client) -> None:
    issuer = graph.sandbox.issuer
    clock = issuer.clock
    object.__setattr__(issuer, "clock", lambda: clock() + 2 * 3600)
    try:
        answer = client.get(f"/users/{ANNA}/calendar")
    finally:
        object.__setattr__(issuer, "clock", clock)
    assert answer.status_code == 401
    assert "expired" in answer.json()["error"]["message"]


def test_an_app_reaches_only_the_mailboxes_it_is_scoped_to(graph: Graph) -> None:
    with graph.client(NARROW_APP_ID) as narrow:
        assert narrow.get(f"/users/{BEN}/calendar").status_code == 200
        refused = narrow.get(f"/users/{ANNA}/calendar")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "ErrorAccessDenied"


def test_an_unknown_mailbox_is_not_found(client: httpx.Client) -> None:
    answer = client.get("/users/nobody@example.test/events")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "ErrorInvalidUser"


def test_categories_keep_outlooks_defaults_and_take_preset_colours(
    graph: Graph, client: httpx.Client
) -> None:
    graph.checked.allow_invalid_requests = True
    url = f"/users/{ANNA}/outlook/masterCategories"
    defaults = {c["displayName"] for c in client.get(url).json()["value"]}
    assert "Red category" in defaults
    created = client.post(url, json={"displayName": "ES_5_Visit", "color": "preset4"})
    assert created.status_code == 201
    assert client.post(url, json={"displayName": "es_5_visit"}).status_code == 409
    assert client.post(url, json={"displayName": "X", "color": "green"}).status_code == 400
    recoloured = client.patch(f"{url}/{created.json()['id']}", json={"color": "preset9"})
    assert recoloured.json()["color"] == "preset9"
    renamed = client.patch(f"{url}/{created.json()['id']}", json={"displayName": "other"})
    assert renamed.status_code == 400


def test_mailbox_settings_tell_the_time_zone(client: httpx.Client) -> None:
    assert client.get(f"/users/{ANNA}/mailboxSettings").json()["timeZone"] == "Europe/Berlin"
