"""The HNSW index is what vector search uses; citations are kept only when their quote is in
the cited chunk; the consistency check finds and repairs orphans; re-embedding moves chunks to
a new embedding space."""

from __future__ import annotations

import asyncio
import hashlib
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ingest import chunk, embedding_text, parse
from providers import embedding_space
from server.db import HNSW_EF_SEARCH, sqlalchemy_config
from server.db.direct import driver
from server.db.models import Chunk, Document
from server.db.tenancy import all_orgs
from server.documents.consistency import check, reembed
from server.documents.fusion import DEFAULT_FUSION, fusion_params
from server.documents.index import NewChunk, hnsw_index_name
from server.documents.index import write_chunks as index_chunks
from server.documents.pipeline import write_chunks
from server.documents.postings import rank
from server.documents.retrieval import cite, passages, search, search_scopes, search_sql
from server.documents.storage import FileStore

if TYPE_CHECKING:
    from pathlib import Path

    from providers import Embedder

MARKDOWN = """# Bakery plan

## Market

Our town has 12,000 residents and no bakery open before seven.

## Suppliers

Flour comes from the Harrow Mill, which delivers every Tuesday and Friday.
"""


async def _indexed(
    db: AsyncSession,
    store: FileStore | None,
    embedder: Embedder,
    make_account: Any,
    make_project: Any,
) -> tuple[Any, Any, Document]:
    owner = await make_account()
    project_id = await make_project({owner.id: "owner"})
    data = MARKDOWN.encode()
    sha = hashlib.sha256(data).hexdigest()
    if store is not None:
        path = store.path_for(sha)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    document = Document(
        project_id=project_id,
        filename="plan.md",
        kind="markdown",
        size_bytes=len(data),
        sha256=sha,
        status="completed",
    )
    db.add(document)
    await db.flush()
    pieces = chunk(parse(data, "markdown"))
    vectors = await embedder.embed([embedding_text(p.heading_path, p.text) for p in pieces])
    await write_chunks(
        db,
        project_id=project_id,
        document_id=document.id,
        chunks=pieces,
        vectors=vectors,
        space=embedding_space(embedder),
    )
    await db.commit()
    return owner, project_id, document


async def test_vector_search_can_use_the_hnsw_index(
    db: AsyncSession, embedder: Embedder, make_account: Any, make_project: Any
) -> None:
    owner, project_id, _ = await _indexed(db, None, embedder, make_account, make_project)
    [vector] = await embedder.embed(["flour deliveries"])
    ranked = await rank(
        db, project_id=project_id, source_types=["document"], query="flour deliveries", depth=50
    )
    params = {
        "user_id": owner.id,
        "project_id": project_id,
        "query": "flour deliveries",
        "k": 5,
        "depth": 50,
        "source_types": ["document"],
        "query_vector": list(vector),
        "kw_ids": [chunk_id for chunk_id, _ in ranked],
        "kw_scores": [score for _, score in ranked],
    } | fusion_params(DEFAULT_FUSION)
    # A handful of rows would be scanned, or read by another index and sorted, whatever the
    # table's statistics say at the moment; forbid both to see the HNSW index is usable.
    await db.execute(text("SET LOCAL enable_seqscan = off"))
    await db.execute(text("SET LOCAL enable_sort = off"))
    for mode in ("vector", "hybrid"):
        plan = await db.scalars(
            text("EXPLAIN " + search_sql(mode, embedding_space(embedder))), params
        )
        assert hnsw_index_name(embedding_space(embedder)) in "\n".join(plan), mode
    await db.rollback()


async def test_connections_start_with_the_servers_ef_search_and_deep_searches_raise_it(
    clean_db: str, db: AsyncSession, embedder: Embedder, make_account: Any, make_project: Any
) -> None:
    owner, project_id, _ = await _indexed(db, None, embedder, make_account, make_project)
    await db.commit()
    engine = sqlalchemy_config(clean_db).get_engine()  # the server's engine, pool and settings
    async with engine.connect() as connection:
        shown = await connection.scalar(text("SHOW hnsw.ef_search"))
        assert shown == str(HNSW_EF_SEARCH)
        # A search deeper than half of it raises it for its own transaction only.
        bound = AsyncSession(bind=connection)
        with all_orgs("test", log=False):
            deep = await search(
                bound,
                user_id=owner.id,
                project_id=project_id,
                query="flour deliveries",
                k=HNSW_EF_SEARCH,
                mode="vector",
                embedder=embedder,
            )
            assert deep
            raised = await bound.scalar(text("SHOW hnsw.ef_search"))
            assert int(raised) > HNSW_EF_SEARCH
            await bound.rollback()
        assert await connection.scalar(text("SHOW hnsw.ef_search")) == str(HNSW_EF_SEARCH)
    await engine.dispose()


