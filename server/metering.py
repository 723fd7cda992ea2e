"""Usage metering: every provider call is recorded here, whoever makes it.

The router and the embedders the server hands out are metered (``Meter.router``,
``Meter.embedder``): each completion, failed reply and embedding call becomes one ``UsageEvent``,
attributed to the ``usage_scope`` the call runs in (user, project, purpose, chat session,
message). Callers open a scope; they never record usage themselves.

Rows are buffered in the ``Meter`` of the process (the app's runtime, a queue worker, a CLI
command) and written in one INSERT per flush (every
``FLUSH_EVERY_S``, on ``flush()`` and at shutdown), off the reply's path and outside its
transaction. If the database is away the rows wait and the flush retries with backoff; past
``MAX_PENDING`` rows the oldest are dropped with an error in the log. A process killed with
``kill -9`` loses at most the last ``FLUSH_EVERY_S`` of usage rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from contextvars import ContextVar
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import msgspec
import structlog
from sqlalchemy import insert
from sqlalchemy.exc import SQLAlchemyError

from providers import Completion, ProvidersUnavailable, Router, TokenIdEmbedder, estimate_tokens
from server.db.models import UsageEvent
from server.db.tenancy import all_orgs, current_org
from server.errors import domain_error_of

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
    from contextlib import AbstractAsyncContextManager
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    from providers import (
        ChatRequest,
        Embedder,
        Hop,
        Output,
        ProvidersConfig,
        Registry,
        Structured,
        TextDelta,
    )

__all__ = (
    "Meter",
    "MeteredEmbedder",
    "MeteredRouter",
    "UsageScope",
    "current_scope",
    "embedded_tokens",
    "usage_scope",
)

logger = structlog.get_logger()

FLUSH_EVERY_S = 0.5
MAX_PENDING = 20_000
_BACKOFF_MAX_S = 30.0
_REFUSED = frozenset({"invalid", "conflict"})
"""What `server.errors.domain_error_of` makes of rows the database refuses for what they hold
(a data exception, an integrity violation): writing them again would be refused again."""


@dataclass(frozen=True, slots=True)
class UsageScope:
    """Whom a provider call is made for, and why."""

    purpose: str = "other"
    user_id: UUID | None = None
    project_id: UUID | None = None
    session_id: UUID | None = None
    message_id: UUID | None = None


_UNATTRIBUTED = UsageScope()
_scope: ContextVar[UsageScope | None] = ContextVar("usage_scope", default=None)


@contextlib.contextmanager
def usage_scope(**attribution: Any) -> Iterator[UsageScope]:
    """Attribute the provider calls made inside the block (nested scopes override fields)."""
    scope = replace(current_scope(), **attribution)
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def current_scope() -> UsageScope:
    """The scope provider calls made now are attributed to."""
    return _scope.get() or _UNATTRIBUTED


def _hops(hops: Sequence[Hop]) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(hop) for hop in hops]


def _decimal(value: float) -> Decimal:
    return Decimal(str(round(value, 8)))


def _row(scope: UsageScope, **values: Any) -> dict[str, Any]:
    return {
        "org_id": current_org(),
        "user_id": scope.user_id,
        "project_id": scope.project_id,
        "session_id": scope.session_id,
        "message_id": scope.message_id,
        "purpose": scope.purpose,
        **values,
    }


class Meter:
    """The usage rows of one process, written through ``sessions`` in batches.

    ``start()`` runs the background writer on the running loop (a process without one, like
    a CLI command, writes at ``close()``); ``close()`` writes what is pending and stops it.
    Rows may be recorded from any thread.
    """

    def __init__(self, sessions: Callable[[], AbstractAsyncContextManager[AsyncSession]]) -> None:
        self._sessions = sessions
        self._pending: deque[dict[str, Any]] = deque()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._dropped = 0

    def start(self) -> None:
        """Write in the background from now on, on the running event loop."""
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._run())

    async def close(self) -> None:
        """Write what is pending and stop; rows the database refuses now are logged and lost."""
        task, self._task, self._loop = self._task, None, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            await self.flush()
        except (SQLAlchemyError, OSError):
            logger.exception("usage rows lost at shutdown", rows=len(self._pending))
            self._pending.clear()

    def router(self, config: ProvidersConfig, registry: Registry) -> MeteredRouter:
        """A router whose replies are recorded here."""
        return MeteredRouter(config, registry, meter=self)

    def embedder(self, embedder: Embedder) -> Embedder:
        """``embedder``, each of its calls recorded here."""
        if isinstance(embedder, MeteredEmbedder):
            return embedder
        return MeteredEmbedder(embedder, self)

    def completion(self, completion: Completion) -> None:
        """A routed reply finished; tokens and cost cover every hop."""
        self._add(
            _row(
                current_scope(),
                provider=completion.provider,
                model=completion.model,
                prompt_tokens=completion.usage.prompt_tokens,
                completion_tokens=completion.usage.completion_tokens,
                cost_usd=_decimal(completion.cost_usd),
                latency_ms=completion.latency_ms,
                hops=_hops(completion.hops),
                ok=True,
            )
        )

    def failure(self, error: ProvidersUnavailable) -> None:
        """No provider could finish a reply; what was streamed before failing is still billed."""
        last = error.hops[-1] if error.hops else None
        self._add(
            _row(
                current_scope(),
                provider=last.provider if last else "",
                model=last.model if last else "",
                prompt_tokens=sum(h.prompt_tokens for h in error.hops),
                completion_tokens=sum(h.completion_tokens for h in error.hops),
                cost_usd=_decimal(sum(h.cost_usd for h in error.hops)),
                latency_ms=sum(h.latency_ms for h in error.hops),
                hops=_hops(error.hops),
                ok=False,
            )
        )

    def embedding(
        self,
        embedder: Embedder,
        tokens: int,
        latency_ms: float,
        *,
        ok: bool,
        scope: UsageScope | None = None,
    ) -> None:
        """An embedding call of ``tokens`` tokens (`embedded_tokens` of texts)."""
        self._add(
            _row(
                scope or current_scope(),
                provider=embedder.provider,
                model=embedder.model,
                prompt_tokens=tokens,
                completion_tokens=0,
                cost_usd=Decimal(0),
                latency_ms=latency_ms,
                hops=[],
                ok=ok,
            )
        )

    async def flush(self, db: AsyncSession | None = None) -> int:
        """Write every pending row now; how many were written.

        With ``db`` (a request's session that has only read so far) its transaction is ended
        and the rows are written and committed in a new one on the same connection: a request
        that holds a connection and waited for a second one could wait for ever once the pool
        is full of such requests.
        """
        async with self._lock:
            if not self._pending:
                return 0
            rows = list(self._pending)
            try:
                # Rows of every organisation (each names its own), written in one statement.
                with all_orgs("usage metering", log=False):
                    if db is None:
                        async with self._sessions() as own:
                            await self._write(own, rows)
                    else:
                        await db.commit()  # the next transaction begins across organisations
                        await self._write(db, rows)
            except SQLAlchemyError as error:
                refused = domain_error_of(error)
                if refused is None or refused.code not in _REFUSED:
                    raise  # the database is away or busy: the rows stay pending
                if db is not None:
                    await db.commit()  # the request goes on in a transaction of its own
                # Rows the database refuses now it will refuse again: log them, do not retry.
                logger.exception("usage rows refused", rows=len(rows))
            for _ in rows:
                self._pending.popleft()
            return len(rows)

    @staticmethod
    async def _write(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
        # In a savepoint: rows the database refuses leave the transaction (and the objects a
        # request's session holds) as they were, where a rollback would expire them.
        async with db.begin_nested():
            await db.execute(insert(UsageEvent), rows)
        await db.commit()

    def _add(self, row: dict[str, Any]) -> None:
        self._pending.append(row)
        while len(self._pending) > MAX_PENDING:
            self._pending.popleft()
            self._dropped += 1
            if self._dropped % 1000 == 1:
                logger.error("usage rows dropped: the database is away", dropped=self._dropped)
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is loop:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    async def _run(self) -> None:
        delay = FLUSH_EVERY_S
        while True:
            await self._wake.wait()
            await asyncio.sleep(delay)
            self._wake.clear()
            try:
                await self.flush()
            except (SQLAlchemyError, OSError) as error:
                self._wake.set()
                delay = min(delay * 2, _BACKOFF_MAX_S)
                logger.warning("usage rows not written yet", error=str(error), retry_in_s=delay)
            else:
                delay = FLUSH_EVERY_S


class MeteredRouter(Router):
    """The router, recording each routed reply's usage (or failure) in its meter."""

    def __init__(self, config: ProvidersConfig, registry: Registry, *, meter: Meter) -> None:
        super().__init__(config, registry)
        self.meter = meter

    async def stream(
        self, request: ChatRequest, profile: str | None = None
    ) -> AsyncIterator[TextDelta | Completion]:
        try:
            async for event in super().stream(request, profile):
                if isinstance(event, Completion):
                    self.meter.completion(event)
                yield event
        except ProvidersUnavailable as error:
            self.meter.failure(error)
            raise

    async def structured(
        self, request: ChatRequest, output: Output, profile: str | None = None
    ) -> Structured:
        try:
            answer = await super().structured(request, output, profile)
        except ProvidersUnavailable as error:
            self.meter.failure(error)
            raise
        self.meter.completion(answer.completion)
        return answer


def embedded_tokens(texts: Sequence[str]) -> int:
    """The tokens a usage row counts for embedding ``texts`` (estimated from their length)."""
    return sum(estimate_tokens(text) for text in texts)


class MeteredEmbedder:
    """An embedder whose calls are recorded in ``meter``; ``inner`` does the work."""

    __slots__ = ("dimensions", "inner", "meter", "model", "provider", "tokenizer")

    def __init__(self, inner: Embedder, meter: Meter) -> None:
        self.inner = inner
        self.meter = meter
        self.provider = inner.provider
        self.model = inner.model
        self.dimensions = inner.dimensions
        self.tokenizer = inner.tokenizer if isinstance(inner, TokenIdEmbedder) else None

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return await self._metered(self.inner.embed(texts), embedded_tokens(texts))

    async def embed_token_ids(self, rows: Sequence[Sequence[int]]) -> list[list[float]]:
        if not isinstance(self.inner, TokenIdEmbedder) or self.tokenizer is None:
            raise TypeError(f"{self.provider}/{self.model} does not take token ids")
        return await self._metered(self.inner.embed_token_ids(rows), sum(map(len, rows)))

    async def _metered(
        self, call: Coroutine[Any, Any, list[list[float]]], tokens: int
    ) -> list[list[float]]:
        started = time.perf_counter()
        ok = False
        try:
            vectors = await call
            ok = True
            return vectors
        finally:
            latency_ms = (time.perf_counter() - started) * 1000
            self.meter.embedding(self, tokens, latency_ms, ok=ok)
