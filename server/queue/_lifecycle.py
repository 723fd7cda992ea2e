"""Starting and stopping the queue: inside the app (embedded worker, sweeper) and as a worker.

Embedded default (no ``REDIS_URL``): a Dramatiq ``StubBroker`` and a Dramatiq ``Worker`` whose
threads run each job's coroutine on the app's event loop. With ``REDIS_URL``: the app only
sends messages to the ``RedisBroker`` and sweeps; ``assistant worker`` processes (this module)
or ``dramatiq tasks`` processes (:mod:`server.queue._process`) run the jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import dramatiq
import structlog

from server.db import session, sqlalchemy_config
from server.events import channels_backend
from server.metering import Meter
from server.observability import Check, configure_logging

from ._handlers import HANDLERS
from ._runtime import JobRuntime
from ._sweep import sweep_forever

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import ModuleType

    from server.runtime import Runtime
    from server.settings import Settings

__all__ = ("WORKER_TIMEOUT_MS", "Queue", "run_worker", "start_queue", "stop_queue")

logger = structlog.get_logger()

WORKER_TIMEOUT_MS = 100
"""How long a consumer waits for a message before looking again (bounds pick-up latency)."""
STOP_TIMEOUT_MS = 10_000
SWEEP_TASK = "queue-sweep"


def _worker(runtime: JobRuntime) -> dramatiq.Worker:
    return dramatiq.Worker(
        runtime.broker,
        worker_threads=runtime.env.settings.queue.worker_threads,
        worker_timeout=WORKER_TIMEOUT_MS,
    )


async def _stop(
    runtime: JobRuntime, worker: dramatiq.Worker | None, sweeper: asyncio.Task[None]
) -> None:
    sweeper.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sweeper
    runtime.cancel_in_flight()
    if worker is not None:
        # Off the loop: worker threads wait on coroutines that this loop has to finish.
        await asyncio.to_thread(worker.stop, STOP_TIMEOUT_MS)
    await runtime.drain_sends()
    runtime.unregister()
    runtime.broker.close()


@dataclass
class Queue:
    """The queue inside a running app: the job runtime, the in-process worker (embedded
    default only) and the sweeper that re-sends lost jobs."""

    runtime: JobRuntime
    worker: dramatiq.Worker | None
    sweeper: asyncio.Task[None]


async def start_queue(app_runtime: Runtime) -> Queue:
    """App start-up: the runtime, the in-process worker when embedded, and the sweeper; adds
    the ``broker`` check to ``/status``."""
    settings = app_runtime.settings
    runtime = JobRuntime(
        settings,
        app_runtime.alchemy,
        app_runtime.publisher,
        asyncio.get_running_loop(),
        app_runtime.meter,
    )
    runtime.register()
    worker = None
    if settings.redis.url is None:
        worker = _worker(runtime)
        worker.start()

    async def broker_check() -> Check:
        if worker is not None:
            return Check("ok", detail=f"in-process worker, {settings.queue.worker_threads} threads")
        try:
            await asyncio.to_thread(runtime.broker.client.ping)  # type: ignore[attr-defined]
        except Exception as exc:
            return Check("error", detail=f"{type(exc).__name__}: {exc}"[:300])
        return Check("ok", detail="redis")

    app_runtime.status_checks["broker"] = broker_check
    sweeper = asyncio.create_task(sweep_forever(runtime), name=SWEEP_TASK)
    return Queue(runtime, worker, sweeper)


async def stop_queue(queue: Queue) -> None:
    """App shutdown: stop sweeping and the in-process worker; running jobs are recovered later."""
    await _stop(queue.runtime, queue.worker, queue.sweeper)


async def _serve_worker(settings: Settings, db_url: str, job_modules: list[str]) -> None:
    alchemy = sqlalchemy_config(db_url, settings.db.pool_size)
    publisher = channels_backend(settings.redis.url)
    runtime = JobRuntime(
        settings, alchemy, publisher, asyncio.get_running_loop(), Meter(partial(session, alchemy))
    )
    runtime.env.meter.start()
    runtime.register()
    worker = _worker(runtime)
    worker.start()
    sweeper = asyncio.create_task(sweep_forever(runtime), name=SWEEP_TASK)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    logger.info(
        "worker started",
        threads=settings.queue.worker_threads,
        handlers=job_modules,
        kinds=sorted(HANDLERS),
    )
    await stop.wait()
    logger.info("worker stopping")
    await _stop(runtime, worker, sweeper)
    await runtime.env.meter.close()
    await publisher.on_shutdown()
    await alchemy.get_engine().dispose()


def run_worker(settings: Settings, db_url: str, job_modules: Iterable[ModuleType]) -> None:
    """Run jobs from Redis until SIGINT or SIGTERM (``assistant worker``).

    ``job_modules`` are the domain modules whose handlers registered themselves when the caller
    imported them: the job kinds this worker knows.
    """
    if settings.redis.url is None:
        raise ValueError(
            "a separate worker needs REDIS_URL; without it the server runs jobs itself"
        )
    configure_logging(settings.app.debug)
    asyncio.run(_serve_worker(settings, db_url, [m.__name__ for m in job_modules]))
