"""GET /media/<key>: stored media (avatars), served so a browser can only ever show an image.

The content type comes from the key we made, never from the upload; `nosniff` stops browsers
guessing otherwise, and a `default-src 'none'` policy means even a mislabelled file runs nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from services.media import MediaStorage, content_type_of

SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Content-Disposition": "inline",
    "Cross-Origin-Resource-Policy": "cross-origin",
    # Keys are unique per upload, so a file never changes under its URL.
    "Cache-Control": "public, max-age=31536000, immutable",
}


def media_routes(storage: Callable[[], MediaStorage | None]) -> list[Route]:
    async def serve(request: Request) -> Response:
        key = str(request.path_params["key"])
        content_type = content_type_of(key)
        media = storage()
        data = await media.load(key) if media is not None and content_type else None
        if data is None or content_type is None:
            return PlainTextResponse("Not Found", status_code=404)
        return Response(data, media_type=content_type, headers=SAFE_HEADERS)

    return [Route("/media/{key:path}", serve, methods=["GET", "HEAD"])]
