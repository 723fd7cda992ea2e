"""BM25 keyword ranking in PostgreSQL, over the term statistics migration 0006 keeps exact.

Text is analysed by PostgreSQL's ``english`` text-search configuration (Snowball stemming, stop
words dropped) both when a chunk is stored (``chunks.tsv``) and for the query. Statistics are
kept per scope, a project and a source type (``document``, ``phase``, ``message``), because that
is what a search filters by: a search over several source types adds their counts up, which is
exact since every chunk belongs to one scope. Only searchable chunks are counted (those of no
document or of a completed one), so a document being processed changes no ranking until it
completes.

The score is BM25 with Lucene's IDF (never negative):

    score(D, Q) = Σ_{t ∈ Q} qtf(t) · ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))
                            · tf(t, D) / (tf(t, D) + k1 · (1 - b + b · |D| / avgdl))

where N is the number of searchable chunks in the scope, df(t) how many contain the lexeme t,
tf(t, D) its occurrences in chunk D, |D| the chunk's length in lexemes and avgdl their mean; a
lexeme repeated in the query counts as often as it appears (``qtf``). This is what bm25s computes
with ``method="lucene"`` on the same tokens (the tests check it, after adds and deletes).
"""

from __future__ import annotations

from typing import Literal

TEXT_SEARCH_CONFIG = "english"
"""The text-search configuration of ``chunks.tsv``; queries must be analysed the same way."""
K1 = 1.2
"""Term-frequency saturation (Lucene's and Elasticsearch's default)."""
B = 0.75
"""Strength of document-length normalisation (Lucene's and Elasticsearch's default)."""


RANKING: Literal["memory", "sql"] = "memory"
"""Where keyword search ranks: ``memory`` sums cached posting lists with numpy
(`server.documents.postings`), ``sql`` calls ``bm25_top`` (migration 0006) inside the search
statement. Both give the same rows; ``make bench-search`` and the tests compare them."""


def keyword_ctes() -> str:
    """CTEs ending in ``kw (id, rank, score)``: the ``:depth`` best chunks by BM25.

    Parameters: ``:project_id``, ``:user_id`` (nothing is read unless they are a member), and
    with `RANKING` ``memory`` the ranking itself, ``:kw_ids`` and ``:kw_scores`` (best first,
    from `server.documents.postings.rank`); with ``sql``, ``:source_types``, ``:query`` and
    ``:depth`` for ``bm25_top``, which adds up the postings of every query lexeme inside
    PostgreSQL (see docs/retrieval.md for what that costs at 100,000 chunks).
    """
    if RANKING == "memory":
        ranking = """
        SELECT r.id AS chunk_id, r.score
        FROM unnest(CAST(:kw_ids AS uuid[]), CAST(:kw_scores AS float8[])) r(id, score)"""
    else:
        ranking = f"""
        SELECT t.chunk_id, t.score
        FROM bm25_top(
            :project_id, CAST(:source_types AS text[]), :query, :depth,
            {K1}, {B}, '{TEXT_SEARCH_CONFIG}'::regconfig
        ) t"""  # noqa: S608 - constants only
    return f"""
    kw AS (
        SELECT b.chunk_id AS id, row_number() OVER (ORDER BY b.score DESC, b.chunk_id) AS rank,
               b.score
        FROM ({ranking}) b
        WHERE EXISTS (
            SELECT 1 FROM project_members m
            WHERE m.project_id = :project_id AND m.user_id = :user_id
        )
    )"""  # noqa: S608 - constants only
