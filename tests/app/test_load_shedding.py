"""Load shedding through the real app: requests held in flight by a body that has not arrived
yet fill the process's slots and queue; what comes next gets 503 with Retry-After at once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.types import Message

from app.load_shedding import LoadSheddingMiddleware
from tests.conftest import graphql_socket
from tests.security.gateways import client_for, running_app

pytestmark = pytest.mark.asyncio

TYPENAME = b'{"query": "{ __typename }"}'
OVERLOADED = {
    "errors": [
        {
            "message": "the server is overloaded; retry in 1 s",
            "extensions": {"code": "SERVICE_UNAVAILABLE", "retryAfter": 1},
        }
    ]
}


class HeldBody:
    """A request body whose second half is sent only on `release()`: the request is in the app
    (reading its body) from `started` until then."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self._go = asyncio.Event()

    def release(self) -> None:
        self._go.set()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.started.set()
        yield TYPENAME[:10]
        await self._go.wait()
        yield TYPENAME[10:]


def shed_count(reason: str) -> float:
    value = REGISTRY.get_sample_value("bountyexpo_http_requests_shed_total", {"reason": reason})
    return value or 0.0


def shedding_of(app: Starlette) -> LoadSheddingMiddleware:
    layer: Any = app.middleware_stack
    while not isinstance(layer, LoadSheddingMiddleware):
        layer = layer.app
    return layer


async def until(condition: Any) -> None:
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110  (the app has no event to wait on)
            await asyncio.sleep(0.005)


def post(client: httpx.AsyncClient, body: Any = TYPENAME) -> asyncio.Task[httpx.Response]:
    headers = {"content-type": "application/json"}
    return asyncio.create_task(client.post("/graphql", content=body, headers=headers))


@contextlib.asynccontextmanager
async def shedding_gateway(
    database_url: str, **overrides: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, LoadSheddingMiddleware]]:
    settings = {"shed_max_in_flight": 1, "shed_queue_size": 1, **overrides}
    async with running_app(database_url, **settings) as app, client_for(app) as client:
        assert (await client.get("/health")).status_code == 200  # builds the middleware stack
        yield client, shedding_of(app)


async def test_beyond_the_slots_and_the_queue_requests_get_503_at_once(database_url: str) -> None:
    before = shed_count("queue_full")
    async with shedding_gateway(database_url, shed_queue_timeout_seconds=60) as (client, shed):
        held = HeldBody()
        first = post(client, held)
        await held.started.wait()
        queued = post(client)
        await until(lambda: shed.admission.queued == 1)

        refused = await client.post("/graphql", json={"query": "{ __typename }"})
        live = await client.get("/health/live")
        metrics = await client.get("/metrics")
        assert not queued.done()

        held.release()
        answered = [await first, await queued]
        after = await client.post("/graphql", json={"query": "{ __typename }"})
        assert (shed.admission.in_flight, shed.admission.queued) == (0, 0)

    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.json() == OVERLOADED
    assert refused.headers["x-request-id"]  # shed requests are still traceable
    assert (live.status_code, metrics.status_code) == (200, 200)  # probes are never shed
    assert shed_count("queue_full") == before + 1
    for response in [*answered, after]:
        assert response.status_code == 200
        assert response.json() == {"data": {"__typename": "Query"}}


async def test_a_request_that_waits_past_the_queue_timeout_gets_503(database_url: str) -> None:
    before = shed_count("queue_timeout")
    async with shedding_gateway(database_url, shed_queue_timeout_seconds=0.05) as (client, shed):
        held = HeldBody()
        first = post(client, held)
        await held.started.wait()
        waited = await client.post("/graphql", json={"query": "{ __typename }"})
        assert shed.admission.queued == 0  # the timed-out waiter left the queue
        held.release()
        assert (await first).status_code == 200
    assert waited.status_code == 503
    assert waited.json() == OVERLOADED
    assert shed_count("queue_timeout") == before + 1


async def test_queued_requests_are_served_in_arrival_order(database_url: str) -> None:
    async with shedding_gateway(database_url, shed_queue_size=2, shed_queue_timeout_seconds=60) as (
        client,
        shed,
    ):
        held, second, third = HeldBody(), HeldBody(), HeldBody()
        tasks = [post(client, held)]
        await held.started.wait()
        tasks.append(post(client, second))
        await until(lambda: shed.admission.queued == 1)
        tasks.append(post(client, third))
        await until(lambda: shed.admission.queued == 2)
        held.release()
        await second.started.wait()  # the oldest waiter got the slot
        assert not third.started.is_set()
        second.release()
        await third.started.wait()
        third.release()
        responses = await asyncio.gather(*tasks)
    assert [response.status_code for response in responses] == [200, 200, 200]


async def test_a_request_cancelled_in_flight_or_in_the_queue_gives_its_place_back(
    database_url: str,
) -> None:
    async with shedding_gateway(database_url, shed_queue_timeout_seconds=60) as (client, shed):
        held = HeldBody()
        first = post(client, held)
        await held.started.wait()
        queued = post(client)
        await until(lambda: shed.admission.queued == 1)
        queued.cancel()
        await until(lambda: shed.admission.queued == 0)
        first.cancel()
        await until(lambda: shed.admission.in_flight == 0)
        served = await client.post("/graphql", json={"query": "{ __typename }"})
    assert served.status_code == 200


async def test_open_sockets_take_no_slot(database_url: str) -> None:
    async with (
        running_app(database_url, shed_max_in_flight=1, shed_queue_size=0) as app,
        client_for(app) as client,
        graphql_socket(app, "graphql-transport-ws") as socket,
    ):
        await socket.send_json({"type": "connection_init", "payload": {}})
        assert (await socket.receive_json())["type"] == "connection_ack"
        served = await client.post("/graphql", json={"query": "{ __typename }"})
        assert shedding_of(app).admission.in_flight == 0
    assert served.status_code == 200


async def test_a_client_that_left_is_answered_499_not_logged_as_a_500(database_url: str) -> None:
    """A request whose client disconnected before its body arrived (a client-side timeout)."""
    before = REGISTRY.get_sample_value(
        "bountyexpo_http_requests_total", {"route": "/graphql", "method": "POST", "status": "499"}
    )
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    async with running_app(database_url, shed_max_in_flight=1) as app:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
            "scheme": "http", "path": "/graphql", "raw_path": b"/graphql", "query_string": b"",
            "root_path": "", "headers": [(b"content-type", b"application/json")],
            "client": ("127.0.0.1", 50000), "server": ("gateway", 80),
        }  # fmt: skip
        await app(scope, receive, send)
        assert shedding_of(app).admission.in_flight == 0
    assert [message["type"] for message in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 499
    after = REGISTRY.get_sample_value(
        "bountyexpo_http_requests_total", {"route": "/graphql", "method": "POST", "status": "499"}
    )
    assert (after or 0.0) == (before or 0.0) + 1
