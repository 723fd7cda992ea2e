"""The Cranfield-1400 collection from ../shared/corpora/qa/cranfield, and nDCG@k / recall@k.

Relevance grades in ``cranqrel`` run 1 (complete answer) to 4 (minimum interest), -1 not
relevant; the gain used here is ``5 - grade`` (4 for a complete answer, 1 for minimum interest).
Queries are numbered 1..225 by position in ``cran.qry``, as ``cranqrel`` numbers them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CRANFIELD = ROOT / ".." / "shared" / "corpora" / "qa" / "cranfield"


@dataclass(frozen=True)
class Collection:
    """Documents by id (1..1400), queries by number (1..225), graded judgements per query."""

    documents: dict[int, tuple[str, str]]
    """id → (title, abstract)"""
    queries: dict[int, str]
    qrels: dict[int, dict[int, int]]
    """query → {document id: gain}"""

    def judged(self) -> list[int]:
        """Query numbers with at least one relevant document."""
        return [q for q in sorted(self.queries) if any(self.qrels.get(q, {}).values())]

    def split(self) -> tuple[list[int], list[int]]:
        """Tuning queries (odd numbers) and held-out queries (even numbers)."""
        judged = self.judged()
        return [q for q in judged if q % 2], [q for q in judged if not q % 2]


def _records(path: Path) -> list[dict[str, str]]:
    raw = path.read_text().replace("\r\n", "\n")
    records = []
    for block in re.split(r"^\.I ", raw, flags=re.M)[1:]:
        fields: dict[str, str] = {}
        for name, body in re.findall(r"^\.([A-Z])\n(.*?)(?=^\.[A-Z]\n|\Z)", block, re.S | re.M):
            fields[name] = " ".join(body.split())
        records.append(fields)
    return records


def load(path: Path = CRANFIELD) -> Collection:
    """Read the collection; raises ``FileNotFoundError`` when the corpora are not beside us."""
    documents = {
        n: (fields.get("T", ""), fields.get("W", ""))
        for n, fields in enumerate(_records(path / "cran.all.1400"), start=1)
    }
    queries = {n: fields["W"] for n, fields in enumerate(_records(path / "cran.qry"), start=1)}
    qrels: dict[int, dict[int, int]] = {}
    for line in (path / "cranqrel").read_text().split("\n"):
        parts = line.split()
        if len(parts) == 3:
            query, document, grade = map(int, parts)
            qrels.setdefault(query, {})[document] = 5 - grade if 1 <= grade <= 4 else 0
    return Collection(documents, queries, qrels)


def ndcg(ranked: list[int], gains: dict[int, int], k: int = 10) -> float:
    """Normalised discounted cumulative gain of the first ``k`` of ``ranked``."""
    dcg = sum(gains.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted((g for g in gains.values() if g > 0), reverse=True)[:k]
    best = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / best if best else 0.0


def recall(ranked: list[int], gains: dict[int, int], k: int = 10) -> float:
    """Share of the relevant documents found in the first ``k``."""
    relevant = {d for d, g in gains.items() if g > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0
