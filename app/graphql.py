"""The GraphQL schema and its ASGI view: context building and authentication on every transport."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncGenerator
from typing import Any

import orjson
import strawberry
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.extensions import DisableIntrospection, ParserCache, ValidationCache
from strawberry.http import GraphQLRequestData
from strawberry.schema.config import StrawberryConfig
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.execution import SubscriptionExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from app.broker import Broker
from app.db.engine import SessionFactory
from app.graphql_errors import ErrorFormatter
from app.middleware import request_id_of
from app.security.auth import authenticate, bearer_token, token_from_connection_params
from app.security.jwt import InvalidToken
from app.settings import Settings
from resolvers import Mutation, Query, Subscription
from schema.bounties import Bounty
from schema.context import Context
from schema.errors import ERROR_TYPES, UNAUTHENTICATED
from schema.users import User
from services.identity import Identity
from services.loaders import create_loaders

# Content types a browser may send cross-site without a CORS preflight (Apollo's CSRF rule).
_SIMPLE_CONTENT_TYPES = {"multipart/form-data", "text/plain", "application/x-www-form-urlencoded"}
_PREFLIGHT_HEADERS = ("x-apollo-operation-name", "apollo-require-preflight")

# Bounded caches: parsing and validation dominate small requests (measured: ~4x for `{ hello }`).
DOCUMENT_CACHE_SIZE = 1024


class GatewaySchema(strawberry.Schema):
    def __init__(self, *args: Any, errors: ErrorFormatter, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.errors = errors

    async def execute(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        result = await super().execute(*args, **kwargs)
        context = kwargs.get("context_value", args[2] if len(args) > 2 else None)
        self.errors.apply(result, getattr(context, "request_id", ""))
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


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    """The schema; `settings` only toggles runtime behaviour, never the SDL."""
    extensions: list[Any] = [
        functools.partial(ParserCache, maxsize=DOCUMENT_CACHE_SIZE),
        functools.partial(ValidationCache, maxsize=DOCUMENT_CACHE_SIZE),
    ]
    if settings is not None and not settings.introspection_enabled:
        extensions.append(DisableIntrospection)
    return GatewaySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[User, Bounty, *ERROR_TYPES],
        extensions=extensions,
        errors=ErrorFormatter(mask_unexpected=settings.is_production if settings else True),
        config=StrawberryConfig(auto_camel_case=True),
    )


class GatewayView(GraphQL[Context, None]):
    def __init__(
        self,
        schema: strawberry.Schema,
        *,
        settings: Settings,
        session_factory: SessionFactory,
        broker: Broker,
        identity: Identity,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            allow_queries_via_get=True,
            subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL],
            # Avatar uploads (GraphQL multipart request spec); CSRF-guarded in parse_http_body.
            multipart_uploads_enabled=True,
        )
        self.settings = settings
        self.session_factory = session_factory
        self.broker = broker
        self.identity = identity

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        context = Context(
            settings=self.settings,
            session_factory=self.session_factory,
            broker=self.broker,
            loaders=create_loaders(self.session_factory),
            request_id=request_id_of(request),
            request=request,
            response=response,
            identity=self.identity,
        )
        if isinstance(request, Request):
            try:
                token = bearer_token(request.headers.get("authorization"))
                context.viewer = await authenticate(self.settings, self.identity.denylist, token)
            except InvalidToken as error:
                context.credentials_error = str(error)
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Sockets authenticate once, in `connection_init`, with the same code as HTTP."""
        try:
            token = token_from_connection_params(context.connection_params)
            context.viewer = await authenticate(self.settings, self.identity.denylist, token)
        except InvalidToken as error:
            raise ConnectionRejectionError(
                {"code": UNAUTHENTICATED, "message": str(error)}
            ) from error
        acknowledge_without_payload: UnsetType = UNSET
        return acknowledge_without_payload

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        # Apollo's CSRF rule: a browser sends multipart (or text/plain, form-encoded) across sites
        # without a preflight; it cannot add a custom header without one. Refused before parsing.
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        if request.method == "POST" and content_type in _SIMPLE_CONTENT_TYPES:
            headers = request.headers
            if not any(headers.get(name, "").strip() for name in _PREFLIGHT_HEADERS):
                raise HTTPException(
                    400,
                    "This request needs a non-empty 'x-apollo-operation-name' or "
                    "'apollo-require-preflight' header (CSRF protection).",
                )
        return await super().parse_http_body(request)

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
        try:
            return await super().execute_operation(
                request, request_adapter, request_data, context, root_value, sub_response
            )
        finally:
            await _close_uploads(request_data)

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
