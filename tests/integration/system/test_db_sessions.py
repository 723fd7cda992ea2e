"""Sessions outside requests: a transaction's organisation travels with its ``BEGIN``, and a
session that has committed closes without giving the event loop a turn."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import session, sqlalchemy_config
from server.db.direct import driver
from server.db.tenancy import org_context

_SETTING = text("SELECT current_setting('app.org_id', true)")


async def test_the_organisation_is_set_by_the_begin_itself(
    clean_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[str] = []
    execute = asyncpg.Connection.execute

    async def recorded(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> str:
        # What our connection hands to asyncpg's own ``execute``, the simple-query protocol.
        sent.append(query)
        status: str = await execute(self, query, *args, **kwargs)
        return status

    monkeypatch.setattr(asyncpg.Connection, "execute", recorded)
    alchemy = sqlalchemy_config(clean_db, pool_size=1)
    first, second = uuid4(), uuid4()
    try:
        with org_context(first):
            async with session(alchemy) as db:
                assert await db.scalar(_SETTING) == str(first)
                # A statement sent on the driver's connection is inside the same transaction.
                assert await (await driver(db)).fetchval(
                    "SELECT current_setting('app.org_id', true)"
                ) == str(first)
                await db.commit()
        # The same pooled connection, another organisation: nothing carried over.
        with org_context(second):
            async with session(alchemy) as db:
                assert await db.scalar(_SETTING) == str(second)
        async with session(alchemy) as db:
            assert await db.scalar(_SETTING) == ""
        # A session bound to a connection whose transaction has begun sets it in that one.
        async with alchemy.get_engine().connect() as connection:
            await connection.execute(text("SELECT 1"))
            with org_context(first):
                bound = AsyncSession(bind=connection)
                assert await bound.scalar(_SETTING) == str(first)
                await bound.rollback()
    finally:
        await alchemy.get_engine().dispose()
    begins = [query for query in sent if query.startswith("BEGIN") and "set_config" in query]
    assert len(begins) == 3
    assert begins[0] == (
        f"BEGIN; SELECT set_config('app.org_id', '{first}', true), "
        "set_config('app.all_orgs', '', true)"
    )
    assert f"'{second}'" in begins[1]
    assert "set_config('app.org_id', '', true)" in begins[2]
    # No statement of its own for the settings.
    assert not [query for query in sent if query.startswith("SELECT set_config")]


async def test_a_committed_session_closes_at_once_and_a_failed_one_rolls_back(
    clean_db: str,
) -> None:
    alchemy = sqlalchemy_config(clean_db, pool_size=1)
    pool = alchemy.get_engine().pool
    ran: list[int] = []
    try:
        async with session(alchemy) as db:
            await db.execute(text("SELECT 1"))
            await db.commit()
            asyncio.get_running_loop().call_soon(ran.append, 1)
        assert ran == []  # closing did not give the loop a turn
        assert pool.checkedout() == 0  # type: ignore[attr-defined]
        await asyncio.sleep(0)
        assert ran == [1]

        async def fail_inside_a_transaction() -> None:
            async with session(alchemy) as db:
                await db.execute(text("CREATE TEMP TABLE left_behind (n int)"))
                raise LookupError

        with pytest.raises(LookupError):
            await fail_inside_a_transaction()
        assert pool.checkedout() == 0  # type: ignore[attr-defined]
        async with session(alchemy) as db:
            assert await db.scalar(text("SELECT to_regclass('left_behind') IS NULL"))
    finally:
        await alchemy.get_engine().dispose()
