"""Retrieval quality benchmark: Cranfield nDCG@10 and recall@10 of the server's own keyword,
vector and hybrid search, beside bm25s on the same corpus in the same run, for each offline
embedding model; and the tuning of hybrid fusion.

Each of the 1,400 Cranfield abstracts (title and text) is one completed document with one
chunk, written by the server's own `write_chunks` into a throwaway database migrated by our
migrations, one project per embedding model. Every search goes through
`server.documents.retrieval.search`. Fusion is tuned on the odd-numbered queries and reported on
the even-numbered (held-out) ones; the table shows both halves and all queries.

Baselines: bm25s (method lucene, k1 1.5, b 0.75, English stop words), once without stemming and
once with the Snowball English stemmer (PyStemmer).

Run: `uv run python -m bench.bench_retrieval` (a few minutes: MiniLM embeds 1,400 abstracts on
the CPU). Writes bench/results/retrieval.json.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

import bm25s
import Stemmer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from ingest import Chunk as Piece
from providers import MiniLMEmbedder, WordLlamaEmbedder, embedding_space
from server.db.embedded import start_embedded
from server.db.migrate import upgrade
from server.db.models import Document
from server.documents.fusion import DEFAULT_FUSION, TUNED_FUSION, Fusion, fusion_for
from server.documents.index import ensure_hnsw_index
from server.documents.pipeline import write_chunks
from server.documents.retrieval import Mode, search

from . import cranfield

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from providers import Embedder

RESULTS = cranfield.ROOT / "bench" / "results" / "retrieval.json"
K = 10
GRID = [Fusion("weighted", w / 10) for w in range(1, 10)] + [
    Fusion("rrf", w, k) for k in (10.0, 30.0, 60.0) for w in (0.3, 0.5, 0.7)
]


async def _seed(db: AsyncSession, user_id: UUID) -> UUID:
    now = datetime.now(UTC)
    project_id, org_id = uuid4(), uuid4()
    await db.execute(
        text(
            "INSERT INTO organisations (id, name, personal, created_at, updated_at) "
            "VALUES (:id, 'cranfield', false, :now, :now)"
        ),
        {"id": org_id, "now": now},
    )
    # Rows with a project (members, documents, chunks) take its organisation.
    await db.execute(
        text(
            "INSERT INTO projects (id, org_id, name, template, created_at, updated_at) "
            "VALUES (:id, :org, 'cranfield', 'business-plan', :now, :now)"
        ),
        {"id": project_id, "org": org_id, "now": now},
    )
    await db.execute(
        text(
            "INSERT INTO project_members (id, project_id, user_id, role, created_at, updated_at)"
            " VALUES (:id, :p, :u, 'owner', :now, :now)"
        ),
        {"id": uuid4(), "p": project_id, "u": user_id, "now": now},
    )
    return project_id


async def index_collection(
    db: AsyncSession, user_id: UUID, collection: cranfield.Collection, embedder: Embedder
) -> tuple[UUID, dict[UUID, int], float]:
    """One project holding every abstract as a completed document; chunk id → Cranfield id."""
    project_id = await _seed(db, user_id)
    space = embedding_space(embedder)
    await ensure_hnsw_index(db, space)
    ids = sorted(collection.documents)
    bodies = [f"{collection.documents[i][0]}\n{collection.documents[i][1]}".strip() for i in ids]
    started = time.perf_counter()
    vectors = await embedder.embed(bodies)
    embed_s = time.perf_counter() - started
    chunk_of: dict[UUID, int] = {}
    for number, body, vector in zip(ids, bodies, vectors, strict=True):
        document = Document(
            project_id=project_id,
            filename=f"cran-{number}.md",
            kind="markdown",
            size_bytes=len(body),
            sha256=hashlib.sha256(f"{number}:{body}".encode()).hexdigest(),
            status="completed",
        )
        db.add(document)
        await db.flush()
        piece = Piece(
            ordinal=0,
            text=body,
            heading_path=(),
            page=None,
            page_end=None,
            token_count=len(body.split()),
            kind="text",
        )
        await write_chunks(
            db,
            project_id=project_id,
            document_id=document.id,
            chunks=[piece],
            vectors=[vector],
            space=space,
        )
    await db.commit()
    rows = await db.execute(
        text(
            "SELECT c.id, d.filename FROM chunks c JOIN documents d ON d.id = c.document_id "
            "WHERE c.project_id = :p"
        ),
        {"p": project_id},
    )
    for chunk_id, filename in rows:
        chunk_of[chunk_id] = int(filename.removeprefix("cran-").removesuffix(".md"))
    return project_id, chunk_of, len(bodies) / embed_s


def _scores(
    rankings: dict[int, list[int]], collection: cranfield.Collection, queries: list[int]
) -> dict[str, float]:
    return {
        "ndcg@10": statistics.fmean(
            cranfield.ndcg(rankings[q], collection.qrels[q], K) for q in queries
        ),
        "recall@10": statistics.fmean(
            cranfield.recall(rankings[q], collection.qrels[q], K) for q in queries
        ),
    }


def bm25s_rankings(
    collection: cranfield.Collection, queries: list[int], *, stem: bool
) -> dict[int, list[int]]:
    """bm25s's top ``K`` per query."""
    ids = sorted(collection.documents)
    stemmer = Stemmer.Stemmer("english") if stem else None
    corpus = [f"{collection.documents[i][0]}\n{collection.documents[i][1]}" for i in ids]
    model = bm25s.BM25()
    model.index(
        bm25s.tokenize(corpus, stopwords="en", stemmer=stemmer, show_progress=False),
        show_progress=False,
    )
    tokens = bm25s.tokenize(
        [collection.queries[q] for q in queries],
        stopwords="en",
        stemmer=stemmer,
        show_progress=False,
    )
    found, _ = model.retrieve(tokens, k=K, show_progress=False)
    return {q: [ids[j] for j in found[n]] for n, q in enumerate(queries)}


