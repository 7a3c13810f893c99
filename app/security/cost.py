"""Static cost of an operation, computed before execution (strawberry has no cost analysis).

A leaf field costs 1 and a field returning an object 2, plus its selections; a field taking
`first`/`last` multiplies its selections by that number, and a list of objects without one by its
declared size (the length of a list argument such as `ids`, else DEFAULT_LIST_SIZE). Lists inside
a connection are already counted by the connection's `first`. Fragments on several types all
count: the figure is an upper bound. `__typename` is free.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_leaf_type,
    value_from_ast_untyped,
)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef

DEFAULT_LIST_SIZE = 10
PAGE_ARGUMENTS = ("first", "last")
# Lists whose size is known better than the default: "Type.field" -> items.
DECLARED_LIST_SIZES: dict[str, int] = {}


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
) -> int:
    operation = find_operation(document, operation_name)
    if operation is None:
        return 0
    root = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }[operation.operation]
    if root is None:
        return 0
    return _Costing(schema, document, variables or {}).selections(operation.selection_set, root)


def find_operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    """The operation a request runs: the one named, or the only one."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((op for op in operations if op.name and op.name.value == name), None)


class _Costing:
    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any]
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.in_progress: set[str] = set()

    def selections(self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType) -> int:
        total = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selections(selection.selection_set, target or parent)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value)
        return total

    def fragment(self, name: str) -> int:
        fragment = self.fragments.get(name)
        if fragment is None or name in self.in_progress:
            return 0
        target = self.schema.get_type(fragment.type_condition.name.value)
        if target is None:
            return 0
        self.in_progress.add(name)
        try:
            return self.selections(fragment.selection_set, target)
        finally:
            self.in_progress.discard(name)

    def field(self, node: FieldNode, parent: GraphQLNamedType) -> int:
        name = node.name.value
        definition = _field_definition(self.schema, parent, name)
        if definition is None:  # __typename, or a field validation refuses
            return 0
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 1
        inner = self.selections(node.selection_set, named)
        return 2 + self.multiplier(node, definition, parent) * inner

    def multiplier(self, node: FieldNode, definition: GraphQLField, parent: Any) -> int:
        arguments = {argument.name.value: argument.value for argument in node.arguments or ()}
        pages = [
            value_from_ast_untyped(arguments[name], self.variables)
            for name in PAGE_ARGUMENTS
            if name in arguments
        ]
        sizes = [value for value in pages if isinstance(value, int) and value >= 0]
        if sizes:
            return max(sizes)
        if pages:  # first/last given but unknown (a missing variable): assume the default
            return DEFAULT_LIST_SIZE
        if not _is_list(definition.type) or parent.name.endswith("Connection"):
            return 1
        declared = DECLARED_LIST_SIZES.get(f"{parent.name}.{node.name.value}")
        if declared is not None:
            return declared
        for value_node in arguments.values():
            value = value_from_ast_untyped(value_node, self.variables)
            if isinstance(value, list):
                return len(value)
        return DEFAULT_LIST_SIZE


def _field_definition(
    schema: GraphQLSchema, parent: GraphQLNamedType, name: str
) -> GraphQLField | None:
    if name == "__schema" and parent is schema.query_type:
        return SchemaMetaFieldDef
    if name == "__type" and parent is schema.query_type:
        return TypeMetaFieldDef
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        field: GraphQLField | None = parent.fields.get(name)
        return field
    return None


def _is_list(type_: Any) -> bool:
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)
