"""`bountyexpo schema diff` reports what the app's documents would feel as breaking, even where
graphql's field-level diff calls the change safe or only dangerous."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from graphql import build_schema, find_breaking_changes

from app.cli import main
from app.client_operations import load_operations
from app.operation_impact import impact

ROOT = Path(__file__).resolve().parents[2]

OLD = """
type Query { feed(first: Int = 20, sort: Sort = NEWEST): [Item!]! }
enum Sort { NEWEST OLDEST }
enum Kind { NOTE PHOTO }
union Item = Note | Photo
type Note { id: ID!, size: Int, kind: Kind! }
type Photo { id: ID!, size: Int, kind: Kind! }
interface UserError { code: String! }
type Mutation { send(text: String!): SendResult! }
union SendResult = Sent | TooLong
type Sent { id: ID! }
type TooLong implements UserError { code: String! }
"""


def write(directory: Path, relative: str, text: str) -> None:
    path = directory / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def felt(old: str, new: str, directory: Path) -> tuple[list[str], list[str]]:
    found = impact(build_schema(old), build_schema(new), load_operations(directory))
    return found.breaking, found.dangerous


def test_a_field_made_non_null_on_one_union_member_breaks_a_merged_selection(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        "feed/Feed.graphql",
        "query Feed { feed(first: 5) { ... on Note { size } ... on Photo { size } } }",
    )
    new = OLD.replace("type Note { id: ID!, size: Int,", "type Note { id: ID!, size: Int!,")
    assert find_breaking_changes(build_schema(OLD), build_schema(new)) == []  # "safe"
    breaking, _ = felt(OLD, new, tmp_path)
    assert breaking == [
        "Feed (feed/Feed.graphql) no longer validates: Fields 'size' conflict because they"
        " return conflicting types 'Int!' and 'Int'. Use different aliases on the fields to"
        " fetch both if this was intentional."
    ]


def test_a_union_member_without_a_fragment_is_felt_unless_an_interface_covers_it(
    tmp_path: Path,
) -> None:
    new = OLD.replace(
        "union SendResult = Sent | TooLong", "union SendResult = Sent | TooLong | Muted"
    )
    new += "type Muted implements UserError { code: String! }\n"
    assert find_breaking_changes(build_schema(OLD), build_schema(new)) == []  # "dangerous" only
    write(
        tmp_path,
        "chat/Bare.graphql",
        'mutation Bare { send(text: "hi") { ... on Sent { id } ... on TooLong { code } } }',
    )
    write(
        tmp_path,
        "chat/Covered.graphql",
        'mutation Covered { send(text: "hi") { ... on Sent { id } ... on UserError { code } } }',
    )
    breaking, _ = felt(OLD, new, tmp_path)
    assert breaking == [
        "Bare (chat/Bare.graphql): Muted was added to union SendResult, and the operation"
        " selects nothing on it (add a fragment, or one on an interface it implements such as"
        " UserError)"
    ]


def test_a_changed_default_is_felt_only_by_documents_that_leave_the_argument_out(
    tmp_path: Path,
) -> None:
    new = OLD.replace("first: Int = 20", "first: Int = 10")
    write(tmp_path, "feed/Default.graphql", "query Default { feed(sort: OLDEST) { __typename } }")
    write(tmp_path, "feed/Given.graphql", "query Given { feed(first: 20) { __typename } }")
    breaking, _ = felt(OLD, new, tmp_path)
    assert breaking == [
        "Default (feed/Default.graphql): Query.feed(first:) default changed from 20 to 10 and"
        " the operation leaves it out"
    ]


def test_an_enum_value_added_to_an_enum_a_document_reads_is_dangerous(tmp_path: Path) -> None:
    new = OLD.replace("enum Kind { NOTE PHOTO }", "enum Kind { NOTE PHOTO VIDEO }")
    write(tmp_path, "feed/Kinds.graphql", "query Kinds { feed { ... on Note { kind } } }")
    write(tmp_path, "feed/Ids.graphql", "query Ids { feed { ... on Note { id } } }")
    assert felt(OLD, new, tmp_path) == (
        [],
        [
            "Kinds (feed/Kinds.graphql) reads Kind, which gained VIDEO: the app must handle"
            " values it does not know"
        ],
    )


def test_schema_diff_fails_on_a_felt_break_and_passes_the_real_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    old = (ROOT / "schema.graphql").read_text()
    new = old.replace(
        "union SetTypingResult = SetTypingSuccess | NotFoundError",
        "union SetTypingResult = SetTypingSuccess | NotFoundError | RateLimitedError",
    ) + (
        "\ntype RateLimitedError implements UserError {\n"
        "  code: ErrorCode!\n  message: String!\n  field: String\n}\n"
    )
    (tmp_path / "old.graphql").write_text(old)
    (tmp_path / "new.graphql").write_text(new)
    arguments = ["schema", "diff", str(tmp_path / "old.graphql"), str(tmp_path / "new.graphql")]

    # The app's own documents all fall back on `... on UserError`: a new error is no break.
    assert main(arguments) == 0
    out = capsys.readouterr().out
    assert "DANGEROUS TYPE_ADDED_TO_UNION: RateLimitedError was added to union type" in out
    assert "BREAKING" not in out
    assert f"({len(load_operations())} operations in clients/operations checked)" in out

    write(
        tmp_path,
        "ops/messaging/TypingBare.graphql",
        "mutation TypingBare($id: ID!) {\n"
        "  setTyping(conversationId: $id) { ... on SetTypingSuccess { published } }\n}\n",
    )
    assert main([*arguments, "--operations", str(tmp_path / "ops")]) == 1
    out = capsys.readouterr().out
    assert (
        "BREAKING  FELT_BY_OPERATION: TypingBare (messaging/TypingBare.graphql):"
        " RateLimitedError was added to union SetTypingResult" in out
    )


def test_a_git_ref_diff_judges_the_documents_shipped_from_that_ref(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pull request that changes an argument's type and updates the document with it still
    breaks the apps already shipped with the old document."""
    monkeypatch.chdir(tmp_path)
    old = "type Query { feed(first: Int): [ID!]!, count: Int }\n"
    (tmp_path / "schema.graphql").write_text(old)
    write(
        tmp_path, "clients/operations/feed/Feed.graphql", "query Feed($n: Int) { feed(first: $n) }"
    )
    git = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=CI"]
    for command in (["init", "-q"], ["add", "."], ["commit", "-qm", "base"]):
        subprocess.run([*git, *command], cwd=tmp_path, check=True)
    (tmp_path / "schema.graphql").write_text(
        "type Query { feed(first: String): [ID!]!, count: Int }"
    )
    write(
        tmp_path,
        "clients/operations/feed/Feed.graphql",
        "query Feed($n: String) { feed(first: $n) }",
    )

    assert main(["schema", "diff", "HEAD:schema.graphql", "schema.graphql"]) == 1
    out = capsys.readouterr().out
    assert (
        "BREAKING  FELT_BY_OPERATION: Feed (feed/Feed.graphql) no longer validates: Variable '$n'"
        " of type 'Int' used in position expecting type 'String'." in out
    )
    assert "(1 operations in HEAD:clients/operations checked)" in out
    # Against the working tree's documents (already updated) nothing is felt.
    arguments = ["schema", "diff", "HEAD:schema.graphql", "schema.graphql"]
    assert main([*arguments, "--operations", "clients/operations"]) == 1  # ARG_CHANGED_KIND
    assert "FELT_BY_OPERATION" not in capsys.readouterr().out
