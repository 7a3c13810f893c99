"""Root types, composed from one class of thin root fields per domain."""

from __future__ import annotations

import strawberry

from resolvers.accounts import AccountMutations
from resolvers.admin import AdminMutations, AdminQueries
from resolvers.analytics import AnalyticsMutations, AnalyticsQueries
from resolvers.bounties import BountyQueries, BountySubscriptions
from resolvers.bounty_mutations import BountyMutations
from resolvers.jobs import JobMutations, JobQueries
from resolvers.messaging import MessagingMutations, MessagingQueries, MessagingSubscriptions
from resolvers.moderation import ModerationMutations, ModerationQueries
from resolvers.nodes import NodeQueries
from resolvers.notifications import (
    NotificationMutations,
    NotificationQueries,
    NotificationSubscriptions,
)
from resolvers.payment_methods import PaymentMethodMutations, PaymentMethodQueries
from resolvers.payments import PaymentQueries
from resolvers.payouts import PayoutMutations, PayoutQueries
from resolvers.profiles import ProfileMutations, ProfileQueries
from resolvers.risk import RiskMutations, RiskQueries
from resolvers.server import ServerQueries
from resolvers.users import UserMutations, UserQueries


@strawberry.type(description="Everything a client can read.")
class Query(
    NodeQueries,
    UserQueries,
    ProfileQueries,
    ServerQueries,
    JobQueries,
    BountyQueries,
    MessagingQueries,
    NotificationQueries,
    PaymentQueries,
    PaymentMethodQueries,
    PayoutQueries,
    AdminQueries,
    ModerationQueries,
    AnalyticsQueries,
    RiskQueries,
):
    pass


@strawberry.type(description="Everything a client can change.")
class Mutation(
    AccountMutations,
    ProfileMutations,
    UserMutations,
    JobMutations,
    BountyMutations,
    PaymentMethodMutations,
    MessagingMutations,
    NotificationMutations,
    AdminMutations,
    ModerationMutations,
    AnalyticsMutations,
    RiskMutations,
    PayoutMutations,
):
    pass


@strawberry.type(description="Live updates over WebSocket (graphql-transport-ws or graphql-ws).")
class Subscription(BountySubscriptions, MessagingSubscriptions, NotificationSubscriptions):
    pass


__all__ = ["Mutation", "Query", "Subscription"]
