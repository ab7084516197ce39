"""The ASGI app ``esexchange run`` serves: probes, metrics and the admin console.

- ``/healthz``: the process is alive (always 200 while it answers);
- ``/readyz``: the database answers and has the current script (200), else 503 and why;
- ``/metrics``: Prometheus text format (``service.metrics``).
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from esexchange.domain.errors import EsExchangeError
from esexchange.erp.script import require_current
from esexchange.service.metrics import ServiceMetrics


def create_app(engine: Engine, metrics: ServiceMetrics,
               console: list[BaseRoute] | None = None) -> Starlette:
    """The probes and metrics, and the console's routes when given."""

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok\n")

    def readyz(_: Request) -> Response:
        try:
            with engine.connect() as db:
                require_current(db)
        except (SQLAlchemyError, EsExchangeError) as error:
            reason = str(error).splitlines()[0] if isinstance(error, EsExchangeError) else (
                "the database does not answer")
            return PlainTextResponse(f"not ready: {reason}\n", status_code=503)
        return PlainTextResponse("ready\n")

    def metrics_page(_: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    routes: list[BaseRoute] = [
        Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics_page),
        *(console or []),
    ]
    return Starlette(routes=routes)
