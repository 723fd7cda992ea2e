"""Queue latency (enqueue → handler start), p50/p99, ours beside bare Dramatiq on the same Redis.

- ours (redis): ``server.queue.enqueue`` in a committed transaction → message sent after commit →
  RedisBroker → Dramatiq worker thread → atomic claim of the job row → handler starts.
- baseline (redis): a bare Dramatiq actor on a RedisBroker, ``actor.send`` → actor starts; no
  database, no claim.
- ours (embedded): the same path as ours through the in-memory StubBroker (no ``REDIS_URL``).

Jobs are sent one at a time, 10 ms apart, with 4 worker threads; a real PostgreSQL (pgserver,
a throwaway data directory) holds the job rows. Render time per export format is measured by
``bench.bench_exports``. Needs Redis at ``BENCH_REDIS_URL`` (default redis://127.0.0.1:6379/14).

Run: ``uv run python -m bench.bench_exports_queue``; figures go to bench/results/queue.json.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import platform
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID, uuid4

import dramatiq
import structlog
from dramatiq.brokers.redis import RedisBroker

from server.db import sqlalchemy_config
from server.db.embedded import start_embedded
from server.db.migrate import upgrade
from server.events import channels_backend
from server.queue import WORKER_TIMEOUT_MS, JobRuntime, enqueue, job_handler
from server.settings import (
    AppSettings,
    AuthSettings,
    DatabaseSettings,
    QueueSettings,
    RedisSettings,
    Settings,
)

if TYPE_CHECKING:
    from server.queue import JobContext

RESULTS = Path(__file__).resolve().parent / "results" / "queue.json"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
JOBS = 300
THREADS = 4
SPACING_S = 0.01

STARTED: dict[UUID, float] = {}


@job_handler("bench_noop")
async def bench_noop(ctx: JobContext) -> None:
    """Record when the handler started."""
    STARTED[ctx.job_id] = time.perf_counter()


def _settings(data_dir: Path, redis_url: str | None) -> Settings:
    return Settings(
        app=AppSettings("127.0.0.1", 0, data_dir, data_dir / "config.json", "b" * 40, False),
        db=DatabaseSettings(url=None, pool_size=20),
        redis=RedisSettings(url=redis_url),
        auth=AuthSettings(900, 3600, 3600, 1000, 1000),
        queue=QueueSettings(worker_threads=THREADS, namespace=f"ua-bench-{uuid4().hex[:8]}"),
    )


def _percentiles(latencies_s: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(latencies_s, n=100, method="inclusive")
    return {
        "p50_ms": round(cuts[49] * 1000, 2),
        "p99_ms": round(cuts[98] * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies_s) * 1000, 2),
        "jobs": len(latencies_s),
    }


async def _ours(settings: Settings, db_url: str) -> dict[str, float]:
    alchemy = sqlalchemy_config(db_url, 10)
    runtime = JobRuntime(settings, alchemy, channels_backend(None), asyncio.get_running_loop())
    runtime.register()
    worker = dramatiq.Worker(
        runtime.broker, worker_threads=THREADS, worker_timeout=WORKER_TIMEOUT_MS
    )
    worker.start()
    committed: dict[UUID, float] = {}
    try:
        for _ in range(JOBS):
            async with alchemy.get_session() as db:
                job = await enqueue(db, "bench_noop", uuid4())
                await db.commit()
            committed[job.id] = time.perf_counter()
            await asyncio.sleep(SPACING_S)
        for _ in range(1000):
            if all(job_id in STARTED for job_id in committed):
                break
            await asyncio.sleep(0.01)
    finally:
        await asyncio.to_thread(worker.stop, 10_000)
        await runtime.drain_sends()
        runtime.unregister()
        runtime.broker.close()
        await alchemy.get_engine().dispose()
    return _percentiles([STARTED[j] - t for j, t in committed.items() if j in STARTED])


def _baseline() -> dict[str, float]:
    broker = RedisBroker(  # type: ignore[no-untyped-call]
        url=REDIS_URL, namespace=f"ua-bench-bare-{uuid4().hex[:8]}"
    )
    started: dict[int, float] = {}

    def noop(index: int) -> None:
        started[index] = time.perf_counter()

    actor = dramatiq.actor(broker=broker, actor_name="bare_noop", queue_name="bench")(noop)
    worker = dramatiq.Worker(broker, worker_threads=THREADS, worker_timeout=WORKER_TIMEOUT_MS)
    worker.start()
    sent: dict[int, float] = {}
    try:
        for index in range(JOBS):
            sent[index] = time.perf_counter()
            actor.send(index)
            time.sleep(SPACING_S)
        deadline = time.monotonic() + 10
        while len(started) < JOBS and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        worker.stop(10_000)
        broker.close()
    return _percentiles([started[i] - t for i, t in sent.items() if i in started])


def main() -> None:
    """Measure, print a table, write bench/results/queue.json."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as tmp:
        data_dir = Path(tmp)
        db_url = start_embedded(data_dir)
        upgrade(db_url)
        redis_settings = _settings(data_dir, REDIS_URL)
        embedded_settings = replace(redis_settings, redis=RedisSettings(url=None))
        rows = {
            "ours_redis": asyncio.run(_ours(redis_settings, db_url)),
            "baseline_bare_dramatiq_redis": _baseline(),
            "ours_embedded": asyncio.run(_ours(embedded_settings, db_url)),
        }
    print(f"queue latency, enqueue → handler start ({JOBS} jobs, {THREADS} threads)")
    print(f"{'path':<32}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    for name, row in rows.items():
        print(f"{name:<32}{row['p50_ms']:>10}{row['p99_ms']:>10}{row['mean_ms']:>10}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "python": platform.python_version(),
                "machine": platform.machine(),
                "jobs": JOBS,
                "threads": THREADS,
                "worker_timeout_ms": WORKER_TIMEOUT_MS,
                "results": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
