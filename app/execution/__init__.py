"""Compiled execution of validated GraphQL operations (issue 17, item 1).

`plan.py` works out once per operation what graphql-core would work out per request;
`executor.py` executes that plan with graphql-core's semantics; `check.py` runs both executors
and compares them (EXECUTION_CHECK). `executor_class(settings)` picks the schema's executor.
"""

from __future__ import annotations

from app.execution.check import CheckedExecutor, ExecutionMismatch, check_counts
from app.execution.executor import CompiledExecutor
from app.settings import Settings

__all__ = [
    "CheckedExecutor",
    "CompiledExecutor",
    "ExecutionMismatch",
    "check_counts",
    "executor_class",
]


def executor_class(settings: Settings | None) -> type[CompiledExecutor] | None:
    """The executor for these settings; None keeps strawberry's (graphql-core's) executor."""
    if settings is None:
        return CompiledExecutor
    if settings.execution_check:
        return CheckedExecutor
    return CompiledExecutor if settings.compiled_execution else None
