"""Where documents are parsed and cut into chunks: the process-wide pool of parser processes,
which also cut them, or a fresh isolated process per document (``INGEST_PARSE_POOL=0``), whose
document is cut here (a fresh process would load the tokenizer for every document)."""

from __future__ import annotations

import atexit
import threading
from typing import TYPE_CHECKING

import msgspec

from ingest import ParsePool, chunk, parse_isolated

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
    read: Callable[[], bytes],
    kind: ingest.DocumentKind,
    limits: ingest.Limits,
    progress: Callable[[ingest.Progress], None],
    cancel: threading.Event,
    *,
    chunking: ingest.ChunkOptions,
    pool_size: int,
) -> ingest.ParsedDocument:
    """Parse the file ``read`` returns in a separate process under ``limits``: one of
    ``pool_size`` reused processes, or a fresh one when ``pool_size`` is 0 (blocking: call it
    from a thread, which reads the file too: one trip to a thread per document). The document
    comes back cut with ``chunking`` (`ParsedDocument.chunks`)."""
    data = read()
    if pool_size > 0:
        return _pool(pool_size).parse(
            data, kind, limits, progress, should_cancel=cancel, chunking=chunking
        )
    document = parse_isolated(data, kind, limits, progress, should_cancel=cancel)
    return msgspec.structs.replace(document, chunks=tuple(chunk(document, chunking)))
