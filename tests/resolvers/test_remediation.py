"""Remediation workflows: ordered steps with assignees and due dates, each completed once; the
last one completes the workflow; every step audited; the list reads in one statement."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.engine import SessionFactory
from app.db.models import Role
from app.settings import Settings
from tests.conftest import GraphQL, StatementCounter
from tests.factories import create_user, global_id, token_for

pytestmark = pytest.mark.asyncio

START = """mutation ($input: StartRemediationInput!) {
  startRemediation(input: $input) {
    __typename
    ... on RemediationSuccess { workflow { id status steps { id position title status
                                                           assignee { displayName } dueAt } } }
    ... on UserError { code field }
  }
}"""
COMPLETE = """mutation ($input: CompleteRemediationStepInput!) {
  completeRemediationStep(input: $input) {
    __typename
    ... on RemediationSuccess { workflow { status steps { status note } } }
    ... on UserError { code field }
  }
}"""
LIST = """query ($status: RemediationStatus, $first: Int) {
  remediationWorkflows(status: $status, first: $first) {
    edges { node { reason status steps { title assignee { displayName } } } }
  }
}"""


async def test_a_workflow_completes_with_its_last_step_and_is_audited(
    graphql: GraphQL,
    settings: Settings,
    session_factory: SessionFactory,
    engine: AsyncEngine,
    sql_statements: StatementCounter,
) -> None:
    admin = await create_user(session_factory, role=Role.ADMIN, display_name="Ada")
    user = await create_user(session_factory)
    token = token_for(settings, admin)
    steps = [
        {"title": "Verify identity", "assigneeId": global_id("User", admin.id),
         "dueAt": "2026-12-05T12:00:00+00:00"},
        {"title": "Review payments"},
    ]  # fmt: skip
    started = await graphql(
        START,
        {"input": {"userId": global_id("User", user.id), "reason": "fraud", "steps": steps}},
        token=token,
    )
    workflow = started["data"]["startRemediation"]["workflow"]
    assert workflow["status"] == "OPEN"
    assert [
        (s["position"], s["title"], s["status"], s["assignee"], s["dueAt"])
        for s in workflow["steps"]
    ] == [
        (1, "Verify identity", "PENDING", {"displayName": "Ada"}, "2026-12-05T12:00:00+00:00"),
        (2, "Review payments", "PENDING", None, None),
    ]
    first, second = (s["id"] for s in workflow["steps"])
    one = await graphql(COMPLETE, {"input": {"stepId": first, "note": "passport ok"}}, token=token)
    assert one["data"]["completeRemediationStep"]["workflow"] == {
        "status": "OPEN",
        "steps": [{"status": "DONE", "note": "passport ok"}, {"status": "PENDING", "note": None}],
    }
    again = await graphql(COMPLETE, {"input": {"stepId": first}}, token=token)
    assert again["data"]["completeRemediationStep"] == {
        "__typename": "ConflictError",
        "code": "CONFLICT",
        "field": "input.stepId",
    }
    two = await graphql(COMPLETE, {"input": {"stepId": second}}, token=token)
    assert two["data"]["completeRemediationStep"]["workflow"]["status"] == "COMPLETED"

    refused = await graphql(
        START,
        {"input": {"userId": global_id("User", user.id), "reason": "x", "steps": []}},
        token=token,
    )
    assert refused["data"]["startRemediation"] == {
        "__typename": "InvalidInputError",
        "code": "INVALID_INPUT",
        "field": "input.steps",
    }
    async with engine.connect() as connection:
        actions = (
            (await connection.execute(text("SELECT action FROM audit_events ORDER BY id")))
            .scalars()
            .all()
        )
        workflows = (
            await connection.execute(text("SELECT count(*) FROM remediation_workflows"))
        ).scalar()
    assert actions == [
        "risk.remediation_started",
        "risk.remediation_step_done",
        "risk.remediation_step_done",
    ]
    assert workflows == 1

    for _ in range(4):
        await graphql(
            START,
            {
                "input": {
                    "userId": global_id("User", user.id),
                    "reason": "more",
                    "steps": [{"title": "Call", "assigneeId": global_id("User", admin.id)}],
                }
            },
            token=token,
        )
    done = await graphql(LIST, {"status": "COMPLETED"}, token=token)
    assert [e["node"]["reason"] for e in done["data"]["remediationWorkflows"]["edges"]] == ["fraud"]
    counts = []
    for size in (1, 5):
        sql_statements.statements.clear()
        body = await graphql(LIST, {"first": size}, token=token)
        assert len(body["data"]["remediationWorkflows"]["edges"]) == size
        counts.append(sql_statements.count)
    assert counts[0] == counts[1]
    assert not any("count(*)" in statement for statement in sql_statements.statements)
    # totalCount, asked for: the whole filter, counted in the page's own statement.
    counted = LIST.replace("edges {", "totalCount edges {")
    for size in (1, 5):
        sql_statements.statements.clear()
        body = await graphql(counted, {"first": size}, token=token)
        assert body["data"]["remediationWorkflows"]["totalCount"] == 5
        assert sql_statements.count == counts[0]
    body = await graphql(counted, {"status": "COMPLETED", "first": 1}, token=token)
    assert body["data"]["remediationWorkflows"]["totalCount"] == 1
