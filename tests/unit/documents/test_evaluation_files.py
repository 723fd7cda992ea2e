"""Reading BEIR queries and TREC / BEIR qrels, and the measures on hand-checked rankings."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pytest

from server.documents.evaluation import (
    EvaluationFileError,
    ndcg,
    read_qrels,
    read_queries,
    recall,
    reciprocal_rank,
)

if TYPE_CHECKING:
    from pathlib import Path


def test_trec_and_beir_qrels_read_the_same(tmp_path: Path) -> None:
    trec = tmp_path / "qrels.txt"
    trec.write_text("1 0 cran-12 3\n1 0 cran-14 0\n2 0 cran-7 1\n")
    beir = tmp_path / "test.tsv"
    beir.write_text("query-id\tcorpus-id\tscore\n1\tcran-12\t3\n1\tcran-14\t0\n2\tcran-7\t1\n")
    expected = {"1": {"cran-12": 3, "cran-14": 0}, "2": {"cran-7": 1}}
    assert read_qrels(trec) == expected
    assert read_qrels(beir) == expected


def test_bad_files_name_the_line(tmp_path: Path) -> None:
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("1 0 cran-12 3\n1 0 cran-14 high\n")
    with pytest.raises(EvaluationFileError, match=r"qrels\.txt line 2: relevance 'high'"):
        read_qrels(qrels)
    queries = tmp_path / "queries.jsonl"
    queries.write_text('{"_id": 1, "text": "flutter"}\n{"_id": "2"}\n')
    with pytest.raises(EvaluationFileError, match=r"queries\.jsonl line 2"):
        read_queries(queries)
    queries.write_text('{"_id": 1, "text": "flutter", "metadata": {}}\n')
    assert read_queries(queries) == {"1": "flutter"}


def test_measures_on_a_ranking_worked_by_hand() -> None:
    judged = {"a": 2, "b": 1, "c": 0, "d": 1}
    ranking = ["c", "a", "x", "b"]
    # DCG = 2/log2(3) + 1/log2(5); ideal = 2/1 + 1/log2(3) + 1/log2(4)
    dcg = 2 / math.log2(3) + 1 / math.log2(5)
    ideal = 2 + 1 / math.log2(3) + 0.5
    assert ndcg(ranking, judged, 10) == pytest.approx(dcg / ideal)
    assert recall(ranking, judged, 2) == pytest.approx(1 / 3)
    assert recall(ranking, judged, 10) == pytest.approx(2 / 3)
    assert reciprocal_rank(ranking, judged) == 0.5
    assert reciprocal_rank(["c", "x"], judged) == 0.0
