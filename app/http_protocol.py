"""GraphQL over HTTP (the GraphQL-over-HTTP draft spec) around strawberry's view.

- Media types: a client that accepts `application/graphql-response+json` (newer Apollo Client,
  urql) gets it, and with it the spec's status codes: 400 without `data` when the request fails
  to parse, validate or coerce its variables. `application/json`, `*/*` or no Accept header get
  `application/json` and 200 for those, as before. A client that accepts neither gets 406.
- Every request refused before execution answers the GraphQL shape,
  `{"errors": [{"message", "extensions": {"code"}}]}`, never plain text: invalid bodies and
  CSRF refusals 400, wrong methods 405 (mutations over GET too), unacceptable media types 406,
  unsupported content types 415; the middleware's 413 and 429 use the same shape.
- Bodies are decoded strictly (app/request_bodies.py).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, process_result
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult

from app.request_bodies import BodyError, VariableLimits, operation_problem, parse_body
from app.security import limits
from app.security.csrf import CSRF_MESSAGE, is_csrf_risk
from app.settings import Settings
from schema.errors import BAD_USER_INPUT, GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
# Codes of refusals made before execution, by HTTP status (Apollo's vocabulary where it has one).
REFUSAL_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
}
# Errors of a request that failed before execution: parsing (and its token limit), validation
# (and the document limits, cost included), and variable coercion (BAD_USER_INPUT without a path).
REQUEST_ERROR_CODES = frozenset(
    {
        GRAPHQL_PARSE_FAILED,
        GRAPHQL_VALIDATION_FAILED,
        BAD_USER_INPUT,
        limits.TOO_MANY_TOKENS,
        limits.QUERY_TOO_LARGE,
        limits.QUERY_TOO_DEEP,
        limits.TOO_MANY_ALIASES,
        limits.TOO_MANY_DIRECTIVES,
        limits.TOO_MANY_ROOT_FIELDS,
        limits.QUERY_TOO_COMPLEX,
    }
)
_MEDIA_TYPE = "graphql_media_type"
_REQUEST_ERROR = "graphql_request_error"

Run = Callable[[Request], Awaitable[Response]]


@functools.lru_cache(maxsize=256)  # clients send a handful of distinct Accept headers
def negotiate(accept: str | None) -> str | None:
    """The response media type for an Accept header; None when it accepts neither of ours.

    The highest q wins; on a tie, the one listed first (Apollo Client and urql list
    `application/graphql-response+json` first)."""
    if accept is None or not accept.strip():
        return JSON
    chosen, chosen_q = None, 0.0
    for part in accept.split(","):
        media, *parameters = (piece.strip() for piece in part.split(";"))
        candidate = {
            GRAPHQL_RESPONSE: GRAPHQL_RESPONSE,
            JSON: JSON,
            "application/*": JSON,
            "*/*": JSON,
        }.get(media.lower())
        quality = _quality(parameters)
        if candidate is not None and quality > chosen_q:
            chosen, chosen_q = candidate, quality
    return chosen


def _quality(parameters: list[str]) -> float:
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def refusal(
    status: int,
    message: str,
    media_type: str = JSON,
    headers: Mapping[str, str] | None = None,
    **extensions: object,
) -> Response:
    error = {"message": message, "extensions": {"code": REFUSAL_CODES[status], **extensions}}
    return Response(
        orjson.dumps({"errors": [error]}),
        status_code=status,
        media_type=f"{media_type}; charset=utf-8",
        headers=dict(headers or {}),
    )


async def serve(run: Run, scope: Scope, receive: Receive, send: Send) -> None:
    """One HTTP request through strawberry's `run`, with negotiation and GraphQL-shaped refusals."""
    request = Request(scope, receive)
    accepted = negotiate(request.headers.get("accept"))
    media_type = accepted or JSON
    state = scope.setdefault("state", {})
    state[_MEDIA_TYPE] = media_type
    if accepted is None and not _browser_visit(request):
        response = refusal(
            406, f"Accept {GRAPHQL_RESPONSE} or {JSON}; this endpoint answers only those."
        )
    else:
        try:
            response = await run(request)
        except HTTPException as error:
            response = _refusal_for(error, request.method, media_type)
        else:
            _finish(response, media_type, state)
        finally:
            await request.close()  # a multipart form's spooled files, even when refused
    await response(scope, receive, send)


def _browser_visit(request: Request) -> bool:
    """GraphiQL's page: a GET without a query from something that takes HTML."""
    accept = request.headers.get("accept", "")
    return request.method == "GET" and "query" not in request.query_params and "text/html" in accept


