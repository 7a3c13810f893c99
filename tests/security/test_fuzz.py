"""schemathesis against the GraphQL schema, in process: generated documents for every root field
and mutation, with generated arguments, against production settings (errors masked).

Every response must be below 500 and free of INTERNAL_SERVER_ERROR (which is also what a null in
a non-null field becomes); no error may carry a traceback, an exception or SQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import schemathesis
from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes
from schemathesis.python import asgi
from starlette.applications import Starlette

from app.main import create_app
from tests.app.monitoring.helpers import bounded_labels_restored
from tests.conftest import make_settings
from tests.security.gateways import PRODUCTION
from tests.stripe_server import localstripe

pytestmark = pytest.mark.fuzz

SCHEMA = Path(__file__).resolve().parents[2] / "schema.graphql"
LEAKS = ("Traceback", "sqlalchemy", "asyncpg", "SELECT ", "INSERT ", 'File "')

# A JSON request cannot carry a file: an Upload argument is a string, which the scalar refuses.
schemathesis.graphql.scalar("Upload", st.text(max_size=8).map(nodes.String))
# JSON inputs (setting values, event properties): numbers, booleans and short texts.
schemathesis.graphql.scalar(
    "JSON",
    st.one_of(
        st.integers(-(2**31), 2**31 - 1).map(nodes.Int),
        st.booleans().map(nodes.Boolean),
        st.text(max_size=8).map(nodes.String),
    ),
)
schema = schemathesis.graphql.from_path(SCHEMA)


@pytest.fixture(scope="module")
def production_app(database_url: str) -> Iterator[Starlette]:
    # Payment mutations reach a Stripe that answers (localstripe), as in production: a Stripe
    # that cannot be reached is a retryable 503 (tests/faults/test_stripe_outage.py), which
    # says nothing about how generated input is handled.
    with localstripe() as stripe_url, bounded_labels_restored():
        settings = make_settings(
            database_url=database_url, **{**PRODUCTION, "stripe_api_base": stripe_url}
        )
        app = create_app(settings, database_url=database_url)
        yield app
        asgi.shutdown_lifespans()  # schemathesis started the app's lifespan in its own thread


@pytest.fixture(scope="module")
def user_token(production_app: Starlette) -> str:
    """A signed-in caller, signed up through the app itself (its lifespan runs elsewhere)."""
    with asgi.get_client(cast(Any, production_app)) as client:
        response = client.post(
            "http://testserver/graphql",
            json={
                "query": "mutation ($input: SignUpInput!) { signUp(input: $input) "
                "{ ... on SignUpSuccess { session { accessToken } } } }",
                "variables": {
                    "input": {
                        "email": "fuzz@example.test",
                        "password": "a long fuzzing passphrase",
                        "displayName": "Fuzz",
                    }
                },
            },
        )
    token: str = response.json()["data"]["signUp"]["session"]["accessToken"]
    return token


FUZZ_SETTINGS = settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
ALLOWED_EXTENSIONS = {"code", "retryAfter", "field", "requestId", "cost", "maximumCost"}


def check(response: Any) -> None:
    assert response.status_code < 500, response.text
    body = response.json()
    for error in body.get("errors") or []:
        assert error["extensions"]["code"] != "INTERNAL_SERVER_ERROR", error
        assert set(error["extensions"]) <= ALLOWED_EXTENSIONS, error
    assert not any(leak in response.text for leak in LEAKS), response.text


@schema.parametrize()
@seed(20261126)
@FUZZ_SETTINGS
def test_generated_operations_anonymous(case: Any, production_app: Starlette) -> None:
    check(case.call(app=production_app, base_url="http://testserver/graphql"))


@schema.parametrize()
@seed(20261127)
@FUZZ_SETTINGS
def test_generated_operations_signed_in(
    case: Any, production_app: Starlette, user_token: str
) -> None:
    headers = {"authorization": f"Bearer {user_token}"}
    # signOutEverywhere and deleteAccount may end the session: a 401 is an answer, not a failure.
    check(case.call(app=production_app, base_url="http://testserver/graphql", headers=headers))
