"""Query limits checked before execution: depth, aliases, directives, root fields, size, tokens.

Size, depth, aliases, directives and root fields are one graphql-core validation rule, so their
verdict is cached with the rest of validation (ValidationCache keys on the document and the tuple
of rule classes: the rule class is built once per schema, so the key stays stable). Parsing is
bounded by the parser's own token limit (`max_tokens`), so size is checked after it. Cost depends
on variables and is computed per request in `app.security.cost`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from strawberry.types import ExecutionResult

from app.security.introspection import (
    IntrospectionLimits,
    count_tokens,
    mentions_introspection,
    selects_only_introspection,
)
from app.settings import Settings

QUERY_TOO_LARGE = "QUERY_TOO_LARGE"
QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
TOO_MANY_DIRECTIVES = "TOO_MANY_DIRECTIVES"
TOO_MANY_ROOT_FIELDS = "TOO_MANY_ROOT_FIELDS"
TOO_MANY_TOKENS = "TOO_MANY_TOKENS"
QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
OPERATION_TIMEOUT = "OPERATION_TIMEOUT"


@dataclass(frozen=True)
class QueryLimits:
    depth: int
    aliases: int
    directives: int
    root_fields: int
    tokens: int
    document_chars: int
    cost: int
    # Set while introspection is on: introspection-only operations are measured against these.
    introspection: IntrospectionLimits | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> QueryLimits:
        introspection = IntrospectionLimits(
            depth=max(settings.introspection_max_depth, settings.max_query_depth),
            tokens=max(settings.introspection_max_tokens, settings.max_tokens),
            cost=max(settings.introspection_max_cost, settings.max_query_cost),
        )
        return cls(
            depth=settings.max_query_depth,
            aliases=settings.max_aliases,
            directives=settings.max_directives,
            root_fields=settings.max_root_fields,
            tokens=settings.max_tokens,
            document_chars=settings.max_document_chars,
            cost=settings.max_query_cost,
            introspection=introspection if settings.introspection_enabled else None,
        )

    def for_operation(
        self, document: DocumentNode, operation: OperationDefinitionNode
    ) -> QueryLimits:
        """The limits `operation` is measured against: the introspection ones when it selects
        only introspection fields and introspection is on, else these."""
        if self.introspection is None or not selects_only_introspection(document, operation):
            return self
        generous = self.introspection
        return replace(
            self,
            depth=generous.depth,
            tokens=generous.tokens,
            cost=generous.cost,
            introspection=None,
        )

    def parse_tokens(self, query: str | None) -> int:
        """The parser's token limit: documents naming `__schema`/`__type` may be introspection
        only, so they parse under the larger limit and DocumentLimits holds the rest to this one."""
        if self.introspection is not None and mentions_introspection(query):
            return max(self.tokens, self.introspection.tokens)
        return self.tokens


def limit_error(message: str, code: str, **extensions: Any) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, **extensions})


@dataclass
class Shape:
    """What one selection set holds, fragments expanded (each spread counted where used)."""

    depth: int = 0
    aliases: int = 0
    directives: int = 0
    fields: int = 0


class _Measure:
    """Measures selection sets; a fragment is measured once, however often it is spread."""

    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {
            node.name.value: node
            for node in document.definitions
            if isinstance(node, FragmentDefinitionNode)
        }
        self.measured: dict[str, Shape] = {}
        self.in_progress: set[str] = set()

    def selections(self, selection_set: SelectionSetNode | None) -> Shape:
        shape = Shape()
        for selection, directives in self._flatten(selection_set):
            shape.directives += directives
            if isinstance(selection, FieldNode):
                inner = self.selections(selection.selection_set)
                shape.fields += 1
                shape.aliases += inner.aliases + (1 if selection.alias else 0)
                shape.directives += inner.directives
                shape.depth = max(shape.depth, inner.depth + 1)
            else:  # a fragment: its fields belong to this level
                shape.fields += selection.fields
                shape.aliases += selection.aliases
                shape.directives += selection.directives
                shape.depth = max(shape.depth, selection.depth)
        return shape

    def _flatten(self, selection_set: SelectionSetNode | None) -> Iterator[tuple[Any, int]]:
        for selection in selection_set.selections if selection_set else ():
            directives = len(selection.directives or ())
            if isinstance(selection, FieldNode):
                yield selection, directives
            elif isinstance(selection, InlineFragmentNode):
                yield self.selections(selection.selection_set), directives
            elif isinstance(selection, FragmentSpreadNode):
                yield self.fragment(selection.name.value), directives

    def fragment(self, name: str) -> Shape:
        if name in self.measured:
            return self.measured[name]
        fragment = self.fragments.get(name)
        if fragment is None or name in self.in_progress:  # unknown or cyclic: other rules report
            return Shape()
        self.in_progress.add(name)
        shape = self.selections(fragment.selection_set)
        shape.directives += len(fragment.directives or ())
        self.in_progress.discard(name)
        self.measured[name] = shape
        return shape


def document_limits_rule(limits: QueryLimits) -> type[ValidationRule]:
    """A validation rule class for `limits`; build it once so validation caching keeps working."""

    class DocumentLimits(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            document = context.document
            size = len(document.loc.source.body) if document.loc else 0
            if size > limits.document_chars:
                context.report_error(
                    limit_error(
                        f"The document has {size} characters; at most {limits.document_chars} "
                        "are allowed.",
                        QUERY_TOO_LARGE,
                    )
                )
                return
            measure = _Measure(document)
            introspection_only = True
            for operation in context.document.definitions:
                if isinstance(operation, OperationDefinitionNode):
                    applied = limits.for_operation(document, operation)
                    introspection_only = introspection_only and applied is not limits
                    shape = measure.selections(operation.selection_set)
                    shape.directives += len(operation.directives or ())
                    for error in _violations(shape, applied):
                        context.report_error(error)
            # Parsed under the larger limit for introspection; any other operation gets the
            # ordinary one (counted only for documents naming `__schema` or `__type`).
            body = document.loc.source.body if document.loc else ""
            if (
                not introspection_only
                and limits.parse_tokens(body) > limits.tokens
                and count_tokens(body) > limits.tokens
            ):
                context.report_error(
                    limit_error(
                        f"Syntax Error: Document contains more than {limits.tokens} tokens. "
                        "Parsing aborted.",
                        TOO_MANY_TOKENS,
                    )
                )

    return DocumentLimits


def _violations(shape: Shape, limits: QueryLimits) -> Iterator[GraphQLError]:
    if shape.depth > limits.depth:
        yield limit_error(
            f"The query is {shape.depth} levels deep; at most {limits.depth} are allowed.",
            QUERY_TOO_DEEP,
        )
    if shape.aliases > limits.aliases:
        yield limit_error(
            f"The query uses {shape.aliases} aliases; at most {limits.aliases} are allowed.",
            TOO_MANY_ALIASES,
        )
    if shape.directives > limits.directives:
        yield limit_error(
            f"The query uses {shape.directives} directives; at most {limits.directives} "
            "are allowed.",
            TOO_MANY_DIRECTIVES,
        )
    if shape.fields > limits.root_fields:
        yield limit_error(
            f"The operation selects {shape.fields} root fields; at most {limits.root_fields} "
            "are allowed.",
            TOO_MANY_ROOT_FIELDS,
        )


def collapse_errors(errors: list[GraphQLError]) -> list[GraphQLError]:
    """One error per distinct message, with every location: ten `@aa` are one error, not ten.

    Limit errors come first, so a client sees why a document was refused before the noise.
    New error objects: the ones given may sit in the validation cache.
    """
    groups: dict[str, list[GraphQLError]] = {}
    for error in errors:
        groups.setdefault(error.message, []).append(error)
    collapsed = [
        group[0]
        if len(group) == 1
        else GraphQLError(
            group[0].message,
            nodes=[node for error in group for node in error.nodes or ()] or None,
            extensions=group[0].extensions,
        )
        for group in groups.values()
    ]
    return sorted(collapsed, key=lambda error: "code" not in (error.extensions or {}))


async def within_timeout(operation: Awaitable[ExecutionResult], seconds: float) -> ExecutionResult:
    """The operation's result, or OPERATION_TIMEOUT once `seconds` have passed (it is cancelled:
    a mutation's unit of work rolls back)."""
    try:
        async with asyncio.timeout(seconds):
            return await operation
    except TimeoutError:
        error = limit_error(
            f"The operation did not finish within {seconds:g} s.", OPERATION_TIMEOUT
        )
        return ExecutionResult(data=None, errors=[error])
