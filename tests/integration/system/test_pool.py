"""A connection that comes back to the pool inside a transaction is closed, not handed on."""

from __future__ import annotations

from server.db import sqlalchemy_config


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
