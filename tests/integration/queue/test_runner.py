"""The job runner inside the app (embedded default: StubBroker + in-process Dramatiq worker)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID, uuid4

from litestar.testing import AsyncTestClient
from sqlalchemy import select

from server import queue
from server.app import services_of
from server.db.models import Job
from server.queue import JobContext, JobFailed, job_handler

if TYPE_CHECKING:
    from collections.abc import Awaitable, Coroutine

    from litestar import Litestar

T = TypeVar("T")

RUNS: defaultdict[UUID, list[int]] = defaultdict(list)
FAILURES: defaultdict[UUID, list[str]] = defaultdict(list)


async def _note_failure(ctx: JobContext, reason: str) -> None:
    FAILURES[ctx.target_id].append(reason)


@job_handler("test_flaky", on_failure=_note_failure)
async def flaky(ctx: JobContext) -> None:
    """Fails its first attempt, then succeeds."""
    RUNS[ctx.target_id].append(ctx.attempt)
    if ctx.attempt == 1:
        raise RuntimeError("first attempt fails")


@job_handler("test_broken", on_failure=_note_failure)
async def broken(ctx: JobContext) -> None:
    """Always fails with an ordinary error."""
    RUNS[ctx.target_id].append(ctx.attempt)
    raise RuntimeError("always broken")


@job_handler("test_refused", on_failure=_note_failure)
async def refused(ctx: JobContext) -> None:
    """Fails for good."""
    RUNS[ctx.target_id].append(ctx.attempt)
    raise JobFailed("nothing to do with this")


@job_handler("test_slow", time_limit_s=1, on_failure=_note_failure)
async def slow(ctx: JobContext) -> None:
    """Outlives its time limit."""
    RUNS[ctx.target_id].append(ctx.attempt)
    await asyncio.sleep(30)


def on_app_loop(app: Litestar, coro: Coroutine[Any, Any, T]) -> Awaitable[T]:
    """Run ``coro`` on the app's event loop (the test client serves the app from another)."""
    return asyncio.wrap_future(
        asyncio.run_coroutine_threadsafe(coro, services_of(app).queue.runtime.loop)
    )


async def enqueue(app: Litestar, kind: str, **options: int) -> tuple[UUID, UUID]:
    """Queue a job through the app's engine (so its message is sent on commit)."""
    target = uuid4()

    async def run() -> UUID:
        async with services_of(app).runtime.alchemy.get_session() as db:
            job = await queue.enqueue(db, kind, target, **options)
            await db.commit()
        return job.id

    return await on_app_loop(app, run()), target


async def settled(app: Litestar, job_id: UUID, timeout_s: float = 30) -> Job:
    """The job once it is completed, failed or cancelled."""

    async def load() -> Job | None:
        async with services_of(app).runtime.alchemy.get_session() as db:
            return await db.scalar(select(Job).where(Job.id == job_id))

    for _ in range(int(timeout_s / 0.05)):
        job = await on_app_loop(app, load())
        assert job is not None
        if job.status in ("completed", "failed", "cancelled"):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} is still {job.status}")


async def test_failed_attempt_is_retried_with_backoff(app: Litestar) -> None:
    async with AsyncTestClient(app=app):
        job_id, target = await enqueue(app, "test_flaky")
        job = await settled(app, job_id)
    assert (job.status, job.attempts, RUNS[target]) == ("completed", 2, [1, 2])
    assert job.last_error is None
    assert FAILURES[target] == []


async def test_job_failed_is_not_retried(app: Litestar) -> None:
    async with AsyncTestClient(app=app):
        job_id, target = await enqueue(app, "test_refused")
        job = await settled(app, job_id)
    assert (job.status, job.attempts, job.last_error) == ("failed", 1, "nothing to do with this")
    assert FAILURES[target] == ["nothing to do with this"]


async def test_gives_up_after_max_attempts(app: Litestar) -> None:
    async with AsyncTestClient(app=app):
        job_id, target = await enqueue(app, "test_broken", max_attempts=2)
        job = await settled(app, job_id)
    assert (job.status, job.attempts, RUNS[target]) == ("failed", 2, [1, 2])
    assert job.last_error == "gave up after 2 attempts: RuntimeError: always broken"
    assert FAILURES[target] == [job.last_error]


async def test_attempt_past_time_limit_fails(app: Litestar) -> None:
    async with AsyncTestClient(app=app):
        job_id, target = await enqueue(app, "test_slow", max_attempts=1)
        job = await settled(app, job_id)
    assert (job.status, job.last_error) == (
        "failed",
        "gave up after 1 attempts: timed out after 1 s",
    )
    assert RUNS[target] == [1]


async def test_duplicate_message_of_a_completed_job_is_a_no_op(app: Litestar) -> None:
    async with AsyncTestClient(app=app):
        job_id, target = await enqueue(app, "test_flaky", max_attempts=3)
        await settled(app, job_id)
        await services_of(app).queue.runtime.send_async([job_id])
        await asyncio.sleep(0.5)
        job = await settled(app, job_id)
    assert (job.status, job.attempts, RUNS[target]) == ("completed", 2, [1, 2])


async def test_cancelled_job_never_runs(app: Litestar) -> None:
    async with AsyncTestClient(app=app):
        services_of(app).queue.worker.pause()
        job_id, target = await enqueue(app, "test_flaky")

        async def cancel() -> None:
            async with services_of(app).runtime.alchemy.get_session() as db:
                await queue.cancel(db, "test_flaky", target)
                await db.commit()

        await on_app_loop(app, cancel())
        services_of(app).queue.worker.resume()
        await asyncio.sleep(0.5)
        job = await settled(app, job_id)
    assert job.status == "cancelled"
    assert RUNS[target] == []


async def test_rolled_back_request_queues_nothing(app: Litestar) -> None:
    async def enqueue_and_roll_back() -> UUID:
        async with services_of(app).runtime.alchemy.get_session() as db:
            job = await queue.enqueue(db, "test_flaky", uuid4())
            await db.rollback()
        return job.id

    async def exists(job_id: UUID) -> bool:
        async with services_of(app).runtime.alchemy.get_session() as db:
            return await db.get(Job, job_id) is not None

    async with AsyncTestClient(app=app):
        job_id = await on_app_loop(app, enqueue_and_roll_back())
        await asyncio.sleep(0.3)
        assert not await on_app_loop(app, exists(job_id))
