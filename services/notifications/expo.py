"""Expo's push service: an async HTTPX client, and the log stand-in for development.

At most 100 messages per request (`BATCH`), bodies over 1 KB gzipped; 429 and 5xx are retried
with exponential backoff (Retry-After when Expo sends one) up to `max_attempts`, then
`PushUnavailable` (the job retries later). Receipts come from getReceipts, 300 ids a request.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import orjson

logger = logging.getLogger(__name__)
BATCH = 100
RECEIPT_BATCH = 300
SEND_PATH = "/--/api/v2/push/send"
RECEIPTS_PATH = "/--/api/v2/push/getReceipts"

Message = dict[str, Any]


class PushUnavailable(Exception):
    """Expo kept answering 429/5xx (or could not be reached) after every retry."""


class PushSender(Protocol):
    async def send(self, messages: Sequence[Message]) -> list[dict[str, Any]]: ...

    async def receipts(self, ticket_ids: Sequence[str]) -> dict[str, dict[str, Any]]: ...


@dataclass
class ExpoPush:
    client: httpx.AsyncClient
    base_url: str = "https://exp.host"
    access_token: str | None = None
    max_attempts: int = 4
    base_delay: float = 1.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep)

    async def send(self, messages: Sequence[Message]) -> list[dict[str, Any]]:
        """One request of at most 100 messages; its tickets, in order."""
        if len(messages) > BATCH:
            raise ValueError(f"Expo takes at most {BATCH} messages a request")
        body = await self._post(SEND_PATH, list(messages))
        tickets: list[dict[str, Any]] = body["data"]
        return tickets

    async def receipts(self, ticket_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if len(ticket_ids) > RECEIPT_BATCH:
            raise ValueError(f"Expo takes at most {RECEIPT_BATCH} receipt ids a request")
        body = await self._post(RECEIPTS_PATH, {"ids": list(ticket_ids)})
        receipts: dict[str, dict[str, Any]] = body["data"]
        return receipts

    async def _post(self, path: str, payload: Any) -> Any:
        content = orjson.dumps(payload)
        headers = {
            "content-type": "application/json",
            "accept": "application/json",
            "accept-encoding": "gzip, deflate",
        }
        if len(content) > 1024:
            content = gzip.compress(content)
            headers["content-encoding"] = "gzip"
        if self.access_token:
            headers["authorization"] = f"Bearer {self.access_token}"
        url = self.base_url.rstrip("/") + path
        for attempt in range(1, self.max_attempts + 1):
            retry_after: float | None = None
            try:
                response = await self.client.post(url, content=content, headers=headers)
            except httpx.TransportError as error:
                problem = f"{type(error).__name__}"
            else:
                if response.status_code == 429 or response.status_code >= 500:
                    problem = f"HTTP {response.status_code}"
                    retry_after = _seconds(response.headers.get("retry-after"))
                else:
                    response.raise_for_status()
                    return response.json()
            if attempt == self.max_attempts:
                raise PushUnavailable(f"Expo push: {problem} after {attempt} attempts")
            delay = retry_after if retry_after is not None else self.base_delay * 2 ** (attempt - 1)
            logger.warning("Expo push: %s; retrying in %.1f s", problem, delay)
            await self.sleep(delay)
        raise AssertionError("unreachable")


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class LogPushSender:
    """Stand-in: logs pushes instead of sending them (development default). Production refuses
    to start on it unless ALLOW_LOG_ONLY_PUSH is set."""

    def __init__(self) -> None:
        self.sent: list[Message] = []

    async def send(self, messages: Sequence[Message]) -> list[dict[str, Any]]:
        self.sent.extend(messages)
        for message in messages:
            logger.info("push (log only) to %s: %s", message.get("to"), message.get("title"))
        return [{"status": "ok", "id": f"log-{uuid.uuid4()}"} for _ in messages]

    async def receipts(self, ticket_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        return {ticket: {"status": "ok"} for ticket in ticket_ids}


def push_sender(settings: Any, client: httpx.AsyncClient) -> PushSender:
    if settings.push_is_log_only:
        return LogPushSender()
    token = settings.expo_access_token.get_secret_value() if settings.expo_access_token else None
    return ExpoPush(client, settings.expo_push_url, token)
