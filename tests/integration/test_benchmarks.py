"""The benchmarks' own set-up runs on the schema of today: `make bench-search` and
`make bench-retrieval` seed their databases with SQL of their own, which a migration can break
without any other test noticing (organisations once did). Tiny sizes; no figure is checked."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import uuid4

import numpy as np
from sqlalchemy import text

from bench import bench_retrieval, bench_search, cranfield
from providers import WordLlamaEmbedder, embedding_space
from server.db import HNSW_EF_SEARCH
from server.documents.retrieval import search

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


async def test_the_search_benchmark_loads_and_measures_on_todays_schema(clean_db: str) -> None:
    texts = [f"harbour tide gauge reading {n} from the pier survey" for n in range(150)]
    embedder = WordLlamaEmbedder()
    vectors = np.asarray(await embedder.embed(texts), dtype="float32")
    loaded = await bench_search.load(clean_db, texts, vectors, embedding_space(embedder))
    queries = ["tide gauge reading", "pier survey"]
    rows = await bench_search.measure(clean_db, loaded["user_id"], loaded["project_id"], queries)
    assert rows["keyword (BM25)"]["same_top10_as_sql"] == 1.0
    assert rows["hybrid"]["same_top10_as_sql"] == 1.0
    assert rows[f"vector (HNSW, ef_search {HNSW_EF_SEARCH})"]["recall@10_vs_exact"]


async def test_the_retrieval_benchmark_indexes_a_collection_on_todays_schema(
    db: AsyncSession,
) -> None:
    user_id = uuid4()
    await db.execute(
        text(
            "INSERT INTO users (id, email, password_hash, role, is_active, created_at,"
            " updated_at) VALUES (:id, 'bench@example.org', 'x', 'user', true, now(), now())"
        ),
        {"id": user_id},
    )
    documents = {
        1: ("Harbour tides", "The tide gauge on the pier is read every morning."),
        2: ("Fleet budget", "The committee approved the fleet budget for the season."),
    }
    collection = cranfield.Collection(documents, {1: "tide gauge"}, {1: {1: 2}})
    embedder = WordLlamaEmbedder()
    project_id, chunk_of, _ = await bench_retrieval.index_collection(
        db, user_id, collection, embedder
    )
    assert sorted(chunk_of.values()) == [1, 2]
    hits = await search(
        db, user_id=user_id, project_id=project_id, query="tide gauge", k=2, embedder=embedder
    )
    assert chunk_of[hits[0].chunk_id] == 1
