"""Search benchmark: latency of our keyword, vector and hybrid search at 100,000 chunks beside
exact (index-less) vector search, HNSW recall@10 against that exact search, and embedding
throughput of our embedder beside the bare WordLlama library.

Keyword and hybrid search are measured twice: ours (BM25 over posting lists cached in the
process, `server.documents.postings`; the first pass over the queries reads every list, later
ones find them cached) and the previous query (``bm25_top`` inside PostgreSQL), with the share
of top-10 results the two have in common (1.000: the same rankings).

Corpus: 100,000 chunks of three to five sentences drawn (seeded) from the Cranfield abstracts,
embedded with the local WordLlama model and loaded with COPY into a throwaway database on the
embedded PostgreSQL, migrated by our own migrations (so the HNSW index is the one the server
uses, rebuilt after the load, and the BM25 statistics are filled by the same triggers that keep
them during ingest). Queries: the first 100 Cranfield queries, through
`server.documents.retrieval.search` with k=10 (query embedding included in the latency). HNSW
recall@10 against exact search is measured at several ``hnsw.ef_search`` values, the server's
(`server.db.HNSW_EF_SEARCH`) among them.

Run: `uv run python -m bench.bench_search`. Writes bench/results/search.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import random
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

import asyncpg
from pgvector.asyncpg import register_vector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from providers import WordLlamaEmbedder, embedding_space
from server.db import HNSW_EF_SEARCH
from server.db.embedded import start_embedded
from server.db.migrate import upgrade
from server.documents import bm25
from server.documents.index import hnsw_index_ddl, hnsw_index_name
from server.documents.retrieval import search

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from sqlalchemy.ext.asyncio import AsyncSession

ROOT = Path(__file__).resolve().parents[1]
CRANFIELD = ROOT / ".." / "shared" / "corpora" / "qa" / "cranfield"
RESULTS = ROOT / "bench" / "results" / "search.json"
CHUNKS = 100_000
CHUNKS_PER_DOCUMENT = 100
K = 10
QUERIES = 100
THROUGHPUT_TEXTS = 5_000
PIPELINE_BATCH = 64
SEED = 7
VECTORS = ROOT / "bench" / "results" / f"search-vectors-{CHUNKS}-{SEED}.npy"
"""The corpus's vectors, kept between runs (the corpus is seeded); only throughput is timed."""


def _field(path: Path, field: str) -> list[str]:
    raw = path.read_text().replace("\r\n", "\n")
    found = re.findall(rf"^\.{field}\n(.*?)(?=^\.[A-Z]( \d+)?\n|\Z)", raw, re.S | re.M)
    return [" ".join(body.split()) for body, _ in found]


def corpus() -> tuple[list[str], list[str]]:
    """Synthetic chunk texts from Cranfield sentences, and the Cranfield queries."""
    sentences = [
        s.strip()
        for abstract in _field(CRANFIELD / "cran.all.1400", "W")
        for s in re.split(r"(?<=\.)\s+", abstract)
        if len(s.split()) >= 4
    ]
    rng = random.Random(SEED)  # noqa: S311 - a seeded sample, not a secret
    texts = [" ".join(rng.sample(sentences, rng.randint(3, 5))) for _ in range(CHUNKS)]
    return texts, _field(CRANFIELD / "cran.qry", "W")[:QUERIES]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def embedding_throughput(texts: list[str]) -> dict[str, float]:
    """Texts per second: ours as the ingest pipeline calls it, and the bare library."""
    from providers._wordllama import _model  # noqa: PLC0415 - the library beneath ours

    embedder = WordLlamaEmbedder()
    await embedder.embed(texts[:8])
    started = time.perf_counter()
    for start in range(0, len(texts), PIPELINE_BATCH):
        await embedder.embed(texts[start : start + PIPELINE_BATCH])
    ours = len(texts) / (time.perf_counter() - started)
    started = time.perf_counter()
    _model().embed(texts, norm=True, return_np=True)
    bare = len(texts) / (time.perf_counter() - started)
    return {"ours_texts_per_s": ours, "wordllama_texts_per_s": bare}


