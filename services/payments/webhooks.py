"""Provider events: stored once by event id when they arrive, applied exactly once by a job.

`receive` runs in the request (after the signature was verified on the raw body): it stores the
event unless its id is known and queues `payments.webhook` in the same transaction, so the
endpoint answers 2xx fast and a duplicate delivery is a no-op. `process` (the job) asks the
provider for the object's current state (outside any transaction), then, in one transaction,
claims the event (`processed_at`, compare-and-set) and applies that state. Because every handler
applies the provider's current state through the same idempotent functions as the synchronous
path, duplicate and out-of-order deliveries converge on one final state.

Handled: payment_intent.succeeded / payment_failed / canceled / requires_action / processing
(the charge), charge.refunded (refunds), setup_intent.succeeded (a saved payment method:
`payment_methods`), charge.dispute.created / closed (chargebacks: `disputes`), account.updated,
transfer.created / reversed and payout.* (Connect: `payout_events.py`). Other types are stored
and marked processed without an effect.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import PaymentOperation, WebhookEvent
from app.db.models.base import utcnow
from services.payments import charges, disputes, payment_methods, payout_events, refunds
from services.payments.interface import Payments
from services.payments.provider import Intent, Refund
from services.unit_of_work import Publisher, UnitOfWork, unit_of_work

logger = logging.getLogger(__name__)
WEBHOOK_JOB = "payments.webhook"


class MalformedEvent(ValueError):
    pass


async def receive(work: UnitOfWork, event: dict[str, Any]) -> bool:
    """Store a verified event once; whether it was new (a job then applies it)."""
    event_id, event_type = event.get("id"), event.get("type")
    if not isinstance(event_id, str) or not isinstance(event_type, str) or not event_id:
        raise MalformedEvent("an event has a string id and type")
    if not isinstance(event.get("data"), dict) or not isinstance(event["data"].get("object"), dict):
        raise MalformedEvent("an event has data.object")
    stored = await work.session.scalar(
        insert(WebhookEvent)
        .values(id=event_id[:255], type=event_type[:64], payload=event)
        .on_conflict_do_nothing()
        .returning(col(WebhookEvent.id))
    )
    if stored is None:
        return False
    await work.enqueue(WEBHOOK_JOB, {"eventId": event_id})
    return True


async def _claim(work: UnitOfWork, event_id: str) -> dict[str, Any] | None:
    """The event's payload if this transaction is the one that processes it."""
    payload: dict[str, Any] | None = await work.session.scalar(
        update(WebhookEvent)
        .where(col(WebhookEvent.id) == event_id, col(WebhookEvent.processed_at).is_(None))
        .values(processed_at=utcnow())
        .returning(col(WebhookEvent.payload))
    )
    return payload


async def _known(work: UnitOfWork, operation_id: uuid.UUID) -> bool:
    found = await work.session.scalar(
        select(col(PaymentOperation.id)).where(col(PaymentOperation.id) == operation_id)
    )
    return found is not None


async def _current_intent(payments: Payments, intent_id: str) -> Intent | None:
    try:
        return await payments.provider.retrieve_intent(intent_id)
    except LookupError:
        return None


async def process(
    session_factory: SessionFactory, publisher: Publisher, payments: Payments, event_id: str
) -> bool:
    """Apply a stored event once; whether this call applied it."""
    async with session_factory() as session:
        event = await session.get(WebhookEvent, event_id)
        if event is None or event.processed_at is not None:
            return False
        event_type, obj, payload = event.type, event.payload["data"]["object"], event.payload
    intent: Intent | None = None
    setup = None
    if event_type.startswith("payment_intent.") and isinstance(obj.get("id"), str):
        intent = await _current_intent(payments, obj["id"])  # may raise: the job retries
    elif event_type.startswith("setup_intent.") and isinstance(obj.get("id"), str):
        setup = await payment_methods.current_setup(payments, obj["id"])
    connect_event = await payout_events.prepare(session_factory, payments, payload)
    async with unit_of_work(session_factory, publisher) as work:
        if await _claim(work, event_id) is None:
            return False
        if intent is not None:
            operation_id = intent.metadata.get("operation_id")
            if operation_id and await _known(work, uuid.UUID(operation_id)):
                await charges.apply_intent(work, payments, uuid.UUID(operation_id), intent)
        elif setup is not None:
            await payment_methods.apply_setup(work, payments, *setup)
        elif event_type == "charge.refunded":
            await _refunded(work, obj)
        elif event_type in ("charge.dispute.created", "charge.dispute.closed"):
            await disputes.apply_event(work, payments, event_type, obj)
        elif connect_event is not None:
            await payout_events.apply(work, connect_event)
    return True


async def _refunded(work: UnitOfWork, charge: dict[str, Any]) -> None:
    listed = (charge.get("refunds") or {}).get("data") or []
    for item in listed:
        refund_id, status = item.get("id"), item.get("status")
        if not isinstance(refund_id, str) or not isinstance(status, str):
            continue
        operation_id = await work.session.scalar(
            select(col(PaymentOperation.id)).where(col(PaymentOperation.provider_id) == refund_id)
        )
        if operation_id is not None:
            await refunds.apply_refund(work, operation_id, Refund(refund_id, status))
