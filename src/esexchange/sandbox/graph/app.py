"""The Graph sandbox as one ASGI application: the composition root of its parts.

``/v1.0/...`` is Microsoft Graph (bearer tokens of the sandbox's OAuth authority, with
Graph as their audience); ``/v1.0/$batch`` is JSON batching; everything else is the
token endpoint and OpenID metadata of ``esexchange.sandbox.oauth``, shared with the EWS
sandbox. Batch sub-requests are served one after another through the same routes, so a
batch counts once toward the per-mailbox concurrency limit while its sub-requests are
throttled one by one.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from starlette.applications import Starlette
from starlette.types import Message, Receive, Scope, Send

from esexchange.domain.errors import EsExchangeError
from esexchange.sandbox.directory import Directory
from esexchange.sandbox.graph import subscription_routes  # noqa: F401 - registers /subscriptions
from esexchange.sandbox.graph.delivery import HttpOutbox
from esexchange.sandbox.graph.errors import GraphError
from esexchange.sandbox.graph.knobs import GraphKnobs, Injector
from esexchange.sandbox.graph.models import GraphBackend
from esexchange.sandbox.graph.routes import GraphRequest, GraphResponse, dispatch, error_body
from esexchange.sandbox.oauth import GRAPH_RESOURCE, InvalidToken, TokenIssuer, oauth_routes

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"  # Graph's id, a valid token audience
MAX_BATCH = 20
_DROP = "drop the connection"  # uvicorn closes the connection when an app returns a value
Validator = Callable[[str, str, Any, GraphResponse], None]


@dataclass
class GraphSandbox:
    """The ASGI app of the Graph sandbox and the parts tests and the CLI reach into."""

    directory: Directory
    backend: GraphBackend
    issuer: TokenIssuer
    injector: Injector
    state_file: Path | None = None
    validator: Validator | None = None
    requests: list[str] = field(default_factory=list)  # "METHOD path" of every Graph request
    _oauth: Any = None

    def __post_init__(self) -> None:
        self._oauth = Starlette(routes=oauth_routes(self.directory, self.issuer))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> object:
        if scope["type"] != "http" or not scope["path"].startswith("/v1.0/"):
            await self._oauth(scope, receive, send)
            return None
        return await self._graph(scope, receive, send)

    async def _graph(self, scope: Scope, receive: Receive, send: Send) -> object:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        raw = await _read_body(receive)
        path = scope["path"].removeprefix("/v1.0/")
        method = scope["method"]
        self.requests.append(f"{method} /{path}")
        self.injector.counters.requests += 1
        request_id = str(uuid.uuid4())
        headers["x-esx-request-id"] = request_id
        out = {
            "request-id": request_id,
            "client-request-id": headers.get("client-request-id", request_id),
        }
        try:
            claims = self._authenticate(headers)
        except GraphError as error:
            out["WWW-Authenticate"] = (
                'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"'
            )
            await _send_json(send, error.status, error_body(error), {**out, **error.headers})
            return None
        fate = self.injector.draw("batch" if path == "$batch" else "request")
        if fate == "drop":
            return _DROP
        if fate in ("503", "throttle"):
            failure = (
                GraphError(
                    503,
                    "ServiceUnavailable",
                    "The service is temporarily unavailable. Try again later.",
                    headers={"Retry-After": "1"},
                )
                if fate == "503"
                else self.injector.throttled()
            )
            await _send_json(send, failure.status, error_body(failure),
                             {**out, **failure.headers})
            return None
        try:
            body = json.loads(raw) if raw.strip() else None
        except json.JSONDecodeError:
            bad = GraphError(400, "BadRequest", "Unable to read JSON request payload.")
            await _send_json(send, 400, error_body(bad), out)
            return None
        base_url = f"{scope['scheme']}://{headers.get('host', 'localhost')}/v1.0"
        caller = str(claims.get("appid", "")).casefold()
        if path == "$batch" and method == "POST":
            response = await self._batch(body, headers, claims, base_url, caller)
        else:
            query = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
            request = GraphRequest(method, path, query, headers, body, claims, base_url)
            response = (await self._limited(caller, {_mailbox_of(path)}, [request]))[0]
        if fate == "lost":  # served, and then the answer never leaves
            return _DROP
        await _send_json(send, response.status, response.body, {**out, **response.headers})
        return None

    def _authenticate(self, headers: dict[str, str]) -> dict[str, Any]:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
        try:
            return self.issuer.verify(token.strip(), [GRAPH_RESOURCE, GRAPH_APP_ID])
        except InvalidToken as error:
            message = (
                "Lifetime validation failed, the token is expired."
                if "expired" in str(error).lower()
                else "Access token validation failure. Invalid audience or signature."
            )
            raise GraphError(401, "InvalidAuthenticationToken", message) from None

    async def _limited(
        self, caller: str, mailboxes: set[str], requests: list[GraphRequest]
    ) -> list[GraphResponse]:
        """Serve `requests` holding a slot of the concurrency limit per mailbox."""
        full = self.injector.acquire(caller, mailboxes)
        try:
            if self.injector.knobs.latency_ms:
                await asyncio.sleep(self.injector.knobs.latency_ms / 1000)
            if len(requests) == 1 and requests[0].path.lower().startswith("subscriptions"):
                # Its validation handshake waits for the subscriber (up to 10 s): not here.
                return [await asyncio.to_thread(self._serve, requests[0], over_limit=False)]
            return [self._serve(r, over_limit=_mailbox_of(r.path) in full) for r in requests]
        finally:
            self.injector.release(caller, mailboxes - full)

    def _serve(self, request: GraphRequest, *, over_limit: bool) -> GraphResponse:
        if over_limit:
            error = self.injector.over_limit()
            return GraphResponse(error.status, error_body(error, request), dict(error.headers))
        response = dispatch(self.backend, request)
        if self.validator is not None:
            self.validator(request.method, request.path, request.body, response)
        if request.method != "GET" and response.status < 300:
            self._save()
            self.backend.subscriptions.changed(request.method, request.path, response.body)
        return response

    async def _batch(
        self,
        body: Any,
        headers: dict[str, str],
        claims: dict[str, Any],
        base_url: str,
        caller: str,
    ) -> GraphResponse:
        problem = _batch_problem(body)
        if problem:
            return GraphResponse(400, error_body(GraphError(400, "BadRequest", problem)))
        items = body["requests"]
        requests: dict[str, GraphRequest] = {}
        for item in items:
            split = urlsplit(item["url"])
            sub_headers = {k.lower(): str(v) for k, v in (item.get("headers") or {}).items()}
            sub_headers["x-esx-request-id"] = headers["x-esx-request-id"]
            requests[item["id"]] = GraphRequest(
                item["method"].upper(),
                unquote(split.path).removeprefix("/").removeprefix("v1.0/"),
                dict(parse_qsl(split.query, keep_blank_values=True)),
                sub_headers,
                item.get("body"),
                claims,
                base_url,
            )
        mailboxes = {_mailbox_of(r.path) for r in requests.values()}
        full = self.injector.acquire(caller, mailboxes)
        responses: dict[str, GraphResponse] = {}
        try:
            if self.injector.knobs.latency_ms:
                await asyncio.sleep(self.injector.knobs.latency_ms / 1000)
            for item in _in_dependency_order(items):
                request = requests[item["id"]]
                responses[item["id"]] = self._batch_item(item, request, responses, full)
        finally:
            self.injector.release(caller, mailboxes - full)
        rendered = []
        for key, response in responses.items():
            entry: dict[str, Any] = {
                "id": key,
                "status": response.status,
                "headers": {"Content-Type": "application/json", **response.headers},
            }
            if response.body is not None:
                entry["body"] = response.body
            rendered.append(entry)
        answer = GraphResponse(200, {"responses": rendered})
        if self.validator is not None:
            self.validator("POST", "$batch", body, answer)
        return answer

    def _batch_item(
        self,
        item: dict[str, Any],
        request: GraphRequest,
        responses: dict[str, GraphResponse],
        full: set[str],
    ) -> GraphResponse:
        failed = [d for d in item.get("dependsOn") or [] if responses[d].status >= 400]
        if failed:
            error = GraphError(
                424, "FailedDependency", f"The request depends on '{failed[0]}', which failed."
            )
            return GraphResponse(424, error_body(error, request))
        if self.injector.draw("item") == "throttle":
            error = self.injector.throttled()
            return GraphResponse(429, error_body(error, request), dict(error.headers))
        return self._serve(request, over_limit=_mailbox_of(request.path) in full)

    @property
    def outbox(self) -> HttpOutbox:
        """Where change notifications leave (its ``counters`` and ``received``)."""
        outbox = self.backend.subscriptions.outbox
        assert isinstance(outbox, HttpOutbox)
        return outbox

    def send_lifecycle(self, event: str, subscription_id: str | None = None) -> int:
        """The knob for lifecycle events: send `event` (reauthorizationRequired,
        subscriptionRemoved, missed) for one subscription or every one that has a
        lifecycle URL; how many were sent."""
        return self.backend.subscriptions.lifecycle(event, subscription_id)

    def close(self) -> None:
        """Stop delivering notifications."""
        self.outbox.close()

    def _save(self) -> None:
        if self.state_file is None:
            return
        temporary = self.state_file.with_suffix(self.state_file.suffix + ".tmp")
        temporary.write_text(json.dumps(self.backend.snapshot()), encoding="utf-8")
        os.replace(temporary, self.state_file)


def _batch_problem(body: Any) -> str | None:
    if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
        return "Invalid batch payload format."
    items = body["requests"]
    if not items:
        return "Invalid batch payload format: no requests."
    if len(items) > MAX_BATCH:
        return f"The number of batch requests exceeds the maximum of {MAX_BATCH}."
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) for k in ("id", "method", "url")
        ):
            return "Each batch request needs an id, a method and a url."
        if item["id"].casefold() in seen:
            return f"Batch request id '{item['id']}' is duplicated."
        seen.add(item["id"].casefold())
        if "body" in item and not any(
            k.lower() == "content-type" for k in (item.get("headers") or {})
        ):
            return f"Batch request '{item['id']}' has a body but no Content-Type header."
    ids = {item["id"] for item in items}
    for item in items:
        for dependency in item.get("dependsOn") or []:
            if dependency not in ids:
                return f"Batch request '{item['id']}' depends on an unknown id '{dependency}'."
    return None


def _in_dependency_order(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    done: set[str] = set()
    ordered: list[dict[str, Any]] = []
    pending = list(items)
    while pending:
        ready = [i for i in pending if set(i.get("dependsOn") or []) <= done] or pending[:1]
        for item in ready:
            ordered.append(item)
            done.add(item["id"])
            pending.remove(item)
    return ordered


def _mailbox_of(path: str) -> str:
    parts = path.strip("/").split("/")
    return parts[1].casefold() if len(parts) > 1 and parts[0].lower() == "users" else ""


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message: Message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _send_json(send: Send, status: int, body: Any, headers: dict[str, str]) -> None:
    payload = b"" if body is None else json.dumps(body).encode()
    pairs = [
        (k.encode("latin-1"), v.encode("latin-1"))
        for k, v in headers.items()
        if k.lower() != "content-type"
    ]
    if body is not None:
        pairs.append(
            (
                b"content-type",
                b"application/json; odata.metadata=minimal; "
                b"odata.streaming=true; IEEE754Compatible=false; charset=utf-8",
            )
        )
    pairs.append((b"content-length", str(len(payload)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": pairs})
    await send({"type": "http.response.body", "body": payload})


def create_graph_sandbox(
    directory: Directory,
    *,
    issuer: TokenIssuer | None = None,
    state_file: str | Path | None = None,
    knobs: GraphKnobs | None = None,
    validator: Validator | None = None,
    backend: GraphBackend | None = None,
    notification_trust: str | Path | None = None,
) -> GraphSandbox:
    """Compose the Graph sandbox (in memory unless ``state_file`` keeps it across restarts);
    change notifications trust the system's CAs and ``notification_trust`` (a CA file)."""
    backend = backend or GraphBackend(directory)
    backend.subscriptions.outbox = HttpOutbox(notification_trust)
    path = Path(state_file) if state_file is not None else None
    if path is not None and path.exists():
        try:
            backend.restore(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError, IndexError) as error:
            raise GraphStateError(f"{path}: not a Graph sandbox state file ({error})") from None
    return GraphSandbox(
        directory,
        backend,
        issuer or TokenIssuer.generate(),
        Injector(knobs or GraphKnobs()),
        path,
        validator,
    )


class GraphStateError(EsExchangeError):
    """The ``--state`` file cannot be read as the Graph sandbox's state."""
