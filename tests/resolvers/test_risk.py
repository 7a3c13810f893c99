"""Risk end to end: a poster with a dispute, two failed payments and a card shared with their
hunter is HIGH with those signals; RESTRICT_PAYMENTS blocks funding with a typed error and
changes nothing; CLEAR lifts it; every step is audited; lists read in one statement."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.engine import SessionFactory
from app.db.models import (
    BountyHistory,
    BountyStatus,
    FingerprintKind,
    PaymentOperation,
    Role,
    User,
    UserStatus,
)
from app.db.models.payments import OperationKind, OperationStatus
from app.settings import Settings
from services.risk import assessments
from services.risk.fingerprints import record_fingerprint
from tests.bounty_factories import PUBLISH, TEST_CARD, insert_bounty
from tests.conftest import GraphQL, StatementCounter
from tests.factories import create_user, global_id, token_for

pytestmark = pytest.mark.asyncio

ASSESS = """query ($id: ID!) {
  riskAssessment(userId: $id) { score level signals { name value weight points } }
}"""
ACTION = """mutation ($input: TakeRiskActionInput!) {
  takeRiskAction(input: $input) {
    __typename
    ... on TakeRiskActionSuccess { restrictions { paymentsRestricted payoutsRestricted flagged } }
    ... on UserError { code field }
  }
}"""


async def _risky_poster(session_factory: SessionFactory) -> tuple[User, User]:
    poster = await create_user(session_factory, display_name="Poster")
    hunter = await create_user(session_factory, display_name="Hunter")
    disputed = await insert_bounty(
        session_factory, poster, status=BountyStatus.DISPUTED, hunter=hunter
    )
    async with session_factory() as session, session.begin():
        # insert_bounty funds a DISPUTED bounty with a succeeded charge; this poster's record is
        # only the failed attempts below (operations rows are not ledger rows: deletable).
        await session.execute(
            text("DELETE FROM payment_operations WHERE bounty_id = :b"), {"b": disputed}
        )
        session.add(
            BountyHistory(
                bounty_id=disputed,
                actor_id=hunter.id,
                from_status="SUBMITTED",
                to_status="DISPUTED",
            )
        )
        for _ in range(2):
            session.add(
                PaymentOperation(
                    kind=OperationKind.CHARGE,
                    status=OperationStatus.FAILED,
                    bounty_id=disputed,
                    user_id=poster.id,
                    amount=5000,
                    currency="USD",
                    provider="local",
                )
            )
        await record_fingerprint(session, poster.id, FingerprintKind.CARD, "fp_shared_card")
        await record_fingerprint(session, hunter.id, FingerprintKind.CARD, "fp_shared_card")
    return poster, hunter


async def _count(engine: AsyncEngine, sql: str) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text(sql))).scalar() or 0)


def _scoring(signals: list[dict[str, Any]]) -> dict[str, int]:
    return {s["name"]: s["points"] for s in signals if s["points"]}


async def test_a_risky_poster_is_high_restricted_then_cleared_and_every_step_audited(
    graphql: GraphQL, settings: Settings, session_factory: SessionFactory, engine: AsyncEngine
) -> None:
    poster, hunter = await _risky_poster(session_factory)
    admin = await create_user(session_factory, role=Role.ADMIN)
    token = token_for(settings, admin)
    body = await graphql(ASSESS, {"id": global_id("User", poster.id)}, token=token)
    found = body["data"]["riskAssessment"]
    assert found["level"] == "HIGH"
    assert found["score"] == 65
    assert _scoring(found["signals"]) == {
        "ACCOUNT_AGE_DAYS": 5,
        "FAILED_PAYMENT_RATIO": 20,
        "DISPUTES": 15,
        "SHARED_FINGERPRINT": 25,
    }
    by_name = {s["name"]: s for s in found["signals"]}
    assert by_name["FAILED_PAYMENT_RATIO"]["value"] == 1.0
    assert by_name["DISPUTES"]["value"] == 1.0
    assert by_name["SHARED_FINGERPRINT"] == {
        "name": "SHARED_FINGERPRINT",
        "value": 1.0,
        "weight": 25,
        "points": 25,
    }
    assert len(found["signals"]) == 8
    # The hunter shares the card too, and the dispute: flagged by the same signals.
    hunter_body = await graphql(ASSESS, {"id": global_id("User", hunter.id)}, token=token)
    assert _scoring(hunter_body["data"]["riskAssessment"]["signals"]) == {
        "ACCOUNT_AGE_DAYS": 5,
        "DISPUTES": 15,
        "SHARED_FINGERPRINT": 25,
    }
    # Recorded: adminUsers filters on it.
    listed = await graphql(
        "{ adminUsers(riskLevel: HIGH) { edges { node { email } } } }", token=token
    )
    assert [e["node"]["email"] for e in listed["data"]["adminUsers"]["edges"]] == [poster.email]

    draft = await insert_bounty(session_factory, poster, status=BountyStatus.DRAFT)
    publish = {
        "input": {
            "bountyId": global_id("Bounty", draft),
            "idempotencyKey": f"p-{draft}",
            "paymentMethodId": TEST_CARD,
        }
    }
    restrict = await graphql(
        ACTION,
        {
            "input": {
                "userId": global_id("User", poster.id),
                "action": "RESTRICT_PAYMENTS",
                "reason": "chargeback pattern",
            }
        },
        token=token,
    )
    assert restrict["data"]["takeRiskAction"] == {
        "__typename": "TakeRiskActionSuccess",
        "restrictions": {"paymentsRestricted": True, "payoutsRestricted": False, "flagged": False},
    }
    entries_before = await _count(engine, "SELECT count(*) FROM ledger_entries")
    refused = await graphql(PUBLISH, publish, token=token_for(settings, poster))
    assert refused["data"]["publishBounty"]["__typename"] == "PaymentsRestrictedError"
    assert refused["data"]["publishBounty"]["code"] == "PAYMENTS_RESTRICTED"
    async with engine.connect() as connection:
        status = (
            await connection.execute(
                text(f"SELECT status FROM bounties WHERE id = '{draft}'")  # noqa: S608
            )
        ).scalar()
    assert status == "DRAFT"
    assert await _count(engine, "SELECT count(*) FROM ledger_entries") == entries_before

    cleared = await graphql(
        ACTION,
        {
            "input": {
                "userId": global_id("User", poster.id),
                "action": "CLEAR",
                "reason": "reviewed",
            }
        },
        token=token,
    )
    assert cleared["data"]["takeRiskAction"]["restrictions"]["paymentsRestricted"] is False
    again = await graphql(PUBLISH, publish, token=token_for(settings, poster))
    assert again["data"]["publishBounty"]["__typename"] == "PublishBountySuccess"
    assert again["data"]["publishBounty"]["bounty"]["status"] == "OPEN"

    audit = await graphql(
        """query ($id: ID!) { auditEvents(filter: {targetId: $id, actions: ["risk."]}) {
             edges { node { action detail } } } }""",
        {"id": global_id("User", poster.id)},
        token=token,
    )
    assert [e["node"]["detail"] for e in audit["data"]["auditEvents"]["edges"]] == [
        {"risk": "CLEAR", "reason": "reviewed"},
        {"risk": "RESTRICT_PAYMENTS", "reason": "chargeback pattern"},
    ]


async def test_suspend_ends_the_account_and_refusals_change_nothing(
    graphql: GraphQL, settings: Settings, session_factory: SessionFactory, engine: AsyncEngine
) -> None:
    admin = await create_user(session_factory, role=Role.ADMIN)
    user = await create_user(session_factory)
    token = token_for(settings, admin)
    for variables, code in (
        ({"userId": global_id("User", user.id), "action": "FLAG", "reason": " "}, "INVALID_INPUT"),
        ({"userId": global_id("User", admin.id), "action": "FLAG", "reason": "x"}, "NOT_ALLOWED"),
        ({"userId": global_id("User", uuid.uuid4()), "action": "FLAG", "reason": "x"}, "NOT_FOUND"),
    ):
        body = await graphql(ACTION, {"input": variables}, token=token)
        assert body["data"]["takeRiskAction"]["code"] == code
    async with engine.connect() as connection:
        for table in ("risk_restrictions", "audit_events", "risk_assessments"):
            count = (await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar()  # noqa: S608
            assert count == 0, table
    body = await graphql(
        ACTION,
        {"input": {"userId": global_id("User", user.id), "action": "SUSPEND", "reason": "fraud"}},
        token=token,
    )
    assert body["data"]["takeRiskAction"]["restrictions"]["flagged"] is True
    async with session_factory() as session:
        row = await session.get(User, user.id)
        assert row is not None
        assert row.status is UserStatus.SUSPENDED


async def test_risk_assessments_list_riskiest_first_in_one_statement(
    graphql: GraphQL,
    settings: Settings,
    session_factory: SessionFactory,
    sql_statements: StatementCounter,
) -> None:
    admin = await create_user(session_factory, role=Role.ADMIN)
    poster, _hunter = await _risky_poster(session_factory)
    others = [await create_user(session_factory) for _ in range(5)]
    changed = await assessments.reassess_changed(
        session_factory, since=datetime(2000, 1, 1, tzinfo=UTC)
    )
    assert changed == 2  # the poster and hunter had activity; the others none
    await assessments.reassess(session_factory, [user.id for user in others])
    token = token_for(settings, admin)
    query = """query ($level: RiskLevel, $first: Int, $after: String) {
      riskAssessments(level: $level, first: $first, after: $after) {
        pageInfo { hasNextPage endCursor } edges { node { score level user { id } } }
      }
    }"""
    page = (await graphql(query, {"first": 2}, token=token))["data"]["riskAssessments"]
    assert [e["node"]["score"] for e in page["edges"]] == [65, 45]
    rest = await graphql(query, {"first": 10, "after": page["pageInfo"]["endCursor"]}, token=token)
    assert [e["node"]["score"] for e in rest["data"]["riskAssessments"]["edges"]] == [5] * 5
    high = await graphql(query, {"level": "HIGH"}, token=token)
    assert [e["node"]["user"]["id"] for e in high["data"]["riskAssessments"]["edges"]] == [
        global_id("User", poster.id)
    ]
    counts = []
    for size in (1, 7):
        sql_statements.statements.clear()
        body = await graphql(query, {"first": size}, token=token)
        assert len(body["data"]["riskAssessments"]["edges"]) == size
        counts.append(sql_statements.count)
    assert counts[0] == counts[1]
    assert not any("count(*)" in statement for statement in sql_statements.statements)
    # totalCount, asked for: the whole filter (cursor or not), in the page's own statement.
    counted = query.replace("pageInfo {", "totalCount pageInfo {")
    for size in (1, 7):
        sql_statements.statements.clear()
        body = await graphql(counted, {"first": size}, token=token)
        assert body["data"]["riskAssessments"]["totalCount"] == 7
        assert sql_statements.count == counts[0]
    after = (await graphql(counted, {"first": 2}, token=token))["data"]["riskAssessments"]
    rest = await graphql(counted, {"after": after["pageInfo"]["endCursor"]}, token=token)
    assert rest["data"]["riskAssessments"]["totalCount"] == 7
    high = await graphql(counted, {"level": "HIGH"}, token=token)
    assert high["data"]["riskAssessments"]["totalCount"] == 1
    end = rest["data"]["riskAssessments"]["pageInfo"]["endCursor"]
    past = await graphql(counted, {"after": end}, token=token)
    assert past["data"]["riskAssessments"]["edges"] == []
    assert past["data"]["riskAssessments"]["totalCount"] == 7
