"""List root fields: one service read for a page, returned as a Relay connection.

`connection(info, read, to_node, **arguments)` calls `read(reads, viewer, count=..., **arguments)`
on the request's autocommit read sessions (no BEGIN/ROLLBACK round trips), asks for the list's
total only when the selection has `totalCount` (counting is a subquery of the page's own
statement, so a page that does not show it pays nothing), and turns a malformed argument
(`InvalidInput`) into BAD_USER_INPUT.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from strawberry.types.nodes import FragmentSpread, InlineFragment, Selection

from resolvers.mutations import require_viewer
from schema.context import Info
from schema.errors import BAD_USER_INPUT, ApiError
from schema.pagination import Connection
from services.errors import InvalidInput
from services.pagination import Page

RowT = TypeVar("RowT")
NodeT = TypeVar("NodeT")


def bad_input(error: InvalidInput) -> ApiError:
    return ApiError(error.message, BAD_USER_INPUT, field=error.field)


def _asks(selections: Iterable[Selection], name: str) -> bool:
    for selection in selections:
        if isinstance(selection, FragmentSpread | InlineFragment):
            if _asks(selection.selections, name):
                return True
        elif selection.name == name:
            return True
    return False


def wants_total(info: Info) -> bool:
    """Whether this field's selection asks for `totalCount` (directly or in a fragment)."""
    return any(_asks(field.selections, "totalCount") for field in info.selected_fields)


async def connection(
    info: Info,
    read: Callable[..., Awaitable[Page[RowT]]],
    to_node: Callable[[RowT], NodeT],
    /,
    *,
    counted: bool = True,
    **arguments: Any,
) -> Connection[NodeT]:
    """One page from `read(reads, viewer, *, count, **arguments)`, as a connection; a list
    whose total is never counted (`counted=False`: `totalCount` stays null) gets no `count`."""
    if counted:
        arguments["count"] = wants_total(info)
    try:
        page = await read(info.context.reads, require_viewer(info), **arguments)
    except InvalidInput as error:
        raise bad_input(error) from error
    return Connection.from_page(page, to_node)
