"""Alert notifications: always to the log, and to ALERT_WEBHOOK_URL as a JSON POST when set."""

from __future__ import annotations

import logging

import httpx

from app.monitoring import metrics
from app.monitoring.alerts import AlertEvent

logger = logging.getLogger("bountyexpo.alerts")
WEBHOOK_TIMEOUT_SECONDS = 5.0


class Notifier:
    def __init__(self, webhook_url: str | None, *, client: httpx.AsyncClient | None = None) -> None:
        self.webhook_url = webhook_url
        self.client = client or httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_SECONDS)

    async def __call__(self, event: AlertEvent) -> None:
        level = logging.WARNING if event.status == "firing" else logging.INFO
        logger.log(
            level,
            "alert %s %s: %s (value %.4g, threshold %.4g)",
            event.alert,
            event.status,
            event.summary,
            event.value,
            event.threshold,
        )
        metrics.ALERT_NOTIFICATIONS.labels("log", "sent").inc()
        if self.webhook_url is None:
            return
        try:
            response = await self.client.post(self.webhook_url, json=event.as_json())
            response.raise_for_status()
        except httpx.HTTPError as error:
            # A broken receiver must not stop evaluation; the log line above still went out.
            logger.error("alert webhook %s failed: %s", self.webhook_url, error)
            metrics.ALERT_NOTIFICATIONS.labels("webhook", "failed").inc()
        else:
            metrics.ALERT_NOTIFICATIONS.labels("webhook", "sent").inc()

    async def close(self) -> None:
        await self.client.aclose()
