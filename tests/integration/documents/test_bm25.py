"""Keyword search is exact BM25: after documents are added, completed, deleted (directly, by
cascade, by a project's deletion), the server's scores equal bm25s's on the same tokens."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import bm25s
import numpy as np
import pytest
from sqlalchemy import delete, func, select, text, update

from ingest import Chunk as Piece
from providers import embedding_space
from server.db.models import Chunk, Document, Project
from server.documents.bm25 import K1, B
from server.documents.pipeline import write_chunks
from server.documents.retrieval import search
from server.documents.services import DocumentService
from tests.conftest import CORPORA

if TYPE_CHECKING:
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    from providers import Embedder

QUERIES = [
    "what similarity laws must be obeyed when constructing aeroelastic models",
    "boundary layer transition at supersonic speeds on a flat plate",
    "heat transfer to a blunt body in hypersonic flow",
    "buckling of thin cylindrical shells under axial compression",
    "the the of and",  # stop words only: nothing to rank
    "flows flowing flowed",  # stemming: one lexeme, counted three times
]


def _abstracts(count: int) -> list[str]:
    if not CORPORA.is_dir():
        pytest.skip("shared corpora not present")
    raw = (CORPORA / "qa" / "cranfield" / "cran.all.1400").read_text().replace("\r\n", "\n")
    bodies = [block.split("\n.W\n", 1)[-1] for block in raw.split("\n.I ")[:count]]
    return [" ".join(body.split()) for body in bodies]


async def _add_document(
    db: AsyncSession,
    embedder: Embedder,
    project_id: UUID,
    texts: list[str],
    *,
    status: str = "completed",
) -> Document:
    data = "\n\n".join(texts).encode()
    document = Document(
        project_id=project_id,
        filename="abstracts.md",
        kind="markdown",
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        status=status,
    )
    db.add(document)
    await db.flush()
    pieces = [
        Piece(
            ordinal=n,
            text=body,
            heading_path=(),
            page=None,
            page_end=None,
            token_count=0,
            kind="text",
        )
        for n, body in enumerate(texts)
    ]
    await write_chunks(
        db,
        project_id=project_id,
        document_id=document.id,
        chunks=pieces,
        vectors=await embedder.embed(texts),
        space=embedding_space(embedder),
    )
    await db.commit()
    return document


async def _searchable_tokens(db: AsyncSession, project_id: UUID) -> dict[UUID, list[str]]:
    """Each searchable chunk's lexemes, each repeated as often as it occurs (its tsv)."""
    rows = await db.execute(
        text(
            "SELECT c.id, t.lexeme, coalesce(array_length(t.positions, 1), 1) AS tf "
            "FROM chunks c LEFT JOIN documents d ON d.id = c.document_id "
            "LEFT JOIN LATERAL unnest(c.tsv) t ON true "
            "WHERE c.project_id = :p AND c.source_type = 'document' "
            "AND (c.document_id IS NULL OR d.status = 'completed')"
        ),
        {"p": project_id},
    )
    tokens: dict[UUID, list[str]] = {}
    for chunk_id, lexeme, tf in rows:
        tokens.setdefault(chunk_id, [])
        if lexeme is not None:
            tokens[chunk_id].extend([lexeme] * tf)
    return tokens


async def _query_tokens(db: AsyncSession, query: str) -> list[str]:
    rows = await db.execute(
        text(
            "SELECT lexeme, coalesce(array_length(positions, 1), 1) "
            "FROM unnest(to_tsvector('english', :q))"
        ),
        {"q": query},
    )
    return [lexeme for lexeme, qtf in rows for _ in range(qtf)]


