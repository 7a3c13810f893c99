"""The GraphQL schema and its ASGI view: context building and authentication on every transport."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncGenerator
from datetime import timedelta
from typing import Any

import orjson
import strawberry
from cross_web import AsyncHTTPRequestAdapter
from graphql import GraphQLError
from opentelemetry.trace import Tracer
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.extensions import DisableIntrospection, ParserCache, ValidationCache
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.config import BatchingConfig, StrawberryConfig
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.execution import SubscriptionExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from app import http_protocol, request_bodies
from app.broker import Broker
from app.db.engine import SessionFactory, create_read_session_factory
from app.execution import executor_class
from app.graphiql import graphiql_response
from app.graphql_errors import ErrorFormatter
from app.middleware import request_id_of
from app.monitoring.extensions import MonitoringExtension, instrument_resolvers, record_errors
from app.monitoring.loaders import observe_batches
from app.monitoring.tracing import Tracing
from app.monitoring.websockets import observe_websocket
from app.outages import outage_of, retry_after_if_nothing_ran, unavailable_error
from app.realtime.runtime import build_realtime
from app.security.auth import authenticate, bearer_token, token_from_connection_params
from app.security.guard import OperationGuard, build_security
from app.security.jwt import InvalidToken
from app.security.limits import QueryLimits, within_timeout
from app.settings import Settings
from app.sockets import LegacyWSHandler, TransportWSHandler
from resolvers import Mutation, Query, Subscription
from schema.bounties import Bounty
from schema.context import Context
from schema.errors import ERROR_TYPES, UNAUTHENTICATED
from schema.users import User
from services.identity import Identity
from services.loaders import create_loaders, loader_batches
from services.outages import DependencyUnavailable
from services.presence import LOCAL, Presence

# Bounded caches: parsing and validation dominate small requests (measured: ~4x for `{ hello }`).
DOCUMENT_CACHE_SIZE = 1024


class GatewaySchema(strawberry.Schema):
    def __init__(
        self,
        *args: Any,
        errors: ErrorFormatter,
        count_errors: bool = False,
        operation_timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.errors = errors
        self.count_errors = count_errors
        self.operation_timeout = operation_timeout

    async def execute(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        if self.operation_timeout is None:
            result = await super().execute(*args, **kwargs)
        else:
            result = await within_timeout(super().execute(*args, **kwargs), self.operation_timeout)
        context = kwargs.get("context_value", args[2] if len(args) > 2 else None)
        self.errors.apply(result, getattr(context, "request_id", ""))
        if self.count_errors:  # here, not in an extension: codes exist only once applied
            record_errors(result.errors)
        return result

    async def stream(self, *args: Any, **kwargs: Any) -> Any:
        """Subscriptions (both WebSocket protocols come through here) get coded errors too."""
        source = await super().stream(*args, **kwargs)
        context = kwargs.get("context_value", args[2] if len(args) > 2 else None)
        return self._coded(source, getattr(context, "request_id", ""))

    async def _coded(self, source: Any, request_id: str) -> AsyncGenerator[Any, None]:
        async with contextlib.aclosing(source):
            async for result in source:
                if isinstance(result, ExecutionResult):
                    self.errors.apply(result, request_id)
                yield result

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Logging happens in ErrorFormatter, once, for unexpected errors only: not every typo."""


def build_schema(
    settings: Settings | None = None, *, tracing: Tracing | None = None
) -> strawberry.Schema:
    """The schema; `settings` only toggles runtime behaviour, never the SDL."""
    extensions: list[Any] = [
        functools.partial(ParserCache, maxsize=DOCUMENT_CACHE_SIZE),
        functools.partial(ValidationCache, maxsize=DOCUMENT_CACHE_SIZE),
    ]
    if settings is not None and not settings.introspection_enabled:
        extensions.append(DisableIntrospection)
    metrics_enabled = settings is not None and settings.metrics_enabled
    if metrics_enabled or tracing is not None:
        extensions.append(
            functools.partial(
                MonitoringExtension,
                tracer=tracing.tracer if tracing is not None else None,
                metrics_enabled=metrics_enabled,
                sample_rate=settings.metrics_resolver_sample_rate if settings else 1.0,
            )
        )
    if settings is not None:
        # After ValidationCache, whose cache key includes the limit rules it runs.
        extensions.append(OperationGuard.factory(QueryLimits.from_settings(settings)))
    batching: BatchingConfig | None = (
        {"max_operations": settings.batch_max_operations}
        if settings is not None and settings.batching
        else None
    )
    schema = GatewaySchema(
        count_errors=metrics_enabled,
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[User, Bounty, *ERROR_TYPES],
        extensions=extensions,
        errors=ErrorFormatter(
            mask_unexpected=settings.is_production if settings else True,
            hide_suggestions=settings is not None and not settings.field_suggestions_enabled,
        ),
        operation_timeout=settings.operation_timeout_seconds if settings else None,
        execution_context_class=executor_class(settings),
        config=StrawberryConfig(
            auto_camel_case=True,
            batching_config=batching,
        ),
    )
    if metrics_enabled or tracing is not None:
        instrument_resolvers(schema)
    return schema


