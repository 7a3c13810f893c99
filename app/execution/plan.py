"""Execution plans: what a validated operation selects, worked out once and reused.

A plan is built per operation (the document's `OperationDefinitionNode`, which strawberry's
ParserCache hands back for a repeated query string) and describes, per object type reached, the
fields to execute in response order: graphql-core's own field collection (`collect_fields`,
`collect_subfields`), run once instead of once per request. Each field knows how it resolves (a
plain attribute read, `__typename`, or the field's real resolver) and how its value completes
(leaf scalars of the expected Python type are taken as they are).

Only operations whose field collection cannot depend on variables are planned: no `@skip` /
`@include` with a variable argument, no `@defer` / `@stream`, no fragment variables. Anything
else runs on graphql-core's executor unchanged (`plan_for` answers None).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    OperationDefinitionNode,
    VariableNode,
)
from graphql.execution.collect_fields import (
    FieldDetails,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.values import VariableValues
from graphql.language import DirectiveNode, FieldNode, Node
from graphql.type import TypeNameMetaFieldDef
from strawberry import relay

FieldDetailsList = list[FieldDetails]

# How a field gets its value.
ATTRIBUTE, TYPENAME, RESOLVER, NODE_ID = 0, 1, 2, 3
_NODE_ID_RESOLVER = relay.Node.__dict__["_id"].__func__

MAX_INT, MIN_INT = 2**31 - 1, -(2**31)


def _is_str(value: Any) -> bool:
    return type(value) is str


def _is_int(value: Any) -> bool:
    return type(value) is int and MIN_INT <= value <= MAX_INT


def _is_float(value: Any) -> bool:
    return type(value) is float and math.isfinite(value)


def _is_bool(value: Any) -> bool:
    return type(value) is bool


# Values that graphql-core's `coerce_output_value` would return unchanged: taken as they are.
_VERBATIM: dict[str, Callable[[Any], bool]] = {
    GraphQLString.name: _is_str,
    GraphQLID.name: _is_str,
    GraphQLInt.name: _is_int,
    GraphQLFloat.name: _is_float,
    GraphQLBoolean.name: _is_bool,
}


@dataclass(slots=True, eq=False)
class FieldPlan:
    key: str
    parent_type: GraphQLObjectType
    field_def: GraphQLField
    details: FieldDetailsList
    nodes: list[FieldNode]
    kind: int
    attribute: str
    resolve: Callable[..., Any] | None
    has_arguments: bool
    return_type: GraphQLOutputType
    # Set when the field is a (non-null) scalar read verbatim when its value passes the check.
    verbatim: Callable[[Any], bool] | None
    nullable_leaf: bool
    # Sub-selection plans per runtime object type, built on first use.
    children: dict[str, ObjectPlan] = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class ObjectPlan:
    type: GraphQLObjectType
    fields: list[FieldPlan]
    is_type_of: Callable[..., Any] | None
    # Strawberry's generated `is_type_of` ignores its `info` argument: no info is built for it.
    is_type_of_needs_info: bool


@dataclass(slots=True, eq=False)
class OperationPlan:
    """The root plan plus what building sub-plans needs."""

    operation: OperationDefinitionNode
    schema: GraphQLSchema
    root: ObjectPlan

    def sub_plan(
        self,
        plan: FieldPlan,
        object_type: GraphQLObjectType,
        fragments: dict[str, FragmentDetails],
        variable_values: VariableValues,
    ) -> ObjectPlan:
        """Variables and fragments are the current request's; collection does not depend on
        their values (see `plannable`), so the first request's sub-plan serves them all."""
        cached = plan.children.get(object_type.name)
        if cached is None:
            grouped, _defer, _forbidden = collect_subfields(
                self.schema,
                fragments,
                variable_values,
                self.operation,
                object_type,
                plan.details,
            )
            cached = plan.children[object_type.name] = object_plan(
                self.schema, object_type, grouped
            )
        return cached


