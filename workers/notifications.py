"""Notification jobs: creating them from domain events, pushing, mailing, polling receipts."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx

from app.broker import RedisBroker
from app.db.models import NotificationType
from services.mail import mail_sender
from services.notifications import domain, email, push
from services.notifications.expo import push_sender
from services.notifications.store import EMAIL_JOB, PUSH_JOB
from services.presence import presence_for
from services.unit_of_work import unit_of_work
from workers.registry import JobRun, Registry, ScheduleRun

jobs = Registry("notifications")


@jobs.job(domain.CREATE_JOB, max_attempts=8)
async def create(run: JobRun) -> None:
    """Any domain's event: {"userIds", "type", "subject", "data"} (payments use it)."""
    payload = run.payload
    async with unit_of_work(run.session_factory, run.broker) as work:
        await domain.notify_users(
            work,
            user_ids=[uuid.UUID(user) for user in payload["userIds"]],
            type_=NotificationType(payload["type"]),
            subject=str(payload.get("subject", "")),
            data=dict(payload.get("data") or {}),
            job_key=f"job:{run.id}",
        )


@jobs.job("notifications.message", max_attempts=5)
async def message(run: JobRun) -> None:
    """A new message: NEW_MESSAGE for recipients with no socket open (any gateway, with Redis)."""
    client = run.broker.client if isinstance(run.broker, RedisBroker) else None
    async with unit_of_work(run.session_factory, run.broker) as work:
        await domain.notify_message(work, uuid.UUID(run.payload["messageId"]), presence_for(client))


@jobs.job(PUSH_JOB, max_attempts=8, retry_delay=timedelta(seconds=5))
async def push_pending(run: JobRun) -> None:
    """Every pending push, 100 per Expo request (one job drains them all)."""
    async with _http(run.settings) as client:
        await push.deliver_pending(run.session_factory, push_sender(run.settings, client))


@jobs.job(EMAIL_JOB, max_attempts=8, retry_delay=timedelta(seconds=10))
async def mail(run: JobRun) -> None:
    await email.send_notification_mail(
        run.session_factory, mail_sender(run.settings), uuid.UUID(run.payload["notificationId"])
    )


@jobs.schedule("notifications.receipts", "* * * * *")
async def receipts(run: ScheduleRun) -> None:
    """Every minute: receipts of tickets old enough, and pushes a dedupe or crash left behind."""
    async with _http(run.settings) as client:
        sender = push_sender(run.settings, client)
        await push.deliver_pending(run.session_factory, sender)
        delay = timedelta(seconds=run.settings.push_receipt_delay_seconds)
        await push.poll_receipts(run.session_factory, sender, older_than=delay)


def _http(settings: object) -> httpx.AsyncClient:
    timeout = float(getattr(settings, "expo_timeout_seconds", 10.0))
    return httpx.AsyncClient(timeout=timeout)
