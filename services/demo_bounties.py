"""Demo bounties for development, in several states, made through the marketplace's own verbs.

Each step is the unit of work a request would run (create, publish, apply, accept, submit,
approve, review), so the rows, history, ledger postings, jobs and counters are what the app makes.
Only the demo accounts' own bounties are checked: once the demo poster has any, nothing is added.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TypeVar

from sqlalchemy import func, select
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import Bounty, BountyStatus, User
from app.db.models.base import utcnow
from services.bounties import applications, delivery, drafting, reviews
from services.payments import charges, payment_methods
from services.payments.interface import Payments
from services.unit_of_work import Event, UnitOfWork, unit_of_work
from services.viewer import Viewer

logger = logging.getLogger(__name__)
S = BountyStatus
POSTER, HUNTER, CARLA = (
    "poster@demo.bountyexpo.dev",
    "hunter@demo.bountyexpo.dev",
    "carla@demo.bountyexpo.dev",
)
BERLIN = (52.5200, 13.4050, "Berlin Mitte")
KREUZBERG = (52.4986, 13.4033, "Berlin Kreuzberg")


@dataclass(frozen=True)
class DemoBounty:
    title: str
    description: str
    category: str
    reward: int  # minor units of EUR
    status: BountyStatus  # where the demo leaves it
    poster: str = POSTER
    location: tuple[float, float, str] | None = None
    applicants: tuple[str, ...] = ()  # who applies; the first is accepted from ASSIGNED on
    days_left: int = 14


DEMO_BOUNTIES = (
    DemoBounty(
        "Assemble a PAX wardrobe",
        "Two-door wardrobe, all parts and the manual are here. Bring a drill if you have one.",
        "handyman", 6000, S.OPEN, location=BERLIN, applicants=(HUNTER, CARLA),
    ),
    DemoBounty(
        "Walk Bruno twice on Saturday",
        "Friendly beagle, 45 minutes in the morning and again at 5 pm. Leash and bags provided.",
        "pets", 2500, S.OPEN, location=KREUZBERG, days_left=5,
    ),
    DemoBounty(
        "Translate a restaurant menu to German",
        "Two pages, about 60 dishes. Keep the dish names, translate the descriptions.",
        "writing", 8000, S.OPEN,
    ),
    DemoBounty(
        "Logo for a bike repair shop",
        "A simple mark that works in one colour on a sign and as an app icon.",
        "design", 15000, S.OPEN, poster=CARLA, applicants=(HUNTER,),
    ),
    DemoBounty(
        "Fix a dripping kitchen tap",
        "Single-lever mixer, drips even when closed. Probably the cartridge.",
        "handyman", 4500, S.ASSIGNED, location=BERLIN, applicants=(HUNTER, CARLA),
    ),
    DemoBounty(
        "Photograph a flat for a rental listing",
        "Two rooms, bright in the morning. Fifteen edited photos, landscape.",
        "photography", 12000, S.SUBMITTED, location=KREUZBERG, applicants=(HUNTER,),
    ),
    DemoBounty(
        "Carry 20 boxes to the third floor",
        "No lift. Boxes are packed and light; about an hour of work.",
        "moving", 5000, S.COMPLETED, location=BERLIN, applicants=(HUNTER,),
    ),
    DemoBounty(
        "Proofread my thesis introduction",
        "Eight pages of English; comments in the margin are fine.",
        "writing", 7000, S.DRAFT,
    ),
)  # fmt: skip


class _NoSubscribers:
    """Seeding runs before the gateway serves: nobody is subscribed to hear of it."""

    async def publish(self, topic: str, event: Event) -> None:
        return None


DEMO_CARD = "pm_card_visa"  # Stripe's test card; the sandbox and Stripe test mode accept it


async def fund_demo_bounty(
    session_factory: SessionFactory, poster: Viewer, bounty_id: uuid.UUID, payments: Payments
) -> None:
    """Fund and open a demo bounty: the one step that moves money (change it here only). It is
    `publishBounty` with a saved test card: a charge through the configured provider, the reward
    held in the ledger, the bounty OPEN."""
    sheet = await charges.publish(
        session_factory, _NoSubscribers(), poster, payments=payments, bounty_id=bounty_id,
        key=f"demo-publish:{bounty_id}", payment_method=DEMO_CARD,
    )  # fmt: skip
    if sheet.status != "SUCCEEDED":
        raise RuntimeError(f"the demo payment did not succeed: {sheet.status} {sheet.failure}")


async def seed_demo_bounties(session_factory: SessionFactory, payments: Payments) -> int:
    """Add the demo bounties unless the demo accounts already have some; how many were added."""
    async with session_factory() as session:
        people = {
            row.email: Viewer(row.id, row.role)
            for row in await session.execute(
                select(col(User.email), col(User.id), col(User.role)).where(
                    col(User.email).in_([POSTER, HUNTER, CARLA])
                )
            )
        }
        if len(people) < 3:
            logger.warning("demo accounts missing: no demo bounties")
            return 0
        ids = [viewer.user_id for viewer in people.values()]
        existing = await session.scalar(select(func.count()).where(col(Bounty.poster_id).in_(ids)))
    if existing:
        return 0
    # A saved card, so `paymentMethods` shows one and the poster can fund with it in GraphiQL.
    await payment_methods.add(
        session_factory, _NoSubscribers(), people[POSTER], payments=payments,
        payment_method=DEMO_CARD, make_default=True, key="demo-card",
    )  # fmt: skip
    for demo in DEMO_BOUNTIES:
        await _make(session_factory, payments, people, demo)
    return len(DEMO_BOUNTIES)


T = TypeVar("T")


async def _request(
    session_factory: SessionFactory, action: Callable[[UnitOfWork], Awaitable[T]]
) -> T:
    """`action` in a unit of work of its own, as one request would run it."""
    async with unit_of_work(session_factory, _NoSubscribers()) as work:
        return await action(work)


async def _make(
    session_factory: SessionFactory,
    payments: Payments,
    people: dict[str, Viewer],
    demo: DemoBounty,
) -> None:
    poster = people[demo.poster]
    values = {
        "title": demo.title,
        "description": demo.description,
        "category": demo.category,
        "reward_amount": demo.reward,
        "reward_currency": "EUR",
        "location": demo.location,
        "remote": demo.location is None,
        "deadline": utcnow() + timedelta(days=demo.days_left),
    }
    bounty_id = await _request(
        session_factory, lambda work: drafting.create_bounty(work, poster, values=values)
    )
    if demo.status is S.DRAFT:
        return
    await fund_demo_bounty(session_factory, poster, bounty_id, payments)
    applied = [
        await _request(
            session_factory,
            partial(
                applications.apply, viewer=people[email], bounty_id=bounty_id,
                message="I can do it this week.", proposed_amount=None,
            ),
        )
        for email in demo.applicants
    ]  # fmt: skip
    if demo.status is S.OPEN:
        return
    hunter = people[demo.applicants[0]]
    await _request(
        session_factory,
        lambda work: applications.accept(work, poster, application_id=applied[0]),
    )
    if demo.status is S.ASSIGNED:
        return
    await _request(
        session_factory,
        lambda work: delivery.submit_work(
            work, hunter, bounty_id=bounty_id, note="All done.", attachments=[]
        ),
    )
    if demo.status is S.SUBMITTED:
        return
    key = f"demo-approve:{bounty_id}"
    await _request(
        session_factory,
        lambda work: delivery.approve(
            work, poster, payments=payments, bounty_id=bounty_id, key=key
        ),
    )
    for author in (poster, hunter):
        review = partial(
            reviews.review, viewer=author, bounty_id=bounty_id, rating=5, text="Smooth throughout."
        )
        await _request(session_factory, review)
