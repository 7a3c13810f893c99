"""create_app(): routes, middleware and the lifespan that owns the engine and the broker."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send

from app.broker import create_broker
from app.db.database import open_database
from app.db.migrate import upgrade_to_head
from app.graphiql import graphiql_routes
from app.graphql import GatewayView, build_schema
from app.load_shedding import LoadSheddingMiddleware
from app.media import media_routes
from app.middleware import RequestIdMiddleware
from app.monitoring.detailed import (
    database_check,
    detailed_health_route,
    rate_limiter_check,
    redis_check,
    revocations_check,
    workers_check,
)
from app.monitoring.endpoints import monitoring_routes
from app.monitoring.health import health_routes
from app.monitoring.http import ObservabilityMiddleware
from app.monitoring.runtime import Monitoring
from app.security.identity import build_identity
from app.security.middleware import security_middleware
from app.settings import Environment, Settings, get_settings
from app.webhooks import webhook_routes
from services.payments import fees
from services.presence import presence_for
from services.revocation_cache import RevocationCache
from workers.process import embedded_worker

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What the lifespan opens; routes read it once it is up."""

    engine: AsyncEngine | None = None
    view: GatewayView | None = None
    redis: Redis | None = None


class GraphQLEndpoint:
    """Delegates to the view the lifespan built (the session factory exists only from then)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.runtime.view is None:
            raise RuntimeError("the GraphQL view is served only inside the app's lifespan")
        await self.runtime.view(scope, receive, send)


def create_app(settings: Settings | None = None, *, database_url: str | None = None) -> Starlette:
    settings = settings or get_settings()
    runtime = Runtime()
    monitoring = Monitoring(settings)
    schema = build_schema(settings, tracing=monitoring.tracing)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_database(settings, database_url) as database:
            if settings.environment is Environment.DEVELOPMENT:
                await upgrade_to_head(database.engine)
            monitoring.observe_engine(database.engine)
            broker = create_broker(settings, monitoring.observe_redis)
            runtime.redis = getattr(broker, "client", None)
            runtime.engine = database.engine
            identity = build_identity(settings, database.session_factory, runtime.redis)
            app.state.identity = identity
            revocations = identity.denylist
            if isinstance(revocations, RevocationCache):
                await revocations.start()
                monitoring.add_health_check("revocations", revocations_check(revocations))
            runtime.view = GatewayView(
                schema,
                settings=settings,
                session_factory=database.session_factory,
                broker=broker,
                identity=identity,
                tracer=monitoring.tracer,
                presence=presence_for(runtime.redis),
            )
            monitoring.add_health_check("database", database_check(engine), required=True)
            if runtime.redis is not None:
                monitoring.add_health_check("redis", redis_check(lambda: runtime.redis))
                limiter = runtime.view.security.rate_limiter
                monitoring.add_health_check("rateLimiter", rate_limiter_check(limiter))
            monitoring.add_health_check("workers", workers_check(database.session_factory))
            monitoring.platform_fee_bps = functools.partial(
                fees.platform_fee_bps_now, database.session_factory, settings.platform_fee_bps
            )
            await monitoring.start()
            logger.info("gateway ready (%s, version %s)", settings.environment, settings.version)
            try:
                async with embedded_worker(settings, database, broker, monitoring.tracer):
                    yield
            finally:
                await runtime.view.realtime.close()
                runtime.view = None
                if isinstance(revocations, RevocationCache):
                    await revocations.close()
                await monitoring.stop()
                monitoring.release_engine(database.engine)
                await broker.close()

    def engine() -> AsyncEngine:
        if runtime.engine is None:
            raise RuntimeError("the database is open only inside the app's lifespan")
        return runtime.engine

    endpoint = GraphQLEndpoint(runtime)
    routes = [
        # Every method reaches the view, so a wrong one gets a GraphQL-shaped 405.
        Route("/graphql", endpoint),
        WebSocketRoute("/graphql", endpoint),
        *health_routes(settings, engine, lambda: runtime.redis),
        *media_routes(lambda: runtime.view.identity.media if runtime.view else None),
        *webhook_routes(
            settings,
            lambda: (runtime.view.session_factory, runtime.view.broker) if runtime.view else None,
        ),
        detailed_health_route(monitoring),
        *monitoring_routes(monitoring),
        *(graphiql_routes() if settings.graphiql_enabled else ()),
    ]
    # Outermost: its span is current for everything below, and its timing covers the whole body.
    observability = Middleware(
        ObservabilityMiddleware,
        tracing=monitoring.tracing,
        metrics_enabled=settings.metrics_enabled,
    )
    middleware = [observability, Middleware(RequestIdMiddleware)]
    if settings.shed_max_in_flight:
        # Early: a shed request costs next to nothing (no CORS, headers or rate-limit round trip).
        middleware.append(Middleware(LoadSheddingMiddleware, settings=settings))
    if settings.allowed_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.allowed_origins),
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=[
                    "authorization",
                    "content-type",
                    "x-request-id",
                    "x-apollo-operation-name",
                    "apollo-require-preflight",
                ],
                expose_headers=["x-request-id"],
            )
        )
    middleware += security_middleware(
        settings, lambda: runtime.view.security.rate_limiter if runtime.view else None
    )
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.monitoring = monitoring  # where other work adds health checks (workers)
    return app
