"""Where documents are parsed: the process-wide pool of parser processes, or a fresh isolated
process per document (``INGEST_PARSE_POOL=0``)."""

from __future__ import annotations

import atexit
import threading
from typing import TYPE_CHECKING

from ingest import ParsePool, parse_isolated

from .settings import document_settings

if TYPE_CHECKING:
    from collections.abc import Callable

    import ingest

__all__ = ["parse_document"]

_lock = threading.Lock()
_pools: dict[int, ParsePool] = {}


def _pool(size: int) -> ParsePool:
    with _lock:
        pool = _pools.get(size)
        if pool is None:
            pool = _pools[size] = ParsePool(size)
            atexit.register(pool.close)
        return pool


def parse_document(
    data: bytes,
    kind: ingest.DocumentKind,
    limits: ingest.Limits,
    progress: Callable[[ingest.Progress], None],
    cancel: threading.Event,
) -> ingest.ParsedDocument:
    """Parse in a separate process under ``limits`` (blocking: call it from a thread)."""
    size = document_settings().parse_pool
    if size == 0:
        return parse_isolated(data, kind, limits, progress, should_cancel=cancel)
    return _pool(size).parse(data, kind, limits, progress, should_cancel=cancel)