async def load(url: str, texts: list[str], vectors: Any, space: str) -> dict[str, Any]:
    """Users, a project, documents and chunks via COPY; the HNSW index rebuilt afterwards."""
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    await register_vector(conn)
    now = datetime.now(UTC)
    user_id, project_id = uuid4(), uuid4()
    await conn.execute(
        "INSERT INTO users (id, email, password_hash, role, is_active, created_at, updated_at) "
        "VALUES ($1, 'bench@example.org', 'x', 'user', true, $2, $2)",
        user_id,
        now,
    )
    org_id = uuid4()
    await conn.execute(
        "INSERT INTO organisations (id, name, personal, created_at, updated_at) "
        "VALUES ($1, 'bench', false, $2, $2)",
        org_id,
        now,
    )
    # Rows with a project (members, documents, chunks) take its organisation.
    await conn.execute(
        "INSERT INTO projects (id, org_id, name, template, created_at, updated_at) "
        "VALUES ($1, $2, 'bench', 'business-plan', $3, $3)",
        project_id,
        org_id,
        now,
    )
    await conn.execute(
        "INSERT INTO project_members (id, project_id, user_id, role, created_at, updated_at) "
        "VALUES ($1, $2, $3, 'owner', $4, $4)",
        uuid4(),
        project_id,
        user_id,
        now,
    )
    documents = [uuid4() for _ in range(-(-len(texts) // CHUNKS_PER_DOCUMENT))]
    await conn.copy_records_to_table(
        "documents",
        columns=[
            "id",
            "project_id",
            "filename",
            "kind",
            "size_bytes",
            "sha256",
            "status",
            "pages_done",
            "chunks_total",
            "chunks_done",
            "meta",
            "created_at",
            "updated_at",
        ],
        records=[
            (
                d,
                project_id,
                f"doc-{n}.md",
                "markdown",
                0,
                f"{n:064x}",
                "completed",
                0,
                CHUNKS_PER_DOCUMENT,
                CHUNKS_PER_DOCUMENT,
                "{}",
                now,
                now,
            )
            for n, d in enumerate(documents)
        ],
    )
    await conn.execute(f"DROP INDEX IF EXISTS {hnsw_index_name(space)}")
    started = time.perf_counter()
    await conn.copy_records_to_table(
        "chunks",
        columns=[
            "id",
            "project_id",
            "source_type",
            "document_id",
            "ordinal",
            "text",
            "heading_path",
            "token_count",
            "embedding_space",
            "embedding",
            "created_at",
            "updated_at",
        ],
        records=(
            (
                uuid4(),
                project_id,
                "document",
                documents[n // CHUNKS_PER_DOCUMENT],
                n % CHUNKS_PER_DOCUMENT,
                body,
                [],
                len(body.split()),
                space,
                vectors[n],
                now,
                now,
            )
            for n, body in enumerate(texts)
        ),
    )
    copy_s = time.perf_counter() - started  # includes the BM25 statistics the triggers fill
    await conn.execute("SET maintenance_work_mem = '1GB'")
    await conn.execute("SET max_parallel_maintenance_workers = 2")
    started = time.perf_counter()
    await conn.execute(hnsw_index_ddl(space))
    index_s = time.perf_counter() - started
    await conn.execute("VACUUM ANALYZE chunks")
    for table in ("bm25_postings", "bm25_terms", "bm25_chunks", "bm25_scopes"):
        await conn.execute(f"VACUUM ANALYZE {table}")
    await conn.close()
    return {"user_id": user_id, "project_id": project_id, "copy_s": copy_s, "index_s": index_s}


async def timed(
    queries: list[str], run: Callable[[str], Awaitable[list[UUID]]]
) -> tuple[list[float], list[list[UUID]]]:
    latencies, results = [], []
    for query in queries:
        started = time.perf_counter()
        results.append(await run(query))
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies, results


async def measure(
    url: str, user_id: UUID, project_id: UUID, queries: list[str]
) -> dict[str, dict[str, float]]:
    # Connections start with the server's hnsw.ef_search, as the server's do (server/db).
    settings = {"hnsw.ef_search": str(HNSW_EF_SEARCH)}
    engine = create_async_engine(url, pool_size=2, connect_args={"server_settings": settings})
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    embedder = WordLlamaEmbedder()
    rows: dict[str, dict[str, float]] = {}
    ids: dict[str, list[list[UUID]]] = {}

    def mode_runner(
        mode: str, *, exact: bool = False, ef: int | None = None
    ) -> Callable[[str], Awaitable[list[UUID]]]:
        async def run(query: str) -> list[UUID]:
            db: AsyncSession
            async with sessions() as db:
                if exact:
                    # A statement prepared earlier on this connection keeps its plan (the HNSW
                    # index) unless it is planned again for each execution.
                    await db.execute(text("SET LOCAL enable_indexscan = off"))
                    await db.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
                if ef is not None:
                    await db.execute(text(f"SET LOCAL hnsw.ef_search = {ef:d}"))
                hits = await search(
                    db,
                    user_id=user_id,
                    project_id=project_id,
                    query=query,
                    k=K,
                    mode=mode,  # type: ignore[arg-type]
                    embedder=embedder,
                )
                await db.rollback()
            return [h.chunk_id for h in hits]

        return run

    def row(latencies: list[float]) -> dict[str, float]:
        return {
            "p50_ms": statistics.median(latencies),
            "p95_ms": percentile(latencies, 0.95),
            "p99_ms": percentile(latencies, 0.99),
            "mean_ms": statistics.fmean(latencies),
        }

    def ranking(where: str, runner: Callable[[str], Awaitable[list[UUID]]]) -> Any:
        async def run(query: str) -> list[UUID]:
            bm25.RANKING = where  # type: ignore[assignment]
            try:
                return await runner(query)
            finally:
                bm25.RANKING = "memory"

        return run

    # Warm the connection and the embedder without filling the posting cache.
    await ranking("sql", mode_runner("hybrid"))(queries[0])
    server_ef = HNSW_EF_SEARCH
    runs = [
        ("keyword, lists read (cold)", mode_runner("keyword")),
        ("keyword (BM25)", mode_runner("keyword")),
        (f"vector (HNSW, ef_search {server_ef})", mode_runner("vector")),
        ("hybrid", mode_runner("hybrid")),
        ("baseline: keyword in SQL", ranking("sql", mode_runner("keyword"))),
        ("baseline: hybrid in SQL", ranking("sql", mode_runner("hybrid"))),
        ("baseline: exact vector", mode_runner("vector", exact=True)),
    ]
    for name, runner in runs:
        latencies, ids[name] = await timed(queries, runner)
        rows[name] = row(latencies)
    for ours, previous in (
        ("keyword (BM25)", "baseline: keyword in SQL"),
        ("hybrid", "baseline: hybrid in SQL"),
    ):
        rows[ours]["same_top10_as_sql"] = statistics.fmean(
            len(set(a) & set(e)) / max(1, len(e))
            for a, e in zip(ids[ours], ids[previous], strict=True)
        )
    exact = ids["baseline: exact vector"]
    for ef in sorted({40, 100, 200, 400, server_ef}):
        name = f"vector (HNSW, ef_search {ef})"
        if name not in rows:
            latencies, ids[name] = await timed(queries, mode_runner("vector", ef=ef))
            rows[name] = row(latencies)
        rows[name]["recall@10_vs_exact"] = statistics.fmean(
            len(set(a) & set(e)) / max(1, len(e)) for a, e in zip(ids[name], exact, strict=True)
        )
    await engine.dispose()
    return rows


async def main() -> None:
    texts, queries = corpus()
    throughput = await embedding_throughput(texts[:THROUGHPUT_TEXTS])
    import numpy as np  # noqa: PLC0415

    from providers._wordllama import _model  # noqa: PLC0415 - bulk load, not what is measured

    started = time.perf_counter()
    if VECTORS.is_file():
        vectors = np.load(VECTORS)
    else:
        vectors = _model().embed(texts, norm=True, return_np=True).astype("float32")
        VECTORS.parent.mkdir(parents=True, exist_ok=True)
        np.save(VECTORS, vectors)
    embed_all_s = time.perf_counter() - started
    space = embedding_space(WordLlamaEmbedder())
    with tempfile.TemporaryDirectory(prefix="bench-search-") as data_dir:
        url = start_embedded(Path(data_dir), "bench_search")
        await asyncio.to_thread(upgrade, url)
        loaded = await load(url, texts, vectors, space)
        rows = await measure(url, loaded["user_id"], loaded["project_id"], queries)
    print(f"\nsearch over {CHUNKS:,} chunks, {len(queries)} Cranfield queries, k={K}")
    print(
        f"{'mode':<30}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'mean ms':>9}{'recall@10':>11}"
        f"{'same top10':>12}"
    )
    for name, row in rows.items():
        recall = row.get("recall@10_vs_exact")
        same = row.get("same_top10_as_sql")
        print(
            f"{name:<30}{row['p50_ms']:>9.2f}{row['p95_ms']:>9.2f}{row['p99_ms']:>9.2f}"
            f"{row['mean_ms']:>9.2f}"
            + (f"{recall:>11.3f}" if recall is not None else f"{'':>11}")
            + (f"{same:>12.3f}" if same is not None else "")
        )
    print(f"load average while measuring: {os.getloadavg()}")
    print(
        f"\nload: COPY {CHUNKS:,} chunks {loaded['copy_s']:.1f} s, HNSW build "
        f"{loaded['index_s']:.1f} s; embedding all chunks {embed_all_s:.1f} s"
    )
    print(
        f"embedding throughput ({THROUGHPUT_TEXTS:,} texts): ours in batches of "
        f"{PIPELINE_BATCH} {throughput['ours_texts_per_s']:,.0f}/s, bare WordLlama in one call "
        f"{throughput['wordllama_texts_per_s']:,.0f}/s"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "chunks": CHUNKS,
                "queries": len(queries),
                "k": K,
                "search": rows,
                "load": {k: loaded[k] for k in ("copy_s", "index_s")}
                | {"embed_all_s": embed_all_s},
                "embedding": throughput,
                "machine": {"python": platform.python_version(), "platform": platform.platform()},
            },
            indent=2,
        )
    )
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    asyncio.run(main())
