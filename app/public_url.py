"""Where clients reach this gateway: the base of absolute URLs in responses (`avatarUrl`, ...).

PUBLIC_BASE_URL when set (what production should do: one canonical origin, e.g. a CDN's).
Otherwise the request's own origin: its scheme (as a trusted proxy's X-Forwarded-Proto set it,
see TRUSTED_PROXIES; a socket's `ws`/`wss` read as `http`/`https`) and its Host header, so a phone
on the LAN that asked http://192.168.1.20:8000 gets URLs it can open.
"""

from __future__ import annotations

import re

from starlette.requests import HTTPConnection

from app.settings import Settings

# A host name, IPv4 or bracketed IPv6 address, and an optional port: nothing a URL could break on.
_HOST = re.compile(r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?")
_HTTP_SCHEME = {"http": "http", "https": "https", "ws": "http", "wss": "https"}


def public_base_url(settings: Settings, connection: HTTPConnection | None) -> str:
    """`https://api.example.com` (no trailing slash); "" when there is nothing to go on."""
    if settings.public_base_url:
        return settings.public_base_url
    if connection is None:
        return ""
    scheme = _HTTP_SCHEME.get(connection.url.scheme, "http")
    host = connection.headers.get("host", "")
    if not _HOST.fullmatch(host):
        name, port = connection.scope.get("server") or (settings.host, settings.port)
        default = 443 if scheme == "https" else 80
        host = name if port in (None, default) else f"{name}:{port}"
    return f"{scheme}://{host}"
