"""The EWS sandbox as one Starlette application: the composition root of its parts.

Routes: ``POST /EWS/Exchange.asmx`` (SOAP 1.1; GetStreamingEvents as a streamed
answer), the schema files at ``/EWS/*.xsd`` and ``/EWS/Services.wsdl`` as Exchange serves
them, Autodiscover and the OAuth 2.0 token endpoint. Authentication runs before the SOAP
layer; the realism knobs wrap everything.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import anyio
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from esexchange.sandbox.directory import Directory
from esexchange.sandbox.ews import schema
from esexchange.sandbox.ews.auth import AuthChallenge, authenticate, unauthorized
from esexchange.sandbox.ews.autodiscover import autodiscover_routes
from esexchange.sandbox.ews.endpoint import EwsEndpoint, OpenStream
from esexchange.sandbox.ews.knobs import Knobs, KnobsMiddleware
from esexchange.sandbox.models import Backend
from esexchange.sandbox.oauth import TokenIssuer, oauth_routes

SOAP_CONTENT_TYPE = "text/xml; charset=utf-8"
SCHEMA_FILES = {"messages.xsd": "messages.xsd", "types.xsd": "types.xsd",
                "services.wsdl": "services.wsdl"}  # fmt: skip


@dataclass(frozen=True)
class Sandbox:
    """A composed sandbox: the ASGI app and the parts tests and the CLI reach into."""

    app: ASGIApp
    endpoint: EwsEndpoint
    backend: Backend
    issuer: TokenIssuer
    knobs: KnobsMiddleware | None  # its ``counters`` say what was injected


async def _envelopes(stream: OpenStream) -> AsyncIterator[bytes]:
    """The envelopes of an open stream; between two looks no thread is held, so open
    connections never starve the other requests of the thread pool."""
    while True:
        envelope, last = await run_in_threadpool(stream.step)
        if envelope is not None:
            yield envelope
        if last:
            return
        await anyio.sleep(stream.poll)


def create_sandbox(
    directory: Directory,
    *,
    issuer: TokenIssuer | None = None,
    validate_responses: bool = False,
    state_file: str | Path | None = None,
    knobs: Knobs | None = None,
    ews_url: str | None = None,
) -> Sandbox:
    """Compose the EWS sandbox for ``directory`` (in memory unless ``state_file`` is given).

    ``knobs`` inject latency and failures; ``ews_url`` is what Autodiscover announces
    (by default the URL the client reached the sandbox at).
    """
    from esexchange.sandbox.models.persistence import open_backend

    issuer = issuer or TokenIssuer.generate()
    backend, store = open_backend(directory, state_file)
    endpoint = EwsEndpoint(
        backend,
        directory,
        validate_responses=validate_responses,
        on_write=store.save if store is not None else None,
    )

    async def ews(request: Request) -> Response:
        try:
            principal = authenticate(request.headers, directory, issuer)
        except AuthChallenge as challenge:
            return unauthorized(challenge, request.url.netloc)
        content_type = request.headers.get("content-type", "")
        if content_type.split(";")[0].strip().lower() != "text/xml":
            # What Exchange answers a SOAP 1.1 endpoint posted anything but text/xml.
            message = (
                f"Cannot process the message because the content type {content_type!r} "
                f"was not the expected type {SOAP_CONTENT_TYPE!r}."
            )
            return Response(message, status_code=415, media_type="text/plain")
        payload = await request.body()
        stream = await run_in_threadpool(endpoint.stream, payload, principal)
        if stream is not None:  # an open GetStreamingEvents connection
            return StreamingResponse(_envelopes(stream), media_type=SOAP_CONTENT_TYPE)
        status, body = await run_in_threadpool(endpoint.handle, payload, principal)
        return Response(body, status_code=status, media_type=SOAP_CONTENT_TYPE)

    async def schema_file(request: Request) -> Response:
        name = SCHEMA_FILES.get(request.path_params["name"].lower())
        if name is None:
            return Response(status_code=404)
        return FileResponse(Path(schema.schema_dir()) / name, media_type="text/xml")

    routes: list[BaseRoute] = [
        Route("/EWS/Exchange.asmx", ews, methods=["POST"]),
        Route("/ews/exchange.asmx", ews, methods=["POST"]),
        Route("/EWS/{name}", schema_file, methods=["GET"]),
        *autodiscover_routes(directory, issuer, ews_url),
        *oauth_routes(directory, issuer),
    ]
    app: ASGIApp = Starlette(routes=routes)
    middleware = None
    if knobs is not None and knobs.active:
        middleware = KnobsMiddleware(app, knobs)
        # outermost, as it must be; it may return a value (uvicorn then drops the connection)
        app = cast(ASGIApp, middleware)
    return Sandbox(app, endpoint, backend, issuer, middleware)
