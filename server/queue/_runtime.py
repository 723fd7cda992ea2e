"""One process's queue runtime: the Dramatiq broker with its ``run_job`` actor, the event loop
jobs run on, their database and event publisher.

Dramatiq's worker threads take messages off the broker and hand each job, as a coroutine, to
the runtime's event loop: the app's own loop in the embedded default (so handlers share the
app's engine and its in-memory channels without crossing threads), a loop of the worker
process's own with ``assistant worker`` or ``dramatiq tasks``.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import TYPE_CHECKING
from uuid import UUID

import dramatiq
import structlog
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Middleware, Retries

from ._context import JobEnvironment
from ._runner import run_job

if TYPE_CHECKING:
    from collections.abc import Iterable
    from concurrent.futures import Future

    from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
    from dramatiq import Broker
    from sqlalchemy.engine import Engine

    from server.events import Publisher
    from server.metering import Meter
    from server.settings import Settings

__all__ = ("ACTOR_NAME", "QUEUE_NAME", "JobRuntime", "runtime_for")

logger = structlog.get_logger()

ACTOR_NAME = "run_job"
JOB_TASK = "job:"
"""The name of the task running a job starts with this (diagnostics, tracebacks)."""
QUEUE_NAME = "jobs"
# Dramatiq's own retries cover the runner failing before it could record anything (the
# database unreachable); a handler's failures are retried by the runner from the job row.
RUNNER_RETRIES = 10
MIN_BACKOFF_MS = 1_000
MAX_BACKOFF_MS = 300_000

_RUNTIMES: weakref.WeakKeyDictionary[Engine, JobRuntime] = weakref.WeakKeyDictionary()


def runtime_for(engine: Engine) -> JobRuntime | None:
    """The runtime whose jobs live in ``engine``'s database, if one runs in this process."""
    return _RUNTIMES.get(engine)


def build_broker(redis_url: str | None, namespace: str) -> Broker:
    """A RedisBroker when Redis is configured, else an in-memory StubBroker."""
    middleware: list[Middleware] = [Retries(max_retries=RUNNER_RETRIES, min_backoff=MIN_BACKOFF_MS)]
    if redis_url is None:
        return StubBroker(middleware=middleware)
    return RedisBroker(  # type: ignore[no-untyped-call]
        url=redis_url, namespace=namespace, middleware=middleware
    )


class JobRuntime:
    """The broker, its actor and where jobs run, for one process."""

    def __init__(
        self,
        settings: Settings,
        alchemy: SQLAlchemyAsyncConfig,
        publisher: Publisher,
        loop: asyncio.AbstractEventLoop,
        meter: Meter,
    ) -> None:
        self.env = JobEnvironment(settings, alchemy, publisher, meter)
        self.loop = loop
        self.broker = build_broker(settings.redis.url, settings.queue.namespace)
        self._in_flight: set[Future[None]] = set()
        self._sending: set[asyncio.Task[int]] = set()

        def run_job_message(job_id: str) -> None:
            future = asyncio.run_coroutine_threadsafe(self._run(job_id), self.loop)
            self._in_flight.add(future)
            try:
                future.result()
            finally:
                self._in_flight.discard(future)

        self.actor = dramatiq.actor(
            broker=self.broker,
            actor_name=ACTOR_NAME,
            queue_name=QUEUE_NAME,
            max_retries=RUNNER_RETRIES,
            min_backoff=MIN_BACKOFF_MS,
            max_backoff=MAX_BACKOFF_MS,
        )(run_job_message)

    async def _run(self, job_id: str) -> None:
        task = asyncio.current_task()
        if task is not None:
            task.set_name(f"{JOB_TASK}{job_id}")
        delay_ms = await run_job(self.env, job_id)
        if delay_ms is not None:
            await self.send_async([UUID(job_id)], delay_ms)

    def register(self) -> None:
        """Make :func:`server.queue.enqueue` send this runtime's messages for its database."""
        _RUNTIMES[self.env.alchemy.get_engine().sync_engine] = self

    def unregister(self) -> None:
        """Stop sending messages for this runtime's database."""
        engine = self.env.alchemy.get_engine().sync_engine
        if _RUNTIMES.get(engine) is self:
            del _RUNTIMES[engine]

    def send(self, job_ids: Iterable[UUID], delay_ms: int | None = None) -> int:
        """Send one message per job (blocking); returns how many were sent.

        A broker that cannot be reached is logged, not raised: the jobs stay queued in the
        database and the sweep sends them again.
        """
        sent = 0
        for job_id in job_ids:
            try:
                self.actor.send_with_options(args=(str(job_id),), delay=delay_ms)
            except Exception as exc:
                logger.warning("job message not sent; the sweep will retry", error=str(exc))
                break
            sent += 1
        return sent

    async def send_async(self, job_ids: Iterable[UUID], delay_ms: int | None = None) -> int:
        """:meth:`send` off the event loop (Redis clients block); on it for the embedded
        broker, whose send only puts the message on an in-memory queue (every upload sends
        one: a trip to a thread would cost more than the send)."""
        if isinstance(self.broker, StubBroker):
            return self.send(job_ids, delay_ms)
        return await asyncio.to_thread(self.send, list(job_ids), delay_ms)

    def send_soon(self, job_ids: list[UUID]) -> None:
        """Send messages in the background; called right after a transaction commits."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.send(job_ids)
            return
        task = loop.create_task(self.send_async(job_ids))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    def cancel_in_flight(self) -> None:
        """Cancel the coroutines of jobs running now; their rows are recovered by a sweep."""
        for future in list(self._in_flight):
            future.cancel()

    async def drain_sends(self) -> None:
        """Wait for messages still being sent."""
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)
