"""One user's app, in Python: `gql` over HTTPX for queries, mutations and uploads, and over
websockets (graphql-transport-ws) for subscriptions, keeping tokens the way the mobile app does.

It sends only the documents of clients/operations/ (as Apollo Client sends them), by name, and
records which ones it ran, so a test can require every document to be exercised.

Tokens: an `httpx.Auth` adds `Authorization: Bearer` from the current access token. A request
answered `UNAUTHENTICATED` (the token expired) refreshes once for all requests waiting at that
moment (single flight: the first refreshes, the others see the new token and only retry) and is
sent again; `refreshSession` itself goes out without the stale header, since a bad token refuses
the whole request.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Generator
from dataclasses import dataclass, field
from typing import Any

import httpx
from gql import Client, GraphQLRequest
from gql.client import AsyncClientSession
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport

from app.client_operations import ClientOperation, load_operations
from tests.gateway_processes import ROOT


@dataclass
class Catalog:
    """The app's documents by name, and the names some client has run."""

    operations: dict[str, ClientOperation]
    used: set[str] = field(default_factory=set)

    @classmethod
    def load(cls) -> Catalog:
        found = load_operations(ROOT / "clients" / "operations")
        return cls({operation.name: operation for operation in found})

    def request(self, name: str, variables: dict[str, Any] | None) -> GraphQLRequest:
        self.used.add(name)
        return GraphQLRequest(
            self.operations[name].sent_document, variable_values=variables, operation_name=name
        )


class _Bearer(httpx.Auth):
    def __init__(self, app: AppClient) -> None:
        self.app = app

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.app.access_token:
            request.headers["authorization"] = f"Bearer {self.app.access_token}"
        yield request


def error_code(error: TransportQueryError) -> str | None:
    first = (error.errors or [{}])[0]
    code: str | None = (first.get("extensions") or {}).get("code")
    return code


class Listener:
    """One subscription's results, in order, as they arrive."""

    def __init__(self, task: asyncio.Task[None], queue: asyncio.Queue[dict[str, Any]]) -> None:
        self.task, self.queue = task, queue

    async def next(self, within: float = 30) -> dict[str, Any]:
        getter = asyncio.ensure_future(self.queue.get())
        done, _ = await asyncio.wait(
            {getter, self.task}, timeout=within, return_when=asyncio.FIRST_COMPLETED
        )
        if getter in done:
            return getter.result()
        getter.cancel()
        if self.task in done:
            self.task.result()  # raises what ended the subscription
            raise AssertionError("the subscription completed")
        raise TimeoutError(f"nothing arrived within {within} s")

    def pending(self) -> int:
        return self.queue.qsize()


class AppClient:
    def __init__(self, base_url: str, catalog: Catalog, name: str) -> None:
        self.base_url, self.catalog, self.name = base_url, catalog, name
        self.access_token: str | None = None
        self.refresh_token: str | None = None
        self.refreshes = 0
        self._refreshing = asyncio.Lock()
        self._stack = contextlib.AsyncExitStack()
        self._http: AsyncClientSession | None = None
        self._anonymous: AsyncClientSession | None = None
        self._socket: AsyncClientSession | None = None
        self._listeners: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> AppClient:
        self._http = await self._session(authenticated=True)
        self._anonymous = await self._session(authenticated=False)
        return self

    async def __aexit__(self, *_: object) -> None:
        for task in self._listeners:
            task.cancel()
        await asyncio.gather(*self._listeners, return_exceptions=True)
        await self._stack.aclose()

    async def _session(self, *, authenticated: bool) -> AsyncClientSession:
        transport = HTTPXAsyncTransport(
            url=f"{self.base_url}/graphql",
            auth=_Bearer(self) if authenticated else None,
            # Multipart uploads are not JSON: Apollo's CSRF rule wants this header on them.
            headers={"apollo-require-preflight": "true"},
            timeout=30,
        )
        client = Client(transport=transport, execute_timeout=30)
        session: AsyncClientSession = await self._stack.enter_async_context(client)
        return session

    def keep(self, session: dict[str, Any]) -> None:
        self.access_token = session["accessToken"]
        self.refresh_token = session["refreshToken"]

    async def run(
        self, name: str, variables: dict[str, Any] | None = None, *, upload: bool = False
    ) -> dict[str, Any]:
        """The operation's `data`; a GraphQL error raises TransportQueryError."""
        assert self._http is not None
        seen = self.access_token
        try:
            result: dict[str, Any] = await self._http.execute(
                self.catalog.request(name, variables), upload_files=upload
            )
            return result
        except TransportQueryError as error:
            if error_code(error) != "UNAUTHENTICATED" or not self.refresh_token or upload:
                raise
            if not await self.refresh(seen):
                raise  # the session is over: the app shows sign-in
        retried: dict[str, Any] = await self._http.execute(self.catalog.request(name, variables))
        return retried

    async def refresh(self, seen: str | None) -> bool:
        """Trade the refresh token for a new pair, once for everyone who saw `seen` fail;
        False (tokens forgotten) when the session has ended."""
        async with self._refreshing:
            if self.access_token != seen:
                return self.access_token is not None  # settled while this request waited
            assert self._anonymous is not None
            answer = await self._anonymous.execute(
                self.catalog.request("RefreshSession", {"refreshToken": self.refresh_token})
            )
            result = answer["refreshSession"]
            if result["__typename"] != "RefreshSessionSuccess":
                self.access_token = self.refresh_token = None
                return False
            self.keep(result["session"])
            self.refreshes += 1
            return True

    async def connect_socket(self) -> None:
        """One graphql-transport-ws socket for all of this user's subscriptions."""
        transport = WebsocketsTransport(
            url=self.base_url.replace("http", "ws", 1) + "/graphql",
            init_payload={"authorization": f"Bearer {self.access_token}"},
            subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        )
        client = Client(transport=transport)
        self._socket = await self._stack.enter_async_context(client)

    def listen(self, name: str, variables: dict[str, Any] | None = None) -> Listener:
        assert self._socket is not None, "connect_socket() first"
        socket = self._socket
        request = self.catalog.request(name, variables)
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        async def pump() -> None:
            async for result in socket.subscribe(request):
                await queue.put(result)

        task = asyncio.create_task(pump(), name=f"{self.name}:{name}")
        self._listeners.append(task)
        return Listener(task, queue)


@contextlib.asynccontextmanager
async def app_client(base_url: str, catalog: Catalog, name: str) -> AsyncIterator[AppClient]:
    async with AppClient(base_url, catalog, name) as client:
        yield client
