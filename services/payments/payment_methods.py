"""Saved payment methods: a SetupIntent per `addPaymentMethod`, recorded when it succeeds.

`add` runs in phases like publishing: the customer (made once per user), the SetupIntent (no
database transaction open; key derived from the user and the client's key) and an ephemeral key
for the app's sheet. With a `payment_method` (pm_... the SDK made, or a test method) the intent
is confirmed at once and, if it succeeded, the method is recorded before answering; without one
the app presents the sheet and the `setup_intent.succeeded` webhook records it (`apply_setup`,
the same idempotent function). Each card's fingerprint goes to the risk signals
(`services/risk/fingerprints`). A method belongs to one user: anyone else's id is NOT_FOUND.
The first method saved is the default; removing the default promotes the newest other one.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import FingerprintKind, PaymentMethod
from services.errors import InvalidInput, NotFound
from services.payments.customers import customer_for
from services.payments.interface import Payments
from services.payments.provider import CardDetails, IntentStatus, SetupIntent
from services.risk.fingerprints import record_fingerprint
from services.unit_of_work import Publisher, UnitOfWork, unit_of_work
from services.viewer import Viewer

DETACH_JOB = "payments.detach_method"
MAX_METHODS = 20


@dataclass(frozen=True, slots=True)
class MethodCard:
    id: str  # pm_...
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    wallet: str | None
    is_default: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SetupSheet:
    """What the app's sheet needs to save a card, where it stands, and the method once saved."""

    status: str  # REQUIRES_ACTION (present the sheet), SUCCEEDED, FAILED
    setup_intent_id: str
    client_secret: str
    customer_id: str
    ephemeral_key: str
    publishable_key: str
    failure: str | None
    method: MethodCard | None


_COLUMNS = (
    col(PaymentMethod.provider_id),
    col(PaymentMethod.brand),
    col(PaymentMethod.last4),
    col(PaymentMethod.exp_month),
    col(PaymentMethod.exp_year),
    col(PaymentMethod.wallet),
    col(PaymentMethod.is_default),
    col(PaymentMethod.created_at),
)


def _card(row: Any) -> MethodCard:
    return MethodCard(*row)


def _status(setup: SetupIntent) -> str:
    if setup.status is IntentStatus.SUCCEEDED:
        return "SUCCEEDED"
    if setup.failure is not None or setup.status is IntentStatus.CANCELED:
        return "FAILED"
    return "REQUIRES_ACTION"


_PROVIDER_ID = re.compile(r"[A-Za-z0-9_]{3,255}")  # Stripe's ids: pm_1Abc..., card_...


def _check_id(payment_method: str, field: str) -> None:
    if _PROVIDER_ID.fullmatch(payment_method) is None:
        raise InvalidInput("not a payment method id", field=field)


def _setup_key(
    user_id: uuid.UUID, key: str | None, payment_method: str | None, make_default: bool
) -> str:
    """The SetupIntent's idempotency key: the client's key and what it asked for (the provider
    refuses a key repeated with other parameters), or a fresh one without a key."""
    if key is None:
        return f"setup:{user_id}:{uuid.uuid4()}"
    asked = hashlib.sha256(f"{key}|{payment_method}|{make_default}".encode()).hexdigest()[:32]
    return f"setup:{user_id}:{asked}"


async def add(
    session_factory: SessionFactory,
    publisher: Publisher,
    viewer: Viewer,
    *,
    payments: Payments,
    payment_method: str | None,
    make_default: bool,
    key: str | None,
) -> SetupSheet:
    """`addPaymentMethod`: no transaction is open during the provider calls."""
    if payment_method is not None:
        _check_id(payment_method, "input.paymentMethodId")
    if key is not None and not 1 <= len(key) <= 100:
        raise InvalidInput("use 1 to 100 characters", field="input.idempotencyKey")
    async with session_factory() as session:
        saved = await session.scalar(
            select(func.count()).where(col(PaymentMethod.user_id) == viewer.user_id)
        )
    if (saved or 0) >= MAX_METHODS:
        raise InvalidInput(f"at most {MAX_METHODS} saved payment methods: remove one first")
    provider = payments.provider
    customer_id = await customer_for(session_factory, payments, viewer.user_id)
    setup = await provider.create_setup_intent(
        customer_id=customer_id,
        payment_method=payment_method,
        metadata={"user_id": str(viewer.user_id), "make_default": str(make_default).lower()},
        idempotency_key=_setup_key(viewer.user_id, key, payment_method, make_default),
    )
    ephemeral = await provider.ephemeral_key(customer_id=customer_id)
    method = None
    if setup.status is IntentStatus.SUCCEEDED and setup.payment_method:
        card = await provider.payment_method_details(setup.payment_method)
        async with unit_of_work(session_factory, publisher) as work:
            method = await apply_setup(work, payments, setup, card)
    return SetupSheet(
        status=_status(setup),
        setup_intent_id=setup.id,
        client_secret=setup.client_secret,
        customer_id=customer_id,
        ephemeral_key=ephemeral,
        publishable_key=provider.publishable_key,
        failure=setup.failure,
        method=method,
    )


async def current_setup(
    payments: Payments, setup_intent_id: str
) -> tuple[SetupIntent, CardDetails | None] | None:
    """The SetupIntent as the provider reports it now, with its card once it succeeded (for the
    webhook job: outside any transaction). None when the provider does not know it."""
    try:
        setup = await payments.provider.retrieve_setup_intent(setup_intent_id)
        if setup.status is not IntentStatus.SUCCEEDED or setup.payment_method is None:
            return setup, None
        return setup, await payments.provider.payment_method_details(setup.payment_method)
    except LookupError:
        return None


