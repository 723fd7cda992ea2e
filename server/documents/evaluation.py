"""Retrieval evaluation of a project's own documents: BEIR/TREC files in, IR measures out.

Queries are BEIR JSON lines (``{"_id": ..., "text": ...}``); relevance judgements are TREC qrels
(``query-id 0 doc-id relevance``) or BEIR TSV (``query-id<TAB>corpus-id<TAB>score``, header
optional). A judged document id names a document of the project by its filename without the
extension (``cran-12.md`` is ``cran-12``), its full filename, or its id.

Each query is run through the server's own `search` in each mode, as a member of the project
would; chunks are collapsed to documents by their best-ranked chunk. The measures follow
trec_eval: a judgement above 0 is relevant, its value is the gain of nDCG (linear), the ideal
ranking is every judged document, and MRR is the reciprocal rank of the first relevant document
in the top ``depth``. Queries without any relevant judgement are left out (counted in the report).
"""

from __future__ import annotations

import math
from pathlib import PurePath
from typing import TYPE_CHECKING

import msgspec
from sqlalchemy import select

from server.db.models import Document, ProjectMember

from .retrieval import Mode, search

if TYPE_CHECKING:
    from pathlib import Path
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    from providers import Embedder

MODES: tuple[Mode, ...] = ("keyword", "vector", "hybrid")
Qrels = dict[str, dict[str, int]]
Run = dict[str, list[str]]
"""Per query id, the document keys in rank order."""


class EvaluationFileError(ValueError):
    """A queries or qrels file that cannot be read; the message names the file and line."""


class Scores(msgspec.Struct, frozen=True):
    """The mean measures of one search mode over the evaluated queries."""

    mode: str
    ndcg_at_10: float
    recall_at_10: float
    recall_at_100: float
    mrr: float


class Report(msgspec.Struct, frozen=True):
    """What `evaluate` measured, and on what."""

    queries: int
    """Queries evaluated (with at least one relevant judgement)."""
    skipped_queries: int
    """Queries in the file without any relevant judgement, or without a query text."""
    documents: int
    """Documents of the project."""
    unmatched_documents: int
    """Judged-relevant document ids that name no document of the project."""
    scores: list[Scores]


class _Query(msgspec.Struct):
    _id: str | int
    text: str


def read_queries(path: Path) -> dict[str, str]:
    """``{query id: text}`` from a BEIR ``queries.jsonl``."""
    queries: dict[str, str] = {}
    decoder = msgspec.json.Decoder(_Query)
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            query = decoder.decode(line)
        except msgspec.DecodeError as exc:
            raise EvaluationFileError(f"{path.name} line {number}: {exc}") from None
        queries[str(query._id)] = query.text
    if not queries:
        raise EvaluationFileError(f"{path.name} holds no queries")
    return queries


def read_qrels(path: Path) -> Qrels:
    """``{query id: {document id: relevance}}`` from TREC qrels or BEIR TSV."""
    qrels: Qrels = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split("\t") if "\t" in line else line.split()
        if not fields or (number == 1 and fields[0].strip().lower() in {"query-id", "qid"}):
            continue
        if len(fields) == 4:  # TREC: query-id iteration doc-id relevance
            fields = [fields[0], fields[2], fields[3]]
        if len(fields) != 3:
            raise EvaluationFileError(
                f"{path.name} line {number}: expected 'query doc relevance' (BEIR TSV) "
                f"or 'query 0 doc relevance' (TREC), got {line!r}"
            )
        query_id, doc_id, relevance = (f.strip() for f in fields)
        try:
            qrels.setdefault(query_id, {})[doc_id] = int(float(relevance))
        except ValueError:
            raise EvaluationFileError(
                f"{path.name} line {number}: relevance {relevance!r} is not a number"
            ) from None
    if not qrels:
        raise EvaluationFileError(f"{path.name} holds no judgements")
    return qrels


def ndcg(ranking: list[str], judged: dict[str, int], k: int) -> float:
    """nDCG@k with linear gains, ideal ranking over every judged document (trec_eval)."""
    dcg = sum(max(judged.get(d, 0), 0) / math.log2(i + 2) for i, d in enumerate(ranking[:k]))
    ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:k]
    best = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / best if best else 0.0


def recall(ranking: list[str], judged: dict[str, int], k: int) -> float:
    """The share of relevant documents found in the top ``k``."""
    relevant = {d for d, g in judged.items() if g > 0}
    return len(relevant.intersection(ranking[:k])) / len(relevant) if relevant else 0.0


