"""Retrieval quality on a labelled set: Cranfield abstracts indexed through the real chunking,
embedding and writing code, judged by recall@10 and nDCG@10 per search mode."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import pytest

from ingest import chunk, embedding_text, parse
from providers import embedding_space
from server.db.models import Document
from server.documents.pipeline import write_chunks
from server.documents.retrieval import search
from tests.conftest import CORPORA

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from providers import Embedder

CRANFIELD = CORPORA / "qa" / "cranfield"
SUBSET = 300
K = 10
# Cleverdon's relevance codes: 1 (complete answer) .. 4 (minimum interest); -1 not relevant.
GAIN = {1: 4, 2: 3, 3: 2, 4: 1}


def _records(path: str) -> list[dict[str, str]]:
    text = (CRANFIELD / path).read_text().replace("\r\n", "\n")
    records = []
    for block in re.split(r"^\.I ", text, flags=re.MULTILINE)[1:]:
        number, _, body = block.partition("\n")
        fields = dict(re.findall(r"^\.([A-Z])\n(.*?)(?=^\.[A-Z]\n|\Z)", body, re.S | re.M))
        records.append(
            {"id": number.strip(), **{k: " ".join(v.split()) for k, v in fields.items()}}
        )
    return records


def load_cranfield(subset: int) -> tuple[dict[int, dict[str, str]], dict[str, dict[int, int]]]:
    """The first ``subset`` documents, and the queries with relevant documents among them."""
    documents = {int(r["id"]): r for r in _records("cran.all.1400")[:subset]}
    queries = _records("cran.qry")
    judged: dict[str, dict[int, int]] = defaultdict(dict)
    for line in (CRANFIELD / "cranqrel").read_text().split("\n"):
        parts = line.split()
        if len(parts) != 3:
            continue
        position, doc, code = (int(p) for p in parts)
        if doc in documents and code in GAIN:
            judged[queries[position - 1]["W"]][doc] = GAIN[code]
    return documents, dict(judged)


def ndcg(ranked: list[int], gains: dict[int, int], k: int) -> float:
    dcg = sum(gains.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted(gains.values(), reverse=True)[:k]
    return dcg / sum(g / math.log2(i + 2) for i, g in enumerate(ideal))


@pytest.mark.skipif(not CRANFIELD.is_dir(), reason="shared corpora not present")
async def test_hybrid_is_at_least_as_good_as_either_mode_alone(
    db: AsyncSession, make_account: Any, make_project: Any, embedder: Embedder
) -> None:
    documents, judged = load_cranfield(SUBSET)
    assert len(judged) >= 50
    owner = await make_account()
    project_id = await make_project({owner.id: "owner"})
    space = embedding_space(embedder)
    cran_of: dict[Any, int] = {}
    for number, record in documents.items():
        parsed = parse(f"# {record.get('T', '')}\n\n{record.get('W', '')}\n".encode(), "markdown")
        pieces = chunk(parsed)
        row = Document(
            project_id=project_id,
            filename=f"cran-{number}.md",
            kind="markdown",
            size_bytes=0,
            sha256=f"{number:064x}",
            status="completed",
        )
        db.add(row)
        await db.flush()
        cran_of[row.id] = number
        vectors = await embedder.embed([embedding_text(p.heading_path, p.text) for p in pieces])
        await write_chunks(
            db,
            project_id=project_id,
            document_id=row.id,
            chunks=pieces,
            vectors=vectors,
            space=space,
        )
    await db.commit()

    scores: dict[str, dict[str, float]] = {}
    for mode in ("keyword", "vector", "hybrid"):
        recall = gain = 0.0
        for query, gains in judged.items():
            hits = await search(
                db,
                user_id=owner.id,
                project_id=project_id,
                query=query,
                k=K * 3,
                mode=mode,  # type: ignore[arg-type]
                embedder=embedder,
            )
            ranked = list(dict.fromkeys(cran_of[h.document_id] for h in hits))[:K]
            recall += len(set(ranked) & set(gains)) / len(gains)
            gain += ndcg(ranked, gains, K)
        scores[mode] = {"recall@10": recall / len(judged), "ndcg@10": gain / len(judged)}
    print(f"\ncranfield {SUBSET} docs, {len(judged)} queries:", scores)
    for metric in ("recall@10", "ndcg@10"):
        best_single = max(scores["keyword"][metric], scores["vector"][metric])
        assert scores["hybrid"][metric] >= best_single - 0.01, (metric, scores)
        assert scores["keyword"][metric] > 0.2
        assert scores["vector"][metric] > 0.1
