"""A user's customer at the payment provider (cus_...): made once, on first need (funding,
saving a card), with a key derived from the user, and remembered in `payment_customers`."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import PaymentCustomer, User
from services.errors import AccountClosed
from services.payments.interface import Payments


async def customer_for(
    session_factory: SessionFactory, payments: Payments, user_id: uuid.UUID
) -> str:
    provider = payments.provider
    async with session_factory() as session:
        row = (
            await session.execute(
                select(col(PaymentCustomer.customer_id)).where(
                    col(PaymentCustomer.user_id) == user_id,
                    col(PaymentCustomer.provider) == provider.name,
                )
            )
        ).one_or_none()
        if row is not None:
            return str(row[0])
        email = await session.scalar(select(col(User.email)).where(col(User.id) == user_id))
    if email is None:  # deleted while its access token still lives
        raise AccountClosed(str(user_id))
    customer_id = await provider.customer(
        user_id=str(user_id), email=email, idempotency_key=f"customer:{user_id}"
    )
    async with session_factory() as session, session.begin():
        await session.execute(
            insert(PaymentCustomer)
            .values(user_id=user_id, provider=provider.name, customer_id=customer_id)
            .on_conflict_do_nothing()
        )
    return customer_id
