"""The pool: a connection that comes back inside a transaction is closed, not handed on; work
waiting for a connection gets one in the order it asked; four connections a CPU core unless
``DATABASE_POOL_SIZE`` says otherwise."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.util import greenlet_spawn
from sqlalchemy.util.queue import Empty

from server.db import sqlalchemy_config
from server.db.pool import URGENT_RUN, FairQueue, urgent
from server.settings import POOL_MAX_DEFAULT, POOL_PER_CORE, load_settings

if TYPE_CHECKING:
    from pathlib import Path


async def test_a_connection_returned_inside_a_transaction_is_closed_and_replaced(
    clean_db: str,
) -> None:
    engine = sqlalchemy_config(clean_db, pool_size=1).get_engine()
    try:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            # What a task cancelled during its BEGIN leaves: a transaction SQLAlchemy's adapter
            # does not know of, holding a row lock.
            await driver.execute("BEGIN")
            await driver.execute("CREATE TEMP TABLE held (n int)")
            assert driver.is_in_transaction()
        assert driver.is_closed()
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            again = raw.driver_connection
            assert again is not driver
            assert again is not None
            assert not again.is_in_transaction()
            assert await again.fetchval("SELECT to_regclass('held') IS NULL")
    finally:
        await engine.dispose()


async def _turns(count: int = 5) -> None:
    """Let the tasks started so far run until they wait (for a connection, here)."""
    for _ in range(count):
        await asyncio.sleep(0)


async def test_work_waiting_for_a_connection_gets_one_in_the_order_it_asked(
    clean_db: str,
) -> None:
    engine = sqlalchemy_config(clean_db, pool_size=2).get_engine()
    served: list[str] = []
    release = asyncio.Event()

    async def use(name: str, hold: asyncio.Event | None = None) -> None:
        async with engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")
            served.append(name)
            if hold is not None:
                await hold.wait()

    try:
        holders = [asyncio.create_task(use(f"holder {n}", release)) for n in range(2)]
        while len(served) < 2:
            await asyncio.sleep(0.01)
        waiting = []
        for n in range(4):
            waiting.append(asyncio.create_task(use(f"waiter {n}")))
            await _turns()
        # While the waiters are served, a newcomer asks at every turn of the event loop.
        release.set()
        newcomers = []
        for n in range(60):
            newcomers.append(asyncio.create_task(use(f"newcomer {n}")))
            await asyncio.sleep(0)
        await asyncio.gather(*holders, *waiting, *newcomers)
    finally:
        await engine.dispose()
    assert served[2:6] == [f"waiter {n}" for n in range(4)], served[:10]
    assert len(served) == 66


async def test_a_connection_handed_to_work_that_gave_up_goes_to_the_next_in_line() -> None:
    queue = FairQueue(2)
    first = asyncio.create_task(greenlet_spawn(queue.get, True, 60))
    second = asyncio.create_task(greenlet_spawn(queue.get, True, 60))
    await _turns()
    connection = object()
    queue.put_nowait(connection)  # handed to the first...
    first.cancel()  # ...which is cancelled before it runs (its client left)
    assert await second is connection
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_a_wait_that_times_out_leaves_no_place_in_line() -> None:
    queue = FairQueue(2)
    with pytest.raises(Empty):
        await greenlet_spawn(queue.get, True, 0.05)
    connection = object()
    queue.put_nowait(connection)  # nobody waits now: kept for the next checkout
    assert await greenlet_spawn(queue.get, True, 60) is connection


async def test_urgent_work_is_served_first_but_never_starves_other_work() -> None:
    queue = FairQueue(8)

    async def wait(name: str, *, first: bool) -> str:
        if first:
            with urgent():
                await greenlet_spawn(queue.get, True, 60)
        else:
            await greenlet_spawn(queue.get, True, 60)
        return name

    later = [asyncio.create_task(wait(f"later {n}", first=False)) for n in range(2)]
    await _turns()
    first = [asyncio.create_task(wait(f"first {n}", first=True)) for n in range(5)]
    await _turns()
    served: list[str] = []
    pending = {*later, *first}
    while pending:
        queue.put_nowait(object())
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        served.extend(task.result() for task in done)
    # URGENT_RUN urgent ones in a row, then the longest waiting other one, and so on.
    assert URGENT_RUN == 3
    assert served == ["first 0", "first 1", "first 2", "later 0", "first 3", "first 4", "later 1"]


async def test_connections_opened_under_load_stay_open(clean_db: str) -> None:
    engine = sqlalchemy_config(clean_db, pool_size=2).get_engine()
    try:
        drivers = []
        async with engine.connect() as first, engine.connect() as second:
            for connection in (first, second):
                raw = await connection.get_raw_connection()
                drivers.append(raw.driver_connection)
        # Both came back and stay open: SQLAlchemy's overflow would have closed one.
        assert engine.pool.checkedin() == 2  # type: ignore[attr-defined]
        assert not any(driver.is_closed() for driver in drivers)
        async with engine.connect() as again:
            raw = await again.get_raw_connection()
            assert raw.driver_connection in drivers
    finally:
        await engine.dispose()


def test_the_pool_keeps_four_connections_a_core_unless_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_POOL_SIZE", raising=False)
    cores = os.cpu_count() or 1
    assert load_settings().db.pool_size == min(POOL_PER_CORE * cores, POOL_MAX_DEFAULT)
    monkeypatch.setenv("DATABASE_POOL_SIZE", "3")
    assert load_settings().db.pool_size == 3
