"""What a virtual user does, one function per entry of the mix (`profiles.SEED_MIX`).

A scenario is a short visit to the app: a few requests, each paced by the user (one every
2 s). It signs in once per virtual user, as the mobile app does, and keeps the token (an access
token lives 15 minutes; UNAUTHENTICATED makes the next scenario sign in again): a sign-in is an
argon2id hash (about 84 ms of CPU), which an app pays once per session, not per screen.
The admin scenario signs in a second time, once per virtual user, as one of the ADMIN_ACCOUNTS
admins (seeded by bench/load/data.py), and keeps that token apart.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # locust monkey-patches the standard library on import: only its user does
    from bench.load.locustfile import GatewayUser

LOAD_PASSWORD = "load-profile-passphrase-2026"  # noqa: S105  (accounts of a throwaway database)
ACCOUNTS = 2_200  # one per virtual user at the stress profile's top rate (1,000 / 0.5)
# Admins the admin scenario signs in as (each virtual user as one of them): at the stress
# profile's top rate, 100 admin requests/s over 50 accounts stay within RATE_LIMIT_USER_PER_MINUTE.
ADMIN_ACCOUNTS = 50

SIGN_IN = """mutation SignIn($input: SignInInput!) {
  signIn(input: $input) {
    __typename
    ... on SignInSuccess { session { accessToken } }
  }
}"""
PROFILE = "query Profile { viewer { id displayName email bio skills rating reviewCount } }"
BOUNTIES = """query Bounties {
  bounties(first: 20) {
    totalCount
    edges { node {
      id title category status remote deadline createdAt
      reward { amount currency }
      poster { id displayName avatarUrl }
      applicationCount
      images { url }
    } }
    pageInfo { hasNextPage endCursor }
  }
}"""
NOTIFICATIONS = """query Notifications {
  notifications(first: 20) {
    edges { node { id type title body readAt createdAt } }
    pageInfo { hasNextPage endCursor }
  }
}"""
UNREAD = "query UnreadCount { unreadNotificationCount }"
WALLET = 'query Wallet { wallet(currency: "EUR") { currency available pending } }'
TRANSACTIONS = """query Transactions {
  transactions(first: 20) {
    edges { node { id type amount fee currency bountyId createdAt } }
    pageInfo { hasNextPage endCursor }
  }
}"""
DASHBOARD = """query AdminDashboard($from: DateTime!, $to: DateTime!) {
  adminDashboard(from: $from, to: $to) {
    usersTotal newUsers activePosters activeHunters
    bountiesByStatus { status count }
    gmv { amount currency } heldFunds { amount currency }
    platformRevenue { amount currency } payouts { amount currency }
    disputeRate
  }
}"""
ANALYTICS = """query AnalyticsMetrics($from: DateTime!, $to: DateTime!) {
  analyticsMetrics(metric: DAU, from: $from, to: $to, granularity: DAY) {
    metric granularity points { start dimension value }
  }
}"""


def account_email(index: int) -> str:
    return f"load-{index % ACCOUNTS:05d}@load.bountyexpo.test"


def admin_email(index: int) -> str:
    return f"load-admin-{index % ADMIN_ACCOUNTS:02d}@load.bountyexpo.test"


def _session_token(user: GatewayUser, email: str) -> str | None:
    variables = {"input": {"email": email, "password": LOAD_PASSWORD}}
    data = user.graphql("signIn", SIGN_IN, variables, expect="signIn", token=False)
    if data is None or data["signIn"]["__typename"] != "SignInSuccess":
        return None
    token: str = data["signIn"]["session"]["accessToken"]
    return token


def sign_in(user: GatewayUser) -> bool:
    user.token = _session_token(user, account_email(user.index))
    return user.token is not None


def signed_in(user: GatewayUser) -> bool:
    return user.token is not None or sign_in(user)


def core(user: GatewayUser) -> None:
    """Core API flow: health, sign-in (once per session), profile, bounties."""
    user.get("/health")
    if not signed_in(user):
        return
    user.graphql("viewer", PROFILE, expect="viewer")
    user.graphql("bounties", BOUNTIES, expect="bounties")


def notifications(user: GatewayUser) -> None:
    """Notifications: the list and the unread count."""
    if not signed_in(user):
        return
    user.graphql("notifications", NOTIFICATIONS, expect="notifications")
    user.graphql("unreadNotificationCount", UNREAD, expect="unreadNotificationCount")


def payments(user: GatewayUser) -> None:
    """Payments: the wallet and the money movements."""
    if not signed_in(user):
        return
    user.graphql("wallet", WALLET, expect="wallet")
    user.graphql("transactions", TRANSACTIONS, expect="transactions")


def admin(user: GatewayUser) -> None:
    """Admin: the dashboard (metrics) and a metric series (analytics) over the last 7 days."""
    if user.admin_token is None:
        user.admin_token = _session_token(user, admin_email(user.index))
        if user.admin_token is None:
            return
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    window = {"from": (today - timedelta(days=7)).isoformat(), "to": today.isoformat()}
    for name, query in (("adminDashboard", DASHBOARD), ("analyticsMetrics", ANALYTICS)):
        if user.graphql(name, query, window, expect=name, token=user.admin_token) is None:
            user.admin_token = None  # expired or refused: sign in again next time
            return


def health(user: GatewayUser) -> None:
    user.get("/health")


SCENARIOS: dict[str, Callable[[Any], None]] = {
    "core": core,
    "payments": payments,
    "notifications": notifications,
    "admin": admin,
    "health": health,
}
