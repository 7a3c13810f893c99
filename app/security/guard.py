"""The schema extension that refuses operations before they run, on every transport.

Tokens are the parser's own limit; size, depth, aliases, directives and root fields one cached
validation rule; then, per request, trusted documents (when on), the cost, and the rate
limits: the request's address (`ip`, handed over by RateLimitMiddleware) and the signed-in user's
(`user`, in cost units), both in one limiter call: one Redis round trip per request.
Refusals are GraphQL errors with a code (QUERY_TOO_DEEP, QUERY_TOO_COMPLEX, RATE_LIMITED, ...),
`extensions.cost` reports the computed cost when the request asks (`"extensions": {"cost": true}`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError, ValidationRule
from starlette.responses import Response
from strawberry.extensions import SchemaExtension

from app.db.engine import SessionFactory
from app.security.cost import find_operation, operation_cost
from app.security.limits import (
    QUERY_TOO_COMPLEX,
    QueryLimits,
    collapse_errors,
    document_limits_rule,
    limit_error,
)
from app.security.persisted import (
    PERSISTED_QUERY_NOT_IN_LIST,
    PersistedOperations,
    persisted_error,
)
from app.security.rate_limits import (
    AddressLimit,
    RateLimiter,
    address_limit,
    limited,
    set_retry_after,
)
from app.settings import Settings
from schema.errors import ApiError
from services.identity import Identity
from services.throttle import RedisThrottle


@dataclass
class Security:
    """Per-process state the guard needs; the view puts it on every Context."""

    rate_limiter: RateLimiter
    persisted: PersistedOperations


def build_security(
    settings: Settings, session_factory: SessionFactory, identity: Identity
) -> Security:
    throttle = identity.throttle
    client = throttle.client if isinstance(throttle, RedisThrottle) else None
    return Security(
        rate_limiter=RateLimiter(settings, throttle),
        persisted=PersistedOperations(settings, session_factory, client),
    )


class OperationGuard(SchemaExtension):
    def __init__(self, *, limits: QueryLimits, rule: type[ValidationRule]) -> None:
        self.limits = limits
        self.rule = rule
        self.cost: int | None = None
        self.max_cost = limits.cost

    @classmethod
    def factory(cls, limits: QueryLimits) -> Any:
        rule = document_limits_rule(limits)  # one class per schema: validation stays cached

        def build() -> OperationGuard:
            return cls(limits=limits, rule=rule)

        return build

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.limits.parse_tokens(context.query)
        context.validation_rules = (*context.validation_rules, self.rule)
        yield

    def on_validate(self) -> Iterator[None]:
        # ValidationCache (earlier in the list) has validated by now: collapse its errors into
        # new objects rather than touch the cached list.
        errors = self.execution_context.pre_execution_errors
        if errors:
            self.execution_context.pre_execution_errors = collapse_errors(errors)
        yield

    async def on_execute(self) -> AsyncIterator[None]:
        # A refusal here is a result set before execution, not an exception: execution is then
        # skipped and every extension's hooks still close normally.
        context = self.execution_context
        try:
            await self._admit()
        except GraphQLError as error:
            context.result = GraphQLExecutionResult(data=None, errors=[error])
        except ApiError as error:
            context.result = GraphQLExecutionResult(
                data=None, errors=[GraphQLError(error.message, original_error=error)]
            )
        yield

    async def _admit(self) -> None:
        context = self.execution_context
        security = _security(context.context)
        query = context.query
        persisted = security.persisted if security is not None else None
        if (
            persisted is not None
            and persisted.mode == "trusted"
            and query is not None
            and not await persisted.is_trusted(query)
        ):
            raise persisted_error(
                "only registered operations may run here", PERSISTED_QUERY_NOT_IN_LIST
            )
        document = context.graphql_document
        if document is None:
            return
        operation = find_operation(document, context.operation_name)
        limits = self.limits
        if operation is not None:
            limits = limits.for_operation(document, operation)
        self.max_cost = limits.cost
        self.cost = operation_cost(
            context.schema._schema, document, context.operation_name, context.variables
        )
        if self.cost > limits.cost:
            raise limit_error(
                f"The operation costs {self.cost}; at most {limits.cost} is allowed.",
                QUERY_TOO_COMPLEX,
                cost=self.cost,
                maximumCost=limits.cost,
            )
        # Introspection is answered from memory: one unit, not one per 100 of its large cost.
        await _limit(context.context, self.cost if limits is self.limits else 0)

    def get_results(self) -> dict[str, Any]:
        requested = (self.execution_context.operation_extensions or {}).get("cost")
        if not requested or self.cost is None:
            return {}
        return {"cost": {"requestedQueryCost": self.cost, "maximumQueryCost": self.max_cost}}


def _security(context: Any) -> Security | None:
    security = getattr(context, "security", None)
    return security if isinstance(security, Security) else None


async def _limit(context: Any, cost: int) -> None:
    """The request's address unit (if not taken yet) and the viewer's cost units, in one call."""
    security = _security(context)
    if security is None:
        return
    limiter = security.rate_limiter
    request = getattr(context, "request", None)
    address = address_limit(getattr(request, "scope", None))
    key = address.take() if address is not None else None
    viewer = getattr(context, "viewer", None)
    checks: list[tuple[str, str, int]] = []
    if key is not None:
        checks.append(("ip", key, 1))
    if viewer is not None:
        checks.append(("user", str(viewer.user_id), limiter.units(cost)))
    if not checks:
        return
    decisions = await limiter.check_many(checks)  # both buckets fail open
    if key is not None:
        refused = decisions.pop(0)
        if refused is not None and not refused.allowed:
            assert address is not None
            _refuse_address(address, refused)
    if viewer is None or decisions[0] is None or decisions[0].allowed:
        return
    error = limited(decisions[0])
    set_retry_after(context, error)
    response = getattr(context, "response", None)
    if isinstance(response, Response):  # the whole operation is refused: say so in HTTP
        response.status_code = 429
    raise error


def _refuse_address(address: AddressLimit, decision: Any) -> None:
    """Nothing runs; RateLimitMiddleware answers 429 for the address instead of this response."""
    address.refusal = decision
    raise limited(decision)
