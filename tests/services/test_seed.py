"""Demo data: realistic accounts and bounties in several states; a second run changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import (
    Application,
    ApplicationStatus,
    Bounty,
    LedgerPosting,
    PaymentMethod,
    Review,
    Role,
    User,
)
from services.demo_bounties import DEMO_BOUNTIES, seed_demo_bounties
from services.passwords import verify_password
from services.payments.interface import payments_for
from services.seed import DEMO_PASSWORD, DEMO_USERS, seed_demo_data
from tests.conftest import GraphQL, make_settings

pytestmark = pytest.mark.asyncio


async def test_seed_is_idempotent(session_factory: SessionFactory) -> None:
    async with session_factory() as session, session.begin():
        assert await seed_demo_data(session) == len(DEMO_USERS)
    async with session_factory() as session, session.begin():
        assert await seed_demo_data(session) == 0
    async with session_factory() as session:
        users = list(await session.scalars(select(User).order_by(User.email)))
    assert sorted(user.email for user in users) == sorted(user.email for user in DEMO_USERS)
    assert {user.role for user in users} == {Role.USER, Role.MODERATOR, Role.ADMIN}
    assert verify_password(users[0].password_hash, DEMO_PASSWORD)


async def test_demo_bounties_cover_the_lifecycle_and_are_added_once(
    session_factory: SessionFactory, graphql: GraphQL
) -> None:
    async with session_factory() as session, session.begin():
        await seed_demo_data(session)
    assert await seed_demo_bounties(session_factory, payments_for(make_settings())) == len(
        DEMO_BOUNTIES
    )
    assert await seed_demo_bounties(session_factory, payments_for(make_settings())) == 0
    async with session_factory() as session:
        cards = (await session.execute(select(col(PaymentMethod.brand), col(PaymentMethod.last4),
                                              col(PaymentMethod.is_default)))).all()  # fmt: skip
        assert [tuple(card) for card in cards] == [("visa", "4242", True)]  # the poster's, once
    async with session_factory() as session:
        statuses = sorted(
            status.value for status in await session.scalars(select(col(Bounty.status)))
        )
        calls = [
            (row[0], row[1])
            for row in await session.execute(
                select(col(LedgerPosting.kind), func.count()).group_by(col(LedgerPosting.kind))
            )
        ]
        pending = await session.scalar(
            select(func.count()).where(col(Application.status) == ApplicationStatus.PENDING)
        )
        reviewed = await session.scalar(select(func.count()).select_from(Review))
    assert statuses == sorted(["DRAFT", "ASSIGNED", "SUBMITTED", "COMPLETED"] + ["OPEN"] * 4)
    # Funded through the ledger: every published one, released once completed.
    assert sorted(calls) == [("FUNDING", 7), ("RELEASE", 1)]
    assert (pending, reviewed) == (3, 2)
    # An anonymous client browsing finds the open ones; drafts stay their poster's.
    listed = await graphql("{ bounties(first: 20) { totalCount edges { node { title } } } }")
    assert listed["data"]["bounties"]["totalCount"] == 4
    assert "Proofread my thesis introduction" not in str(listed)
