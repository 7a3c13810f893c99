"""Persisted operations: Apollo's Automatic Persisted Queries, and trusted documents.

APQ (PERSISTED_OPERATIONS=apq, the default): a client sends `extensions.persistedQuery
{version: 1, sha256Hash}` without the query; an unknown hash gets PERSISTED_QUERY_NOT_FOUND and
the client resends hash and query, which is checked against the hash, run, and kept (in Redis
with a TTL when REDIS_URL is set, else in PostgreSQL) once it has parsed and validated.
Trusted documents (PERSISTED_OPERATIONS=trusted, for production): only documents registered with
`bountyexpo operations register FILE` run, by hash or by full text, on every transport
(PERSISTED_QUERY_NOT_IN_LIST otherwise); clients cannot add any.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections import OrderedDict
from typing import Any

import redis.asyncio as redis
from graphql import GraphQLError
from redis.exceptions import RedisError
from strawberry.http import GraphQLRequestData

from app.db.engine import SessionFactory
from app.settings import Settings
from schema.errors import BAD_USER_INPUT
from services import persisted_operations
from services.persisted_operations import Document, sha256_of

PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
PERSISTED_QUERY_NOT_IN_LIST = "PERSISTED_QUERY_NOT_IN_LIST"
PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
REDIS_PREFIX = "bountyexpo:apq:"
CACHE_SIZE = 1024
TRUSTED_REFRESH_SECONDS = 30.0
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def persisted_error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


class PersistedOperations:
    def __init__(
        self, settings: Settings, session_factory: SessionFactory, client: redis.Redis | None
    ) -> None:
        self.mode = settings.persisted_operations
        self.ttl = settings.apq_ttl_seconds
        self.session_factory = session_factory
        self.client = client
        self._bodies: OrderedDict[str, str] = OrderedDict()
        self._trusted: frozenset[str] = frozenset()
        self._trusted_at = float("-inf")

    async def resolve(self, data: GraphQLRequestData) -> tuple[GraphQLRequestData, Document | None]:
        """The request with its query filled in from the hash, and the document to keep after a
        successful run (APQ registration); raises a coded GraphQLError."""
        persisted = (data.extensions or {}).get("persistedQuery")
        if persisted is None:
            return data, None
        if self.mode == "off":
            raise persisted_error("persisted queries are off", PERSISTED_QUERY_NOT_SUPPORTED)
        sha = _hash_of(persisted)
        if data.query:
            if sha256_of(data.query) != sha:
                raise persisted_error("provided sha does not match query", BAD_USER_INPUT)
            keep = self.mode == "apq" and sha not in self._bodies
            return data, Document(sha, data.query) if keep else None
        body = await self.lookup(sha)
        if body is None:
            raise persisted_error("PersistedQueryNotFound", PERSISTED_QUERY_NOT_FOUND)
        return dataclasses.replace(data, query=body), None

    async def lookup(self, sha: str) -> str | None:
        body = self._bodies.get(sha)
        if body is not None:
            self._bodies.move_to_end(sha)
            return body
        trusted_only = self.mode == "trusted"
        if self.client is not None and not trusted_only:
            try:
                cached = await self.client.get(REDIS_PREFIX + sha)
            except RedisError:
                cached = None  # a read: fall back to PostgreSQL
            body = cached.decode() if isinstance(cached, bytes) else cached
        if body is None:
            async with self.session_factory() as session:
                body = await persisted_operations.find(session, sha, trusted_only=trusted_only)
        if body is not None:
            self._remember(sha, body)
        return body

    async def keep(self, document: Document) -> None:
        self._remember(document.sha256, document.body)
        if self.client is not None:
            try:
                await self.client.set(REDIS_PREFIX + document.sha256, document.body, ex=self.ttl)
                return
            except RedisError:
                pass  # not kept across instances: the client will send the text again
        async with self.session_factory() as session, session.begin():
            await persisted_operations.store(session, document)

    async def is_trusted(self, query: str) -> bool:
        if time.monotonic() - self._trusted_at > TRUSTED_REFRESH_SECONDS:
            async with self.session_factory() as session:
                self._trusted = await persisted_operations.trusted_hashes(session)
            self._trusted_at = time.monotonic()
        return sha256_of(query) in self._trusted

    def _remember(self, sha: str, body: str) -> None:
        self._bodies[sha] = body
        self._bodies.move_to_end(sha)
        while len(self._bodies) > CACHE_SIZE:
            self._bodies.popitem(last=False)


def _hash_of(persisted: Any) -> str:
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise persisted_error("Unsupported persisted query version", BAD_USER_INPUT)
    sha = persisted.get("sha256Hash")
    if not isinstance(sha, str) or not _SHA256.match(sha):
        raise persisted_error("sha256Hash must be 64 lowercase hex digits", BAD_USER_INPUT)
    return sha
