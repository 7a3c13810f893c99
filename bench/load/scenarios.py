"""What a virtual user does, one function per entry of the mix (`profiles.SEED_MIX`).

A scenario is a short visit to the app: a few requests, each paced by the user (one every
2 s). It signs in once per virtual user, as the mobile app does, and keeps the token (an access
token lives 15 minutes; UNAUTHENTICATED makes the next scenario sign in again): a sign-in is an
argon2id hash (about 84 ms of CPU), which an app pays once per session, not per screen.

Payments (wallet, transactions) and admin (metrics, analytics) have no API yet: add
`payments` and `admin` functions to SCENARIOS when those domains land and the seed's mix runs
them with no other change (until then the run says they were skipped).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # locust monkey-patches the standard library on import: only its user does
    from bench.load.locustfile import GatewayUser

LOAD_PASSWORD = "load-profile-passphrase-2026"  # noqa: S105  (accounts of a throwaway database)
ACCOUNTS = 2_200  # one per virtual user at the stress profile's top rate (1,000 / 0.5)

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


def account_email(index: int) -> str:
    return f"load-{index % ACCOUNTS:05d}@load.bountyexpo.test"


def sign_in(user: GatewayUser) -> bool:
    variables = {"input": {"email": account_email(user.index), "password": LOAD_PASSWORD}}
    data = user.graphql("signIn", SIGN_IN, variables, expect="signIn", token=False)
    if data is None or data["signIn"]["__typename"] != "SignInSuccess":
        return False
    user.token = data["signIn"]["session"]["accessToken"]
    return True


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


def health(user: GatewayUser) -> None:
    user.get("/health")


SCENARIOS: dict[str, Callable[[Any], None]] = {
    "core": core,
    "notifications": notifications,
    "health": health,
}
