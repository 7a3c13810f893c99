"""`bountyexpo operations register FILE`: the app's documents become the trusted list.

FILE is an Apollo persisted-query manifest (`{"format": "apollo-persisted-query-manifest",
"operations": [{"id", "name", "body"}]}`), a `{sha256: body}` map (graphql-codegen's
`persisted-documents.json`), or a `.graphql` file (registered as one document). Every id must be
the SHA-256 of its body and every body must validate against this gateway's schema, or nothing
is registered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, parse, validate

from app.db.database import open_database
from app.graphql import build_schema
from app.settings import Settings
from services import persisted_operations
from services.persisted_operations import Document, sha256_of


class ManifestError(ValueError):
    pass


def read_manifest(path: Path) -> list[Document]:
    text = path.read_text()
    if path.suffix in (".graphql", ".gql"):
        return [Document(sha256_of(text), text, _operation_name(text))]
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as error:
        raise ManifestError(f"{path}: not JSON ({error})") from error
    if isinstance(data, dict) and isinstance(data.get("operations"), list):
        entries = [
            (item.get("id"), item.get("body"), item.get("name")) for item in data["operations"]
        ]
    elif isinstance(data, dict):
        entries = [(key, value, None) for key, value in data.items()]
    else:
        raise ManifestError(f"{path}: expected a manifest object")
    documents = []
    for sha, body, name in entries:
        if not isinstance(body, str) or sha != sha256_of(body):
            raise ManifestError(f"{path}: id {sha!r} is not the SHA-256 of its body")
        documents.append(Document(sha, body, name or _operation_name(body)))
    return documents


def check_documents(documents: list[Document]) -> None:
    schema = build_schema()._schema
    for document in documents:
        try:
            errors = validate(schema, parse(document.body))
        except GraphQLError as error:
            errors = [error]
        if errors:
            name = document.name or document.sha256[:12]
            raise ManifestError(f"{name}: {errors[0].message}")


async def register_manifest(settings: Settings, path: Path) -> int:
    documents = read_manifest(path)
    check_documents(documents)
    async with (
        open_database(settings) as database,
        database.session_factory() as session,
        session.begin(),
    ):
        return await persisted_operations.register(session, documents)


def _operation_name(body: str) -> str | None:
    try:
        definitions = parse(body).definitions
    except GraphQLError:
        return None
    names = [d.name.value for d in definitions if isinstance(d, OperationDefinitionNode) and d.name]
    return ",".join(names)[:200] or None
