"""``assistant eval retrieval`` on Cranfield: a subset uploaded through the real pipeline, the
command run as an operator runs it, its figures checked against trec_eval (pytrec_eval through
ir-measures) computed from the rankings it wrote."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import ir_measures
import pytest
from ir_measures import RR, R, nDCG

from tests.conftest import CORPORA
from tests.integration.conftest import ASSISTANT, cli_env
from tests.integration.documents.conftest import upload, wait_done

if TYPE_CHECKING:
    from pathlib import Path

    from litestar import Litestar
    from litestar.testing import AsyncTestClient

CRANFIELD = CORPORA / "qa" / "cranfield"
SUBSET = 100
MEASURES = {"ndcg_at_10": nDCG @ 10, "recall_at_10": R @ 10, "recall_at_100": R @ 100, "mrr": RR}


def _records(name: str) -> list[dict[str, str]]:
    """The ``.I``-numbered records of a Cranfield file, fields by their letter."""
    text = (CRANFIELD / name).read_text().replace("\r\n", "\n")
    records = []
    for block in re.split(r"^\.I ", text, flags=re.MULTILINE)[1:]:
        number, _, body = block.partition("\n")
        fields = dict(re.findall(r"^\.([A-Z])\n(.*?)(?=^\.[A-Z]\n|\Z)", body, re.S | re.M))
        records.append(
            {"id": number.strip(), **{k: " ".join(v.split()) for k, v in fields.items()}}
        )
    return records


def _write_beir_and_trec(tmp_path: Path, subset: set[int]) -> tuple[Path, Path]:
    """queries.jsonl (ids are positions, as cranqrel numbers them) and TREC qrels over ``subset``.

    Cleverdon's codes 1 (complete answer) .. 4 (minimum interest) become gains 4 .. 1; -1 (not
    relevant) becomes 0.
    """
    queries = tmp_path / "queries.jsonl"
    with queries.open("w") as out:
        for position, record in enumerate(_records("cran.qry"), start=1):
            out.write(json.dumps({"_id": str(position), "text": record["W"]}) + "\n")
    qrels = tmp_path / "qrels.txt"
    with qrels.open("w") as out:
        for line in (CRANFIELD / "cranqrel").read_text().splitlines():
            parts = line.split()
            if len(parts) == 3 and int(parts[1]) in subset:
                query, doc, code = (int(p) for p in parts)
                out.write(f"{query} 0 cran-{doc} {max(5 - code, 0) if code > 0 else 0}\n")
    return queries, qrels


def _trec_eval(qrels: Path, run: Path) -> dict[str, float]:
    """Means over every query with a relevant judgement; a query missing from the run scores 0."""
    judged = defaultdict(dict)
    for q in ir_measures.read_trec_qrels(str(qrels)):
        judged[q.query_id][q.doc_id] = q.relevance
    queries = [q for q, docs in judged.items() if any(r > 0 for r in docs.values())]
    per_query: dict[Any, dict[str, float]] = defaultdict(dict)
    for metric in ir_measures.iter_calc(
        list(MEASURES.values()),
        list(ir_measures.read_trec_qrels(str(qrels))),
        list(ir_measures.read_trec_run(str(run))),
    ):
        per_query[metric.measure][metric.query_id] = metric.value
    return {
        name: sum(per_query[measure].get(q, 0.0) for q in queries) / len(queries)
        for name, measure in MEASURES.items()
    }


@pytest.mark.skipif(not CRANFIELD.is_dir(), reason="shared corpora not present")
async def test_eval_retrieval_on_cranfield_agrees_with_trec_eval(
    client: AsyncTestClient[Litestar],
    make_account: Any,
    make_project: Any,
    clean_db: str,
    tmp_path: Path,
) -> None:
    owner = await make_account()
    project_id = await make_project({owner.id: "owner"})
    documents = _records("cran.all.1400")[:SUBSET]
    uploaded = []
    for record in documents:
        body = f"# {record.get('T', '')}\n\n{record.get('W', '')}\n".encode()
        r = await upload(client, owner, project_id, f"cran-{record['id']}.md", body)
        assert r.status_code == 202, r.text
        uploaded.append(r.json()["id"])
    finished = await asyncio.gather(*(wait_done(client, owner, d, 300) for d in uploaded))
    assert {d["status"] for d in finished} == {"completed"}

    queries, qrels = _write_beir_and_trec(tmp_path, {int(r["id"]) for r in documents})
    runs = tmp_path / "runs"
    done = subprocess.run(
        [*ASSISTANT, "eval", "retrieval", "--project", str(project_id), "--queries",
         str(queries), "--qrels", str(qrels), "--json", "--run-dir", str(runs)],
        env=cli_env(tmp_path / "data", DATABASE_URL=clean_db),
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["documents"] == SUBSET
    assert report["unmatched_documents"] == 0
    assert report["queries"] >= 20
    assert report["queries"] + report["skipped_queries"] == 225
    print(f"\ncranfield {SUBSET} docs, {report['queries']} queries:", report["scores"])

    by_mode = {s["mode"]: s for s in report["scores"]}
    assert set(by_mode) == {"keyword", "vector", "hybrid"}
    for mode, scores in by_mode.items():
        independent = _trec_eval(qrels, runs / f"{mode}.run")
        for name, value in independent.items():
            assert scores[name] == pytest.approx(value, abs=1e-9), (mode, name)
        assert scores["ndcg_at_10"] > 0.2, (mode, scores)
        assert scores["recall_at_100"] >= scores["recall_at_10"]

    # The rankings are the server's own search: the run's top document for a query is the
    # document of the first hit POST /api/v1/search returns in that mode.
    question = json.loads(queries.read_text().splitlines()[0])
    top = [line.split() for line in (runs / "keyword.run").read_text().splitlines()]
    first = next(row[2] for row in top if row[0] == question["_id"])
    r = await client.post(
        "/api/v1/search",
        headers=owner.headers,
        json={"project_id": str(project_id), "query": question["text"], "mode": "keyword"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["hits"][0]["filename"] == f"{first}.md"


def test_eval_retrieval_refuses_an_unreadable_qrels_file(tmp_path: Path, clean_db: str) -> None:
    queries = tmp_path / "queries.jsonl"
    queries.write_text('{"_id": "1", "text": "what similarity laws must be obeyed"}\n')
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text("query-id\tcorpus-id\tscore\n1\tcran-12\n")
    done = subprocess.run(
        [*ASSISTANT, "eval", "retrieval", "--project", "00000000-0000-0000-0000-000000000000",
         "--queries", str(queries), "--qrels", str(qrels)],
        env=cli_env(tmp_path, DATABASE_URL=clean_db),
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert "qrels.tsv line 2: expected" in done.stderr
    assert "Traceback" not in done.stderr
