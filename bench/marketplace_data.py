"""A seeded marketplace data set: 10k users, 100k bounties, 300k applications (and images).

    .venv/bin/python -m bench.marketplace_data [--rebuild]

Built with COPY into a database of its own on the test server (embedded, or TEST_DATABASE_URL),
named after the migrations hash and this generator's version, and kept: later runs reuse it in a
second. The generator is seeded, so every build holds the same rows. Prints the database URL.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from tests import databases

VERSION = 1
USERS, BOUNTIES, APPLICATIONS = 10_000, 100_000, 300_000
CATEGORIES = [
    "delivery", "design", "development", "handyman", "moving", "pets", "photography",
    "tutoring", "writing", "other",
]  # fmt: skip
WORDS = [
    "garden",
    "fence",
    "paint",
    "bike",
    "repair",
    "dog",
    "walk",
    "logo",
    "design",
    "move",
    "sofa",
    "tutor",
    "math",
    "photo",
    "wedding",
    "translate",
    "letter",
    "clean",
    "flat",
    "assemble",
    "desk",
    "fix",
    "tap",
    "deliver",
    "parcel",
    "website",
    "bug",
    "cat",
    "sit",
]
STATUSES = (
    ["OPEN"] * 60 + ["DRAFT"] * 8 + ["ASSIGNED"] * 12 + ["COMPLETED"] * 12 + ["CANCELLED"] * 8
)
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def database_name() -> str:
    return f"bountyexpo_bench_{databases.migrations_hash()}_v{VERSION}"


def _users(rng: random.Random) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for number in range(USERS):
        count = rng.choice((0, 0, 1, 2, 5))
        rows.append((
            uuid.UUID(int=rng.getrandbits(128), version=4), f"user{number}@bench.test", "!",
            f"Bench User {number}", count * rng.randint(3, 5), count,
            NOW - timedelta(days=rng.randint(100, 400)),
        ))  # fmt: skip
    return rows


def _bounties(rng: random.Random, user_ids: list[uuid.UUID]) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for _ in range(BOUNTIES):
        words = rng.sample(WORDS, 4)
        remote = rng.random() < 0.3
        status = rng.choice(STATUSES)
        rows.append((
            uuid.UUID(int=rng.getrandbits(128), version=4),
            rng.choice(user_ids),
            " ".join(words).capitalize(),
            "Looking for help: " + " ".join(rng.sample(WORDS, 12)),
            rng.choice(CATEGORIES),
            rng.randint(5, 500) * 100,
            "USD" if rng.random() < 0.6 else "EUR",
            None if remote else rng.uniform(36.0, 60.0),
            None if remote else rng.uniform(-9.0, 30.0),
            remote,
            NOW + timedelta(days=rng.randint(1, 60)) if rng.random() < 0.5 else None,
            status,
            NOW - timedelta(minutes=rng.randint(0, 90 * 24 * 60)),
        ))  # fmt: skip
    return rows


def _applications(
    rng: random.Random, bounties: list[tuple[Any, ...]], user_ids: list[uuid.UUID]
) -> list[tuple[Any, ...]]:
    seen: set[tuple[uuid.UUID, uuid.UUID]] = set()
    rows: list[tuple[Any, ...]] = []
    while len(rows) < APPLICATIONS:
        bounty = rng.choice(bounties)
        hunter = rng.choice(user_ids)
        if hunter == bounty[1] or (bounty[0], hunter) in seen:
            continue
        seen.add((bounty[0], hunter))
        status = "PENDING" if rng.random() < 0.8 else rng.choice(["REJECTED", "WITHDRAWN"])
        rows.append((
            uuid.UUID(int=rng.getrandbits(128), version=4), bounty[0], hunter,
            "I can do this", None, status, bounty[12] + timedelta(hours=rng.randint(1, 48)),
        ))  # fmt: skip
    return rows


def _images(rng: random.Random, bounties: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for bounty in bounties:
        for position in range(rng.choice((0, 0, 1, 2))):
            key = f"bounties/{bounty[0]}/{rng.getrandbits(128):032x}.jpg"
            rows.append((uuid.UUID(int=rng.getrandbits(128), version=4), bounty[0], key, position))
    return rows


async def _load(url: str) -> None:
    rng = random.Random(20261126)
    users = _users(rng)
    user_ids = [row[0] for row in users]
    bounties = _bounties(rng, user_ids)
    applications = _applications(rng, bounties, user_ids)
    images = _images(rng, bounties)
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        async with connection.transaction():
            copy = connection.copy_records_to_table
            await copy(
                "users",
                records=users,
                columns=["id", "email", "password_hash", "display_name", "rating_sum",
                         "rating_count", "created_at"],
            )  # fmt: skip
            await copy(
                "bounties",
                records=bounties,
                columns=["id", "poster_id", "title", "description", "category", "reward_amount",
                         "reward_currency", "latitude", "longitude", "remote", "deadline",
                         "status", "created_at"],
            )  # fmt: skip
            await copy(
                "applications",
                records=applications,
                columns=["id", "bounty_id", "hunter_id", "message", "proposed_amount", "status",
                         "created_at"],
            )  # fmt: skip
            await copy(
                "bounty_images",
                records=[(*row, 800, 600) for row in images],
                columns=["id", "bounty_id", "key", "position", "width", "height"],
            )
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


async def ensure_data_set(*, rebuild: bool = False) -> str:
    """The URL of the built data set, building it first when missing (or asked to)."""
    server = databases.server_url()
    name = database_name()
    admin = databases.admin_engine(server)
    try:
        exists = await databases.database_exists(admin, name)
    finally:
        await admin.dispose()
    url = databases.with_database(server, name)
    if exists and not rebuild:
        return url
    await databases.drop_database(server, name)
    building = f"{name}_building"
    await databases.drop_database(server, building)
    template = await databases.ensure_template(server)
    await databases.run_admin(server, f'CREATE DATABASE "{building}" TEMPLATE "{template}"')
    started = time.perf_counter()
    await _load(databases.with_database(server, building))
    await databases.run_admin(server, f'ALTER DATABASE "{building}" RENAME TO "{name}"')
    print(f"built {name} in {time.perf_counter() - started:.1f} s")
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="drop and build it again")
    args = parser.parse_args()
    print(asyncio.run(ensure_data_set(rebuild=args.rebuild)))


if __name__ == "__main__":
    main()
