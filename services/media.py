"""Stored media (avatars) behind a storage interface: local disk by default.

Keys look like `avatars/<user id>/<random>.png`: made by us, never from client input. An
S3-compatible store implements the same three methods.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Protocol

CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}
_SAFE_KEY = re.compile(r"^[a-z]+/[0-9a-f-]{36}/[0-9a-f]{32}\.(png|jpg|webp)$")


def content_type_of(key: str) -> str | None:
    """The content type served for `key`, or None when the key is not one we make."""
    if not _SAFE_KEY.match(key):
        return None
    return CONTENT_TYPES[key.rsplit(".", 1)[1]]


class MediaStorage(Protocol):
    async def save(self, key: str, data: bytes) -> None: ...

    async def load(self, key: str) -> bytes | None: ...

    async def delete(self, key: str) -> None: ...


class LocalMediaStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if content_type_of(key) is None:
            raise ValueError(f"not a media key: {key!r}")
        return self.root / key

    async def save(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._write, self._path(key), data)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_bytes(data)
        os.replace(partial, path)  # readers never see half a file

    async def load(self, key: str) -> bytes | None:
        if content_type_of(key) is None:
            return None
        path = self.root / key
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(path.unlink, missing_ok=True)