def object_plan(
    schema: GraphQLSchema, object_type: GraphQLObjectType, grouped: dict[str, FieldDetailsList]
) -> ObjectPlan:
    fields = []
    for key, details in grouped.items():
        name = details[0].node.name.value
        field_def = schema.get_field(object_type, name)
        if field_def is None:  # graphql-core skips unknown fields the same way
            continue
        fields.append(_field_plan(key, object_type, field_def, details))
    is_type_of = object_type.is_type_of
    generated = is_type_of is not None and "_get_is_type_of" in is_type_of.__qualname__
    return ObjectPlan(object_type, fields, is_type_of, not generated)


def _field_plan(
    key: str, parent: GraphQLObjectType, field_def: GraphQLField, details: FieldDetailsList
) -> FieldPlan:
    node = details[0].node
    resolve = field_def.resolve
    definition = (field_def.extensions or {}).get("strawberry-definition")
    if field_def is TypeNameMetaFieldDef:
        kind, attribute = TYPENAME, ""
    elif (
        resolve is not None
        and getattr(resolve, "_is_default", False)
        and definition is not None
        and definition.base_resolver is None
        and definition.default_resolver is getattr
        and not definition.extensions
    ):
        kind, attribute = ATTRIBUTE, definition.python_name
    elif _is_node_id(resolve, definition):
        kind, attribute = NODE_ID, ""
    else:
        kind, attribute = RESOLVER, ""
    return_type = field_def.type
    verbatim = None
    nullable_leaf = False
    if isinstance(return_type, GraphQLNonNull) and isinstance(
        return_type.of_type, GraphQLScalarType
    ):
        verbatim = _VERBATIM.get(return_type.of_type.name)
    elif isinstance(return_type, GraphQLScalarType):
        verbatim = _VERBATIM.get(return_type.name)
        nullable_leaf = verbatim is not None
    return FieldPlan(
        key=key,
        parent_type=parent,
        field_def=field_def,
        details=details,
        nodes=[detail.node for detail in details],
        kind=kind,
        attribute=attribute,
        resolve=resolve,
        has_arguments=bool(field_def.args or node.arguments),
        return_type=return_type,
        verbatim=verbatim,
        nullable_leaf=nullable_leaf,
    )


def _is_node_id(resolve: Any, definition: Any) -> bool:
    """Strawberry's own `Node.id` resolver, unwrapped (no extensions, not instrumented)."""
    if definition is None or definition.base_resolver is None or definition.extensions:
        return False
    wrapped = getattr(definition.base_resolver.wrapped_func, "__func__", None)
    return (
        wrapped is _NODE_ID_RESOLVER
        and getattr(resolve, "__name__", "") == "_resolver"
        and not definition.permission_classes
    )


def plannable(operation: OperationDefinitionNode, fragments: dict[str, FragmentDetails]) -> bool:
    """Whether field collection is the same for every set of variables."""
    if any(details.variable_signatures for details in fragments.values()):
        return False
    nodes: list[Node] = [operation, *(details.definition for details in fragments.values())]
    while nodes:
        node = nodes.pop()
        for directive in getattr(node, "directives", None) or ():
            if not _static_directive(directive):
                return False
        selection_set = getattr(node, "selection_set", None)
        if selection_set is not None:
            nodes.extend(selection_set.selections)
    return True


def _static_directive(directive: DirectiveNode) -> bool:
    name = directive.name.value
    if name in ("defer", "stream"):
        return False
    if name in ("skip", "include"):
        return not any(isinstance(arg.value, VariableNode) for arg in directive.arguments or ())
    return True


def build_operation_plan(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDetails],
    variable_values: VariableValues,
    hide_suggestions: bool,
) -> OperationPlan | None:
    root_type = schema.get_root_type(operation.operation)
    if root_type is None or not plannable(operation, fragments):
        return None
    grouped, _defer, _forbidden = collect_fields(
        schema, fragments, variable_values, root_type, operation, hide_suggestions
    )
    root = object_plan(schema, root_type, grouped)
    return OperationPlan(operation, schema, root)
