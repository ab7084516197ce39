"""``/subscriptions``: change notification subscriptions (``subscriptions.py``), served
through the same dispatcher as the mailbox paths."""

from __future__ import annotations

import re

from esexchange.sandbox.graph.models import GraphBackend
from esexchange.sandbox.graph.routes import GraphRequest, GraphResponse, route


@route("POST", "/subscriptions", "subscriptions")
def create_subscription(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    return GraphResponse(201, b.subscriptions.create(r.claims, r.body).render())


@route("GET", "/subscriptions", "subscriptions")
def list_subscriptions(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    found = b.subscriptions.list(r.claims)
    return GraphResponse(200, {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions",
        "value": [{k: v for k, v in s.render().items() if k != "@odata.context"}
                  for s in found],
    })


@route("GET", "/subscriptions/{subscription-id}", "subscriptions")
def get_subscription(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    return GraphResponse(200, b.subscriptions.get(r.claims, m.group(1)).render())


@route("PATCH", "/subscriptions/{subscription-id}", "subscriptions")
def update_subscription(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    return GraphResponse(200, b.subscriptions.update(r.claims, m.group(1), r.body).render())


@route("DELETE", "/subscriptions/{subscription-id}", "subscriptions")
def delete_subscription(b: GraphBackend, r: GraphRequest, m: re.Match[str]) -> GraphResponse:
    b.subscriptions.delete(r.claims, m.group(1))
    return GraphResponse(204)