async def test_many_chunks_are_written_in_one_statement_and_all_counted(
    db: AsyncSession, embedder: Embedder, make_account: Any, make_project: Any
) -> None:
    owner = await make_account()
    project_id = await make_project({owner.id: "owner"})
    [vector] = await embedder.embed(["harbour tide gauge"])
    count = 2_600  # 16 columns a chunk: past PostgreSQL's 32,767 parameters as a row each
    chunks = [
        NewChunk(
            source_type="message",
            ordinal=n,
            text=f"harbour tide gauge reading {n}",
            token_count=5,
            vector=vector,
            heading_path=("Findings", f"Reading {n}") if n % 2 else (),
        )
        for n in range(count)
    ]
    inserts: list[str] = []

    def seen(record: Any) -> None:
        if record.query.lstrip().startswith("INSERT INTO chunks"):
            inserts.append(record.query)

    connection = await driver(db)
    connection.add_query_logger(seen)
    try:
        await index_chunks(
            db, project_id=project_id, space=embedding_space(embedder), chunks=chunks
        )
    finally:
        connection.remove_query_logger(seen)
    await db.commit()
    assert len(inserts) == 1  # one statement whatever the number of chunks, not one a row
    stored = await db.scalar(select(func.count()).where(Chunk.project_id == project_id))
    counted = await db.scalar(
        text("SELECT chunks FROM bm25_scopes WHERE project_id = :p AND source_type = 'message'"),
        {"p": project_id},
    )
    assert stored == counted == count
    first, second = (
        await db.scalars(
            select(Chunk)
            .where(Chunk.project_id == project_id, Chunk.ordinal.in_((0, 1)))
            .order_by(Chunk.ordinal)
        )
    ).all()
    assert (first.heading_path, second.heading_path) == ([], ["Findings", "Reading 1"])
    assert [round(x, 5) for x in second.embedding] == [round(x, 5) for x in vector]


async def test_scopes_searched_together_rank_as_they_do_apart_in_one_statement(
    db: AsyncSession, embedder: Embedder, make_account: Any, make_project: Any
) -> None:
    owner, project_id, _ = await _indexed(db, None, embedder, make_account, make_project)
    said = [
        "the Harrow Mill delivers flour on Tuesday",
        "we open at six, before anyone else in town",
        "residents asked for rye bread and early flour deliveries",
    ]
    vectors = await embedder.embed(said)
    await index_chunks(
        db,
        project_id=project_id,
        space=embedding_space(embedder),
        chunks=[
            NewChunk(source_type="message", ordinal=0, text=t, token_count=8, vector=v)
            for t, v in zip(said, vectors, strict=True)
        ],
    )
    await db.commit()
    query = "flour deliveries before seven"
    statements: list[str] = []
    connection = await driver(db)
    connection.add_query_logger(lambda record: statements.append(record.query))
    for mode in ("keyword", "vector", "hybrid"):
        await asyncio.sleep(0.05)  # asyncpg calls its query loggers soon after, not at once
        statements.clear()
        together = await search_scopes(
            db,
            user_id=owner.id,
            project_id=project_id,
            query=query,
            scopes=[(("document",), 2), (("message",), 3)],
            mode=mode,
            embedder=embedder,
        )
        await asyncio.sleep(0.05)
        # One search statement, and for keyword ranking one read of the term rows.
        assert len([s for s in statements if ") scoped)" in s]) == 1, mode
        terms = [s for s in statements if "JOIN bm25_terms t ON t.lexeme" in s]
        assert len(terms) == (0 if mode == "vector" else 1), mode
        apart = [
            await search(
                db,
                user_id=owner.id,
                project_id=project_id,
                query=query,
                k=k,
                mode=mode,
                embedder=embedder,
                source_types=kinds,
            )
            for kinds, k in ((("document",), 2), (("message",), 3))
        ]
        assert together == apart, mode
        assert together[0], mode
        assert {h.source_type for h in together[0]} == {"document"}, mode
        assert {h.source_type for h in together[1]} == {"message"}, mode
    # Somebody else's id finds nothing in any scope.
    stranger = await make_account()
    assert await search_scopes(
        db,
        user_id=stranger.id,
        project_id=project_id,
        query=query,
        scopes=[(("document",), 2), (("message",), 3)],
        embedder=embedder,
    ) == [[], []]


