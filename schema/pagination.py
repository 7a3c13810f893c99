"""Relay cursor connections: `edges { cursor node }`, `pageInfo`, `totalCount`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import strawberry

from services.pagination import Page

NodeT = TypeVar("NodeT")
RowT = TypeVar("RowT")


@strawberry.type(description="Where a page sits in the whole list (Relay cursor spec).")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type(description="A page of a list; pass `pageInfo.endCursor` as `after` for the next.")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo
    total_count: int | None = strawberry.field(
        description="Items in the whole list under the same filter; null where not counted."
    )

    @classmethod
    def from_page(cls, page: Page[RowT], to_node: Callable[[RowT], NodeT]) -> Connection[NodeT]:
        edges = [Edge(cursor=cursor, node=to_node(row)) for row, cursor in page.items]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            total_count=page.total_count,
        )