class GatewayView(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(
        self,
        schema: strawberry.Schema,
        *,
        settings: Settings,
        session_factory: SessionFactory,
        broker: Broker,
        identity: Identity,
        tracer: Tracer | None = None,
        presence: Presence = LOCAL,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            allow_queries_via_get=True,
            subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL],
            # Avatar uploads (GraphQL multipart request spec); CSRF-guarded in parse_http_body.
            multipart_uploads_enabled=True,
            # Browser WebSocket handshakes from other origins are refused unless listed.
            allowed_origins=settings.allowed_origins,
            connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout_seconds),
            # Pings on both protocols come from app/realtime/supervisor.py.
            keep_alive=True,
            keep_alive_interval=settings.ws_ping_interval_seconds,
        )
        self.settings = settings
        self.session_factory = session_factory
        self.read_session_factory = create_read_session_factory(session_factory)
        self.broker = broker
        self.identity = identity
        self.security = build_security(settings, session_factory, identity)
        self.request_parser = http_protocol.RequestParser(settings)
        self.variable_limits = request_bodies.VariableLimits.from_settings(settings)
        batches = loader_batches(self.read_session_factory)
        if tracer is not None or settings.metrics_enabled:
            batches = observe_batches(batches, tracer, metrics_enabled=settings.metrics_enabled)
        self.loader_batches = batches
        # Grouped subscriptions, pings and token re-checks of this process's sockets.
        self.realtime = build_realtime(self, presence)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":  # media types, status codes, refusals: app/http_protocol.py
            await http_protocol.serve(self.run, scope, receive, send)
        elif self.settings.metrics_enabled:
            await observe_websocket(super().__call__, scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        loaders = create_loaders(self.loader_batches)
        context = Context(
            settings=self.settings,
            session_factory=self.session_factory,
            read_session_factory=self.read_session_factory,
            broker=self.broker,
            loaders=loaders,
            request_id=request_id_of(request),
            request=request,
            response=response,
            identity=self.identity,
        )
        context.security = self.security
        if isinstance(request, Request):
            try:
                token = bearer_token(request.headers.get("authorization"))
                context.viewer = await authenticate(self.settings, self.identity.denylist, token)
            except InvalidToken as error:
                context.credentials_error = str(error)
            except DependencyUnavailable as error:  # revocations cannot be checked: fail closed
                context.outage = error
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Sockets authenticate once, in `connection_init`, with the same code as HTTP."""
        try:
            token = token_from_connection_params(context.connection_params)
            context.viewer = await authenticate(self.settings, self.identity.denylist, token)
            context.access_token = token
        except InvalidToken as error:
            raise ConnectionRejectionError(
                {"code": UNAUTHENTICATED, "message": str(error)}
            ) from error
        acknowledge_without_payload: UnsetType = UNSET
        return acknowledge_without_payload

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql_response()  # our own page: pinned assets from this origin (app/graphiql.py)

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET carrying only a persisted-query hash is an operation, not a browser visit.
        persisted_get = "extensions" in request.query_params
        return not persisted_get and super().should_render_graphql_ide(request)

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        # CSRF first, then strict decoding and shape checks (app/http_protocol.py).
        return await self.request_parser.parse(request, self.parse_multipart)

    def decode_json(self, data: str | bytes) -> object:
        # Multipart fields and WebSocket messages: strict JSON, bounded depth.
        return request_bodies.decode_json(data)

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        return http_protocol.response_body(request, result)

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        # Automatic persisted queries: a hash stands for a document sent before.
        try:
            request_data, keep = await self.security.persisted.resolve(request_data)
        except GraphQLError as error:
            return ExecutionResult(data=None, errors=[error])
        result = await super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )
        if keep is not None and not any(error.path is None for error in result.errors or ()):
            await self.security.persisted.keep(keep)
        return result

    async def execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: None,
        sub_response: Response,
    ) -> ExecutionResult | list[ExecutionResult] | SubscriptionExecutionResult:
        # A presented but invalid token is refused outright, never served as anonymous.
        if context.credentials_error is not None:
            sub_response.status_code = 401
            sub_response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            error = GraphQLError(context.credentials_error, extensions={"code": UNAUTHENTICATED})
            return ExecutionResult(data=None, errors=[error])
        if context.outage is not None:
            refusal = outage_of(context.outage)
            assert refusal is not None
            api_error = unavailable_error(refusal, context.request_id)
            extensions = {"code": api_error.code, **api_error.extensions}
            result: ExecutionResult | list[ExecutionResult] | SubscriptionExecutionResult
            result = ExecutionResult(
                data=None, errors=[GraphQLError(api_error.message, extensions=extensions)]
            )
        else:
            try:
                result = await super().execute_operation(
                    request, request_adapter, request_data, context, root_value, sub_response
                )
            finally:
                await _close_uploads(request_data)
        if not isinstance(request_data, list) and isinstance(result, ExecutionResult):
            http_protocol.note_result(request, result)
            # PostgreSQL or Redis was down and nothing was written: 503, retry after a moment.
            retry_after = None if context.wrote else retry_after_if_nothing_ran(result)
            if retry_after is not None:
                sub_response.status_code = 503
                sub_response.headers["Retry-After"] = str(retry_after)
        return result

    def encode_json(self, data: object) -> str:
        # Text, not bytes: WebSocket messages must be text frames for graphql-ws clients.
        return orjson.dumps(data).decode()


async def _close_uploads(request_data: GraphQLRequestData | list[GraphQLRequestData]) -> None:
    """Multipart files are spooled to temporary files: close them whether or not a resolver ran."""
    requests = request_data if isinstance(request_data, list) else [request_data]
    pending: list[object] = [data.variables for data in requests]
    while pending:
        value = pending.pop()
        if isinstance(value, UploadFile):
            await value.close()
        elif isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