async def _assert_exact(db: AsyncSession, user_id: UUID, project_id: UUID) -> None:
    """The server's keyword scores are bm25s's (method lucene, same k1 and b, same tokens)."""
    tokens = await _searchable_tokens(db, project_id)
    ids = list(tokens)
    stats = (
        await db.execute(
            text("SELECT chunks, total_length FROM bm25_scopes WHERE project_id = :p"),
            {"p": project_id},
        )
    ).one()
    assert stats == (len(ids), sum(len(t) for t in tokens.values()))
    if not ids:
        for query in QUERIES:
            assert not await search(
                db, user_id=user_id, project_id=project_id, query=query, mode="keyword"
            )
        return
    model = bm25s.BM25(method="lucene", k1=K1, b=B)
    model.index([tokens[i] for i in ids], show_progress=False)
    for query in QUERIES:
        hits = await search(
            db, user_id=user_id, project_id=project_id, query=query, k=len(ids), mode="keyword"
        )
        known = [t for t in await _query_tokens(db, query) if t in model.vocab_dict]
        expected = model.get_scores(known) if known else np.zeros(len(ids))
        by_id = dict(zip(ids, expected.tolist(), strict=True))
        matching = {i for i, score in by_id.items() if score > 0}
        assert {h.chunk_id for h in hits} == matching, query
        for hit in hits:
            assert hit.score == pytest.approx(by_id[hit.chunk_id], rel=1e-5), query
        scores = [h.score for h in hits]
        assert scores == sorted(scores, reverse=True)
        top = await search(
            db, user_id=user_id, project_id=project_id, query=query, k=3, mode="keyword"
        )
        best = sorted((s for s in by_id.values() if s > 0), reverse=True)[:3]
        assert [h.score for h in top] == pytest.approx(best, rel=1e-5), query


async def test_keyword_scores_are_exact_bm25_after_adds_and_deletes(
    db: AsyncSession, embedder: Embedder, make_account: Any, make_project: Any
) -> None:
    abstracts = _abstracts(90)
    owner = await make_account()
    project_id = await make_project({owner.id: "owner"})
    other = await make_project({owner.id: "owner"}, name="Other")
    await _add_document(db, embedder, other, abstracts[:30])

    first = await _add_document(db, embedder, project_id, abstracts[:30])
    second = await _add_document(db, embedder, project_id, abstracts[30:50])
    await _assert_exact(db, owner.id, project_id)

    # A document being processed changes nothing until it completes.
    pending = await _add_document(db, embedder, project_id, abstracts[50:80], status="processing")
    await _assert_exact(db, owner.id, project_id)
    await db.execute(update(Document).where(Document.id == pending.id).values(status="completed"))
    await db.commit()
    await _assert_exact(db, owner.id, project_id)

    # Deleted as the API does (chunks, then the row), and by cascade from the document row.
    await DocumentService(session=db).remove(first)
    await db.commit()
    await _assert_exact(db, owner.id, project_id)
    await db.execute(delete(Document).where(Document.id == second.id))
    await db.commit()
    await _assert_exact(db, owner.id, project_id)

    # A failed re-run leaves the document without chunks and out of the statistics.
    await db.execute(update(Document).where(Document.id == pending.id).values(status="failed"))
    await db.commit()
    await _assert_exact(db, owner.id, project_id)
    await db.execute(update(Document).where(Document.id == pending.id).values(status="completed"))
    await _add_document(db, embedder, project_id, abstracts[80:90])
    await _assert_exact(db, owner.id, project_id)

    # The other project's statistics were never touched by any of it; deleting it clears them.
    other_chunks = await db.scalar(
        select(func.count()).select_from(Chunk).where(Chunk.project_id == other)
    )
    assert (
        await db.scalar(text("SELECT chunks FROM bm25_scopes WHERE project_id = :p"), {"p": other})
        == other_chunks
    )
    await db.execute(delete(Project).where(Project.id == other))
    await db.commit()
    leftovers = await db.scalar(
        text(
            "SELECT (SELECT count(*) FROM bm25_terms WHERE project_id = :p)"
            " + (SELECT count(*) FROM bm25_chunks WHERE project_id = :p)"
            " + (SELECT count(*) FROM bm25_scopes WHERE project_id = :p)"
        ),
        {"p": other},
    )
    assert leftovers == 0
    await _assert_exact(db, owner.id, project_id)


async def test_keyword_search_needs_membership(
    db: AsyncSession, embedder: Embedder, make_account: Any, make_project: Any
) -> None:
    owner, stranger = await make_account(), await make_account()
    project_id = await make_project({owner.id: "owner"})
    await _add_document(db, embedder, project_id, _abstracts(5))
    query = "boundary layer"
    found = await search(db, user_id=owner.id, project_id=project_id, query=query, mode="keyword")
    assert found
    assert not await search(
        db, user_id=stranger.id, project_id=project_id, query=query, mode="keyword"
    )
