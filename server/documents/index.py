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
from itertools import chain
from typing import TYPE_CHECKING, Literal

from sqlalchemy import text
from uuid_utils.compat import uuid7

from server.db import HNSW_EF_SEARCH
from server.db.direct import driver, jsonb

if TYPE_CHECKING:
    from collections.abc import Sequence
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

_SPACE = re.compile(r"^[A-Za-z0-9_.:@+/-]{1,200}$")
HNSW_M = 12
"""Neighbours a node keeps (pgvector's default is 16): each vector written updates about twice
as many nodes' lists, the largest share of PostgreSQL's work in ingest (migration 0011)."""
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


_INSERT_CHUNKS = """
INSERT INTO chunks (id, project_id, source_type, document_id, message_id, phase_number, ordinal,
                    text, heading_path, page, page_end, token_count, embedding_space, embedding,
                    created_at, updated_at)
SELECT c.id, $1, c.source_type, c.document_id, c.message_id, c.phase_number, c.ordinal, c.text,
       ARRAY(SELECT jsonb_array_elements_text(c.heading_path)), c.page, c.page_end, c.token_count,
       $2, ($14::real[])[(c.n - 1) * $15 + 1 : c.n * $15]::vector, now(), now()
FROM unnest($3::uuid[], $4::text[], $5::uuid[], $6::uuid[], $7::int[], $8::int[], $9::text[],
            $10::jsonb[], $11::int[], $12::int[], $13::int[])
     WITH ORDINALITY AS c (id, source_type, document_id, message_id, phase_number, ordinal, text,
                           heading_path, page, page_end, token_count, n)
"""
"""All the chunks in one statement, a column an array: the BM25 trigger runs once over all of
them, the statement is prepared once whatever their number, and the vectors travel as one
binary ``real[]`` (a slice of it each, cast to ``vector``) instead of a text literal each."""


async def write_chunks(
    db: AsyncSession, *, project_id: UUID, space: str, chunks: Sequence[NewChunk]
) -> None:
    """Insert chunks of one project and embedding space in one statement, after making sure
    the space has its HNSW index: the one way chunks are written (documents and the
    conversation's memory alike). The caller commits."""
    if not chunks:
        return
    if space not in _indexed_spaces:
        await ensure_hnsw_index(db, space)
        _indexed_spaces.add(space)
    dimensions = len(chunks[0].vector)
    if any(len(piece.vector) != dimensions for piece in chunks):
        raise ValueError(f"vectors of one embedding space must all have {dimensions} dimensions")
    await (await driver(db)).execute(
        _INSERT_CHUNKS,
        project_id,
        space,
        [uuid7() for _ in chunks],
        [piece.source_type for piece in chunks],
        [piece.document_id for piece in chunks],
        [piece.message_id for piece in chunks],
        [piece.phase_number for piece in chunks],
        [piece.ordinal for piece in chunks],
        [piece.text for piece in chunks],
        [jsonb(list(piece.heading_path)) for piece in chunks],
        [piece.page for piece in chunks],
        [piece.page_end for piece in chunks],
        [piece.token_count for piece in chunks],
        list(chain.from_iterable(piece.vector for piece in chunks)),
        dimensions,
    )
