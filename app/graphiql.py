"""GraphiQL, served by the gateway itself: no CDN, so it works offline and under a CSP of 'self'.

The page at GET /graphql (browsers only, while GRAPHIQL is on) loads a pinned GraphiQL release,
React, the explorer plugin and the graphql-ws client from /graphiql/<version>/ (committed under
app/static/graphiql/, fetched from npm by fetch.sh there, with their licenses), each with a
Subresource Integrity hash; app/static/graphiql/page/gateway.js starts it with the welcome
document and a headers editor that shows how to send `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
from pathlib import Path

import orjson
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

GRAPHIQL_VERSION = "4.1.2"
STATIC = Path(__file__).resolve().parent / "static" / "graphiql"
ASSETS = STATIC / GRAPHIQL_VERSION
PAGE = STATIC / "page"
ASSETS_URL = f"/graphiql/{GRAPHIQL_VERSION}"
PAGE_URL = "/graphiql/page"
STYLES = (f"{ASSETS_URL}/graphiql.min.css", f"{ASSETS_URL}/plugin-explorer.css")
SCRIPTS = (
    f"{ASSETS_URL}/react.production.min.js",
    f"{ASSETS_URL}/react-dom.production.min.js",
    f"{ASSETS_URL}/graphiql.min.js",
    f"{ASSETS_URL}/plugin-explorer.umd.js",
    f"{ASSETS_URL}/graphql-ws.min.js",
)
TOKEN_PLACEHOLDER = "<accessToken from SignIn>"  # noqa: S105 (shown, never sent)
# The page only: scripts and styles from this origin (no inline script; React sets style
# attributes through the DOM, which CSP allows), fonts inlined in GraphiQL's CSS, HTTP and
# WebSocket back to this origin.
GRAPHIQL_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'"
)


class VersionedFiles(StaticFiles):
    """Files whose URL changes with their content: cacheable for a year."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def graphiql_routes() -> list[Mount]:
    return [
        Mount(ASSETS_URL, app=VersionedFiles(directory=ASSETS), name="graphiql-assets"),
        Mount(PAGE_URL, app=StaticFiles(directory=PAGE), name="graphiql-page"),
    ]


def graphiql_response(graphql_path: str = "/graphql") -> HTMLResponse:
    return HTMLResponse(
        graphiql_page(graphql_path), headers={"Content-Security-Policy": GRAPHIQL_CSP}
    )


@functools.cache
def graphiql_page(graphql_path: str) -> str:
    settings = {
        "path": graphql_path,
        "defaultQuery": (PAGE / "welcome.graphql").read_text(encoding="utf-8"),
        "defaultHeaders": orjson.dumps(
            {"Authorization": f"Bearer {TOKEN_PLACEHOLDER}"}, option=orjson.OPT_INDENT_2
        ).decode(),
        "tokenPlaceholder": TOKEN_PLACEHOLDER,
    }
    # JSON inside <script>: "</" would end the element early.
    settings_json = orjson.dumps(settings).decode().replace("</", "<\\/")
    styles = "\n".join(
        f'    <link rel="stylesheet" href="{url}" integrity="{_integrity(url)}">'
        for url in (*STYLES, f"{PAGE_URL}/gateway.css")
    )
    scripts = "\n".join(
        f'    <script src="{url}" integrity="{_integrity(url)}"></script>'
        for url in (*SCRIPTS, f"{PAGE_URL}/gateway.js")
    )
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>BountyExpo GraphiQL</title>
    <link rel="icon" href="data:,">
{styles}
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL {html.escape(GRAPHIQL_VERSION)}…</div>
    <script type="application/json" id="graphiql-settings">{settings_json}</script>
{scripts}
  </body>
</html>
"""


def _integrity(url: str) -> str:
    """sha384 Subresource Integrity of a file served under ASSETS_URL or PAGE_URL."""
    folder, name = (ASSETS, url.removeprefix(f"{ASSETS_URL}/"))
    if url.startswith(PAGE_URL):
        folder, name = PAGE, url.removeprefix(f"{PAGE_URL}/")
    digest = hashlib.sha384((folder / name).read_bytes()).digest()
    return f"sha384-{base64.b64encode(digest).decode()}"
