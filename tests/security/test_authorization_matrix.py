"""Who may read and change what: users A and B, a moderator, an admin and an anonymous client
against every root field and mutation. Refusals change nothing.

Fields that act on another user (profile fields, `node`, and MUTATIONS on A) have their own
tables; every other root field is in SELF_SERVICE, where each caller acts on their own account.
`test_every_root_field_is_in_the_matrix` fails when a root field is in none of them: add the new
field to a table with the expected outcome for each caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col
from strawberry import relay

from app.db.engine import SessionFactory
from app.db.models import Role, User
from app.graphql import build_schema
from app.settings import Settings
from services import system_settings
from services.identity import Identity
from tests.conftest import GraphQL
from tests.factories import PASSWORD, create_user, global_id, token_for
from tests.resolvers.test_avatars import png, upload
from tests.resolvers.test_bounty_authorization import MUTATIONS as BOUNTY_MUTATIONS

pytestmark = [pytest.mark.asyncio, pytest.mark.authorization]

ACTORS = ("A", "B", "moderator", "admin", "anonymous")
TABLES = (
    "users",
    "refresh_tokens",
    "revoked_tokens",
    "password_reset_tokens",
    "audit_events",
    "system_settings",
    "system_setting_versions",
    "content_reports",
    "analytics_events",
    "risk_assessments",
    "risk_restrictions",
    "category_policies",
    "remediation_workflows",
    "remediation_steps",
)


@dataclass
class World:
    ids: dict[str, str]
    tokens: dict[str, str | None]


async def build_world(
    settings: Settings, session_factory: SessionFactory, engine: AsyncEngine
) -> World:
    a = await create_user(session_factory, email="a@example.test", display_name="Alice")
    b = await create_user(session_factory, email="b@example.test", display_name="Bob")
    moderator = await create_user(session_factory, role=Role.MODERATOR)
    admin = await create_user(session_factory, role=Role.ADMIN)
    async with engine.begin() as connection:
        await connection.execute(
            update(User)
            .where(User.id == a.id)  # type: ignore[arg-type]
            .values(
                bio="Builds things", skills=["welding"], location="Lyon", phone="+33 1 23 45 67 89"
            )
        )
    users = {"A": a, "B": b, "moderator": moderator, "admin": admin}
    return World(
        ids={name: global_id("User", user.id) for name, user in users.items()},
        tokens={
            **{name: token_for(settings, user) for name, user in users.items()},
            "anonymous": None,
        },
    )


async def snapshot(engine: AsyncEngine) -> dict[str, list[Any]]:
    tables: dict[str, list[Any]] = {}
    async with engine.connect() as connection:
        for table in TABLES:
            rows = await connection.exec_driver_sql(f"SELECT * FROM {table}")  # noqa: S608
            tables[table] = sorted(map(repr, rows.all()))
    return tables


PROFILE = """query ($id: ID!) {
  profile(id: $id) { displayName role bio skills location avatarUrl email phone status }
}"""
PUBLIC = {
    "displayName": "Alice",
    "role": "USER",
    "bio": "Builds things",
    "skills": ["welding"],
    "location": "Lyon",
    "avatarUrl": None,
}
PRIVATE = {"email": "a@example.test", "phone": "+33 1 23 45 67 89"}
HIDDEN = {"email": None, "phone": None}


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("A", {**PUBLIC, **PRIVATE, "status": "ACTIVE"}),
        ("B", {**PUBLIC, **HIDDEN, "status": None}),
        ("moderator", {**PUBLIC, **HIDDEN, "status": "ACTIVE"}),
        ("admin", {**PUBLIC, **PRIVATE, "status": "ACTIVE"}),
        ("anonymous", {**PUBLIC, **HIDDEN, "status": None}),
    ],
)
async def test_profile_fields_by_viewer(
    graphql: GraphQL,
    settings: Settings,
    session_factory: SessionFactory,
    engine: AsyncEngine,
    actor: str,
    expected: dict[str, Any],
) -> None:
    world = await build_world(settings, session_factory, engine)
    body = await graphql(PROFILE, {"id": world.ids["A"]}, token=world.tokens[actor])
    assert body == {"data": {"profile": expected}}
    fields = " ".join(expected)
    node = await graphql(
        f"query ($id: ID!) {{ node(id: $id) {{ ... on User {{ {fields} }} }} }}",
        {"id": world.ids["A"]},
        token=world.tokens[actor],
    )
    assert node == {"data": {"node": expected}}


def _mutation(field: str, input_type: str, success: str) -> str:
    return f"""mutation ($input: {input_type}!) {{
  {field}(input: $input) {{ __typename ... on UserError {{ code }} }}
}}"""


MUTATIONS: dict[str, tuple[str, str, dict[str, Any]]] = {
    # name: (field, document, input with "@A" for A's id)
    "update public text": (
        "updateProfile",
        _mutation("updateProfile", "UpdateProfileInput", "UpdateProfileSuccess"),
        {"userId": "@A", "bio": "edited", "displayName": "Edited"},
    ),
    "update private phone": (
        "updateProfile",
        _mutation("updateProfile", "UpdateProfileInput", "UpdateProfileSuccess"),
        {"userId": "@A", "phone": "+1 555 0100"},
    ),
    "set role": (
        "setUserRole",
        _mutation("setUserRole", "SetUserRoleInput", "SetUserRoleSuccess"),
        {"userId": "@A", "role": "MODERATOR"},
    ),
    "suspend": (
        "setUserStatus",
        _mutation("setUserStatus", "SetUserStatusInput", "SetUserStatusSuccess"),
        {"userId": "@A", "status": "SUSPENDED"},
    ),
    "delete account": (
        "deleteAccount",
        _mutation("deleteAccount", "DeleteAccountInput", "DeleteAccountSuccess"),
        {"userId": "@A", "password": PASSWORD},
    ),
}

OK = "ok"
# Per mutation, per actor: OK, a UserError code in the result, or a request-level error code.
EXPECTED: dict[str, dict[str, str]] = {
    "update public text": {
        "A": OK,
        "B": "NOT_ALLOWED",
        "moderator": OK,
        "admin": OK,
        "anonymous": "UNAUTHENTICATED",
    },
    "update private phone": {
        "A": OK,
        "B": "NOT_ALLOWED",
        "moderator": "NOT_ALLOWED",
        "admin": OK,
        "anonymous": "UNAUTHENTICATED",
    },
    "set role": {
        "A": "FORBIDDEN",
        "B": "FORBIDDEN",
        "moderator": "FORBIDDEN",
        "admin": OK,
        "anonymous": "UNAUTHENTICATED",
    },
    "suspend": {
        "A": "FORBIDDEN",
        "B": "FORBIDDEN",
        "moderator": OK,
        "admin": OK,
        "anonymous": "UNAUTHENTICATED",
    },
    "delete account": {
        "A": OK,
        "B": "NOT_ALLOWED",
        "moderator": "NOT_ALLOWED",
        "admin": OK,
        "anonymous": "UNAUTHENTICATED",
    },
}
REQUEST_LEVEL = {"FORBIDDEN", "UNAUTHENTICATED"}


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("mutation", list(MUTATIONS))
async def test_mutations_on_a_by_actor(
    graphql: GraphQL,
    settings: Settings,
    session_factory: SessionFactory,
    engine: AsyncEngine,
    identity: Identity,
    mutation: str,
    actor: str,
) -> None:
    world = await build_world(settings, session_factory, engine)
    field, document, raw_input = MUTATIONS[mutation]
    variables = {"input": {k: world.ids["A"] if v == "@A" else v for k, v in raw_input.items()}}
    before = await snapshot(engine)
    body = await graphql(document, variables, token=world.tokens[actor])
    expected = EXPECTED[mutation][actor]
    if expected == OK:
        assert body["data"][field]["__typename"].endswith("Success"), body
        assert await snapshot(engine) != before
        return
    if expected in REQUEST_LEVEL:
        assert body["data"] is None
        assert [error["extensions"]["code"] for error in body["errors"]] == [expected]
    else:
        assert body["data"][field]["code"] == expected
    assert await snapshot(engine) == before


async def test_staff_limits_on_staff(
    graphql: GraphQL, settings: Settings, session_factory: SessionFactory, engine: AsyncEngine
) -> None:
    """Moderators cannot suspend staff; nobody changes their own role or status."""
    world = await build_world(settings, session_factory, engine)
    suspend = MUTATIONS["suspend"][1]
    role = MUTATIONS["set role"][1]
    cases = [
        (
            suspend,
            {"userId": world.ids["admin"], "status": "SUSPENDED"},
            "moderator",
            "setUserStatus",
        ),
        (
            suspend,
            {"userId": world.ids["moderator"], "status": "SUSPENDED"},
            "moderator",
            "setUserStatus",
        ),
        (suspend, {"userId": world.ids["admin"], "status": "SUSPENDED"}, "admin", "setUserStatus"),
        (role, {"userId": world.ids["admin"], "role": "USER"}, "admin", "setUserRole"),
    ]
    before = await snapshot(engine)
    for document, payload, actor, field in cases:
        body = await graphql(document, {"input": payload}, token=world.tokens[actor])
        assert body["data"][field] == {"__typename": "NotAllowedError", "code": "NOT_ALLOWED"}
    assert await snapshot(engine) == before


async def test_role_change_takes_effect_at_once(
    graphql: GraphQL,
    settings: Settings,
    session_factory: SessionFactory,
    engine: AsyncEngine,
    identity: Identity,
) -> None:
    world = await build_world(settings, session_factory, engine)
    document = MUTATIONS["set role"][1]
    body = await graphql(
        document,
        {"input": {"userId": world.ids["A"], "role": "ADMIN"}},
        token=world.tokens["admin"],
    )
    assert body["data"]["setUserRole"]["__typename"] == "SetUserRoleSuccess"
    # A's token still says USER: it is void, so the role cannot be stale.
    stale = await graphql("{ viewer { id } }", token=world.tokens["A"], status=401)
    assert stale["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# Root fields each caller uses on their own account. Outcomes: OK (success, or the data shown
# in `check`), or the code of the refusal. `refusing` documents use a bad token: what they prove
# is that the field is open to every caller and refuses the bad input for all alike.
@dataclass(frozen=True)
class Case:
    document: str
    variables: dict[str, Any]
    expected: dict[str, str]


EVERYONE = dict.fromkeys(ACTORS, OK)
SIGNED_IN = {**dict.fromkeys(ACTORS, OK), "anonymous": "UNAUTHENTICATED"}
ADMINS_ONLY = {
    **dict.fromkeys(ACTORS, "FORBIDDEN"),
    "admin": OK,
    "anonymous": "UNAUTHENTICATED",
}
STAFF_ONLY = {**ADMINS_ONLY, "moderator": OK}
RESULT = "{ __typename ... on UserError { code } }"
NO_SUCH_STEP = relay.to_base64("RemediationStep", "00000000-0000-0000-0000-000000000003")
NO_SUCH_REPORT = relay.to_base64("ContentReport", "00000000-0000-0000-0000-000000000002")
NO_SUCH_NOTIFICATION = relay.to_base64("Notification", "00000000-0000-0000-0000-000000000001")
PUSH_TOKEN = {"token": "ExpoPushToken[matrix-token-000]", "platform": "IOS", "deviceId": "@new"}
SELF_SERVICE: dict[str, Case] = {
    "serverInfo": Case("{ serverInfo { environment } }", {}, EVERYONE),
    "viewer": Case("{ viewer { id } }", {}, EVERYONE),
    "nodes": Case("query ($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ["@A"]}, EVERYONE),
    "signUp": Case(
        f"mutation ($input: SignUpInput!) {{ signUp(input: $input) {RESULT} }}",
        {"input": {"email": "@new", "password": "a long passphrase", "displayName": "N"}},
        EVERYONE,
    ),
    "signIn": Case(
        f"mutation ($input: SignInInput!) {{ signIn(input: $input) {RESULT} }}",
        {"input": {"email": "@own", "password": PASSWORD}},
        {**EVERYONE, "anonymous": "INVALID_CREDENTIALS"},
    ),
    "refreshSession": Case(
        f'mutation {{ refreshSession(refreshToken: "not-a-token") {RESULT} }}',
        {},
        dict.fromkeys(ACTORS, "INVALID_REFRESH_TOKEN"),
    ),
    "signOut": Case(f"mutation {{ signOut {RESULT} }}", {}, SIGNED_IN),
    "signOutEverywhere": Case("mutation { signOutEverywhere { __typename } }", {}, SIGNED_IN),
    "changePassword": Case(
        f"mutation ($input: ChangePasswordInput!) {{ changePassword(input: $input) {RESULT} }}",
        {"input": {"currentPassword": PASSWORD, "newPassword": "another long passphrase"}},
        SIGNED_IN,
    ),
    "requestPasswordReset": Case(
        f'mutation {{ requestPasswordReset(email: "a@example.test") {RESULT} }}', {}, EVERYONE
    ),
    "resetPassword": Case(
        f"mutation ($input: ResetPasswordInput!) {{ resetPassword(input: $input) {RESULT} }}",
        {"input": {"token": "not-a-token", "newPassword": "another long passphrase"}},
        dict.fromkeys(ACTORS, "INVALID_RESET_TOKEN"),
    ),
    "uploadAvatar": Case("(multipart)", {}, SIGNED_IN),
    "deadJobs": Case("{ deadJobs { edges { node { id } } } }", {}, ADMINS_ONLY),
    "bounties": Case("{ bounties(first: 5) { totalCount } }", {}, EVERYONE),
    "bountyCategories": Case("{ bountyCategories }", {}, EVERYONE),
    "requeueJob": Case(
        f'mutation {{ requeueJob(input: {{id: "987654321"}}) {RESULT} }}',
        {},
        {**ADMINS_ONLY, "admin": "NOT_FOUND"},
    ),
    # Messaging and notifications: everyone signed in has their own; nobody sees another's.
    "conversations": Case("{ conversations { edges { node { id } } } }", {}, SIGNED_IN),
    "unreadCounts": Case("{ unreadCounts { messages notifications } }", {}, SIGNED_IN),
    "notifications": Case("{ notifications { edges { node { id } } } }", {}, SIGNED_IN),
    "unreadNotificationCount": Case("{ unreadNotificationCount }", {}, SIGNED_IN),
    # Money: everyone signed in reads their own wallet and history only.
    "wallet": Case('{ wallet(currency: "EUR") { currency available pending } }', {}, SIGNED_IN),
    "transactions": Case("{ transactions { edges { node { id } } } }", {}, SIGNED_IN),
    # Saved payment methods: your own only; another's (or an unknown) id is NOT_FOUND.
    "paymentMethods": Case("{ paymentMethods { id } }", {}, SIGNED_IN),
    "addPaymentMethod": Case(f"mutation {{ addPaymentMethod {RESULT} }}", {}, SIGNED_IN),
    "setDefaultPaymentMethod": Case(
        f'mutation {{ setDefaultPaymentMethod(input: {{id: "pm_nobody"}}) {RESULT} }}',
        {},
        {**dict.fromkeys(ACTORS, "NOT_FOUND"), "anonymous": "UNAUTHENTICATED"},
    ),
    "removePaymentMethod": Case(
        f'mutation {{ removePaymentMethod(input: {{id: "pm_nobody"}}) {RESULT} }}',
        {},
        {**dict.fromkeys(ACTORS, "NOT_FOUND"), "anonymous": "UNAUTHENTICATED"},
    ),
    # Payouts: each user onboards and pays out their own wallet only.
    "payoutAccount": Case("{ payoutAccount { status } }", {}, SIGNED_IN),
    "payouts": Case("{ payouts { edges { node { id } } } }", {}, SIGNED_IN),
    "payoutAccountLink": Case(f"mutation {{ payoutAccountLink {RESULT} }}", {}, SIGNED_IN),
    "requestPayout": Case(
        f"mutation ($input: RequestPayoutInput!) {{ requestPayout(input: $input) {RESULT} }}",
        {"input": {"amount": 5000, "currency": "EUR", "idempotencyKey": "payout-1"}},
        {**dict.fromkeys(ACTORS, "PAYOUT_ACCOUNT_NOT_READY"), "anonymous": "UNAUTHENTICATED"},
    ),
    "notificationPreferences": Case("{ notificationPreferences { timeZone } }", {}, SIGNED_IN),
    "markAllNotificationsRead": Case(
        "mutation { markAllNotificationsRead { __typename count } }", {}, SIGNED_IN
    ),
    "updateNotificationPreferences": Case(
        "mutation ($input: UpdateNotificationPreferencesInput!) "
        f"{{ updateNotificationPreferences(input: $input) {RESULT} }}",
        {"input": {"timeZone": "Europe/Paris"}},
        SIGNED_IN,
    ),
    "registerPushToken": Case(
        "mutation ($input: RegisterPushTokenInput!) "
        f"{{ registerPushToken(input: $input) {RESULT} }}",
        {"input": PUSH_TOKEN},
        SIGNED_IN,
    ),
    "unregisterPushToken": Case(
        f'mutation {{ unregisterPushToken(deviceId: "no-such-device") {RESULT} }}',
        {},
        {**dict.fromkeys(ACTORS, "NOT_FOUND"), "anonymous": "UNAUTHENTICATED"},
    ),
    # Admin (issue 13): admins only; moderators get FORBIDDEN like plain users.
    "adminDashboard": Case(
        '{ adminDashboard(from: "2026-11-01T00:00:00Z", to: "2026-11-02T00:00:00Z") '
        "{ usersTotal disputeRate } }",
        {},
        ADMINS_ONLY,
    ),
    "adminUsers": Case("{ adminUsers { totalCount } }", {}, ADMINS_ONLY),
    "adminUser": Case(
        "query ($id: ID!) { adminUser(id: $id) { email } }", {"id": "@A"}, ADMINS_ONLY
    ),
    "auditEvents": Case("{ auditEvents { edges { node { id } } } }", {}, ADMINS_ONLY),
    "systemSettings": Case("{ systemSettings { key } }", {}, ADMINS_ONLY),
    "updateSystemSetting": Case(
        "mutation ($input: UpdateSystemSettingInput!) "
        f"{{ updateSystemSetting(input: $input) {RESULT} }}",
        {"input": {"key": "moderation.notice", "value": "hello", "expectedVersion": 0}},
        ADMINS_ONLY,
    ),
    # Moderation (issue 13): anyone signed in reports; staff review and resolve.
    "reportContent": Case(
        f"mutation ($input: ReportContentInput!) {{ reportContent(input: $input) {RESULT} }}",
        {"input": {"targetType": "PROFILE", "targetId": "@A", "reason": "SPAM"}},
        {**SIGNED_IN, "A": "NOT_ALLOWED"},
    ),
    "contentReviewQueue": Case("{ contentReviewQueue { edges { node { id } } } }", {}, STAFF_ONLY),
    "resolveReport": Case(
        f"mutation ($input: ResolveReportInput!) {{ resolveReport(input: $input) {RESULT} }}",
        {"input": {"reportId": NO_SUCH_REPORT, "action": "DISMISS"}},
        {**STAFF_ONLY, "moderator": "NOT_FOUND", "admin": "NOT_FOUND"},
    ),
    # Analytics (issue 13): the app tracks events; admins read them.
    "trackEvents": Case(
        f'mutation {{ trackEvents(events: [{{name: "app.opened"}}]) {RESULT} }}', {}, SIGNED_IN
    ),
    "analyticsEvents": Case("{ analyticsEvents { edges { node { id } } } }", {}, ADMINS_ONLY),
    "analyticsMetrics": Case(
        '{ analyticsMetrics(metric: SIGNUPS, from: "2026-11-01T00:00:00Z", '
        'to: "2026-11-03T00:00:00Z") { points { value } } }',
        {},
        ADMINS_ONLY,
    ),
    "analyticsFunnel": Case(
        '{ analyticsFunnel(from: "2026-11-01T00:00:00Z", to: "2026-11-03T00:00:00Z") '
        "{ created completedRate } }",
        {},
        ADMINS_ONLY,
    ),
    # Risk (issue 13): admins only.
    "riskAssessment": Case(
        "query ($id: ID!) { riskAssessment(userId: $id) { level } }", {"id": "@A"}, ADMINS_ONLY
    ),
    "riskAssessments": Case("{ riskAssessments { edges { node { score } } } }", {}, ADMINS_ONLY),
    "takeRiskAction": Case(
        f"mutation ($input: TakeRiskActionInput!) {{ takeRiskAction(input: $input) {RESULT} }}",
        {"input": {"userId": "@A", "action": "FLAG", "reason": "matrix"}},
        ADMINS_ONLY,
    ),
    "categoryPolicies": Case("{ categoryPolicies { category } }", {}, ADMINS_ONLY),
    "setCategoryPolicy": Case(
        "mutation ($input: SetCategoryPolicyInput!) "
        f"{{ setCategoryPolicy(input: $input) {RESULT} }}",
        {"input": {"category": "handyman", "policy": "RESTRICTED"}},
        ADMINS_ONLY,
    ),
    "remediationWorkflows": Case(
        "{ remediationWorkflows { edges { node { id } } } }", {}, ADMINS_ONLY
    ),
    "startRemediation": Case(
        f"mutation ($input: StartRemediationInput!) {{ startRemediation(input: $input) {RESULT} }}",
        {"input": {"userId": "@A", "reason": "matrix", "steps": [{"title": "Call"}]}},
        ADMINS_ONLY,
    ),
    "completeRemediationStep": Case(
        "mutation ($input: CompleteRemediationStepInput!) "
        f"{{ completeRemediationStep(input: $input) {RESULT} }}",
        {"input": {"stepId": NO_SUCH_STEP}},
        {**ADMINS_ONLY, "admin": "NOT_FOUND"},
    ),
    "markNotificationRead": Case(
        f"mutation ($id: ID!) {{ markNotificationRead(id: $id) {RESULT} }}",
        {"id": NO_SUCH_NOTIFICATION},
        {**dict.fromkeys(ACTORS, "NOT_FOUND"), "anonymous": "UNAUTHENTICATED"},
    ),
}
OWN_EMAILS = {"A": "a@example.test", "B": "b@example.test", "anonymous": "nobody@example.test"}


def _fill(value: Any, world: World, actor: str, emails: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {key: _fill(inner, world, actor, emails) for key, inner in value.items()}
    if isinstance(value, list):
        return [_fill(inner, world, actor, emails) for inner in value]
    if value == "@A":
        return world.ids["A"]
    if value == "@new":
        return f"new-{actor}@example.test"
    if value == "@own":
        return emails[actor]
    return value


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("field", list(SELF_SERVICE))
async def test_self_service_root_fields_by_actor(
    graphql: GraphQL,
    client: httpx.AsyncClient,
    settings: Settings,
    session_factory: SessionFactory,
    engine: AsyncEngine,
    identity: Identity,
    field: str,
    actor: str,
) -> None:
    world = await build_world(settings, session_factory, engine)
    emails = {**OWN_EMAILS, **(await _staff_emails(engine))}
    case = SELF_SERVICE[field]
    token = world.tokens[actor]
    before = await snapshot(engine)
    if field == "uploadAvatar":
        response = await upload(client, token, "me.png", png(), "image/png")
        body = response.json()
    else:
        variables = _fill(case.variables, world, actor, emails)
        body = await graphql(case.document, variables, token=token)
    expected = case.expected[actor]
    if expected in REQUEST_LEVEL:
        assert [error["extensions"]["code"] for error in body["errors"]] == [expected]
        assert await snapshot(engine) == before
        return
    assert "errors" not in body, body
    result = body["data"][field]
    if field == "viewer":
        assert result == ({"id": world.ids[actor]} if actor != "anonymous" else None)
    elif field == "nodes":
        assert result == [{"id": world.ids["A"]}]
    elif field == "serverInfo":
        assert result == {"environment": "TEST"}
    elif field == "deadJobs":
        assert result == {"edges": []}
    elif field == "bounties":
        assert result == {"totalCount": 0}
    elif field == "bountyCategories":
        assert len(result) > 0
    elif field == "paymentMethods":
        assert result == []
    elif field in ("conversations", "notifications", "transactions", "payouts"):
        assert result == {"edges": []}
    elif field == "wallet":
        assert result == {"currency": "EUR", "available": 0, "pending": 0}
    elif field == "payoutAccount":
        assert result == {"status": "NOT_STARTED"}
    elif field == "unreadCounts":
        assert result == {"messages": 0, "notifications": 0}
    elif field == "unreadNotificationCount":
        assert result == 0
    elif field == "notificationPreferences":
        assert result == {"timeZone": "UTC"}
    elif field == "analyticsMetrics":
        assert result == {"points": [{"value": 0}, {"value": 0}]}
    elif field == "analyticsFunnel":
        assert result == {"created": 0, "completedRate": None}
    elif field == "riskAssessment":
        assert result == {"level": "LOW"}
    elif field == "riskAssessments":
        assert result == {"edges": []}
    elif field == "adminDashboard":
        assert result == {"usersTotal": 0, "disputeRate": None}  # no day rolled up yet
    elif field == "categoryPolicies":
        assert {"category": "handyman"} in result
    elif field == "adminUsers":
        assert result == {"totalCount": 4}
    elif field == "adminUser":
        assert result == {"email": "a@example.test"}
    elif field in ("auditEvents", "contentReviewQueue", "analyticsEvents", "remediationWorkflows"):
        assert result == {"edges": []}
    elif field == "systemSettings":
        assert len(result) == len(system_settings.SPECS)
    elif field == "markAllNotificationsRead":
        assert result == {"__typename": "MarkAllNotificationsReadSuccess", "count": 0}
    elif expected == OK:
        assert result["__typename"].endswith("Success"), result
    else:
        assert result["code"] == expected
        after = await snapshot(engine)  # a failed sign-in leaves its audit row, nothing else
        assert {**after, "audit_events": []} == {**before, "audit_events": []}


async def _staff_emails(engine: AsyncEngine) -> dict[str, str]:
    async with engine.connect() as connection:
        rows = await connection.execute(select(col(User.role), col(User.email)))
        by_role = {role: email for role, email in rows}
    return {"moderator": by_role[Role.MODERATOR], "admin": by_role[Role.ADMIN]}


COVERED_ELSEWHERE = {
    "profile": "test_profile_fields_by_viewer",
    "node": "test_profile_fields_by_viewer",
    **{field: "test_mutations_on_a_by_actor" for field, _, _ in MUTATIONS.values()},
    # The marketplace's own matrix: poster, hunter, applicant, stranger, staff, anonymous.
    "bounty": "test_field_visibility_on_an_assigned_and_on_a_draft_bounty",
    "myBounties": "test_lists_of_your_own_need_a_sign_in_and_show_only_yours",
    "myApplications": "test_lists_of_your_own_need_a_sign_in_and_show_only_yours",
    **dict.fromkeys(
        BOUNTY_MUTATIONS, "test_every_mutation_refuses_the_wrong_people_and_changes_nothing"
    ),
    "addBountyImage": "test_images_are_checked_bounded_and_poster_only",
    "removeBountyImage": "test_only_the_poster_removes_an_image",
    "reviewUser": "test_bounty_lifecycle.py (reviews: once per side, strangers NOT_ALLOWED)",
    # A conversation's fields, for participants, strangers and anonymous callers.
    **dict.fromkeys(
        (
            "messages",
            "startConversation",
            "sendMessage",
            "markConversationRead",
            "setTyping",
            "leaveConversation",
        ),
        "test_messaging.py::test_strangers_and_anonymous_callers_see_and_change_nothing",
    ),
}


async def test_every_root_field_is_in_the_matrix() -> None:
    schema = build_schema()
    root_fields = {
        name
        for root in (schema._schema.query_type, schema._schema.mutation_type)
        if root is not None
        for name in root.fields
    }
    listed = set(SELF_SERVICE) | set(COVERED_ELSEWHERE)
    assert root_fields - listed == set(), "add these root fields to the authorization matrix"
    assert listed - root_fields == set(), "these matrix entries name no root field"
    for case in SELF_SERVICE.values():
        assert set(case.expected) == set(ACTORS)
    for field in {field for field, _, _ in MUTATIONS.values()}:
        assert any(MUTATIONS[name][0] == field for name in EXPECTED)
