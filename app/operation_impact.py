"""What a schema change does to the app's operations, beyond the field-level diff.

graphql's `find_breaking_changes` judges each field alone, so some changes it calls safe or only
dangerous still break a shipped document:
- a document that validated against the old schema no longer validates against the new one (for
  example a field made non-null on one member of a union while a document reads it on another
  under the same response name: the selections can no longer be merged);
- a type added to a union that a document selects only with fragments on other members: the new
  member reaches the app as `{__typename}` with nothing to show (a `... on UserError` fallback
  covers new errors);
- a changed default of an argument the document leaves out: the same request now asks for
  something else.
An enum value added to an enum a document reads is listed as dangerous, with the documents that
read it: their `switch` needs a default branch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    GraphQLEnumType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    SelectionSetNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    ast_from_value,
    get_named_type,
    print_ast,
    validate,
    visit,
)
from graphql.pyutils import Undefined

from app.client_operations import ClientOperation


@dataclass
class Usage:
    """What one document touches in the schema it was written against."""

    fields: set[tuple[str, str, frozenset[str]]] = field(default_factory=set)  # type, field, args
    unions: set[tuple[str, frozenset[str]]] = field(default_factory=set)  # union, fragment types
    enums_read: set[str] = field(default_factory=set)


@dataclass
class Impact:
    breaking: list[str] = field(default_factory=list)
    dangerous: list[str] = field(default_factory=list)


def usage_of(schema: GraphQLSchema, operation: ClientOperation) -> Usage:
    usage = Usage()
    type_info = TypeInfo(schema)

    class Collector(Visitor):
        def enter_field(self, node: FieldNode, *_: Any) -> None:
            parent = type_info.get_parent_type()
            if parent is not None:
                given = frozenset(argument.name.value for argument in node.arguments or ())
                usage.fields.add((parent.name, node.name.value, given))
            named = get_named_type(type_info.get_type())
            if isinstance(named, GraphQLEnumType):
                usage.enums_read.add(named.name)

        def enter_selection_set(self, node: SelectionSetNode, *_: Any) -> None:
            owner = get_named_type(type_info.get_type())
            if isinstance(owner, GraphQLUnionType):
                conditions = frozenset(
                    selection.type_condition.name.value
                    for selection in node.selections
                    if isinstance(selection, InlineFragmentNode) and selection.type_condition
                )
                usage.unions.add((owner.name, conditions))

    visit(operation.document, TypeInfoVisitor(type_info, Collector()))
    return usage


def impact(old: GraphQLSchema, new: GraphQLSchema, operations: list[ClientOperation]) -> Impact:
    found = Impact()
    for operation in operations:
        if validate(old, operation.document):
            continue  # not valid before the change: the operations check reports it
        label = f"{operation.name} ({operation.path})"
        found.breaking.extend(
            f"{label} no longer validates: {error.message}"
            for error in validate(new, operation.document)
        )
        usage = usage_of(old, operation)
        found.breaking.extend(_uncovered_union_members(old, new, usage, label))
        found.breaking.extend(_changed_defaults(old, new, usage, label))
        found.dangerous.extend(_enum_values_added(old, new, usage, label))
    return found


def _uncovered_union_members(
    old: GraphQLSchema, new: GraphQLSchema, usage: Usage, label: str
) -> list[str]:
    problems = []
    for union_name, conditions in sorted(usage.unions, key=lambda item: item[0]):
        before, after = old.get_type(union_name), new.get_type(union_name)
        if not isinstance(before, GraphQLUnionType) or not isinstance(after, GraphQLUnionType):
            continue  # a removed or retyped union fails validation above
        known = {member.name for member in before.types}
        for member in after.types:
            if member.name not in known and not _covered(member, conditions):
                problems.append(
                    f"{label}: {member.name} was added to union {union_name}, and the "
                    f"operation selects nothing on it (add a fragment, or one on an interface "
                    f"it implements such as UserError)"
                )
    return problems


def _covered(member: GraphQLObjectType, conditions: frozenset[str]) -> bool:
    return member.name in conditions or any(i.name in conditions for i in member.interfaces)


def _changed_defaults(
    old: GraphQLSchema, new: GraphQLSchema, usage: Usage, label: str
) -> list[str]:
    problems = []
    for type_name, field_name, given in sorted(usage.fields, key=lambda item: item[:2]):
        before, after = _field(old, type_name, field_name), _field(new, type_name, field_name)
        if before is None or after is None:
            continue
        for name, argument in before.args.items():
            changed = after.args.get(name)
            if name in given or changed is None:
                continue
            was, now = _default(argument), _default(changed)
            if was != now:
                problems.append(
                    f"{label}: {type_name}.{field_name}({name}:) default changed from "
                    f"{was} to {now} and the operation leaves it out"
                )
    return problems


def _enum_values_added(
    old: GraphQLSchema, new: GraphQLSchema, usage: Usage, label: str
) -> list[str]:
    notes = []
    for enum_name in sorted(usage.enums_read):
        before, after = old.get_type(enum_name), new.get_type(enum_name)
        if isinstance(before, GraphQLEnumType) and isinstance(after, GraphQLEnumType):
            added = sorted(set(after.values) - set(before.values))
            if added:
                notes.append(
                    f"{label} reads {enum_name}, which gained {', '.join(added)}: "
                    f"the app must handle values it does not know"
                )
    return notes


def _field(schema: GraphQLSchema, type_name: str, field_name: str) -> Any:
    owner: GraphQLNamedType | None = schema.get_type(type_name)
    fields = getattr(owner, "fields", None)
    return fields.get(field_name) if fields else None


def _default(argument: Any) -> str:
    """An argument's default as GraphQL literal text ("none" without one), on graphql-core 3.2
    (`default_value`) and 3.3 (`default`, holding a literal or a value)."""
    default = getattr(argument, "default", None)
    if default is not None:
        if getattr(default, "literal", None) is not None:
            return print_ast(default.literal)
        value = default.value
    else:
        value = argument.default_value
    if value is Undefined:
        return "none"
    literal = ast_from_value(value, argument.type)
    return print_ast(literal) if literal is not None else repr(value)
