"""Migration 0006 fills the BM25 statistics of chunks that existed before it, and goes down
cleanly."""

from __future__ import annotations

import asyncio
import uuid

from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from server.db.embedded import start_embedded
from server.db.migrate import alembic_config, upgrade
from tests.conftest import PG_DIR

CHUNKS = [
    ("completed", "Flour comes from the Harrow Mill, which delivers flour every Tuesday."),
    ("completed", "The bakery opens at six."),
    ("processing", "Draft pricing that is not searchable yet."),
]


async def _run(url: str, *statements: str, params: dict[str, object] | None = None) -> list[tuple]:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    rows: list[tuple] = []
    async with engine.connect() as conn:
        for statement in statements:
            result = await conn.execute(text(statement), params or {})
            if result.returns_rows:
                rows.extend(tuple(r) for r in result)
    await engine.dispose()
    return rows


def test_existing_chunks_get_statistics_and_downgrade_removes_them() -> None:
    admin = start_embedded(PG_DIR, "postgres")
    name = f"bm25_migration_{uuid.uuid4().hex[:8]}"
    asyncio.run(_run(admin, f'CREATE DATABASE "{name}"'))
    url = admin.replace("/postgres?", f"/{name}?", 1)
    try:
        command.upgrade(alembic_config(url), "0005")
        ids = {"u": uuid.uuid4(), "p": uuid.uuid4()}
        asyncio.run(
            _run(
                url,
                "INSERT INTO users (id, email, password_hash, role, is_active, created_at,"
                " updated_at) VALUES (:u, 'm@example.org', 'x', 'user', true, now(), now())",
                "INSERT INTO projects (id, name, template, created_at, updated_at)"
                " VALUES (:p, 'p', 'business-plan', now(), now())",
                params=ids,
            )
        )
        for n, (status, body) in enumerate(CHUNKS):
            document = uuid.uuid4()
            asyncio.run(
                _run(
                    url,
                    "INSERT INTO documents (id, project_id, filename, kind, size_bytes, sha256,"
                    " status, pages_done, chunks_total, chunks_done, meta, created_at, updated_at)"
                    " VALUES (:d, :p, 'f.md', 'markdown', 1, :sha, :status, 0, 1, 1, '{}',"
                    " now(), now())",
                    "INSERT INTO chunks (id, project_id, source_type, document_id, ordinal, text,"
                    " heading_path, token_count, created_at, updated_at)"
                    " VALUES (:c, :p, 'document', :d, 0, :body, '{}', 0, now(), now())",
                    params={
                        "d": document,
                        "p": ids["p"],
                        "sha": f"{n:064x}",
                        "status": status,
                        "c": uuid.uuid4(),
                        "body": body,
                    },
                )
            )
        upgrade(url)
        [(chunks, total, flour, searchable_length)] = asyncio.run(
            _run(
                url,
                "SELECT s.chunks, s.total_length,"
                " (SELECT df FROM bm25_terms WHERE lexeme = 'flour'),"
                " (SELECT sum(length) FROM bm25_chunks)"
                " FROM bm25_scopes s WHERE s.project_id = :p",
                params=ids,
            )
        )
        expected_length = asyncio.run(
            _run(
                url,
                "SELECT sum(coalesce(array_length(t.positions, 1), 1)) FROM chunks c"
                " JOIN documents d ON d.id = c.document_id, unnest(c.tsv) t"
                " WHERE d.status = 'completed'",
            )
        )[0][0]
        assert (chunks, flour) == (2, 1)
        assert total == searchable_length == expected_length

        command.downgrade(alembic_config(url), "0005")
        assert asyncio.run(_run(url, "SELECT to_regclass('bm25_terms') IS NULL")) == [(True,)]
        upgrade(url)
        assert asyncio.run(_run(url, "SELECT chunks FROM bm25_scopes")) == [(2,)]
    finally:
        asyncio.run(_run(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
