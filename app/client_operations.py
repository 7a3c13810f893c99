"""The mobile app's operations (`clients/operations/<flow>/<Name>.graphql`): loaded, checked
against a schema, and turned into the trusted-documents manifest.

Each file holds one named operation, named as the file. What a client sends is the document as
Apollo Client sends it: `__typename` added to every selection set below the root that lacks one
(Apollo's `addTypenameToDocument`, which its cache always applies), printed by graphql's printer.
The manifest holds that body, so its SHA-256 ids match Apollo's requests byte for byte; the Python
end-to-end client sends the same `sent_document`.

A document may use a deprecated field, argument, input field or enum value only with a line
`<Operation> <coordinate>  # why` in `clients/operations/deprecated-allowed.txt`, where the
coordinate is `Type.field`, `Type.field(arg:)` or `Enum.VALUE`.
"""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    NameNode,
    OperationDefinitionNode,
    SelectionSetNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    parse,
    print_ast,
    validate,
    visit,
)
from graphql.language import ArgumentNode, EnumValueNode, ObjectFieldNode
from graphql.type import GraphQLEnumType, GraphQLInputObjectType

OPERATIONS_DIR = Path("clients/operations")
ALLOW_LIST = "deprecated-allowed.txt"
MANIFEST_FILE = Path("clients/persisted-operations.json")


class OperationsError(ValueError):
    """The folder does not hold one well-formed named operation per file."""


@dataclass(frozen=True)
class ClientOperation:
    path: Path  # relative to the operations folder, e.g. messaging/SendMessage.graphql
    name: str
    kind: str  # query, mutation or subscription
    document: DocumentNode

    @property
    def flow(self) -> str:
        return self.path.parts[0]

    @cached_property
    def sent_document(self) -> DocumentNode:
        return with_typenames(self.document)

    @cached_property
    def body(self) -> str:
        return print_ast(self.sent_document)

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.body.encode()).hexdigest()


TYPENAME = FieldNode(name=NameNode(value="__typename"), arguments=(), directives=())


def with_typenames(document: DocumentNode) -> DocumentNode:
    """Apollo Client's transform: `__typename` appended to every selection set except the
    operation's own, unless it already selects a `__` field or sits under `@export`."""

    class AddTypename(Visitor):
        def enter_selection_set(
            self, node: SelectionSetNode, _key: Any, parent: Any, *_: Any
        ) -> Any:
            if isinstance(parent, OperationDefinitionNode):
                return None
            selections = node.selections
            if any(
                isinstance(selection, FieldNode) and selection.name.value.startswith("__")
                for selection in selections
            ):
                return None
            if isinstance(parent, FieldNode) and any(
                directive.name.value == "export" for directive in parent.directives or ()
            ):
                return None
            return SelectionSetNode(selections=(*selections, TYPENAME))

    result: DocumentNode = visit(document, AddTypename())
    return result


def load_operations(directory: Path = OPERATIONS_DIR) -> list[ClientOperation]:
    operations: list[ClientOperation] = []
    seen: dict[str, Path] = {}
    for path in sorted(directory.rglob("*.graphql")):
        relative = path.relative_to(directory)
        if len(relative.parts) != 2:
            raise OperationsError(f"{relative}: operations live in <flow>/<Name>.graphql")
        try:
            document = parse(path.read_text())
        except GraphQLError as error:
            raise OperationsError(f"{relative}: {error.message}") from error
        definitions = document.definitions
        if len(definitions) != 1 or not isinstance(definitions[0], OperationDefinitionNode):
            raise OperationsError(f"{relative}: one operation per file, no fragments")
        definition = definitions[0]
        if definition.name is None or definition.name.value != path.stem:
            raise OperationsError(f"{relative}: the operation must be named {path.stem}")
        if path.stem in seen:
            raise OperationsError(f"{relative}: {path.stem} is also in {seen[path.stem]}")
        seen[path.stem] = relative
        kind = definition.operation.value
        operations.append(ClientOperation(relative, path.stem, kind, document))
    return operations


