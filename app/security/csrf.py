"""Cross-site request forgery: Apollo Server's rule, for every HTTP GraphQL request.

A browser sends a cross-site request without a CORS preflight only when it is "simple": GET, or a
POST whose content type is missing, `text/plain`, `application/x-www-form-urlencoded` or
`multipart/form-data`. Such a request runs only when it carries a non-empty
`x-apollo-operation-name` or `apollo-require-preflight` header, which a page can add only after a
preflight that CORS_ORIGINS decides. JSON POSTs always preflight cross-site and pass. Mutations
never run over GET (strawberry allows only queries there); WebSocket handshakes from browser
pages on other origins are refused by the view (`allowed_origins` = CORS_ORIGINS).
"""

from __future__ import annotations

from collections.abc import Mapping

SIMPLE_CONTENT_TYPES = frozenset(
    {"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"}
)
PREFLIGHT_HEADERS = ("x-apollo-operation-name", "apollo-require-preflight")
CSRF_MESSAGE = (
    "This request needs a non-empty 'x-apollo-operation-name' or 'apollo-require-preflight' "
    "header (CSRF protection)."
)


def is_csrf_risk(method: str, content_type: str | None, headers: Mapping[str, str]) -> bool:
    """True for a request a browser could send cross-site and that lacks a preflight header."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    simple = method == "GET" or media_type in SIMPLE_CONTENT_TYPES
    return simple and not any(headers.get(name, "").strip() for name in PREFLIGHT_HEADERS)
