"""POST /webhooks/stripe: verify the signature on the raw body, store the event once, answer 2xx.

The signature is checked before anything is parsed (STRIPE_WEBHOOK_SECRET, and
STRIPE_PREVIOUS_WEBHOOK_SECRET during a rotation; 5-minute tolerance): a bad or stale one is a
400 and nothing is stored. A verified event is stored by its id with a job that applies it
(`services/payments/webhooks.py`) in one transaction: a repeated delivery answers 200 and does
nothing more. Without a webhook secret configured every delivery is refused (400).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.broker import Broker
from app.db.engine import SessionFactory
from app.settings import Settings
from services.payments import signatures, webhooks
from services.unit_of_work import unit_of_work

logger = logging.getLogger(__name__)
MAX_BODY = 512 * 1024


def webhook_secrets(settings: Settings) -> list[str]:
    found = [settings.stripe_webhook_secret, settings.stripe_previous_webhook_secret]
    return [secret.get_secret_value() for secret in found if secret is not None]


def _refused(message: str) -> Response:
    return JSONResponse({"error": message}, status_code=400)


def webhook_routes(
    settings: Settings, opened: Callable[[], tuple[SessionFactory, Broker] | None]
) -> list[Route]:
    secrets = webhook_secrets(settings)

    async def stripe_webhook(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            return _refused("the body is too large")
        if not secrets:
            return _refused("webhooks are not configured (STRIPE_WEBHOOK_SECRET)")
        try:
            signatures.verify(body, request.headers.get("stripe-signature"), secrets)
        except signatures.BadSignature as error:
            logger.warning("refused a webhook: %s", error)
            return _refused(str(error))
        try:
            event = orjson.loads(body)
        except orjson.JSONDecodeError:
            return _refused("the body is not JSON")
        running = opened()
        if running is None:
            return JSONResponse({"error": "starting"}, status_code=503)
        session_factory, broker = running
        try:
            async with unit_of_work(session_factory, broker) as work:
                new = await webhooks.receive(work, event if isinstance(event, dict) else {})
        except webhooks.MalformedEvent as error:
            return _refused(str(error))
        return JSONResponse({"received": True, "duplicate": not new})

    return [Route("/webhooks/stripe", stripe_webhook, methods=["POST"])]
