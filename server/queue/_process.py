"""The queue inside a worker process that Dramatiq's own command line started (``dramatiq tasks``).

Dramatiq imports the entry module in each worker process, then runs its threads; this middleware
gives the process what ``assistant worker`` has: an event loop of its own (on a thread) that the
jobs run on, the sweeper, and a clean stop on SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from functools import partial
from typing import TYPE_CHECKING

import structlog
from dramatiq.middleware import Middleware

from server.db import session, sqlalchemy_config
from server.events import channels_backend
from server.metering import Meter
from server.observability import configure_logging

from ._handlers import HANDLERS
from ._runtime import JobRuntime
from ._sweep import sweep_forever

if TYPE_CHECKING:
    from collections.abc import Iterable
    from concurrent.futures import Future
    from types import ModuleType

    from dramatiq import Broker, Worker
    from litestar.channels import ChannelsBackend

    from server.settings import Settings

__all__ = ("worker_broker",)

logger = structlog.get_logger()

CLOSE_TIMEOUT_S = 30


class _ProcessQueue(Middleware):
    """Start the job loop and the sweeper once the process booted; stop them with the worker."""

    def __init__(
        self, runtime: JobRuntime, publisher: ChannelsBackend, job_modules: list[str]
    ) -> None:
        self._runtime = runtime
        self._publisher = publisher
        self._job_modules = job_modules
        self._thread: threading.Thread | None = None
        self._sweeper: Future[None] | None = None

    def after_process_boot(self, broker: Broker) -> None:
        """Dramatiq hook: the process has imported the entry module."""
        runtime = self._runtime
        configure_logging(runtime.env.settings.app.debug)
        self._thread = threading.Thread(target=runtime.loop.run_forever, name="jobs", daemon=True)
        self._thread.start()
        runtime.loop.call_soon_threadsafe(runtime.env.meter.start)
        runtime.register()
        self._sweeper = asyncio.run_coroutine_threadsafe(sweep_forever(runtime), runtime.loop)
        logger.info("worker started", handlers=self._job_modules, kinds=sorted(HANDLERS))

    def before_worker_shutdown(self, broker: Broker, worker: Worker) -> None:
        """Dramatiq hook: stop sweeping; running jobs are recovered later, as in the server."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        self._runtime.cancel_in_flight()

    def after_worker_shutdown(self, broker: Broker, worker: Worker) -> None:
        """Dramatiq hook: the worker threads are gone; close what the loop holds, then the loop."""
        if self._thread is None:
            return
        loop = self._runtime.loop
        closing = asyncio.run_coroutine_threadsafe(self._close(), loop)
        with contextlib.suppress(Exception):
            closing.result(CLOSE_TIMEOUT_S)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(CLOSE_TIMEOUT_S)
        logger.info("worker stopped")

    async def _close(self) -> None:
        await self._runtime.drain_sends()
        self._runtime.unregister()
        await self._runtime.env.meter.close()
        await self._publisher.on_shutdown()
        await self._runtime.env.alchemy.get_engine().dispose()


def worker_broker(settings: Settings, db_url: str, job_modules: Iterable[ModuleType]) -> Broker:
    """The broker for an entry module of ``dramatiq``, with this process's queue attached.

    ``job_modules`` are the domain modules whose handlers registered themselves when the caller
    imported them: the job kinds this worker knows.
    """
    if settings.redis.url is None:
        raise ValueError(
            "a separate worker needs REDIS_URL; without it the server runs jobs itself"
        )
    publisher = channels_backend(settings.redis.url)
    alchemy = sqlalchemy_config(db_url, settings.db.pool_size)
    runtime = JobRuntime(
        settings, alchemy, publisher, asyncio.new_event_loop(), Meter(partial(session, alchemy))
    )
    runtime.broker.add_middleware(
        _ProcessQueue(runtime, publisher, [m.__name__ for m in job_modules])
    )
    return runtime.broker
