"""GraphiQL in a real browser: Debian's headless Chromium opens /graphql on a real uvicorn with
every other host unreachable, lists Query's fields in the docs explorer (introspection under its
own limits), runs a query over HTTP and a subscription over a WebSocket to the same URL, and
no request ever leaves for another host (no CDN, no fonts) or breaks the page's CSP."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from app.db.engine import SessionFactory
from app.main import create_app
from app.settings import Settings
from tests.bounty_factories import insert_bounty
from tests.cdp import Page, browser_page, chromium_path
from tests.conftest import make_settings
from tests.factories import create_user, global_id, token_for
from tests.live_server import live_server

pytestmark = pytest.mark.asyncio

QUERY_EDITOR = "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror"
RESPONSE = "document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()"
# Every CodeMirror on the page; the headers editor is the one that starts with Authorization.
HEADERS_EDITOR = (
    "Array.from(document.querySelectorAll('.CodeMirror')).map(e => e.CodeMirror)"
    ".find(cm => cm.getValue().includes('Authorization'))"
)
WATCH_VIOLATIONS = (
    "window.__violations = [];"
    "document.addEventListener('securitypolicyviolation',"
    " e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"
)


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[str]:
    if chromium_path() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI: .ci/run installs Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    app = create_app(make_settings(database_url=database_url), database_url=database_url)
    with live_server(app) as base_url:
        yield base_url


@pytest_asyncio.fixture
async def page(server: str) -> AsyncIterator[Page]:
    async with browser_page(server) as tab:
        await tab.send("Page.addScriptToEvaluateOnNewDocument", source=WATCH_VIOLATIONS)
        await tab.send("Page.navigate", url=f"{server}/graphql")
        await tab.wait_for("document.querySelector('.graphiql-execute-button') !== null")
        yield tab


async def run(page: Page, name: str, query: str) -> None:
    """Replace the document with one named operation and run it (the tab takes its name once
    GraphiQL has read the new document; before that the button would offer the old ones)."""
    await page.evaluate(f"{QUERY_EDITOR}.setValue({json.dumps(query)})")
    await page.wait_for(
        f"document.querySelector('.graphiql-tab-button')?.textContent === {json.dumps(name)}"
    )
    await page.evaluate("document.querySelector('.graphiql-execute-button').click()")


async def response_containing(page: Page, text: str, seconds: float = 60) -> Any:
    found = await page.wait_for(f"{RESPONSE}.includes({json.dumps(text)}) && {RESPONSE}", seconds)
    return json.loads(found)


async def test_docs_explorer_lists_query_fields_and_a_query_runs(page: Page, server: str) -> None:
    await page.evaluate(
        "document.querySelector('[aria-label=\"Show Documentation Explorer\"]').click()"
    )
    # The root types appear once the schema is introspected; then open Query.
    await page.wait_for(
        "(link => link ? (link.click(), true) : false)"
        "(Array.from(document.querySelectorAll('.graphiql-doc-explorer-type-name'))"
        ".find(link => link.textContent === 'Query'))"
    )
    fields = await page.wait_for(
        "(names => names.includes('bounties') && names)"
        "(Array.from(document.querySelectorAll('.graphiql-doc-explorer-field-name'))"
        ".map(field => field.textContent))"
    )
    assert {"bounties", "viewer", "serverInfo", "bountyCategories"} <= set(fields)

    await run(page, "Environment", "query Environment { serverInfo { environment } }")
    assert await response_containing(page, "environment") == {
        "data": {"serverInfo": {"environment": "TEST"}}
    }
    assert page.blocked == []
    assert await page.evaluate("window.__violations") == []


async def test_a_subscription_runs_over_a_websocket_to_the_same_url(
    page: Page, server: str, session_factory: SessionFactory, settings: Settings
) -> None:
    poster = await create_user(session_factory, display_name="Browser Poster")
    bounty_id = global_id("Bounty", await insert_bounty(session_factory, poster))
    token = token_for(settings, poster)
    headers = json.dumps({"Authorization": f"Bearer {token}"})
    await page.evaluate(f"{HEADERS_EDITOR}.setValue({json.dumps(headers)})")
    watch = f'subscription Watch {{ bountyUpdated(id: "{bounty_id}") {{ bounty {{ title }} }} }}'
    await run(page, "Watch", watch)
    await asyncio.wait_for(page.websocket_opened.wait(), 30)
    rename = (
        "mutation ($id: ID!, $title: String!) { updateBounty(input: {bountyId: $id, title: $title})"
        " { __typename } }"
    )
    async with httpx.AsyncClient(base_url=server) as client:
        # The socket subscribes in the background: rename until an update shows.
        for attempt in range(10):
            title = f"Renamed in the browser test {attempt}"
            answer = await client.post(
                "/graphql",
                json={"query": rename, "variables": {"id": bounty_id, "title": title}},
                headers={"authorization": f"Bearer {token}"},
            )
            assert answer.json() == {"data": {"updateBounty": {"__typename": "BountySuccess"}}}
            try:
                shown = await response_containing(page, "Renamed in the browser test", 3)
                break
            except TimeoutError:
                continue
    assert shown["data"]["bountyUpdated"]["bounty"]["title"].startswith("Renamed in the browser")
    assert page.websockets == [f"{server.replace('http://', 'ws://')}/graphql"]
    assert page.blocked == []
    assert await page.evaluate("window.__violations") == []
