"""Fuzzing the request body through the real app (a seeded generator: the same cases every run):
random bytes, mangled and deeply nested JSON, scalars, wrong types in every field and huge
variable maps. Every answer is below 500 and GraphQL-shaped, and memory stays bounded
(tracemalloc: each request's peak, and what is left after all of them).
"""

from __future__ import annotations

import json
import random
import tracemalloc
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from httpx_ws import WebSocketDisconnect
from starlette.applications import Starlette

from tests.conftest import graphql_socket

pytestmark = [pytest.mark.asyncio, pytest.mark.fuzz]

SEED = 20261130
CASES = 200
# Per request. The most a refused body costs is orjson's error path, about 12 times the body
# (measured: 16.8 MB for 1.4 MB of any invalid JSON), so about 25 MB at the 2 MiB body limit.
MAX_PEAK_BYTES = 32 * 1024 * 1024
# What the app may keep after all cases: bounded caches (parsed and validated documents).
MAX_RETAINED_BYTES = 12 * 1024 * 1024
VALID = {"query": "query ($n: Int) { bounties(first: $n) { totalCount } }", "variables": {"n": 1}}


def random_json(rng: random.Random, depth: int = 0) -> Any:
    kinds = ["int", "float", "str", "bool", "null"] + (["list", "dict"] * 2 if depth < 5 else [])
    kind = rng.choice(kinds)
    if kind == "int":
        return rng.choice([0, -1, 2**31, 2**63 - 1, -(2**63), rng.randint(-1000, 1000)])
    if kind == "float":
        return rng.choice([0.5, -0.0, 1e308, 1e-308, rng.random()])
    if kind == "str":
        return "".join(rng.choice('{}[]$ab"\\é\u2028\x00 ') for _ in range(rng.randint(0, 12)))
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "list":
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {f"k{i}": random_json(rng, depth + 1) for i in range(rng.randint(0, 4))}


def mangle(rng: random.Random, data: bytes) -> bytes:
    mangled = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        position = rng.randint(0, len(mangled))
        action = rng.choice(["insert", "delete", "flip"])
        if action == "insert":
            mangled[position:position] = rng.randbytes(rng.randint(1, 4))
        elif mangled and action == "delete":
            del mangled[min(position, len(mangled) - 1)]
        elif mangled:
            mangled[min(position, len(mangled) - 1)] ^= 1 << rng.randint(0, 7)
    return bytes(mangled)


def body_case(rng: random.Random) -> bytes:
    kind = rng.choice(
        ["bytes", "mangled", "deep", "scalar", "random", "fields", "variables", "numbers"]
    )
    if kind == "bytes":
        return rng.randbytes(rng.randint(0, 4096))
    if kind == "mangled":
        return mangle(rng, json.dumps(VALID).encode())
    if kind == "deep":
        opener = rng.choice([b"[", b'{"a":', b'{"query": "{ a }", "variables": {"v":'])
        depth = rng.randint(60, 40_000)
        closer = b"]" if opener == b"[" else b"}"
        return opener * depth + b"1" + closer * rng.choice([0, depth])
    if kind == "scalar":
        return rng.choice([b"0", b"-0", b"1e400", b"9" * 5_000, b"true", b"null", b'"x"', b"[]"])
    if kind == "random":
        return json.dumps(random_json(rng)).encode()
    if kind == "fields":
        field = rng.choice(["query", "variables", "operationName", "extensions"])
        return json.dumps({**VALID, field: random_json(rng)}).encode()
    if kind == "variables":
        count = rng.choice([101, 1_000, 10_000])
        return json.dumps({**VALID, "variables": {f"v{i}": i for i in range(count)}}).encode()
    # Numbers past every range where a variable of type Int expects one.
    number = rng.choice(["1e999", "-1e999", "9" * rng.randint(20, 4000), "1.5", "NaN", "0x10"])
    prefix = json.dumps(VALID["query"]).encode()
    return b'{"query": ' + prefix + b', "variables": {"n": ' + number.encode() + b"}}"


def request_case(rng: random.Random) -> dict[str, Any]:
    headers = {
        "content-type": rng.choice(
            ["application/json"] * 6 + ["application/json; charset=latin-1", "text/plain", ""]
        ),
        "accept": rng.choice(
            ["application/json", "application/graphql-response+json", "*/*", "text/html", ""]
        ),
    }
    if rng.random() < 0.3:
        headers["apollo-require-preflight"] = "1"
    method = rng.choice(["POST"] * 8 + ["GET", "PUT"])
    if method == "GET":
        variables = mangle(rng, b'{"n": 1}').decode("latin-1")
        params = {"query": VALID["query"], "variables": variables}
        return {"method": method, "url": "/graphql", "params": params, "headers": headers}
    return {"method": method, "url": "/graphql", "content": body_case(rng), "headers": headers}


def cases() -> Iterator[dict[str, Any]]:
    rng = random.Random(SEED)
    for _ in range(CASES):
        yield request_case(rng)


def check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text[:500]
    assert response.headers["content-type"].startswith("application/"), response.headers
    body = response.json()
    if response.status_code >= 400:
        assert body["errors"], body
        for error in body["errors"]:
            assert isinstance(error["message"], str)
            assert isinstance(error["extensions"]["code"], str)
            assert error["extensions"]["code"] != "INTERNAL_SERVER_ERROR", error


async def test_random_bodies_never_get_a_5xx_and_memory_stays_bounded(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/graphql", json=VALID)  # warm: schema, caches, pools
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        peaks = []
        for case in cases():
            before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            check(await client.request(**case))
            peaks.append(tracemalloc.get_traced_memory()[1] - before)
        retained = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    assert max(peaks) < MAX_PEAK_BYTES, max(peaks)
    assert retained < MAX_RETAINED_BYTES, retained


def socket_message(rng: random.Random) -> str:
    kind = rng.randint(0, 4)
    if kind == 0:
        return json.dumps(random_json(rng))
    if kind == 1:
        return json.dumps({"type": "subscribe", "id": "1", "payload": random_json(rng)})
    if kind == 2:
        return json.dumps({"type": rng.choice(["subscribe", "complete"]), "id": random_json(rng)})
    if kind == 3:
        valid = b'{"type": "subscribe", "id": "1", "payload": {"query": "{ a }"}}'
        return mangle(rng, valid).decode("latin-1")
    return "[" * rng.randint(100, 20_000)


async def test_random_websocket_messages_never_crash_the_socket(app: Starlette) -> None:
    rng = random.Random(SEED)
    for _ in range(25):
        message = socket_message(rng)
        async with graphql_socket(app, "graphql-transport-ws") as ws:
            await ws.send_json({"type": "connection_init"})
            assert await ws.receive_json() == {"type": "connection_ack"}
            await ws.send_text(message)
            closed: WebSocketDisconnect | None = None
            try:
                answer = await ws.receive_json()
            except WebSocketDisconnect as error:
                closed = error
            if closed is not None:
                assert closed.code == 4400, (closed.code, message[:200])
            else:  # a message that happened to be valid got a protocol answer
                assert answer["type"] in ("next", "error", "complete", "pong"), answer
