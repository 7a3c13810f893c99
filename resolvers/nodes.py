"""Relay object identification: any object by its global id.

Written out rather than with `relay.node()`, whose field rewrites itself when a schema is built
and so cannot take part in a second schema (tests and tools build several).
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from typing import Any

import strawberry
from strawberry import relay
from strawberry.types.base import get_object_definition

from schema.context import Info
from schema.errors import BAD_USER_INPUT, ApiError

MAX_NODES = 100


async def resolve_global_ids(info: Info, ids: list[relay.GlobalID]) -> list[relay.Node | None]:
    """One batch per type, answers in the order asked, null for unknown types and ids."""
    by_type: dict[str, list[str]] = defaultdict(list)
    for global_id in ids:
        by_type[global_id.type_name].append(global_id.node_id)
    found: dict[tuple[str, str], Any] = {}
    for type_name, node_ids in by_type.items():
        node_type = _node_type(info, type_name)
        if node_type is None:
            continue
        resolved = node_type.resolve_nodes(info=info, node_ids=node_ids, required=False)
        if inspect.isawaitable(resolved):
            resolved = await resolved
        found.update(
            ((type_name, node_id), node) for node_id, node in zip(node_ids, resolved, strict=True)
        )
    return [found.get((global_id.type_name, global_id.node_id)) for global_id in ids]


def _node_type(info: Info, type_name: str) -> type[relay.Node] | None:
    graphql_type = info.schema.get_type_by_name(type_name)
    origin = getattr(graphql_type, "origin", None)
    if origin is None or get_object_definition(origin) is None:
        return None
    return origin if isinstance(origin, type) and issubclass(origin, relay.Node) else None


@strawberry.type
class NodeQueries:
    @strawberry.field(description="Any object by its global id; null if unknown.")
    async def node(self, info: Info, id: relay.GlobalID) -> relay.Node | None:
        [node] = await resolve_global_ids(info, [id])
        return node

    @strawberry.field(
        description="Objects by global id, in the order asked; null for each unknown id."
    )
    async def nodes(self, info: Info, ids: list[relay.GlobalID]) -> list[relay.Node | None]:
        if len(ids) > MAX_NODES:
            raise ApiError(f"at most {MAX_NODES} ids per request", BAD_USER_INPUT, field="ids")
        return await resolve_global_ids(info, ids)
