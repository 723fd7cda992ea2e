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

TEXT_SEARCH_CONFIG = "english"
"""The text-search configuration of ``chunks.tsv``; queries must be analysed the same way."""
K1 = 1.2
"""Term-frequency saturation (Lucene's and Elasticsearch's default)."""
B = 0.75
"""Strength of document-length normalisation (Lucene's and Elasticsearch's default)."""


def keyword_ctes() -> str:
    """CTEs ending in ``kw (id, rank, score)``: the ``:depth`` best chunks by BM25.

    Parameters: ``:project_id``, ``:user_id`` (nothing is read unless they are a member),
    ``:source_types``, ``:query``, ``:depth``.
    """
    return f"""
    bm25_scope AS (
        SELECT sum(chunks)::float8 AS n,
               sum(total_length)::float8 / nullif(sum(chunks), 0) AS avgdl
        FROM bm25_scopes
        WHERE project_id = :project_id AND source_type = ANY(:source_types)
    ),
    bm25_query AS (
        SELECT lexeme, coalesce(array_length(positions, 1), 1) AS qtf
        FROM unnest(to_tsvector('{TEXT_SEARCH_CONFIG}'::regconfig, :query))
    ),
    bm25_weights AS (
        SELECT t.id,
               q.qtf * ln(1 + (s.n - sum(t.df) OVER w + 0.5) / (sum(t.df) OVER w + 0.5))
                   AS weight
        FROM bm25_terms t
        JOIN bm25_query q ON q.lexeme = t.lexeme
        CROSS JOIN bm25_scope s
        WHERE t.project_id = :project_id
          AND t.source_type = ANY(:source_types)
          AND EXISTS (
              SELECT 1 FROM project_members m
              WHERE m.project_id = :project_id AND m.user_id = :user_id
          )
        WINDOW w AS (PARTITION BY t.lexeme)
    ),
    kw AS (
        SELECT chunk_id AS id, row_number() OVER (ORDER BY score DESC, chunk_id) AS rank, score
        FROM (
            SELECT p.chunk_id,
                   sum(w.weight * p.tf / (p.tf + {K1} * (1 - {B} + {B} * p.length / s.avgdl)))
                       AS score
            FROM bm25_postings p
            JOIN bm25_weights w ON w.id = p.term_id
            CROSS JOIN bm25_scope s
            GROUP BY p.chunk_id
            ORDER BY score DESC, p.chunk_id
            LIMIT :depth
        ) best
    )"""  # noqa: S608 - constants only