class Server:
    """Searches one project through the server's own search."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        user_id: UUID,
        project_id: UUID,
        chunk_of: dict[UUID, int],
        embedder: Embedder,
    ) -> None:
        self.sessions = sessions
        self.user_id = user_id
        self.project_id = project_id
        self.chunk_of = chunk_of
        self.embedder = embedder

    async def rankings(
        self,
        collection: cranfield.Collection,
        queries: list[int],
        mode: Mode,
        fusion: Fusion | None = None,
    ) -> dict[int, list[int]]:
        found: dict[int, list[int]] = {}
        async with self.sessions() as db:
            for q in queries:
                hits = await search(
                    db,
                    user_id=self.user_id,
                    project_id=self.project_id,
                    query=collection.queries[q],
                    k=K,
                    mode=mode,
                    embedder=self.embedder,
                    fusion=fusion,
                )
                found[q] = [self.chunk_of[h.chunk_id] for h in hits]
                await db.rollback()
        return found


async def main() -> None:
    collection = cranfield.load()
    tuning, held_out = collection.split()
    everyone = tuning + held_out
    halves = {"tuning (odd)": tuning, "held-out (even)": held_out, "all": everyone}
    rows: dict[str, dict[str, dict[str, float]]] = {}

    def record(name: str, rankings: dict[int, list[int]]) -> None:
        rows[name] = {half: _scores(rankings, collection, qs) for half, qs in halves.items()}

    record("bm25s (plain)", bm25s_rankings(collection, everyone, stem=False))
    record("bm25s (stemmed)", bm25s_rankings(collection, everyone, stem=True))
    models: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-retrieval-") as data_dir:
        url = start_embedded(Path(data_dir), "bench_retrieval")
        await asyncio.to_thread(upgrade, url)
        engine = create_async_engine(url, pool_size=2)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        user_id = uuid4()
        async with sessions() as db:
            now = datetime.now(UTC)
            await db.execute(
                text(
                    "INSERT INTO users (id, email, password_hash, role, is_active, created_at,"
                    " updated_at) VALUES (:id, 'bench@example.org', 'x', 'user', true, :n, :n)"
                ),
                {"id": user_id, "n": now},
            )
            await db.commit()
        keyword_done = False
        for label, embedder in (
            ("wordllama 256 (default)", WordLlamaEmbedder()),
            ("minilm-int8 384", MiniLMEmbedder()),
        ):
            async with sessions() as db:
                project_id, chunk_of, rate = await index_collection(
                    db, user_id, collection, embedder
                )
            server = Server(sessions, user_id, project_id, chunk_of, embedder)
            if not keyword_done:
                record(
                    "ours: keyword (BM25)", await server.rankings(collection, everyone, "keyword")
                )
                keyword_done = True
            record(f"ours: vector, {label}", await server.rankings(collection, everyone, "vector"))
            tried = []
            for fusion in GRID:
                ranked = await server.rankings(collection, tuning, "hybrid", fusion)
                tried.append((_scores(ranked, collection, tuning)["ndcg@10"], fusion))
            best_score, best = max(tried, key=lambda pair: pair[0])
            record(
                f"ours: hybrid default, {label}",
                await server.rankings(collection, everyone, "hybrid"),
            )
            record(
                f"ours: hybrid tuned, {label}",
                await server.rankings(collection, everyone, "hybrid", best),
            )
            shipped = fusion_for(embedding_space(embedder))
            models[label] = {
                "embed_texts_per_s": rate,
                "default_fusion": {
                    "method": shipped.method,
                    "keyword_weight": shipped.keyword_weight,
                    "rrf_k": shipped.rrf_k,
                },
                "best_fusion": {
                    "method": best.method,
                    "keyword_weight": best.keyword_weight,
                    "rrf_k": best.rrf_k,
                    "tuning_ndcg@10": best_score,
                },
                "grid": [
                    {
                        "method": f.method,
                        "keyword_weight": f.keyword_weight,
                        "rrf_k": f.rrf_k,
                        "tuning_ndcg@10": s,
                    }
                    for s, f in tried
                ],
            }
        await engine.dispose()

    print(
        f"\nCranfield: {len(collection.documents)} abstracts, {len(everyone)} judged queries "
        f"({len(tuning)} tuning, {len(held_out)} held out), k={K}"
    )
    print(f"default fusion: tuned per model {TUNED_FUSION}, else {DEFAULT_FUSION}")
    header = "".join(f"{h:>20}" for h in halves)
    print(f"{'':44}{header}\n{'nDCG@10 / recall@10':44}")
    for name, by_half in rows.items():
        cells = "".join(
            f"{by_half[h]['ndcg@10']:>11.4f}/{by_half[h]['recall@10']:.4f}" for h in halves
        )
        print(f"{name:44}{cells}")
    plain = rows["bm25s (plain)"]["held-out (even)"]["ndcg@10"]
    ours = rows["ours: keyword (BM25)"]["held-out (even)"]["ndcg@10"]
    for label, info in models.items():
        hybrid = rows[f"ours: hybrid default, {label}"]["held-out (even)"]["ndcg@10"]
        print(
            f"\n{label}: {info['embed_texts_per_s']:.0f} texts/s embedding; default fusion "
            f"{info['default_fusion']}; best fusion on tuning queries {info['best_fusion']}; "
            f"held-out hybrid (default fusion) / bm25s plain = {hybrid / plain:.3f}, / our "
            f"BM25 = {hybrid / ours:.3f}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "k": K,
                "queries": {"tuning": len(tuning), "held_out": len(held_out)},
                "untuned_fusion": {
                    "method": DEFAULT_FUSION.method,
                    "keyword_weight": DEFAULT_FUSION.keyword_weight,
                    "rrf_k": DEFAULT_FUSION.rrf_k,
                },
                "rows": rows,
                "models": models,
                "machine": {"python": platform.python_version(), "platform": platform.platform()},
            },
            indent=2,
        )
    )
    print(f"\nwrote {RESULTS.relative_to(cranfield.ROOT)}")


if __name__ == "__main__":
    asyncio.run(main())
