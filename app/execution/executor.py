"""The compiled executor: graphql-core's algorithm, run over a cached plan.

`CompiledExecutor` is the schema's executor class (strawberry's `execution_context_class`), so
queries, mutations, subscription events (strawberry's own and the grouped fan-out in
`app/realtime/resolve.py`) all come through `execute_operation`. For an operation with a plan
(`app/execution/plan.py`) it executes the plan; anything else runs graphql-core unchanged.

What the plan saves, per request: field collection (once per operation, not per object), a
`GraphQLResolveInfo` and a response `Path` for fields that are plain attributes (built only when
such a field fails), argument coercion for fields without arguments, and leaf serialization for
scalars that already are of the right Python type. What it keeps: every real resolver is called
with graphql-core's info and arguments; awaitable results are awaited exactly where graphql-core
awaits them (one gather per object and per list, so DataLoaders batch as before); errors are
located, null-propagated and collected through graphql-core's own `handle_field_error` and
`CollectedErrors`; rare shapes (async iterables, awaitable `is_type_of` / `resolve_type`) are
handed to graphql-core's methods mid-tree.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from graphql import (
    GraphQLAbstractType,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    OperationDefinitionNode,
    OperationType,
    Undefined,
    is_abstract_type,
    is_leaf_type,
)
from graphql.execution.executor import Executor, invalid_return_type_error
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, gather_with_cancel
from strawberry import relay
from strawberry.relay.utils import to_base64
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from app.execution.plan import (
    _VERBATIM,
    ATTRIBUTE,
    NODE_ID,
    TYPENAME,
    FieldPlan,
    ObjectPlan,
    OperationPlan,
    build_operation_plan,
)

ResolveInfo = GraphQLResolveInfo[Any]
PLAN_CACHE_SIZE = 1024
# (id(schema), id(operation)) -> (schema, operation, plan or None): the objects are kept so
# their ids cannot be reused while the entry lives.
_plans: dict[tuple[int, int], tuple[Any, OperationDefinitionNode, OperationPlan | None]] = {}
# Node classes whose global id strawberry's `Node._id` builds from an attribute (they keep
# Node's own `resolve_id` and `resolve_typename`): class -> that attribute; None: not such.
_node_id_attributes: dict[type, str | None] = {}
_NODE_RESOLVE_ID = relay.Node.__dict__["resolve_id"].__func__
_NODE_RESOLVE_TYPENAME = relay.Node.__dict__["resolve_typename"].__func__


def node_id_attribute(cls: type) -> str | None:
    if cls not in _node_id_attributes:
        plain = (
            issubclass(cls, relay.Node)
            and getattr(cls.resolve_id, "__func__", None) is _NODE_RESOLVE_ID
            and getattr(cls.resolve_typename, "__func__", None) is _NODE_RESOLVE_TYPENAME
        )
        _node_id_attributes[cls] = cls.resolve_id_attr() if plain else None  # type: ignore[attr-defined]
    return _node_id_attributes[cls]


def cached_plan(executor: Executor[Any]) -> OperationPlan | None:
    schema, operation = executor.schema, executor.operation
    key = (id(schema), id(operation))
    entry = _plans.get(key)
    if entry is not None and entry[0] is schema and entry[1] is operation:
        return entry[2]
    plan = build_operation_plan(
        schema, operation, executor.fragments, executor.variable_values, executor.hide_suggestions
    )
    if len(_plans) >= PLAN_CACHE_SIZE:
        del _plans[next(iter(_plans))]
    _plans[key] = (schema, operation, plan)
    return plan


class CompiledExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor class, executing planned operations from their plan."""

    _plan: OperationPlan

    def compiled_plan(self) -> OperationPlan | None:
        """The plan, when this execution may use it (else graphql-core runs)."""
        manager = self.middleware_manager
        if (
            self.abort_signal is not None
            or self.hooks is not None
            or not self.error_propagation
            or (manager is not None and manager.middlewares)
        ):
            return None
        return cached_plan(self)

    def execute_operation(self, serially: bool | None = None) -> Any:
        plan = self.compiled_plan()
        if plan is None:
            return super().execute_operation(serially)
        return self.execute_plan(plan, serially)

    def execute_plan(self, plan: OperationPlan, serially: bool | None = None) -> Any:
        self._plan = plan
        if serially is None:
            serially = self.operation.operation == OperationType.MUTATION
        try:
            if serially:
                data = self._execute_serially(plan.root, self.root_value)
            else:
                data = self._execute_object(plan.root, self.root_value, None)
        except GraphQLError as error:
            self.collected_errors.add(error, None)
            return self.build_response(None)
        if self.is_awaitable(data):
            return self._await_response(data)
        return self.build_response(data)

    async def _await_response(self, data: Awaitable[dict[str, Any]]) -> Any:
        try:
            completed = await data
        except GraphQLError as error:
            self.collected_errors.add(error, None)
            return self.build_response(None)
        return self.build_response(completed)

    # Fields ---------------------------------------------------------------------------------

    def _execute_serially(self, plan: ObjectPlan, source: Any) -> Any:
        results: dict[str, Any] = {}
        fields = plan.fields
        for index, field in enumerate(fields):
            value = self._execute_field(plan, field, source, None)
            if self.is_awaitable(value):
                return self._continue_serially(plan, source, results, index, value)
            results[field.key] = value
        return results

    async def _continue_serially(
        self, plan: ObjectPlan, source: Any, results: dict[str, Any], index: int, pending: Any
    ) -> dict[str, Any]:
        fields = plan.fields
        results[fields[index].key] = await pending
        for field in fields[index + 1 :]:
            value = self._execute_field(plan, field, source, None)
            if self.is_awaitable(value):
                value = await value
            results[field.key] = value
        return results

    def _execute_object(self, plan: ObjectPlan, source: Any, path: Path | None) -> Any:
        results: dict[str, Any] = {}
        awaitable_keys: list[str] = []
        is_awaitable = self.is_awaitable
        try:
            for field in plan.fields:
                key = field.key
                if field.kind is ATTRIBUTE:  # the hot case: a plain attribute
                    try:
                        value = getattr(source, field.attribute)
                    except Exception as raw_error:
                        field_path = Path(path, key, plan.type.name)
                        self.handle_field_error(
                            raw_error, field.return_type, field.details, field_path
                        )
                        results[key] = None
                        continue
                    verbatim = field.verbatim
                    if verbatim is not None and verbatim(value):
                        results[key] = value
                        continue
                    if value is None and field.nullable_leaf:
                        results[key] = None
                        continue
                    value = self._complete_field(
                        field, Path(path, key, plan.type.name), value, None
                    )
                elif field.kind is TYPENAME:
                    results[key] = plan.type.name
                    continue
                elif field.kind is NODE_ID and (node_id := self._node_id(source)) is not None:
                    # What `Node._id` and the GlobalID scalar make of it, without the resolver.
                    results[key] = to_base64(plan.type.name, node_id)
                    continue
                else:
                    value = self._execute_field(plan, field, source, path)
                results[key] = value
                if is_awaitable(value):
                    awaitable_keys.append(key)
        except Exception:
            if awaitable_keys:
                self.settle_in_background([results[key] for key in awaitable_keys])
            raise
        if not awaitable_keys:
            return results
        return self._gather_fields(results, awaitable_keys)

    @staticmethod
    def _node_id(source: Any) -> str | None:
        attribute = node_id_attribute(type(source))
        if attribute is None:
            return None
        value = getattr(source, attribute, None)
        return None if value is None else str(value)

    async def _gather_fields(self, results: dict[str, Any], keys: list[str]) -> dict[str, Any]:
        if len(keys) == 1:
            results[keys[0]] = await results[keys[0]]
        else:
            awaited = await gather_with_cancel(*(results[key] for key in keys))
            results.update(zip(keys, awaited, strict=True))
        return results

    def _execute_field(
        self, plan: ObjectPlan, field: FieldPlan, source: Any, path: Path | None
    ) -> Any:
        """One field with a resolver (or any field of a serially executed root)."""
        field_path = Path(path, field.key, plan.type.name)
        if field.kind is TYPENAME:
            return plan.type.name
        info = self.build_resolve_info(field.field_def, field.nodes, plan.type, field_path)
        try:
            if field.kind is ATTRIBUTE:
                value = getattr(source, field.attribute)
            else:
                first = field.details[0]
                arguments = (
                    get_argument_values(
                        field.field_def,
                        first.node,
                        self.variable_values,
                        first.fragment_variable_values,
                        self.hide_suggestions,
                    )
                    if field.has_arguments
                    else {}
                )
                resolve = field.resolve or self.field_resolver
                value = self.resolve_field(field, resolve, source, info, arguments)
            if self.is_awaitable(value):
                return self._complete_awaitable(
                    field, field.return_type, field_path, value, info, field_path
                )
        except Exception as raw_error:
            self.handle_field_error(raw_error, field.return_type, field.details, field_path)
            return None
        verbatim = field.verbatim
        if verbatim is not None and verbatim(value):
            return value
        return self._complete_field(field, field_path, value, info)

    def resolve_field(
        self,
        field: FieldPlan,
        resolve: Any,
        source: Any,
        info: ResolveInfo,
        arguments: dict[str, Any],
    ) -> Any:
        """Call the field's resolver (the differential check records root fields here)."""
        return resolve(source, info, **arguments)

    async def _complete_awaitable(
        self,
        field: FieldPlan,
        return_type: GraphQLOutputType,
        path: Path,
        value: Any,
        info: ResolveInfo | None,
        field_path: Path,
    ) -> Any:
        """graphql-core's `complete_awaitable_value` (and list item twin), over the plan."""
        try:
            resolved = await value
            completed = self._complete(field, return_type, path, resolved, info, field_path)
            if self.is_awaitable(completed):
                completed = await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field.details, path)
            return None
        return completed

    def _complete_field(
        self, field: FieldPlan, path: Path, value: Any, info: ResolveInfo | None
    ) -> Any:
        try:
            completed = self._complete(field, field.return_type, path, value, info, path)
        except Exception as raw_error:
            self.handle_field_error(raw_error, field.return_type, field.details, path)
            return None
        if self.is_awaitable(completed):
            return self._await_completed(field, field.return_type, path, completed)
        return completed

    async def _await_completed(
        self, field: FieldPlan, return_type: GraphQLOutputType, path: Path, completed: Any
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field.details, path)
            return None

    # Completion -----------------------------------------------------------------------------

    def _info(self, field: FieldPlan, field_path: Path) -> ResolveInfo:
        return self.build_resolve_info(field.field_def, field.nodes, field.parent_type, field_path)

    def _complete(
        self,
        field: FieldPlan,
        return_type: GraphQLOutputType,
        path: Path,
        value: Any,
        info: ResolveInfo | None,
        field_path: Path,
    ) -> Any:
        """graphql-core's `complete_value`, over the plan."""
        if isinstance(value, Exception):
            raise value
        if isinstance(return_type, GraphQLNonNull):
            completed = self._complete(field, return_type.of_type, path, value, info, field_path)
            if completed is None:
                field_name = field.nodes[0].name.value
                msg = f"Cannot return null for non-nullable field {field.parent_type}.{field_name}."
                raise TypeError(msg)
            return completed
        if value is None or value is Undefined:
            return None
        if isinstance(return_type, GraphQLList):
            return self._complete_list(field, return_type, path, value, info, field_path)
        if is_leaf_type(return_type):
            verbatim = _VERBATIM.get(return_type.name)
            if verbatim is not None and verbatim(value):
                return value
            return self.complete_leaf_value(return_type, value)
        if info is None:
            info = self._info(field, field_path)
        if is_abstract_type(return_type):
            return self._complete_abstract(field, return_type, path, value, info)
        assert isinstance(return_type, GraphQLObjectType)
        return self._complete_object(field, return_type, path, value, info)

    def _complete_abstract(
        self,
        field: FieldPlan,
        return_type: GraphQLAbstractType,
        path: Path,
        value: Any,
        info: ResolveInfo,
    ) -> Any:
        resolve_type = return_type.resolve_type or self.type_resolver
        runtime_type = resolve_type(value, info, return_type)
        if self.is_awaitable(runtime_type):
            return super().complete_abstract_value(
                return_type, field.details, info, path, value, None
            )
        object_type = self.ensure_valid_runtime_type(
            runtime_type, return_type, field.details, info, value
        )
        return self._complete_object(field, object_type, path, value, info)

    def _complete_object(
        self,
        field: FieldPlan,
        object_type: GraphQLObjectType,
        path: Path,
        value: Any,
        info: ResolveInfo,
    ) -> Any:
        plan = self._plan.sub_plan(field, object_type, self.fragments, self.variable_values)
        is_type_of = plan.is_type_of
        if is_type_of is not None:
            matches = is_type_of(value, info)
            if self.is_awaitable(matches):
                return super().complete_object_value(
                    object_type, field.details, info, path, value, None
                )
            if not matches:
                raise invalid_return_type_error(object_type, value, field.details)
        return self._execute_object(plan, value, path)

    def _complete_list(
        self,
        field: FieldPlan,
        return_type: GraphQLList[Any],
        path: Path,
        value: Any,
        info: ResolveInfo | None,
        field_path: Path,
    ) -> Any:
        if not isinstance(value, list | tuple):  # generators, async iterables, non-iterables
            return super().complete_list_value(
                return_type,
                field.details,
                info or self._info(field, field_path),
                path,
                value,
                None,
            )
        item_type = return_type.of_type
        is_awaitable = self.is_awaitable
        completed: list[Any] = []
        append = completed.append
        awaitable_indices: list[int] = []
        try:
            for index, item in enumerate(value):
                item_path = Path(path, index, None)
                if is_awaitable(item):
                    append(
                        self._complete_awaitable(
                            field, item_type, item_path, item, info, field_path
                        )
                    )
                    awaitable_indices.append(index)
                    continue
                try:
                    result = self._complete(field, item_type, item_path, item, info, field_path)
                except Exception as raw_error:
                    self.handle_field_error(raw_error, item_type, field.details, item_path)
                    append(None)
                    continue
                if is_awaitable(result):
                    append(self._await_completed(field, item_type, item_path, result))
                    awaitable_indices.append(index)
                else:
                    append(result)
        except Exception:
            if awaitable_indices:
                self.settle_in_background([completed[index] for index in awaitable_indices])
            raise
        if not awaitable_indices:
            return completed
        return self._gather_items(completed, awaitable_indices)

    async def _gather_items(self, completed: list[Any], indices: list[int]) -> list[Any]:
        if len(indices) == 1:
            completed[indices[0]] = await completed[indices[0]]
        else:
            awaited = await gather_with_cancel(*(completed[index] for index in indices))
            for index, item in zip(indices, awaited, strict=True):
                completed[index] = item
        return completed
