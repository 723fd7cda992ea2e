"""The in-process ranking over cached posting lists returns what ``bm25_top`` returns inside
PostgreSQL: on the whole Cranfield collection, for every Cranfield query, and again after
documents are deleted and added (the cached lists go stale and are read again), with a cache
too small to hold one query's lists, and inside a transaction that writes and searches."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import text

from ingest import Chunk as Piece
from providers import embedding_space
from server.db.direct import fetch
from server.db.models import Document
from server.documents import bm25, postings
from server.documents.bm25 import K1, TEXT_SEARCH_CONFIG, B
from server.documents.pipeline import write_chunks
from server.documents.postings import PostingCache, rank
from server.documents.retrieval import search
from server.documents.services import DocumentService
from tests.conftest import CORPORA
from tests.integration.documents.test_bm25 import _abstracts, _add_document

if TYPE_CHECKING:
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    from providers import Embedder

CRANFIELD = CORPORA / "qa" / "cranfield"
DEPTH = 50


def _queries() -> list[str]:
    raw = (CRANFIELD / "cran.qry").read_text().replace("\r\n", "\n")
    return [" ".join(part.split("\n.W\n", 1)[1].split()) for part in raw.split("\n.I ")]


async def _exhaustive(
    db: AsyncSession, project_id: UUID, query: str, depth: int
) -> list[tuple[UUID, float]]:
    rows = await db.execute(
        text(
            "SELECT chunk_id, score FROM bm25_top(:p, ARRAY['document'], :q, :depth, "
            f":k1, :b, '{TEXT_SEARCH_CONFIG}'::regconfig)"
        ),
        {"p": project_id, "q": query, "depth": depth, "k1": K1, "b": B},
    )
    return [(row.chunk_id, row.score) for row in rows]


def _assert_same(
    ours: list[tuple[UUID, float]], reference: list[tuple[UUID, float]], query: str
) -> None:
    """Same scores in the same order; the same chunks, except that chunks tied (to rounding)
    at the last place may differ, since the two sum in different orders."""
    assert [score for _, score in ours] == pytest.approx(
        [score for _, score in reference], rel=1e-12, abs=1e-12
    ), query
    if not reference:
        return
    last = reference[-1][1]
    above = {chunk for chunk, score in reference if score > last + 1e-9}
    assert above == {chunk for chunk, score in ours if score > last + 1e-9}, query
    for (mine, my_score), (theirs, their_score) in zip(ours, reference, strict=True):
        if abs(my_score - their_score) > 1e-9 or mine != theirs:
            # Only a tie may swap two chunks.
            assert dict(reference).get(mine, last) == pytest.approx(my_score, abs=1e-9), query


async def _compare(
    db: AsyncSession, project_id: UUID, queries: list[str], cache: PostingCache
) -> None:
    for query in queries:
        ours = await rank(
            db,
            project_id=project_id,
            source_types=["document"],
            query=query,
            depth=DEPTH,
            cache=cache,
        )
        _assert_same(ours, await _exhaustive(db, project_id, query, DEPTH), query)


@pytest.mark.skipif(not CRANFIELD.is_dir(), reason="shared corpora not present")
async def test_cached_ranking_equals_bm25_top_on_cranfield(
    db: AsyncSession, embedder: Embedder, make_account: Any, make_project: Any
) -> None:
    abstracts = _abstracts(1400)
    queries = _queries()
    assert len(queries) == 225
    owner = await make_account()
    project_id = await make_project({owner.id: "owner"})
    first = await _add_document(db, embedder, project_id, abstracts[:700])
    await _add_document(db, embedder, project_id, abstracts[700:1300])
    cache = PostingCache()
    await _compare(db, project_id, queries, cache)
    await _compare(db, project_id, queries, cache)  # every list from the cache this time

    # Deleting and adding documents changes the lists and the statistics of every query.
    await DocumentService(session=db).remove(first)
    await db.commit()
    await _compare(db, project_id, queries[:60], cache)
    await _add_document(db, embedder, project_id, abstracts[1300:])
    await _compare(db, project_id, queries[60:120], cache)

    # A cache that cannot hold one query's lists starts over between queries, and is exact.
    await _compare(db, project_id, queries[120:], PostingCache(max_postings=500))


@pytest.mark.skipif(not CRANFIELD.is_dir(), reason="shared corpora not present")
async def test_a_small_project_is_ranked_in_one_statement(
    db: AsyncSession,
    embedder: Embedder,
    make_account: Any,
    make_project: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    owner = await make_account()
    project_id = await make_project({owner.id: "owner"})
    await _add_document(db, embedder, project_id, _abstracts(40))
    statements: list[str] = []

    async def counted(*args: Any, **kwargs: Any) -> Any:
        statements.append(args[1].text)
        return await fetch(*args, **kwargs)

    monkeypatch.setattr(postings, "fetch", counted)  # a spy: the statements still run
    # Every list is at most INLINE_POSTINGS long: read with the term rows, even into an empty
    # cache, and ranked exactly as bm25_top ranks.
    for query in _queries()[:20]:
        statements.clear()
        await _compare(db, project_id, [query], PostingCache())
        assert len(statements) == 1, query


@pytest.mark.skipif(not CRANFIELD.is_dir(), reason="shared corpora not present")
async def test_a_transaction_that_writes_and_searches_sees_its_own_writes(
    db: AsyncSession, embedder: Embedder, make_account: Any, make_project: Any
) -> None:
    abstracts = _abstracts(60)
    owner = await make_account()
    project_id = await make_project({owner.id: "owner"})
    await _add_document(db, embedder, project_id, abstracts[:20])
    query = "flow over a flat plate at supersonic speed"
    before = await search(
        db, user_id=owner.id, project_id=project_id, query=query, k=20, mode="keyword"
    )
    # Two writes in one transaction leave the term rows with one xmin; each search after
    # them must see both, including writes made in a savepoint.
    for start in (20, 40):
        if start == 20:
            await _write_document(db, embedder, project_id, abstracts[start : start + 20])
        else:  # in a savepoint: the rows get the subtransaction's id
            async with db.begin_nested():
                await _write_document(db, embedder, project_id, abstracts[start : start + 20])
        hits = await search(
            db, user_id=owner.id, project_id=project_id, query=query, k=50, mode="keyword"
        )
        reference = await _exhaustive(db, project_id, query, 50)
        _assert_same([(h.chunk_id, h.score) for h in hits], reference, query)
    await db.rollback()
    after = await search(
        db, user_id=owner.id, project_id=project_id, query=query, k=20, mode="keyword"
    )
    assert [(h.chunk_id, h.score) for h in after] == [(h.chunk_id, h.score) for h in before]


async def _write_document(
    db: AsyncSession, embedder: Embedder, project_id: UUID, texts: list[str]
) -> None:
    """A completed document of ``texts``, written in the open transaction (not committed)."""
    data = "\n\n".join(texts).encode()
    document = Document(
        project_id=project_id,
        filename="more.md",
        kind="markdown",
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        status="completed",
    )
    db.add(document)
    await db.flush()
    await write_chunks(
        db,
        project_id=project_id,
        document_id=document.id,
        chunks=[
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
        ],
        vectors=await embedder.embed(texts),
        space=embedding_space(embedder),
    )


@pytest.mark.skipif(not CRANFIELD.is_dir(), reason="shared corpora not present")
async def test_search_ranks_the_same_in_memory_and_in_sql(
    db: AsyncSession, embedder: Embedder, make_account: Any, make_project: Any
) -> None:
    owner = await make_account()
    project_id = await make_project({owner.id: "owner"})
    await _add_document(db, embedder, project_id, _abstracts(300))
    for query in _queries()[:40]:
        found: dict[str, list[tuple[UUID, float]]] = {}
        for ranking in ("memory", "sql"):
            bm25.RANKING = ranking  # type: ignore[assignment]
            try:
                hits = await search(
                    db,
                    user_id=owner.id,
                    project_id=project_id,
                    query=query,
                    k=10,
                    mode="keyword",
                )
            finally:
                bm25.RANKING = "memory"
            found[ranking] = [(h.chunk_id, h.score) for h in hits]
        _assert_same(found["memory"], found["sql"], query)
