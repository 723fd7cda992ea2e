"""The vector index: one partial HNSW expression index per embedding space.

``chunks.embedding`` has no fixed dimension, so pgvector cannot index the column itself. Each
embedding space gets ``CREATE INDEX ... USING hnsw ((embedding::vector(N)) vector_cosine_ops)
WHERE embedding_space = '<space>'``, and every vector query repeats that exact expression and
predicate (as literals, not parameters) so that the planner can match the index.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from sqlalchemy import insert, text

from server.db import HNSW_EF_SEARCH
from server.db.models import Chunk

if TYPE_CHECKING:
    from collections.abc import Sequence
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

_SPACE = re.compile(r"^[A-Za-z0-9_.:@+/-]{1,200}$")
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64


def ef_search(depth: int) -> int | None:
    """The ``hnsw.ef_search`` a search that wants ``depth`` rows sets for its transaction (at
    most 1000, pgvector's cap); None when the connection's :data:`HNSW_EF_SEARCH` is enough."""
    return None if 2 * depth <= HNSW_EF_SEARCH else min(2 * depth, 1000)


def space_literal(space: str) -> str:
    """``space`` as a SQL string literal; spaces are config names, checked to be plain."""
    if not _SPACE.match(space):
        raise ValueError(f"embedding space {space!r} has characters not allowed in a name")
    return "'" + space + "'"


def dimensions_of(space: str) -> int:
    """The vector size an embedding space name ends with (``provider/model/256`` → 256)."""
    tail = space.rsplit("/", 1)[-1]
    if not tail.isdigit() or not 0 < int(tail) <= 16000:
        raise ValueError(f"embedding space {space!r} does not end with its dimensions")
    return int(tail)


def vector_expr(space: str, column: str = "embedding") -> str:
    """The indexed expression for ``space``: the column cast to its fixed dimension."""
    return f"({column}::vector({dimensions_of(space)}))"


def hnsw_index_name(space: str) -> str:
    """A stable index name for ``space`` (a hash: names are limited to 63 bytes)."""
    return "ix_chunks_hnsw_" + hashlib.sha256(space.encode()).hexdigest()[:16]


def hnsw_index_ddl(space: str) -> str:
    """``CREATE INDEX IF NOT EXISTS`` of the partial HNSW index of ``space``."""
    return (
        f"CREATE INDEX IF NOT EXISTS {hnsw_index_name(space)} ON chunks "
        f"USING hnsw ({vector_expr(space)} vector_cosine_ops) "
        f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) "
        f"WHERE embedding_space = {space_literal(space)}"
    )


async def ensure_hnsw_index(conn: AsyncConnection | AsyncSession, space: str) -> str:
    """Create the HNSW index of ``space`` unless it exists; returns its name.

    The existence check comes first because ``CREATE INDEX IF NOT EXISTS`` still takes a lock
    that waits for every transaction writing chunks.
    """
    name = hnsw_index_name(space)
    exists = await conn.scalar(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": name})
    if not exists:
        # The application's role may not create indexes: migration 0010's function runs
        # this one statement (the same as hnsw_index_ddl) as the table's owner.
        await conn.execute(
            text("SELECT create_chunks_hnsw_index(:name, :dims, :space, :m, :ef)"),
            {
                "name": name,
                "dims": dimensions_of(space),
                "space": space_literal(space).strip("'"),
                "m": HNSW_M,
                "ef": HNSW_EF_CONSTRUCTION,
            },
        )
    return name


def vector_literal(vector: list[float]) -> str:
    """pgvector's text form of a vector, sent as a parameter and cast in SQL."""
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"


@dataclass(frozen=True, slots=True)
class NewChunk:
    """A chunk to index: its text, where it comes from, and its vector."""

    source_type: Literal["document", "message"]
    ordinal: int
    text: str
    token_count: int
    vector: Sequence[float]
    document_id: UUID | None = None
    message_id: UUID | None = None
    phase_number: int | None = None
    heading_path: Sequence[str] = ()
    page: int | None = None
    page_end: int | None = None


_indexed_spaces: set[str] = set()
"""Embedding spaces whose HNSW index this process has already made sure of."""


async def write_chunks(
    db: AsyncSession, *, project_id: UUID, space: str, chunks: Sequence[NewChunk]
) -> None:
    """Insert chunks of one project and embedding space in multi-row statements, after
    making sure the space has its HNSW index: the one way chunks are written (documents and
    the conversation's memory alike). The caller commits."""
    if not chunks:
        return
    if space not in _indexed_spaces:
        await ensure_hnsw_index(db, space)
        _indexed_spaces.add(space)
    # RETURNING makes SQLAlchemy send the rows as multi-row INSERT statements ("insertmanyvalues",
    # as many rows a statement as PostgreSQL's parameter limit allows), not an executemany of
    # one statement a row: the BM25 trigger runs once per statement, over all of its rows, and
    # the statement's compiled form is cached whatever the number of rows.
    await db.execute(
        insert(Chunk).returning(Chunk.id),
        [
            {
                "project_id": project_id,
                "source_type": piece.source_type,
                "document_id": piece.document_id,
                "message_id": piece.message_id,
                "phase_number": piece.phase_number,
                "ordinal": piece.ordinal,
                "text": piece.text,
                "heading_path": list(piece.heading_path),
                "page": piece.page,
                "page_end": piece.page_end,
                "token_count": piece.token_count,
                "embedding_space": space,
                "embedding": list(piece.vector),
            }
            for piece in chunks
        ],
    )
