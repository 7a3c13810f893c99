"""The app's operations (clients/operations/): every document validates against the committed
schema.graphql, touches nothing deprecated without an allow-list entry, and the committed
trusted-documents manifest is the one `bountyexpo operations manifest` writes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from graphql import build_schema, parse, print_ast

from app.cli import main
from app.client_operations import (
    OPERATIONS_DIR,
    OperationsError,
    check_operations,
    load_operations,
    manifest,
    read_allow_list,
    with_typenames,
)
from app.security.manifest import read_manifest

ROOT = Path(__file__).resolve().parents[2]
FLOWS = [
    "applications",
    "authentication",
    "bounty-creation",
    "messaging",
    "notifications",
    "payments",
    "profile",
]

DEPRECATING_SDL = """
type Query {
  me: User
  search(text: String, exact: Boolean @deprecated(reason: "always exact now")): [User!]!
}
type User {
  name: String!
  nick: String @deprecated(reason: "use name")
  kind: Kind
}
enum Kind { PERSON BOT @deprecated(reason: "no more bots") }
input Filter { kind: Kind, legacy: Boolean @deprecated(reason: "ignored") }
type Mutation { filter(input: Filter!): Boolean }
"""


def write(directory: Path, relative: str, text: str) -> None:
    path = directory / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def test_every_document_validates_against_schema_graphql(in_root: None) -> None:
    schema = build_schema((ROOT / "schema.graphql").read_text())
    operations = load_operations()
    assert check_operations(schema, operations, read_allow_list()) == []
    assert sorted({operation.flow for operation in operations}) == FLOWS
    names = [operation.name for operation in operations]
    assert len(names) == len(set(names))


def test_a_document_that_does_not_validate_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "profile/Me.graphql", "query Me { me { name nickname } }")
    problems = check_operations(build_schema(DEPRECATING_SDL), load_operations(tmp_path))
    assert problems == [
        "profile/Me.graphql: Cannot query field 'nickname' on type 'User'."
        " Did you mean 'name' or 'nick'?"
    ]


def test_deprecated_fields_arguments_input_fields_and_enum_values_need_an_allow_list_entry(
    tmp_path: Path,
) -> None:
    write(tmp_path, "profile/Me.graphql", "query Me { me { name nick } }")
    write(tmp_path, "profile/Search.graphql", "query Search { search(exact: true) { name } }")
    write(
        tmp_path,
        "profile/Filter.graphql",
        "mutation Filter { filter(input: {kind: BOT, legacy: true}) }",
    )
    schema = build_schema(DEPRECATING_SDL)
    problems = check_operations(schema, load_operations(tmp_path), read_allow_list(tmp_path))
    hint = "allow it in deprecated-allowed.txt"
    assert problems == [
        f"profile/Filter.graphql: Kind.BOT is deprecated (no more bots); move off it or {hint}:"
        " 'Filter Kind.BOT  # why'",
        f"profile/Filter.graphql: Filter.legacy is deprecated (ignored); move off it or {hint}:"
        " 'Filter Filter.legacy  # why'",
        f"profile/Me.graphql: User.nick is deprecated (use name); move off it or {hint}:"
        " 'Me User.nick  # why'",
        "profile/Search.graphql: Query.search(exact:) is deprecated (always exact now); move off"
        f" it or {hint}: 'Search Query.search(exact:)  # why'",
    ]

    write(
        tmp_path,
        "deprecated-allowed.txt",
        "# operation coordinate  # why\n"
        "Me User.nick  # app 1.4 still shows nicknames; gone in 1.6\n"
        "Search Query.search(exact:)\n"
        "Filter Kind.BOT\n"
        "Filter Filter.legacy\n",
    )
    allowed = read_allow_list(tmp_path)
    assert check_operations(schema, load_operations(tmp_path), allowed) == []

    write(tmp_path, "profile/Me.graphql", "query Me { me { name } }")
    assert check_operations(schema, load_operations(tmp_path), allowed) == [
        "deprecated-allowed.txt: Me does not use User.nick (any more): remove it"
    ]


@pytest.mark.parametrize(
    ("relative", "text", "message"),
    [
        ("Me.graphql", "query Me { me { name } }", "Me.graphql: operations live in"),
        ("profile/Me.graphql", "query Other { me { name } }", "must be named Me"),
        ("profile/Me.graphql", "{ me { name } }", "must be named Me"),
        (
            "profile/Me.graphql",
            "query Me { me { ...F } } fragment F on User { name }",
            "one operation per file",
        ),
        ("profile/Me.graphql", "query Me { me { name }", "Syntax Error"),
    ],
)
def test_malformed_folders_are_refused(
    tmp_path: Path, relative: str, text: str, message: str
) -> None:
    write(tmp_path, relative, text)
    with pytest.raises(OperationsError, match=message):
        load_operations(tmp_path)


def test_the_same_name_in_two_flows_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "profile/Me.graphql", "query Me { me { name } }")
    write(tmp_path, "messaging/Me.graphql", "query Me { me { name } }")
    with pytest.raises(OperationsError, match=r"Me is also in messaging/Me\.graphql"):
        load_operations(tmp_path)


def test_the_committed_manifest_is_current_and_registrable(
    in_root: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["operations", "manifest", "--check"]) == 0
    committed = json.loads((ROOT / "clients/persisted-operations.json").read_text())
    assert committed == manifest(load_operations())
    for entry in committed["operations"]:
        assert entry["id"] == hashlib.sha256(entry["body"].encode()).hexdigest()
    documents = read_manifest(ROOT / "clients/persisted-operations.json")
    assert {d.name for d in documents} == {op.name for op in load_operations(OPERATIONS_DIR)}


def test_manifest_writes_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "ops/viewer/Viewer.graphql", "query Viewer {\n  viewer { id }\n}\n")
    output = tmp_path / "manifest.json"
    arguments = ["operations", "manifest", "--dir", str(tmp_path / "ops"), "--output", str(output)]
    assert main([*arguments, "--check"]) == 1
    assert main(arguments) == 0
    body = "query Viewer {\n  viewer {\n    id\n    __typename\n  }\n}"
    assert json.loads(output.read_text()) == {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            {
                "id": hashlib.sha256(body.encode()).hexdigest(),
                "name": "Viewer",
                "type": "query",
                "body": body,
            }
        ],
    }
    assert main([*arguments, "--check"]) == 0

    write(tmp_path, "ops/viewer/Viewer.graphql", "query Viewer { viewer { nope } }")
    assert main(arguments) == 1
    assert "Cannot query field 'nope' on type 'User'" in capsys.readouterr().err


def test_documents_are_sent_as_apollo_client_sends_them() -> None:
    document = parse(
        "query Q($id: ID!) { node(id: $id) { __typename ... on User { id reviews { id } } }"
        " viewer { id } }"
    )
    assert print_ast(with_typenames(document)) == (
        "query Q($id: ID!) {\n"
        "  node(id: $id) {\n"
        "    __typename\n"
        "    ... on User {\n"
        "      id\n"
        "      reviews {\n"
        "        id\n"
        "        __typename\n"
        "      }\n"
        "      __typename\n"
        "    }\n"
        "  }\n"
        "  viewer {\n"
        "    id\n"
        "    __typename\n"
        "  }\n"
        "}"
    )
