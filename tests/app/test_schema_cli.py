"""`bountyexpo schema export|check|diff`: the committed SDL and its breaking changes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from app import cli
from app.client_operations import load_operations
from app.schema_tools import current_sdl

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _keep_test_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI configures the root logger for a terminal; pytest's capture must stay in place.
    monkeypatch.setattr(cli, "configure_logging", lambda settings: None)


def run(*argv: str) -> int:
    return cli.main(list(argv))


def test_committed_schema_is_current(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert run("schema", "check") == 0


def test_export_then_check_then_hand_edit_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sdl = tmp_path / "schema.graphql"
    assert run("schema", "export", "--output", str(sdl)) == 0
    assert sdl.read_text() == current_sdl()
    assert run("schema", "check", "--file", str(sdl)) == 0
    sdl.write_text(sdl.read_text().replace("displayName: String!", "displayName: String"))
    capsys.readouterr()
    assert run("schema", "check", "--file", str(sdl)) == 1
    captured = capsys.readouterr()
    assert "-  displayName: String\n+  displayName: String!" in captured.out
    assert "is stale: run `bountyexpo schema export`" in captured.err


def without_field(sdl: str, type_header: str, field_line: str) -> str:
    """`sdl` minus one field line inside the block that starts with `type_header`."""
    start = sdl.index(type_header)
    end = sdl.index("\n}\n", start)
    block = sdl[start:end]
    assert field_line in block
    return sdl[:start] + block.replace(field_line, "", 1) + sdl[end:]


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_removing_a_field_is_breaking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)  # the app's documents in clients/operations/ feel it too
    old = write(tmp_path / "old.graphql", current_sdl())
    new = write(
        tmp_path / "new.graphql",
        without_field(current_sdl(), "type User implements Node {", "  role: Role!\n"),
    )
    assert run("schema", "diff", old, new) == 1
    felt = "BREAKING  FELT_BY_OPERATION: {} no longer validates: Cannot query field 'role' on type"
    assert capsys.readouterr().out == (
        "BREAKING  FIELD_REMOVED: Field User.role was removed.\n"
        + f"{felt.format('SignIn (authentication/SignIn.graphql)')} 'User'.\n"
        + f"{felt.format('SignUp (authentication/SignUp.graphql)')} 'User'.\n"
        + f"{felt.format('Viewer (profile/Viewer.graphql)')} 'User'.\n"
        + f"({len(load_operations())} operations in clients/operations checked)\n"
    )


def test_adding_an_optional_argument_is_not_breaking(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = write(tmp_path / "old.graphql", current_sdl())
    new = write(
        tmp_path / "new.graphql",
        current_sdl().replace("  viewer: User\n", "  viewer(includeDeleted: Boolean): User\n"),
    )
    no_documents = str(tmp_path / "no-documents")
    assert run("schema", "diff", old, new, "--operations", no_documents) == 0
    assert capsys.readouterr().out == (
        "DANGEROUS OPTIONAL_ARG_ADDED: "
        "An optional argument Query.viewer(includeDeleted:) was added.\n"
    )


def test_diff_against_a_git_ref(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    write(tmp_path / "schema.graphql", current_sdl())
    git("add", "schema.graphql")
    git("-c", "user.name=t", "-c", "user.email=t@example.test", "commit", "-qm", "schema")
    write(
        tmp_path / "schema.graphql",
        without_field(current_sdl(), "type User implements Node {", "  displayName: String!\n"),
    )
    monkeypatch.chdir(tmp_path)
    assert run("schema", "diff", "HEAD:schema.graphql") == 1
    assert "BREAKING  FIELD_REMOVED: Field User.displayName was removed." in capsys.readouterr().out


def test_unknown_source_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("schema", "diff", "missing.graphql", "also-missing.graphql") == 2
    assert "no such file: missing.graphql" in capsys.readouterr().err


def test_invalid_sdl_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = write(tmp_path / "old.graphql", current_sdl())
    new = write(tmp_path / "new.graphql", "type Query {")
    assert run("schema", "diff", old, new) == 2
    assert "not valid SDL: Syntax Error" in capsys.readouterr().err
