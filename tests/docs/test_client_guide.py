"""docs/CLIENT.md stays true: every document it names exists, its testing checklist names every
document of clients/operations/, and the REST mapping names only fields the schema has, unless
the row says which open issue adds them."""

from __future__ import annotations

import re
from pathlib import Path

from graphql import build_schema

from app.client_operations import load_operations

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "docs" / "CLIENT.md").read_text()
DOCUMENT = re.compile(r"`(?:[a-z-]+/)?([A-Z]\w+)\.graphql`")


def section(title: str) -> str:
    start = GUIDE.index(f"## {title}")
    end = GUIDE.find("\n## ", start + 1)
    return GUIDE[start : end if end != -1 else None]


def test_every_named_document_exists() -> None:
    names = {operation.name for operation in load_operations(ROOT / "clients" / "operations")}
    for path in re.findall(r"`([a-z-]+/[A-Z]\w+\.graphql)`", GUIDE):
        assert (ROOT / "clients" / "operations" / path).is_file(), path
    assert set(DOCUMENT.findall(GUIDE)) <= names


def test_the_checklist_names_every_document() -> None:
    operations = load_operations(ROOT / "clients" / "operations")
    named = set(DOCUMENT.findall(section("Testing checklist")))
    assert {operation.name for operation in operations} - named == set()


def test_the_rest_mapping_names_root_fields_or_the_issue_that_adds_them() -> None:
    schema = build_schema((ROOT / "schema.graphql").read_text())
    roots = {
        name
        for root in (schema.query_type, schema.mutation_type, schema.subscription_type)
        if root is not None
        for name in root.fields
    }
    rows = [
        line
        for line in section("From the REST backend to GraphQL").splitlines()
        if line.startswith("| ") and not line.startswith("| REST route")
    ]
    assert len(rows) >= 15
    for row in rows:
        graphql_cell = row.split("|")[2]
        fields = re.findall(r"`([a-z][A-Za-z]+)`", graphql_cell)
        missing = [field for field in fields if field not in roots]
        assert not missing or "*(issue" in row, f"not in schema.graphql: {missing} in {row}"
    for route in [
        "/notifications`",
        "/notifications/unread-count",
        "/notifications/register-push-token",
        "/admin/metrics",
        "/admin/users",
        "/admin/content/review",
        "/admin/analytics/metrics",
        "/admin/analytics/events",
        "/api/risk/assess/:userId",
        "/api/risk/action",
        "/api/risk/workflows",
        "payment-intent",
        "completion-release",
        "Apple Pay",
        "/health",
        "/metrics",
    ]:
        assert any(route in row for row in rows), route


def test_the_staff_steps_of_the_checklist_are_valid_documents() -> None:
    """Step 8 pastes documents into GraphiQL (staff tools have no app documents): each one
    parses and validates against schema.graphql, placeholders filled with a well-formed id."""
    from graphql import parse, validate

    schema = build_schema((ROOT / "schema.graphql").read_text())
    staff = section("Testing checklist").split("**8. ", 1)[1]
    documents = re.findall(r"`((?:mutation )?\{ .+? \})`", staff)
    assert len(documents) >= 10
    for document in documents:
        filled = re.sub(r"<[^>]+>", "VXNlcjox", document)
        errors = validate(schema, parse(filled))
        assert errors == [], f"{document}: {errors}"
