"""Delivering pending pushes: claim up to 100, one Expo request, store the tickets; later poll
the receipts. `DeviceNotRegistered` (in a ticket or a receipt) deactivates the token.

No network call happens inside a transaction: rows are claimed (PENDING -> SENDING) and
committed, then sent, then their tickets recorded; a failed request puts them back to PENDING.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import text, update
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import PushDelivery, PushStatus, PushToken
from app.db.models.base import utcnow
from app.monitoring.metrics import record_notification, record_push_receipt
from services.notifications.expo import BATCH, RECEIPT_BATCH, PushSender

DEVICE_NOT_REGISTERED = "DeviceNotRegistered"
STALE_SENDING = timedelta(minutes=10)

_CLAIM = text(
    """
WITH pick AS (
  SELECT id FROM push_deliveries WHERE status = 'PENDING'
   ORDER BY id LIMIT :batch FOR UPDATE SKIP LOCKED
), claimed AS (
  UPDATE push_deliveries d SET status = 'SENDING', sent_at = now()
    FROM pick WHERE d.id = pick.id
  RETURNING d.id, d.notification_id, d.token_id
)
SELECT c.id, c.token_id, t.token, t.active, n.id, n.type, n.title, n.body, n.data
  FROM claimed c
  JOIN push_tokens t ON t.id = c.token_id
  JOIN notifications n ON n.id = c.notification_id
 ORDER BY c.id
"""
)


async def deliver_pending(session_factory: SessionFactory, sender: PushSender) -> int:
    """Send every pending push, 100 per request; how many requests were made."""
    requests = 0
    while True:
        async with session_factory() as session, session.begin():
            rows = (await session.execute(_CLAIM, {"batch": BATCH})).all()
        if not rows:
            return requests
        live = [row for row in rows if row[3]]
        dead = [row[0] for row in rows if not row[3]]
        if dead:
            await _finish(session_factory, dead, PushStatus.FAILED, error="token inactive")
        if live:
            try:
                tickets = await sender.send([_message(row) for row in live])
                requests += 1
            except Exception:
                await _finish(session_factory, [row[0] for row in live], PushStatus.PENDING)
                raise
            await _record_tickets(session_factory, live, tickets)
        if len(rows) < BATCH:
            return requests


def _message(row: Any) -> dict[str, Any]:
    _, _, token, _, notification_id, type_, title, body, data = row
    return {
        "to": token,
        "title": title,
        "body": body,
        "sound": "default",
        "data": {**(data or {}), "notificationId": str(notification_id), "type": type_},
    }


async def _record_tickets(
    session_factory: SessionFactory, rows: list[Any], tickets: list[dict[str, Any]]
) -> None:
    async with session_factory() as session, session.begin():
        for row, ticket in zip(rows, tickets, strict=True):
            delivery_id, token_id = row[0], row[1]
            if ticket.get("status") == "ok":
                values: dict[str, Any] = {"status": PushStatus.SENT, "ticket_id": ticket["id"]}
                record_notification("push", "sent")
            else:
                error = str((ticket.get("details") or {}).get("error") or "error")
                values = {"status": PushStatus.FAILED, "error": error[:100]}
                record_notification("push", "failed")
                if error == DEVICE_NOT_REGISTERED:
                    await _deactivate(session, token_id)
            await session.execute(
                update(PushDelivery).where(col(PushDelivery.id) == delivery_id).values(**values)
            )


async def _finish(
    session_factory: SessionFactory,
    ids: list[int],
    status: PushStatus,
    *,
    error: str | None = None,
) -> None:
    async with session_factory() as session, session.begin():
        await session.execute(
            update(PushDelivery)
            .where(col(PushDelivery.id).in_(ids))
            .values(status=status, error=error)
        )


async def _deactivate(session: Any, token_id: uuid.UUID) -> None:
    await session.execute(
        update(PushToken)
        .where(col(PushToken.id) == token_id)
        .values(active=False, deactivated_reason=DEVICE_NOT_REGISTERED, updated_at=utcnow())
    )


_DUE_RECEIPTS = text(
    """
SELECT id, ticket_id, token_id FROM push_deliveries
 WHERE status = 'SENT' AND ticket_id IS NOT NULL AND sent_at <= :before
 ORDER BY id LIMIT :batch
"""
)


async def poll_receipts(
    session_factory: SessionFactory, sender: PushSender, *, older_than: timedelta
) -> int:
    """Receipts of tickets at least `older_than` old (Expo has them after 15-30 minutes)."""
    checked = 0
    async with session_factory() as session, session.begin():  # pushes a crash left SENDING
        await session.execute(
            update(PushDelivery)
            .where(
                col(PushDelivery.status) == PushStatus.SENDING,
                col(PushDelivery.sent_at) < utcnow() - STALE_SENDING,
            )
            .values(status=PushStatus.PENDING)
        )
    while True:
        async with session_factory() as session:
            rows = (
                await session.execute(
                    _DUE_RECEIPTS, {"before": utcnow() - older_than, "batch": RECEIPT_BATCH}
                )
            ).all()
        if not rows:
            return checked
        receipts = await sender.receipts([row[1] for row in rows])
        async with session_factory() as session, session.begin():
            for delivery_id, ticket_id, token_id in rows:
                receipt = receipts.get(ticket_id)
                if receipt is None:  # not ready yet: ask again next time
                    continue
                checked += 1
                if receipt.get("status") == "ok":
                    values: dict[str, Any] = {"status": PushStatus.DELIVERED}
                    record_push_receipt("ok")
                else:
                    error = str((receipt.get("details") or {}).get("error") or "error")
                    values = {"status": PushStatus.FAILED, "error": error[:100]}
                    record_push_receipt(error)
                    if error == DEVICE_NOT_REGISTERED:
                        await _deactivate(session, token_id)
                await session.execute(
                    update(PushDelivery).where(col(PushDelivery.id) == delivery_id).values(**values)
                )
        if len(rows) < RECEIPT_BATCH or not any(row[1] in receipts for row in rows):
            return checked
