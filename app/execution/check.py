"""Differential execution (EXECUTION_CHECK=true): every operation runs on both executors.

The compiled executor runs first and its result is what the client gets. Then graphql-core's
executor runs the same operation on a copy of the executor state, and the two responses (data,
and errors with message, path, locations and extensions) must be identical, or
`ExecutionMismatch` is raised (and the request fails loudly).

Root fields are resolved once: the compiled run records each root resolver's outcome (value or
exception) and the reference run replays it through a resolver middleware, so a mutation's
side effects happen once and both runs complete the same root values. Everything below the root
resolves twice (per-request DataLoaders answer the second time from their cache).

Errors are compared as a multiset ordered by path and message: sibling awaitables settle in
scheduling order, which differs between the executors without changing the response's meaning.
"""

from __future__ import annotations

import logging
from collections import Counter
from copy import copy
from typing import Any

from graphql import ExecutionResult, GraphQLResolveInfo
from graphql.execution.executor import CollectedErrors, Executor
from graphql.execution.middleware import MiddlewareManager

from app.execution.executor import CompiledExecutor
from app.execution.plan import FieldPlan, OperationPlan

ResolveInfo = GraphQLResolveInfo[Any]
logger = logging.getLogger(__name__)

# Operations compared and mismatches found in this process (tests assert the check ran).
check_counts: Counter[str] = Counter()


class ExecutionMismatch(AssertionError):
    """The compiled executor and graphql-core answered the same operation differently."""


class _Recorded:
    __slots__ = ("error", "value")

    def __init__(self) -> None:
        self.value: Any = None
        self.error: BaseException | None = None


class _Replay:
    """Resolver middleware for the reference run: root fields answer what was recorded."""

    def __init__(self, recorded: dict[str, _Recorded]) -> None:
        self.recorded = recorded

    def resolve(self, next_: Any, source: Any, info: ResolveInfo, **arguments: Any) -> Any:
        path = info.path
        if path.prev is None and path.key in self.recorded:
            outcome = self.recorded[path.key]
            if outcome.error is not None:
                raise outcome.error
            return outcome.value
        return next_(source, info, **arguments)


class CheckedExecutor(CompiledExecutor):
    """The compiled executor, checked against graphql-core's on every operation."""

    _recorded: dict[str, _Recorded]

    def execute_plan(self, plan: OperationPlan, serially: bool | None = None) -> Any:
        self._recorded = {}
        reference = copy(self)  # before execution: no state from the compiled run
        compiled = super().execute_plan(plan, serially)
        if self.is_awaitable(compiled):
            return self._compare_later(compiled, reference, serially)
        expected = self._reference(reference, serially)
        if self.is_awaitable(expected):
            return self._compare_later(compiled, reference, serially, expected)
        self._compare(compiled, expected)
        return compiled

    async def _compare_later(
        self, compiled: Any, reference: Executor[Any], serially: bool | None, expected: Any = None
    ) -> Any:
        if self.is_awaitable(compiled):
            compiled = await compiled
        if expected is None:
            expected = self._reference(reference, serially)
        if self.is_awaitable(expected):
            expected = await expected
        self._compare(compiled, expected)
        return compiled

    def _reference(self, reference: Executor[Any], serially: bool | None) -> Any:
        reference.collected_errors = CollectedErrors()
        reference._relevant_sub_fields = {}
        reference.middleware_manager = MiddlewareManager(_Replay(self._recorded))
        return Executor.execute_operation(reference, serially)

    def resolve_field(
        self,
        field: FieldPlan,
        resolve: Any,
        source: Any,
        info: ResolveInfo,
        arguments: dict[str, Any],
    ) -> Any:
        if info.path.prev is not None:
            return resolve(source, info, **arguments)
        outcome = self._recorded[field.key] = _Recorded()
        try:
            value = resolve(source, info, **arguments)
        except Exception as error:
            outcome.error = error
            raise
        if self.is_awaitable(value):
            return self._record(outcome, value)
        outcome.value = value
        return value

    @staticmethod
    async def _record(outcome: _Recorded, value: Any) -> Any:
        try:
            outcome.value = await value
        except Exception as error:
            outcome.error = error
            raise
        return outcome.value

    def _compare(self, compiled: ExecutionResult, expected: ExecutionResult) -> None:
        check_counts["compared"] += 1
        ours, theirs = _comparable(compiled), _comparable(expected)
        if ours != theirs:
            check_counts["mismatched"] += 1
            operation = self.operation.name.value if self.operation.name else "(anonymous)"
            logger.error(
                "compiled execution differs from graphql-core for %s: %r != %r",
                operation,
                ours,
                theirs,
            )
            msg = f"compiled execution of {operation} differs: {ours!r} != {theirs!r}"
            raise ExecutionMismatch(msg)


def _comparable(result: ExecutionResult) -> tuple[Any, list[Any]]:
    errors = [error.formatted for error in result.errors or ()]
    errors.sort(key=lambda error: (repr(error.get("path")), error["message"]))
    return result.data, errors