def _refusal_for(error: HTTPException, method: str, media_type: str) -> Response:
    status, headers = error.status_code, {}
    if isinstance(error.__cause__, InvalidOperationTypeError) and method == "GET":
        status, headers = 405, {"Allow": "POST"}  # a mutation over GET
    elif status == 405:
        headers = {"Allow": "GET, POST"}
    if status not in REFUSAL_CODES:
        status = 400
    return refusal(status, error.reason, media_type, headers)


def _finish(response: Response, media_type: str, state: dict[str, Any]) -> None:
    if not response.headers.get("content-type", "").startswith(JSON):
        return  # GraphiQL's page
    response.headers["content-type"] = f"{media_type}; charset=utf-8"
    if media_type == GRAPHQL_RESPONSE and state.get(_REQUEST_ERROR) and response.status_code == 200:
        response.status_code = 400


def is_request_error(result: ExecutionResult) -> bool:
    """The document did not parse or validate, or the variables did not fit: nothing ran."""
    return (
        result.data is None
        and bool(result.errors)
        and all(_is_request_error(error) for error in result.errors or ())
    )


def _is_request_error(error: GraphQLError) -> bool:
    return error.path is None and (error.extensions or {}).get("code") in REQUEST_ERROR_CODES


def note_result(request: Request, result: object) -> None:
    """Called with the result of a single (not batched) operation."""
    if isinstance(result, ExecutionResult) and is_request_error(result):
        request.scope.setdefault("state", {})[_REQUEST_ERROR] = True


def response_body(request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
    body = process_result(result)
    state = request.scope.get("state", {})
    if state.get(_REQUEST_ERROR) and state.get(_MEDIA_TYPE) == GRAPHQL_RESPONSE:
        body.pop("data", None)  # the spec: no `data` when the request failed before execution
    return body


class RequestParser:
    """Turns an HTTP request into operations, or refuses it (HTTPException, answered as above)."""

    def __init__(self, settings: Settings) -> None:
        self.limits = VariableLimits.from_settings(settings)
        self.batch_max = settings.batch_max_operations if settings.batching else None

    async def parse(
        self,
        request: AsyncHTTPRequestAdapter,
        multipart: Callable[[AsyncHTTPRequestAdapter], Awaitable[object]],
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        # Apollo's CSRF rule (app/security/csrf.py), for GET and POST alike; before parsing.
        if is_csrf_risk(request.method, request.content_type, request.headers):
            raise HTTPException(400, CSRF_MESSAGE)
        data = await self._decoded(request, multipart)
        if isinstance(data, list):
            if self.batch_max is None:
                raise HTTPException(400, "Batching is not enabled")
            if len(data) > self.batch_max:
                raise HTTPException(400, f"Too many operations: at most {self.batch_max}")
            return [self._operation(item) for item in data]
        return self._operation(data)

    async def _decoded(
        self,
        request: AsyncHTTPRequestAdapter,
        multipart: Callable[[AsyncHTTPRequestAdapter], Awaitable[object]],
    ) -> object:
        if request.method == "GET":
            return _query_parameters(request.query_params)
        media_type, parameters = parse_content_type(request.content_type or "")
        if media_type == JSON:
            charset = parameters.get("charset", "utf-8").lower()
            if charset not in ("utf-8", "utf8"):
                raise HTTPException(415, f"Unsupported charset {charset!r}: send UTF-8")
            try:
                return parse_body(await request.get_body())
            except BodyError as error:
                raise HTTPException(400, str(error)) from error
        if media_type == "multipart/form-data":
            try:
                return await multipart(request)
            except (TypeError, ValueError, AttributeError, IndexError) as error:
                raise HTTPException(400, "The multipart request is malformed") from error
        raise HTTPException(415, f"Unsupported content type {media_type or 'none'!r}: send {JSON}")

    def _operation(self, data: object) -> GraphQLRequestData:
        problem = operation_problem(data, self.limits)
        if problem is not None:
            raise HTTPException(400, problem)
        assert isinstance(data, dict)
        return GraphQLRequestData(
            query=data.get("query"),
            variables=data.get("variables"),
            operation_name=data.get("operationName"),
            extensions=data.get("extensions"),
        )


def _query_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """GET: `query` and `operationName` as they are, `variables` and `extensions` as JSON."""
    data = dict(parameters)
    for name in ("variables", "extensions"):
        if data.get(name):
            try:
                data[name] = parse_body(data[name])
            except BodyError as error:
                raise HTTPException(
                    400, f"The `{name}` parameter is not valid JSON or nested too deep."
                ) from error
    return data