async def _lock_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Serialise changes to one user's methods (the default, the count)."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"payment_methods:{user_id}"},
    )


async def apply_setup(
    work: UnitOfWork, payments: Payments, setup: SetupIntent, card: CardDetails | None
) -> MethodCard | None:
    """Record the method a succeeded SetupIntent saved, once (synchronous answer or webhook)."""
    owner = setup.metadata.get("user_id")
    if setup.status is not IntentStatus.SUCCEEDED or card is None or not owner:
        return None
    user_id = uuid.UUID(owner)
    session = work.session
    await _lock_user(session, user_id)
    has_default = await session.scalar(
        select(col(PaymentMethod.provider_id)).where(
            col(PaymentMethod.user_id) == user_id, col(PaymentMethod.is_default)
        )
    )
    default = has_default is None or setup.metadata.get("make_default") == "true"
    inserted = await session.scalar(
        insert(PaymentMethod)
        .values(
            user_id=user_id,
            provider=payments.provider.name,
            provider_id=card.id,
            brand=card.brand[:32],
            last4=card.last4[-4:],
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            wallet=card.wallet,
            is_default=False,
        )
        .on_conflict_do_nothing()
        .returning(col(PaymentMethod.id))
    )
    if inserted is not None:
        if default:
            await _make_default(session, user_id, card.id)
        if card.fingerprint:
            await record_fingerprint(session, user_id, FingerprintKind.CARD, card.fingerprint)
    return await _get(session, user_id, card.id)


async def _get(session: AsyncSession, user_id: uuid.UUID, method_id: str) -> MethodCard | None:
    row = (
        await session.execute(
            select(*_COLUMNS).where(
                col(PaymentMethod.user_id) == user_id, col(PaymentMethod.provider_id) == method_id
            )
        )
    ).one_or_none()
    return None if row is None else _card(row)


async def _make_default(session: AsyncSession, user_id: uuid.UUID, method_id: str) -> None:
    # Two statements: a unique index is checked row by row, so one UPDATE flipping two rows
    # could see two defaults half way.
    await session.execute(
        update(PaymentMethod)
        .where(col(PaymentMethod.user_id) == user_id, col(PaymentMethod.is_default))
        .values(is_default=False)
    )
    await session.execute(
        update(PaymentMethod)
        .where(col(PaymentMethod.user_id) == user_id, col(PaymentMethod.provider_id) == method_id)
        .values(is_default=True)
    )


async def list_methods(session_factory: SessionFactory, viewer: Viewer) -> list[MethodCard]:
    """Your saved methods, the default first, then newest first (one statement)."""
    async with session_factory() as session:
        rows = await session.execute(
            select(*_COLUMNS)
            .where(col(PaymentMethod.user_id) == viewer.user_id)
            .order_by(
                col(PaymentMethod.is_default).desc(),
                col(PaymentMethod.created_at).desc(),
                col(PaymentMethod.id),
            )
        )
        return [_card(row) for row in rows]


async def set_default(work: UnitOfWork, viewer: Viewer, *, method_id: str) -> MethodCard:
    _check_id(method_id, "input.id")
    session = work.session
    await _lock_user(session, viewer.user_id)
    if await _get(session, viewer.user_id, method_id) is None:
        raise NotFound("no such payment method of yours", field="input.id")
    await _make_default(session, viewer.user_id, method_id)
    found = await _get(session, viewer.user_id, method_id)
    assert found is not None
    return found


async def remove(work: UnitOfWork, viewer: Viewer, *, method_id: str) -> str:
    """Forget a method (the provider detaches it in a job after commit); its id."""
    _check_id(method_id, "input.id")
    session = work.session
    await _lock_user(session, viewer.user_id)
    row = (
        await session.execute(
            delete(PaymentMethod)
            .where(
                col(PaymentMethod.user_id) == viewer.user_id,
                col(PaymentMethod.provider_id) == method_id,
            )
            .returning(col(PaymentMethod.provider), col(PaymentMethod.is_default))
        )
    ).one_or_none()
    if row is None:
        raise NotFound("no such payment method of yours", field="input.id")
    provider, was_default = row
    if was_default:
        newest = await session.scalar(
            select(col(PaymentMethod.provider_id))
            .where(col(PaymentMethod.user_id) == viewer.user_id)
            .order_by(col(PaymentMethod.created_at).desc(), col(PaymentMethod.id))
            .limit(1)
        )
        if newest is not None:
            await _make_default(session, viewer.user_id, newest)
    await work.enqueue(DETACH_JOB, {"provider": provider, "paymentMethodId": method_id})
    return method_id


async def check_usable(session: AsyncSession, user_id: uuid.UUID, payment_method: str) -> None:
    """Funding with a saved method of someone else's is NOT_FOUND (test methods and methods
    the app just made are not saved: the provider decides about those)."""
    owner = await session.scalar(
        select(col(PaymentMethod.user_id)).where(col(PaymentMethod.provider_id) == payment_method)
    )
    if owner is not None and owner != user_id:
        raise NotFound("no such payment method of yours", field="input.paymentMethodId")


async def detach(payments: Payments, provider: str, method_id: str) -> None:
    """The job: the provider forgets the method (idempotent)."""
    if provider == payments.provider.name:
        await payments.provider.detach_payment_method(method_id)
