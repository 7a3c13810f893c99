"""Introspection that tools can use: its own, generous limits for introspection-only operations.

GraphiQL, graphql-codegen, Apollo's rover and graphql-core all send the standard introspection
query: 15 levels deep (the `ofType` chain of `TypeRef`) and about 67,000 in our cost model, far
past the limits for application operations. While introspection is on (never in production by
default), an operation whose root selects only `__schema`, `__type` and `__typename` is measured
against IntrospectionLimits instead: deeper and costlier, still bounded, so nesting
`fields { type { fields { type ... } } }` or `ofType` far past what any tool sends is refused.
An operation that mixes introspection with ordinary fields gets every ordinary limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    Lexer,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    Source,
    TokenKind,
)

INTROSPECTION_FIELDS = frozenset({"__schema", "__type", "__typename"})
# `__schema` or `__type` as a whole name (not `__typename`): the documents worth a larger parse.
_MENTIONS = re.compile(r"(?<![A-Za-z0-9_])__(?:schema|type)(?![A-Za-z0-9_])")


@dataclass(frozen=True)
class IntrospectionLimits:
    depth: int
    tokens: int
    cost: int


def mentions_introspection(query: str | None) -> bool:
    return query is not None and _MENTIONS.search(query) is not None


def selects_only_introspection(document: DocumentNode, operation: OperationDefinitionNode) -> bool:
    """True for a query whose root fields, fragments expanded, are all introspection fields."""
    if operation.operation is not OperationType.QUERY:
        return False
    fragments = {
        node.name.value: node
        for node in document.definitions
        if isinstance(node, FragmentDefinitionNode)
    }
    return _only_introspection(operation.selection_set, fragments, set())


def _only_introspection(
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    expanded: set[str],
) -> bool:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value not in INTROSPECTION_FIELDS:
                return False
        elif isinstance(selection, InlineFragmentNode):
            if not _only_introspection(selection.selection_set, fragments, expanded):
                return False
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in expanded:
                continue
            fragment = fragments.get(name)
            if fragment is None:  # unknown: validation refuses it anyway
                return False
            expanded.add(name)
            if not _only_introspection(fragment.selection_set, fragments, expanded):
                return False
    return True


def count_tokens(body: str) -> int:
    """Tokens as graphql-core's parser counts them for `max_tokens` (comments included)."""
    lexer = Lexer(Source(body))
    start = lexer.token
    while lexer.advance().kind is not TokenKind.EOF:
        pass
    count = 0
    token = start.next
    while token is not None and token.kind is not TokenKind.EOF:
        count += 1
        token = token.next
    return count