def load_operations_from(spec: str) -> list[ClientOperation]:
    """A folder, or `<git ref>:<folder>` such as `origin/main:clients/operations` (the documents
    of the apps already shipped from that ref); no documents when it does not exist."""
    if Path(spec).is_dir():
        return load_operations(Path(spec))
    ref, _, folder = spec.rpartition(":")
    if not ref:
        return []
    listed = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", ref, "--", folder],
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode != 0:
        raise OperationsError(f"git cannot list {spec}: {listed.stderr.strip()}")
    with tempfile.TemporaryDirectory() as scratch:
        for name in listed.stdout.splitlines():
            if name.endswith(".graphql"):
                shown = subprocess.run(
                    ["git", "show", f"{ref}:{name}"], capture_output=True, text=True, check=True
                )
                target = Path(scratch) / Path(name).relative_to(folder)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(shown.stdout)
        return load_operations(Path(scratch))


def read_allow_list(directory: Path = OPERATIONS_DIR) -> set[tuple[str, str]]:
    """(operation, coordinate) pairs allowed to use something deprecated."""
    path = directory / ALLOW_LIST
    if not path.exists():
        return set()
    allowed = set()
    for line in path.read_text().splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            if len(words) != 2:
                raise OperationsError(f"{ALLOW_LIST}: expected '<Operation> <coordinate>': {line}")
            allowed.add((words[0], words[1]))
    return allowed


def deprecated_uses(schema: GraphQLSchema, document: DocumentNode) -> list[tuple[str, str]]:
    """(coordinate, reason) of every deprecated thing the document touches."""
    found: list[tuple[str, str]] = []
    type_info = TypeInfo(schema)

    fields: list[str] = []  # names of the fields being visited, innermost last

    class Finder(Visitor):
        def enter_field(self, node: FieldNode, *_: Any) -> None:
            fields.append(node.name.value)
            parent, field = type_info.get_parent_type(), type_info.get_field_def()
            if parent is not None and field is not None and field.deprecation_reason:
                found.append((f"{parent.name}.{node.name.value}", field.deprecation_reason))

        def leave_field(self, *_: Any) -> None:
            fields.pop()

        def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
            argument = type_info.get_argument()
            if argument is None or not argument.deprecation_reason:
                return
            directive = type_info.get_directive()
            owner = f"@{directive.name}" if directive else f"{_parent_name(type_info)}.{fields[-1]}"
            found.append((f"{owner}({node.name.value}:)", argument.deprecation_reason))

        def enter_object_field(self, node: ObjectFieldNode, *_: Any) -> None:
            owner = get_named_type(type_info.get_parent_input_type())
            if isinstance(owner, GraphQLInputObjectType):
                field = owner.fields.get(node.name.value)
                if field is not None and field.deprecation_reason:
                    found.append((f"{owner.name}.{node.name.value}", field.deprecation_reason))

        def enter_enum_value(self, node: EnumValueNode, *_: Any) -> None:
            enum = get_named_type(type_info.get_input_type())
            if isinstance(enum, GraphQLEnumType):
                value = enum.values.get(node.value)
                if value is not None and value.deprecation_reason:
                    found.append((f"{enum.name}.{node.value}", value.deprecation_reason))

    visit(document, TypeInfoVisitor(type_info, Finder()))
    return found


def _parent_name(type_info: TypeInfo) -> str:
    """The type owning the field whose argument is being visited."""
    parent = type_info.get_parent_type()
    return parent.name if parent is not None else "?"


def check_operations(
    schema: GraphQLSchema,
    operations: list[ClientOperation],
    allowed: set[tuple[str, str]] | frozenset[tuple[str, str]] = frozenset(),
) -> list[str]:
    """Every problem, as `<path>: <message>`; empty when all documents are fine."""
    problems = []
    used_allowances = set()
    for operation in operations:
        for error in validate(schema, operation.document):
            problems.append(f"{operation.path}: {error.message}")
        for coordinate, reason in deprecated_uses(schema, operation.document):
            if (operation.name, coordinate) in allowed:
                used_allowances.add((operation.name, coordinate))
            else:
                problems.append(
                    f"{operation.path}: {coordinate} is deprecated ({reason}); move off it or "
                    f"allow it in {ALLOW_LIST}: '{operation.name} {coordinate}  # why'"
                )
    for name, coordinate in sorted(set(allowed) - used_allowances):
        problems.append(f"{ALLOW_LIST}: {name} does not use {coordinate} (any more): remove it")
    return problems


def manifest(operations: list[ClientOperation]) -> dict[str, Any]:
    """Apollo's persisted-query manifest, which `bountyexpo operations register` reads."""
    return {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            {"id": op.sha256, "name": op.name, "type": op.kind, "body": op.body}
            for op in sorted(operations, key=lambda op: op.name)
        ],
    }
