"""The embedder ingest jobs use, built once per config.json content rather than once per job.

Building the provider registry creates every configured SDK client, each with its own TLS
context (tens of milliseconds of CPU on the event loop); per small document that cost more
than parsing and embedding it. The registry is kept while config.json is unchanged and
closed once it has changed and the last job using it has finished. The file is read again
only when its modification time, size or inode changed (a ``stat`` per job, not a read and
a hash on a thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

from providers import build_registry, parse_config

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from providers import Embedder, Registry

__all__ = ["configured_embedder"]


@dataclass
class _Entry:
    digest: bytes
    registry: Registry
    seen: tuple[int, int, int]
    """The file's modification time, size and inode when it was last read."""
    users: int = 0
    stale: bool = False


def _seen(config_path: Path) -> tuple[int, int, int]:
    stat = config_path.stat()
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


# Clients belong to the event loop they were created on: one entry per loop.
_current: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Entry] = weakref.WeakKeyDictionary()


@contextlib.asynccontextmanager
async def configured_embedder(config_path: Path) -> AsyncIterator[Embedder]:
    """The embedder config.json names now (raises what ``Registry.embedder`` raises)."""
    loop = asyncio.get_running_loop()
    entry = _current.get(loop)
    seen = _seen(config_path)
    if entry is None or entry.seen != seen:
        data = await asyncio.to_thread(config_path.read_bytes)
        digest = hashlib.sha256(data).digest()
        if entry is not None and entry.digest == digest:
            entry.seen = seen
        else:
            previous = entry
            entry = _current[loop] = _Entry(digest, build_registry(parse_config(data)), seen)
            if previous is not None:
                previous.stale = True
                if previous.users == 0:
                    await previous.registry.aclose()
    entry.users += 1
    try:
        yield entry.registry.embedder()
    finally:
        entry.users -= 1
        if entry.stale and entry.users == 0:
            await entry.registry.aclose()
