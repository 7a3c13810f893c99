"""Password hashing: argon2id at the OWASP minimum (m=19 MiB, t=2, p=1), about 84 ms here.

Hashes run on threads of their own, `PASSWORD_HASH_THREADS` per process, with at most
`PASSWORD_HASH_QUEUE` more waiting; past that a sign-in (or sign-up, or password change) is
refused at once with SERVICE_UNAVAILABLE and `retryAfter`. Unbounded, a burst of sign-ins (an
app release, a flood of wrong passwords) fills every core with argon2 and starves every other
request; bounded, it costs at most those threads' share of the CPU and sheds the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.errors import DomainError

_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
T = TypeVar("T")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash predates the current parameters: rehash at the next sign-in."""
    return _hasher.check_needs_rehash(password_hash)


class PasswordWorkBusy(DomainError):
    """Too many password hashes already running or waiting in this process."""

    code = "SERVICE_UNAVAILABLE"
    retry_after = 1

    def __init__(self) -> None:
        super().__init__("too many sign-ins at once; retry shortly")


class PasswordWork:
    """Runs hashes on `threads` threads (not asyncio's default pool, which file I/O shares),
    admitting at most `queue` more than those threads at a time."""

    def __init__(self, threads: int, queue: int) -> None:
        self.threads, self.queue = threads, queue
        self.pending = 0
        self._executor: ThreadPoolExecutor | None = None

    async def run(self, work: Callable[..., T], *args: str) -> T:
        if self.pending >= self.threads + self.queue:
            raise PasswordWorkBusy
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="argon2")
        self.pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, work, *args)
        finally:
            self.pending -= 1

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False)


_work = PasswordWork(threads=1, queue=8)


def configure(threads: int, queue: int) -> PasswordWork:
    """Bound this process's password work (the app does at start, from settings)."""
    global _work
    if (_work.threads, _work.queue) != (threads, queue):
        _work.close()
        _work = PasswordWork(threads, queue)
    return _work


async def hashed(password: str) -> str:
    """`hash_password` off the event loop, within the process's bound (PasswordWorkBusy)."""
    return await _work.run(hash_password, password)


async def verified(password_hash: str, password: str) -> bool:
    """`verify_password` off the event loop, within the process's bound (PasswordWorkBusy)."""
    return await _work.run(verify_password, password_hash, password)
