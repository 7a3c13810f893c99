"""Keyset pagination: opaque cursors over a sort key, stable under concurrent inserts; one page
(and its total, when asked) in one statement."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import ColumnElement, FromClause, Row, Select, func, select

from app.db.engine import SessionFactory
from services.errors import InvalidInput

T = TypeVar("T")
MAX_PAGE_SIZE = 100


def encode_cursor(key: list[Any]) -> str:
    """The sort key of a row as an opaque string; clients must not parse it."""
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode().rstrip("=")


def decode_cursor(cursor: str, *, field: str = "after") -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, orjson.JSONDecodeError) as error:
        raise InvalidInput("not a cursor this API issued", field=field) from error
    if not isinstance(key, list):
        raise InvalidInput("not a cursor this API issued", field=field)
    return key


def page_size(first: int | None, *, default: int = 20) -> int:
    if first is None:
        return default
    if not 0 <= first <= MAX_PAGE_SIZE:
        raise InvalidInput(f"first must be between 0 and {MAX_PAGE_SIZE}", field="first")
    return first


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows, each with its cursor. Fetch `size + 1` rows to learn `has_next_page`."""

    items: list[tuple[T, str]]
    has_next_page: bool
    has_previous_page: bool
    total_count: int | None = None

    @classmethod
    def from_rows(
        cls, rows: list[T], size: int, cursor_of: Any, *, after: str | None, total: int | None
    ) -> Page[T]:
        return cls(
            items=[(row, cursor_of(row)) for row in rows[:size]],
            has_next_page=len(rows) > size,
            has_previous_page=after is not None,
            total_count=total,
        )


@dataclass(frozen=True, slots=True)
class Counted:
    """What a list's `totalCount` counts: its rows under the filter, the cursor left out."""

    source: FromClause
    conditions: Sequence[ColumnElement[bool]] = ()


async def read_page(
    session_factory: SessionFactory, query: Select[Any], *, total: Counted | None, after: str | None
) -> tuple[list[Row[Any]], int | None]:
    """The rows of one page (`query`, already limited) and, when `total` is given, the count of
    the whole filtered list as a scalar subquery of the same statement (its last column).

    Still one statement a page; only a page past the end (a cursor, no rows) counts apart."""
    if total is None:
        async with session_factory() as session:
            return list((await session.execute(query)).all()), None
    count = select(func.count()).select_from(total.source).where(*total.conditions)
    async with session_factory() as session:
        rows = list((await session.execute(query.add_columns(count.scalar_subquery()))).all())
        if rows:
            return rows, int(rows[0][-1])
        if after is None:
            return rows, 0
        return rows, int(await session.scalar(count) or 0)
