"""Business category compliance: ALLOWED, RESTRICTED (reviewed before publishing) or PROHIBITED.

Creating or editing a bounty into a PROHIBITED category is refused; publishing one is refused.
Publishing in a RESTRICTED category puts a review in the moderators' queue (a report raised by
the system) and answers CATEGORY_REVIEW_PENDING; once a moderator DISMISSes that review the
poster publishes as usual (REMOVE_CONTENT removes the bounty instead).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import SessionFactory
from app.db.models import (
    Bounty,
    BountyCategory,
    CategoryPolicy,
    CategoryRule,
    ContentReport,
    ReportReason,
    ReportStatus,
    ReportTarget,
)
from app.db.models.base import utcnow
from services import audit
from services.audit import RequestMeta
from services.errors import DomainError, InvalidInput, NotAllowed, NotFound
from services.unit_of_work import UnitOfWork
from services.viewer import Viewer

CATEGORY_POLICY_CHANGED = "risk.category_policy"
rule = CategoryRule.__table__.c  # type: ignore[attr-defined]
cat = BountyCategory.__table__.c  # type: ignore[attr-defined]
rep = ContentReport.__table__.c  # type: ignore[attr-defined]
b = Bounty.__table__.c  # type: ignore[attr-defined]
categories_table = BountyCategory.__table__  # type: ignore[attr-defined]
rules_table = CategoryRule.__table__  # type: ignore[attr-defined]


class CategoryProhibited(DomainError):
    code = "CATEGORY_PROHIBITED"


class CategoryReviewPending(DomainError):
    """The review request it raised must commit: the resolver commits, then reports this."""

    code = "CATEGORY_REVIEW_PENDING"
    keeps_changes = True


@dataclass(frozen=True, slots=True)
class CategoryPolicyRow:
    slug: str
    name: str
    policy: CategoryPolicy
    reason: str | None


async def policy_of(session: AsyncSession, slug: str) -> CategoryPolicy:
    found = await session.scalar(select(rule.policy).where(rule.slug == slug))
    return CategoryPolicy(found) if found is not None else CategoryPolicy.ALLOWED


async def check_drafting(session: AsyncSession, slug: str) -> None:
    """For create and update: a PROHIBITED category is refused."""
    if await policy_of(session, slug) is CategoryPolicy.PROHIBITED:
        raise CategoryProhibited(
            f"bounties in {slug!r} are not allowed on BountyExpo", field="input.category"
        )


async def check_publish(work: UnitOfWork, viewer: Viewer, bounty_id: uuid.UUID) -> None:
    """Before funding: PROHIBITED refuses; RESTRICTED needs a moderator's approval first."""
    session = work.session
    row = (await session.execute(select(b.category, b.poster_id).where(b.id == bounty_id))).first()
    if row is None or row.poster_id != viewer.user_id:
        return  # the publish itself answers NOT_FOUND or NOT_ALLOWED
    policy = await policy_of(session, row.category)
    if policy is CategoryPolicy.PROHIBITED:
        raise CategoryProhibited(
            f"bounties in {row.category!r} are not allowed on BountyExpo", field="input.bountyId"
        )
    if policy is CategoryPolicy.ALLOWED:
        return
    system_review = (
        (rep.target_type == ReportTarget.BOUNTY)
        & (rep.target_id == bounty_id)
        & rep.reporter_id.is_(None)
    )
    if await session.scalar(
        select(exists().where(system_review, rep.status == ReportStatus.DISMISSED))
    ):
        return  # a moderator approved it
    if not await session.scalar(
        select(exists().where(system_review, rep.status == ReportStatus.OPEN))
    ):
        session.add(
            ContentReport(
                reporter_id=None,
                target_type=ReportTarget.BOUNTY,
                target_id=bounty_id,
                author_id=viewer.user_id,
                reason=ReportReason.PROHIBITED,
                note=f"restricted category {row.category!r}: review before publishing",
            )
        )
    raise CategoryReviewPending(
        "this category needs a moderator's review: publish again once it is approved",
        field="input.bountyId",
    )


async def category_policies(
    session_factory: SessionFactory, viewer: Viewer
) -> list[CategoryPolicyRow]:
    """Admins: every active category with its policy, by slug (one statement)."""
    if not viewer.is_admin:
        raise NotAllowed("admins only")
    async with session_factory() as session:
        rows = await session.execute(
            select(cat.slug, cat.name, rule.policy, rule.reason)
            .select_from(categories_table.outerjoin(rules_table, rule.slug == cat.slug))
            .where(cat.active.is_(True))
            .order_by(cat.slug)
        )
        return [
            CategoryPolicyRow(slug, name, CategoryPolicy(policy or "ALLOWED"), reason)
            for slug, name, policy, reason in rows
        ]


async def set_category_policy(
    work: UnitOfWork,
    viewer: Viewer,
    *,
    slug: str,
    policy: CategoryPolicy,
    reason: str | None,
    meta: RequestMeta,
) -> CategoryPolicyRow:
    """Admins: set a category's policy (audited)."""
    if not viewer.is_admin:
        raise NotAllowed("admins only")
    if reason is not None and len(reason) > 500:
        raise InvalidInput("a reason takes at most 500 characters", field="input.reason")
    session = work.session
    name = await session.scalar(select(cat.name).where(cat.slug == slug))
    if name is None:
        raise NotFound(f"no category {slug[:40]!r}", field="input.category")
    previous = await policy_of(session, slug)
    values = {
        "policy": policy,
        "reason": reason,
        "updated_at": utcnow(),
        "updated_by": viewer.user_id,
    }
    await session.execute(
        insert(CategoryRule)
        .values(slug=slug, **values)
        .on_conflict_do_update(index_elements=[rule.slug], set_=values)
    )
    audit.record(
        session,
        action=CATEGORY_POLICY_CHANGED,
        meta=meta,
        actor_id=viewer.user_id,
        category=slug,
        previous=previous.value,
        policy=policy.value,
        reason=reason,
    )
    return CategoryPolicyRow(slug, name, policy, reason)
