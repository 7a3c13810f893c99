"""Opaque keyset cursors and the Relay connection built from a page."""

from __future__ import annotations

import pytest

from schema.pagination import Connection
from services.errors import InvalidInput
from services.pagination import MAX_PAGE_SIZE, Page, decode_cursor, encode_cursor, page_size


def test_cursor_round_trips_a_sort_key() -> None:
    key = ["2026-11-26T10:00:00+00:00", "3f1c6a0e-0000-4000-8000-000000000001"]
    cursor = encode_cursor(key)
    assert "=" not in cursor
    assert decode_cursor(cursor) == key


@pytest.mark.parametrize("cursor", ["%%%", "bm90IGpzb24", encode_cursor({"a": 1})])  # type: ignore[arg-type]
def test_foreign_cursors_are_invalid_input(cursor: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        decode_cursor(cursor, field="after")
    assert (raised.value.code, raised.value.field) == ("INVALID_INPUT", "after")


def test_page_size_defaults_and_bounds() -> None:
    assert page_size(None) == 20
    assert page_size(0) == 0
    assert page_size(MAX_PAGE_SIZE) == MAX_PAGE_SIZE
    for wrong in (-1, MAX_PAGE_SIZE + 1):
        with pytest.raises(InvalidInput, match="first must be between 0 and 100"):
            page_size(wrong)


def test_connection_from_a_page_fetched_one_row_long() -> None:
    rows = [1, 2, 3]  # size 2 + 1 extra row: there is a next page
    page = Page.from_rows(rows, 2, lambda n: encode_cursor([n]), after=None, total=7)
    connection = Connection.from_page(page, lambda n: f"node {n}")
    assert [(edge.cursor, edge.node) for edge in connection.edges] == [
        (encode_cursor([1]), "node 1"),
        (encode_cursor([2]), "node 2"),
    ]
    info = connection.page_info
    assert (info.has_next_page, info.has_previous_page) == (True, False)
    assert (info.start_cursor, info.end_cursor) == (encode_cursor([1]), encode_cursor([2]))
    assert connection.total_count == 7


def test_last_page_after_a_cursor() -> None:
    page = Page.from_rows([9], 2, lambda n: encode_cursor([n]), after="x", total=None)
    connection = Connection.from_page(page, str)
    assert (connection.page_info.has_next_page, connection.page_info.has_previous_page) == (
        False,
        True,
    )
    empty = Connection.from_page(Page.from_rows([], 2, str, after=None, total=0), str)
    assert (empty.edges, empty.page_info.start_cursor, empty.page_info.end_cursor) == (
        [],
        None,
        None,
    )
