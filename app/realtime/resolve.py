"""Executing a subscription's selection against one event: once per group, then serialized once.

`resolve_event` is the single place an event becomes a result. Today it runs graphql-core with
strawberry's own schema, resolvers and executor class (DataLoaders and database reads included);
a faster executor (issue 17's compiled one) replaces this function and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from graphql import DocumentNode, ExecutionResult, GraphQLError, OperationDefinitionNode
from graphql.pyutils import is_awaitable
from strawberry import Schema


@dataclass(frozen=True, slots=True)
class Selection:
    """What a group executes for every event: one subscription operation and its variables."""

    schema: Schema
    document: DocumentNode
    operation_name: str | None
    variables: dict[str, Any]

    @classmethod
    def of(cls, schema: Schema, info: Any, variables: dict[str, Any] | None) -> Selection:
        """From the root field's resolve info (the document as strawberry parsed it) and the
        variables as the client sent them (they are coerced again for every event)."""
        raw = info._raw_info
        operation: OperationDefinitionNode = raw.operation
        document = DocumentNode(definitions=(operation, *raw.fragments.values()))
        name = operation.name.value if operation.name else None
        return cls(schema, document, name, dict(variables or {}))


async def resolve_event(selection: Selection, root: Any, context: Any) -> ExecutionResult:
    """The subscription's selection set executed with `root` as the root field's value.

    A fresh executor per event: graphql-core's per-event executors share one field-collection
    cache that gains an entry per event and never forgets (memory grew with every event).
    """
    executor_class: Any = selection.schema.execution_context_class
    executor = executor_class.build(
        selection.schema._schema,
        selection.document,
        root_value=root,
        context_value=context,
        raw_variable_values=selection.variables,
        operation_name=selection.operation_name,
    )
    if isinstance(executor, list):  # variables no longer coerce: report, do not raise
        return ExecutionResult(None, errors=executor)
    result = executor.execute_operation(False)
    if is_awaitable(result):
        result = await result
    assert isinstance(result, ExecutionResult)
    return result


def payload_json(result: ExecutionResult, errors: Any = None) -> str:
    """`{"data": ..., "errors": [...]}` as JSON text, serialized once for every socket."""
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        formatter = getattr(errors, "apply", None)
        if formatter is not None:
            errors.apply(result, "")
        body["errors"] = [error.formatted for error in result.errors]
    return orjson.dumps(body).decode()


def error_json(message: str, code: str) -> list[dict[str, Any]]:
    error = GraphQLError(message, extensions={"code": code})
    return [dict(error.formatted)]