def reciprocal_rank(ranking: list[str], judged: dict[str, int]) -> float:
    """1 / the rank of the first relevant document, 0 when none is ranked."""
    for rank, doc in enumerate(ranking, start=1):
        if judged.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def score_run(mode: str, run: Run, qrels: Qrels) -> Scores:
    """The mean measures of ``run`` over the queries of ``qrels`` (a missing ranking scores 0)."""
    ids = list(qrels)
    n = len(ids) or 1
    return Scores(
        mode=mode,
        ndcg_at_10=sum(ndcg(run.get(q, []), qrels[q], 10) for q in ids) / n,
        recall_at_10=sum(recall(run.get(q, []), qrels[q], 10) for q in ids) / n,
        recall_at_100=sum(recall(run.get(q, []), qrels[q], 100) for q in ids) / n,
        mrr=sum(reciprocal_rank(run.get(q, []), qrels[q]) for q in ids) / n,
    )


def document_keys(documents: list[tuple[UUID, str]]) -> dict[str, UUID]:
    """Every name a judged document id may use for a document: stem, filename, id."""
    keys: dict[str, UUID] = {}
    for document_id, filename in documents:
        keys.setdefault(PurePath(filename).stem, document_id)
        keys.setdefault(filename, document_id)
        keys[str(document_id)] = document_id
    return keys


async def project_reader(db: AsyncSession, project_id: UUID) -> UUID | None:
    """A member of the project whose visibility the evaluation searches with (owners first)."""
    rows = await db.execute(
        select(ProjectMember.user_id, ProjectMember.role).where(
            ProjectMember.project_id == project_id
        )
    )
    members = sorted(rows.all(), key=lambda row: row.role != "owner")
    return members[0].user_id if members else None


async def evaluate(
    db: AsyncSession,
    *,
    project_id: UUID,
    user_id: UUID,
    queries: dict[str, str],
    qrels: Qrels,
    embedder: Embedder,
    depth: int = 100,
    chunks: int = 500,
    modes: tuple[Mode, ...] = MODES,
) -> tuple[Report, dict[str, Run]]:
    """Search every judged query in every mode; the report and each mode's document rankings.

    ``chunks`` is how many chunks each search returns before they are collapsed to the top
    ``depth`` documents.
    """
    rows = await db.execute(
        select(Document.id, Document.filename).where(Document.project_id == project_id)
    )
    documents = [(row.id, row.filename) for row in rows]
    keys = document_keys(documents)
    name_of = {document_id: PurePath(filename).stem for document_id, filename in documents}
    judged = {
        q: {_canonical(d, keys, name_of): g for d, g in docs.items()}
        for q, docs in qrels.items()
        if q in queries and queries[q].strip() and any(g > 0 for g in docs.values())
    }
    unmatched = {d for docs in qrels.values() for d, g in docs.items() if g > 0 and d not in keys}
    runs: dict[str, Run] = {}
    for mode in modes:
        run: Run = {}
        for query_id in judged:
            hits = await search(
                db,
                user_id=user_id,
                project_id=project_id,
                query=queries[query_id],
                k=chunks,
                mode=mode,
                embedder=embedder,
            )
            ranked = dict.fromkeys(name_of[h.document_id] for h in hits if h.document_id)
            run[query_id] = list(ranked)[:depth]
        runs[mode] = run
    report = Report(
        queries=len(judged),
        skipped_queries=len(set(queries) | set(qrels)) - len(judged),
        documents=len(documents),
        unmatched_documents=len(unmatched),
        scores=[score_run(mode, runs[mode], judged) for mode in modes],
    )
    return report, runs


def _canonical(doc: str, keys: dict[str, UUID], name_of: dict[UUID, str]) -> str:
    """A judged id in the form rankings use (the filename stem), or as given when unknown."""
    return name_of[keys[doc]] if doc in keys else doc


def trec_run(mode: str, run: Run) -> str:
    """The run in TREC format (``qid Q0 doc rank score tag``), scores strictly decreasing."""
    lines = [
        f"{query_id} Q0 {doc} {rank} {len(ranking) - rank + 1} ua-{mode}"
        for query_id, ranking in run.items()
        for rank, doc in enumerate(ranking, start=1)
    ]
    return "\n".join(lines) + "\n"
