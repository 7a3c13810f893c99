"""/metrics, /metrics/json, /metrics/alerts (METRICS_TOKEN or allowed networks) and the
admin-only /debug/traces (a Bearer access token of an ADMIN)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import orjson
from prometheus_client.exposition import choose_encoder
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.monitoring import metrics
from app.monitoring.access import MetricsAccess
from app.monitoring.runtime import Monitoring
from app.monitoring.stats import summary
from app.security.auth import authenticate, bearer_token
from app.security.jwt import InvalidToken

SUMMARY_WINDOW_SECONDS = 300.0
MAX_SPANS = 1000


def json_response(body: Any, status_code: int = 200) -> Response:
    # orjson: NaN becomes null instead of failing, and it is fast on large sample lists.
    return Response(orjson.dumps(body), status_code, media_type="application/json")


def refused() -> Response:
    return json_response(
        {"error": "forbidden: present METRICS_TOKEN or call from an allowed network"}, 403
    )


def samples_json() -> list[dict[str, Any]]:
    return [
        {
            "name": family.name,
            "type": family.type,
            "help": family.documentation,
            "samples": [
                {"name": s.name, "labels": s.labels, "value": s.value} for s in family.samples
            ],
        }
        for family in metrics.registry().collect()
    ]


def monitoring_routes(monitoring: Monitoring) -> list[Route]:
    access = MetricsAccess(monitoring.settings)
    settings = monitoring.settings

    async def exposition(request: Request) -> Response:
        if not access.allows(request):
            return refused()
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encoder(metrics.registry()), headers={"Content-Type": content_type})

    async def as_json(request: Request) -> Response:
        if not access.allows(request):
            return refused()
        recorder = monitoring.recorder
        return json_response(
            {
                "derived": summary(recorder.window(SUMMARY_WINDOW_SECONDS)),
                "sinceStart": summary(recorder.window(float("inf"))),
                "metrics": samples_json(),
            }
        )

    async def alerts(request: Request) -> Response:
        if not access.allows(request):
            return refused()
        evaluator = monitoring.evaluator
        return json_response(
            {
                "active": evaluator.active(),
                "recent": [event.as_json() for event in reversed(evaluator.history)],
                "rules": [asdict(rule) for rule in evaluator.rules],
            }
        )

    async def traces(request: Request) -> Response:
        try:
            token = bearer_token(request.headers.get("authorization"))
            viewer = await authenticate(settings, request.app.state.identity.denylist, token)
        except InvalidToken as error:
            return json_response({"error": str(error)}, 401)
        if viewer is None:
            return json_response({"error": "an admin's Bearer access token is required"}, 401)
        if not viewer.is_admin:
            return json_response({"error": "admins only"}, 403)
        tracing = monitoring.tracing
        if tracing is None or tracing.buffer is None:
            return json_response({"error": "spans go to OTLP (or tracing is off), not memory"}, 404)
        wanted = request.query_params.get("trace_id")
        try:
            trace_id = int(wanted, 16) if wanted else None
        except ValueError:
            return json_response({"error": "trace_id must be 32 hex digits"}, 400)
        return json_response({"spans": tracing.buffer.spans(trace_id)[-MAX_SPANS:]})

    return [
        Route("/metrics", exposition, methods=["GET"]),
        Route("/metrics/json", as_json, methods=["GET"]),
        Route("/metrics/alerts", alerts, methods=["GET"]),
        Route("/debug/traces", traces, methods=["GET"]),
    ]
