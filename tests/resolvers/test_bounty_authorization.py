"""Who sees and does what on bounties: poster, assigned hunter, applicant, stranger, moderator,
admin and anonymous, against every bounty field with rules and every mutation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from app.db.engine import SessionFactory
from app.db.models import BountyStatus, Role
from app.settings import Settings
from tests.bounty_factories import (
    ACCEPT,
    APPLY,
    APPROVE,
    CANCEL,
    CREATE,
    NEW_BOUNTY,
    OPEN_DISPUTE,
    PUBLISH,
    REJECT,
    REQUEST_CHANGES,
    RESOLVE_DISPUTE,
    SUBMIT,
    TEST_CARD,
    UPDATE,
    WITHDRAW,
    bounty_snapshot,
    insert_application,
    insert_bounty,
)
from tests.conftest import GraphQL
from tests.factories import create_user, global_id, token_for

pytestmark = pytest.mark.asyncio

FIELDS = """query ($id: ID!) { bounty(id: $id) {
  title poster { email } applications { status } history { toStatus }
} }"""
PEOPLE = ("poster", "hunter", "applicant", "stranger", "moderator", "admin", "anonymous")


async def _people(session_factory: SessionFactory, settings: Settings) -> dict[str, Any]:
    roles = {"moderator": Role.MODERATOR, "admin": Role.ADMIN}
    users = {
        name: await create_user(session_factory, role=roles.get(name, Role.USER))
        for name in PEOPLE
        if name != "anonymous"
    }
    tokens: dict[str, str | None] = {n: token_for(settings, u) for n, u in users.items()}
    tokens["anonymous"] = None
    return {"users": users, "tokens": tokens}


async def test_field_visibility_on_an_assigned_and_on_a_draft_bounty(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    people = await _people(session_factory, settings)
    users, tokens = people["users"], people["tokens"]
    assigned = await insert_bounty(
        session_factory, users["poster"], status=BountyStatus.ASSIGNED, hunter=users["hunter"]
    )
    await insert_application(session_factory, assigned, users["applicant"])
    draft = await insert_bounty(session_factory, users["poster"], status=BountyStatus.DRAFT)
    email = users["poster"].email
    expected = {  # (poster email, applications shown, history shown)
        "poster": (email, True, True),
        "hunter": (None, False, True),
        "applicant": (None, False, False),
        "stranger": (None, False, False),
        "moderator": (None, True, True),
        "admin": (email, True, True),
        "anonymous": (None, False, False),
    }
    for name in PEOPLE:
        body = await graphql(FIELDS, {"id": global_id("Bounty", assigned)}, token=tokens[name])
        seen = body["data"]["bounty"]
        shown_email, applications, history = expected[name]
        assert seen["poster"]["email"] == shown_email, name
        assert seen["applications"] == ([{"status": "PENDING"}] if applications else None), name
        assert (seen["history"] is not None) is history, name
        hidden = await graphql(FIELDS, {"id": global_id("Bounty", draft)}, token=tokens[name])
        assert (hidden["data"]["bounty"] is not None) is (name == "poster"), name
        node = "query ($id: ID!) { node(id: $id) { id } }"
        by_node = await graphql(node, {"id": global_id("Bounty", draft)}, token=tokens[name])
        assert (by_node["data"]["node"] is not None) is (name == "poster"), name


async def test_lists_of_your_own_need_a_sign_in_and_show_only_yours(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    people = await _people(session_factory, settings)
    users, tokens = people["users"], people["tokens"]
    await insert_bounty(session_factory, users["poster"], status=BountyStatus.DRAFT, title="Mine")
    await insert_bounty(session_factory, users["stranger"], title="Theirs")
    mine = "{ myBounties { totalCount edges { node { title status } } } }"
    body = await graphql(mine, token=tokens["poster"])
    assert body["data"]["myBounties"] == {
        "totalCount": 1,
        "edges": [{"node": {"title": "Mine", "status": "DRAFT"}}],
    }
    for document in (mine, "{ myApplications { edges { node { id } } } }"):
        refused = await graphql(document)
        assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


Variables = Callable[[dict[str, str]], dict[str, Any]]
MUTATIONS: dict[str, tuple[str, Variables]] = {
    "createBounty": (CREATE, lambda ids: NEW_BOUNTY),
    "updateBounty": (UPDATE, lambda ids: {"bountyId": ids["bounty"], "title": "Changed"}),
    "publishBounty": (
        PUBLISH,
        lambda ids: {
            "bountyId": ids["bounty"],
            "idempotencyKey": "k",
            "paymentMethodId": TEST_CARD,
        },
    ),
    "cancelBounty": (CANCEL, lambda ids: {"bountyId": ids["bounty"], "idempotencyKey": "k"}),
    "applyToBounty": (APPLY, lambda ids: {"bountyId": ids["bounty"], "message": "m"}),
    "withdrawApplication": (WITHDRAW, lambda ids: {"applicationId": ids["application"]}),
    "acceptApplication": (ACCEPT, lambda ids: {"applicationId": ids["application"]}),
    "rejectApplication": (REJECT, lambda ids: {"applicationId": ids["application"]}),
    "submitWork": (SUBMIT, lambda ids: {"bountyId": ids["bounty"], "note": "n"}),
    "requestChanges": (REQUEST_CHANGES, lambda ids: {"bountyId": ids["bounty"], "note": "n"}),
    "approveCompletion": (APPROVE, lambda ids: {"bountyId": ids["bounty"], "idempotencyKey": "k"}),
    "openDispute": (
        OPEN_DISPUTE,
        lambda ids: {"bountyId": ids["bounty"], "note": "n", "idempotencyKey": "d"},
    ),
    "resolveDispute": (
        RESOLVE_DISPUTE,
        lambda ids: {
            "bountyId": ids["bounty"],
            "outcome": "REFUND_POSTER",
            "note": "n",
            "idempotencyKey": "k",
        },
    ),
}
# Who may not, with what: the poster's actions refuse others, the hunter's refuse the poster.
STATUS_FOR = {
    "updateBounty": BountyStatus.OPEN,
    "publishBounty": BountyStatus.DRAFT,
    "cancelBounty": BountyStatus.OPEN,
    "applyToBounty": BountyStatus.OPEN,
    "withdrawApplication": BountyStatus.OPEN,
    "acceptApplication": BountyStatus.OPEN,
    "rejectApplication": BountyStatus.OPEN,
    "submitWork": BountyStatus.ASSIGNED,
    "requestChanges": BountyStatus.SUBMITTED,
    "approveCompletion": BountyStatus.SUBMITTED,
    "openDispute": BountyStatus.ASSIGNED,
    "resolveDispute": BountyStatus.DISPUTED,
}
REFUSED = {  # person -> code, per mutation (people not listed may act)
    "updateBounty": {"hunter": "NOT_ALLOWED", "stranger": "NOT_ALLOWED", "admin": "NOT_ALLOWED"},
    "publishBounty": {"stranger": "NOT_FOUND", "moderator": "NOT_FOUND"},
    "cancelBounty": {"stranger": "NOT_ALLOWED", "moderator": "NOT_ALLOWED"},
    "applyToBounty": {"poster": "OWN_BOUNTY", "applicant": "ALREADY_APPLIED"},
    "withdrawApplication": {"poster": "NOT_ALLOWED", "stranger": "NOT_ALLOWED"},
    "acceptApplication": {"applicant": "NOT_ALLOWED", "moderator": "NOT_ALLOWED"},
    "rejectApplication": {"applicant": "NOT_ALLOWED", "stranger": "NOT_ALLOWED"},
    "submitWork": {"poster": "NOT_ALLOWED", "stranger": "NOT_ALLOWED"},
    "requestChanges": {"hunter": "NOT_ALLOWED", "moderator": "NOT_ALLOWED"},
    "approveCompletion": {"hunter": "NOT_ALLOWED", "admin": "NOT_ALLOWED"},
    "openDispute": {"stranger": "NOT_ALLOWED", "moderator": "NOT_ALLOWED"},
    "resolveDispute": {"poster": "FORBIDDEN", "hunter": "FORBIDDEN"},
}


@pytest.mark.parametrize("field", list(MUTATIONS))
async def test_every_mutation_refuses_the_wrong_people_and_changes_nothing(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings, field: str
) -> None:
    people = await _people(session_factory, settings)
    users, tokens = people["users"], people["tokens"]
    document, variables = MUTATIONS[field]
    status = STATUS_FOR.get(field, BountyStatus.OPEN)
    bounty_id = await insert_bounty(
        session_factory, users["poster"], status=status, hunter=users["hunter"]
    )
    application_id = await insert_application(session_factory, bounty_id, users["applicant"])
    ids = {
        "bounty": global_id("Bounty", bounty_id),
        "application": global_id("BountyApplication", application_id),
    }
    before = await bounty_snapshot(session_factory, bounty_id)
    anonymous = await graphql(document, {"input": variables(ids)})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    for person, code in REFUSED.get(field, {}).items():
        body = await graphql(document, {"input": variables(ids)}, token=tokens[person])
        if code == "FORBIDDEN":
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", person
        else:
            assert body["data"][field]["code"] == code, (person, body)
    assert await bounty_snapshot(session_factory, bounty_id) == before