async def test_citations_are_kept_only_when_the_quote_is_in_the_chunk(
    db: AsyncSession, embedder: Embedder, make_account: Any, make_project: Any
) -> None:
    owner, project_id, document = await _indexed(db, None, embedder, make_account, make_project)
    hits = await search(
        db, user_id=owner.id, project_id=project_id, query="flour mill delivery", embedder=embedder
    )
    sources = passages(hits)
    assert [p.ref for p in sources] == [f"S{n}" for n in range(1, len(hits) + 1)]
    assert sources[0].chunk_id == str(hits[0].chunk_id)
    assert "plan.md" in sources[0].source
    ref = next(p.ref for p in sources if "Harrow Mill" in p.text)
    reply = (
        f'It is "owned by the town council" [{ref}]; the mill "delivers every   Tuesday" [{ref}].\n'
        f"It also sells rye [{ref}].\n"
        f"- Residents: 12,000 [S99]\n"
    )
    kept = cite(reply, sources)
    assert [c.ref for c in kept] == [ref]  # the misquote is dropped, the true quote kept once
    assert kept[0].document_id == document.id
    assert kept[0].chunk_id == next(h.chunk_id for h in hits if "Harrow Mill" in h.text)
    assert kept[0].source == next(p.source for p in sources if p.ref == ref)
    assert cite(f'It is "owned by the town council" [{ref}].', sources) == []
    assert [c.ref for c in cite(f"The mill delivers twice a week [{ref}].", sources)] == [ref]


async def test_check_reports_and_repairs_orphans_and_reembed_moves_spaces(
    db: AsyncSession,
    embedder: Embedder,
    make_account: Any,
    make_project: Any,
    sessions: Any,
    tmp_path: Path,
) -> None:
    store = FileStore(tmp_path / "files")
    _, _, document = await _indexed(db, store, embedder, make_account, make_project)
    space = embedding_space(embedder)
    assert (await check(sessions, store, space)).clean

    orphan = hashlib.sha256(b"nobody's").hexdigest()
    store.path_for(orphan).parent.mkdir(parents=True, exist_ok=True)
    store.path_for(orphan).write_bytes(b"nobody's")
    store.remove(document.sha256)
    await db.execute(text("UPDATE chunks SET embedding_space = 'old/model/256' WHERE ordinal = 0"))
    await db.commit()

    report = await check(sessions, store, space)
    assert report.orphan_files == [orphan]
    assert report.missing_files == [str(document.id)]
    assert report.foreign_chunks == 1
    assert not report.repaired

    repaired = await check(sessions, store, space, repair=True)
    assert repaired.repaired
    assert not store.exists(orphan)
    assert await db.scalar(select(func.count()).select_from(Document)) == 0
    assert await db.scalar(select(func.count()).select_from(Chunk)) == 0
    assert (await check(sessions, store, space)).clean


class _Halved:
    """The same model cut to 128 dimensions: a different embedding space."""

    provider = "local"
    model = "wordllama-halved"
    dimensions = 128

    def __init__(self, inner: Embedder) -> None:
        self._inner = inner

    async def embed(self, texts: Any) -> list[list[float]]:
        return [v[:128] for v in await self._inner.embed(texts)]


async def test_reembed_moves_every_chunk_to_the_new_space_and_indexes_it(
    db: AsyncSession, embedder: Embedder, make_account: Any, make_project: Any, sessions: Any
) -> None:
    owner, project_id, _ = await _indexed(db, None, embedder, make_account, make_project)
    halved = _Halved(embedder)
    moved = await reembed(sessions, halved)
    total = await db.scalar(select(func.count()).select_from(Chunk))
    assert moved == total
    spaces = set((await db.scalars(select(Chunk.embedding_space).distinct())).all())
    assert spaces == {"local/wordllama-halved/128"}
    assert await db.scalar(
        text("SELECT to_regclass(:n) IS NOT NULL"),
        {"n": hnsw_index_name("local/wordllama-halved/128")},
    )
    hits = await search(
        db, user_id=owner.id, project_id=project_id, query="flour", mode="vector", embedder=halved
    )
    assert hits
    assert await reembed(sessions, halved) == 0
    await db.execute(text(f"DROP INDEX {hnsw_index_name('local/wordllama-halved/128')}"))
    await db.commit()


@pytest.mark.parametrize("space", ["x'; DROP TABLE chunks; --/1/256", "a/b/notanumber"])
def test_embedding_space_names_are_checked_before_reaching_sql(space: str) -> None:
    with pytest.raises(ValueError, match="embedding space"):
        search_sql("vector", space)
