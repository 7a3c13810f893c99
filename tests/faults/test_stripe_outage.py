"""Stripe unreachable: a payment mutation that needs it answers SERVICE_UNAVAILABLE with
`retryAfter` (a retryable outage, counted as `dependency="stripe"`) unless it has a typed answer
of its own for it (`payoutAccountLink`: PaymentFailedError "try again"); never an internal
error, and nothing is stored. Stripe here is a loopback port nobody listens on."""

from __future__ import annotations

import socket

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from app.db.engine import SessionFactory
from app.db.models import PaymentMethod
from tests.conftest import make_settings
from tests.factories import create_user, token_for
from tests.faults.helpers import post
from tests.security.gateways import client_for, running_app

pytestmark = pytest.mark.asyncio
ADD = "mutation { addPaymentMethod { __typename } }"
LINK = "mutation { payoutAccountLink { __typename ... on UserError { code message } } }"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again when the block ends


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_an_unreachable_stripe_is_a_retryable_outage_that_changes_nothing(
    database_url: str, session_factory: SessionFactory
) -> None:
    user = await create_user(session_factory, display_name="Outage Olga")
    token = token_for(make_settings(), user)
    outages = counted("bountyexpo_dependency_unavailable_total", dependency="stripe")
    internal = counted("bountyexpo_graphql_errors_total", code="INTERNAL_SERVER_ERROR")
    async with (
        running_app(
            database_url,
            stripe_secret_key="sk_test_unreachable",
            stripe_publishable_key="pk_test_unreachable",
            stripe_api_base=f"http://127.0.0.1:{closed_port()}",
        ) as app,
        client_for(app) as client,
    ):
        response = await post(client, {"query": ADD}, token)
        body = response.json()
        assert body["data"] is None, body
        [error] = body["errors"]
        assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE", body
        assert error["extensions"]["retryAfter"] == 5
        link = (await post(client, {"query": LINK}, token)).json()
        assert link == {
            "data": {
                "payoutAccountLink": {
                    "__typename": "PaymentFailedError",
                    "code": "PAYMENT_FAILED",
                    "message": "the payment provider did not answer: try again",
                }
            }
        }
    assert counted("bountyexpo_dependency_unavailable_total", dependency="stripe") == outages + 1
    assert counted("bountyexpo_graphql_errors_total", code="INTERNAL_SERVER_ERROR") == internal
    async with session_factory() as session:
        saved = await session.scalar(select(func.count()).select_from(PaymentMethod))
    assert saved == 0
