"""Migration 0011 builds every HNSW index of chunks again with 12 neighbours a node (the
default space's and one a reembed made), keeping its name, expression and predicate, drops the
unused full-text index, and goes down to the former indexes."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from server.db.embedded import start_embedded
from server.db.migrate import alembic_config, upgrade
from server.documents.index import hnsw_index_name
from tests.conftest import PG_DIR

OTHER_SPACE = "openai/text-embedding-3-small/8"


async def _run(url: str, *statements: str) -> list[tuple]:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    rows: list[tuple] = []
    async with engine.connect() as conn:
        for statement in statements:
            result = await conn.execute(text(statement))
            if result.returns_rows:
                rows.extend(tuple(r) for r in result)
    await engine.dispose()
    return rows


def _indexes(url: str) -> dict[str, str]:
    rows = asyncio.run(
        _run(url, "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'chunks'")
    )
    return dict(rows)


@pytest.mark.usefixtures("pg_url")  # the embedded server, started
def test_hnsw_indexes_are_built_again_with_twelve_neighbours_and_the_gin_index_goes() -> None:
    admin = start_embedded(PG_DIR, "postgres")
    name = f"chunk_indexes_{uuid.uuid4().hex[:8]}"
    asyncio.run(_run(admin, f'CREATE DATABASE "{name}"'))
    url = admin.replace("/postgres?", f"/{name}?", 1)
    other = hnsw_index_name(OTHER_SPACE)
    try:
        command.upgrade(alembic_config(url), "0010")
        asyncio.run(
            _run(
                url,
                f"SELECT create_chunks_hnsw_index('{other}', 8, '{OTHER_SPACE}', 16, 64)",
            )
        )
        before = _indexes(url)
        hnsw = sorted(n for n in before if n.startswith("ix_chunks_hnsw_"))
        assert len(hnsw) == 2
        assert all("m='16'" in before[n] for n in hnsw)
        assert "ix_chunks_tsv" in before

        upgrade(url)
        after = _indexes(url)
        assert "ix_chunks_tsv" not in after
        for index in hnsw:
            assert after[index] == before[index].replace("m='16'", "m='12'")

        command.downgrade(alembic_config(url), "0010")
        assert _indexes(url) == before
    finally:
        asyncio.run(_run(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
