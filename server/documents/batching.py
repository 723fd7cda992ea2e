"""Embedding calls shared by the documents being indexed at the same time.

Small documents have one or two chunks each; embedding them one call per document pays the
per-call cost (a thread hop, a model invocation, an HTTP round trip for remote providers)
once per document. Requests for the same embedding space made in the same turn of the event
loop (or within ``wait_s``, when set) are sent as one call of up to ``max_batch`` texts, made
with the first caller's embedder (every caller is waiting, so each one's embedder is still
open). The default waits for nothing: with few documents in flight, a timer would only add
latency. A metered embedder's usage is recorded per caller, in the caller's usage scope, as if
each had called alone.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from providers import embedding_space
from server.metering import MeteredEmbedder, UsageScope, current_scope, embedded_tokens

if TYPE_CHECKING:
    from collections.abc import Sequence

    from providers import Embedder

__all__ = ["EmbeddingBatcher", "embedding_batcher"]

MAX_BATCH = 64
WAIT_S = 0.0


@dataclass
class _Request:
    embedder: Embedder
    texts: list[str]
    future: asyncio.Future[list[list[float]]]
    scope: UsageScope

    def metered(self, latency_ms: float, *, ok: bool) -> None:
        if isinstance(self.embedder, MeteredEmbedder):
            tokens = embedded_tokens(self.texts)
            self.embedder.meter.embedding(
                self.embedder, tokens, latency_ms, ok=ok, scope=self.scope
            )


@dataclass
class EmbeddingBatcher:
    """Gathers concurrent ``embed`` calls into batches of up to ``max_batch`` texts."""

    max_batch: int = MAX_BATCH
    wait_s: float = WAIT_S
    _pending: dict[str, list[_Request]] = field(default_factory=dict)
    _running: set[asyncio.Task[None]] = field(default_factory=set)

    async def embed(self, embedder: Embedder, texts: Sequence[str]) -> list[list[float]]:
        """Vectors of ``texts`` (in order), computed in a batch shared with other callers."""
        if len(texts) >= self.max_batch:
            return await embedder.embed(texts)
        loop = asyncio.get_running_loop()
        space = embedding_space(embedder)
        request = _Request(embedder, list(texts), loop.create_future(), current_scope())
        pending = self._pending.setdefault(space, [])
        pending.append(request)
        if sum(len(r.texts) for r in pending) >= self.max_batch:
            self._flush(space)
        elif len(pending) == 1:
            if self.wait_s > 0:
                loop.call_later(self.wait_s, self._flush, space)
            else:
                loop.call_soon(self._flush, space)
        return await request.future

    def _flush(self, space: str) -> None:
        requests = self._pending.pop(space, None)
        if not requests:
            return
        task = asyncio.get_running_loop().create_task(self._run(requests))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, requests: list[_Request]) -> None:
        texts = [text for request in requests for text in request.texts]
        embedder = requests[0].embedder
        if isinstance(embedder, MeteredEmbedder):
            embedder = embedder.inner
        started = time.perf_counter()
        try:
            vectors = await embedder.embed(texts)
        except Exception as exc:  # each caller gets the provider's error, as if it called alone
            for request in requests:
                request.metered((time.perf_counter() - started) * 1000, ok=False)
                if not request.future.done():
                    request.future.set_exception(exc)
            return
        latency_ms = (time.perf_counter() - started) * 1000
        start = 0
        for request in requests:
            request.metered(latency_ms, ok=True)
            end = start + len(request.texts)
            if not request.future.done():
                request.future.set_result(vectors[start:end])
            start = end


_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, EmbeddingBatcher] = (
    weakref.WeakKeyDictionary()
)


def embedding_batcher() -> EmbeddingBatcher:
    """The batcher of the running event loop."""
    loop = asyncio.get_running_loop()
    batcher = _batchers.get(loop)
    if batcher is None:
        batcher = _batchers[loop] = EmbeddingBatcher()
    return batcher
