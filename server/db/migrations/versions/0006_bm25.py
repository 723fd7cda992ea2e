"""bm25: term statistics for exact BM25 keyword ranking, kept by triggers

Revision ID: 0006
Revises: 0005

A chunk is *searchable* when it belongs to no document or to a completed one. For every
searchable chunk the statistics hold, per scope (project, source type):

- ``bm25_chunks``: the chunk's length in tokens (its ``tsv``'s positions: stemmed, stop words
  dropped);
- ``bm25_terms``: each lexeme's document frequency (chunks containing it);
- ``bm25_postings``: each (lexeme, chunk) pair with its term frequency and the chunk's length,
  the inverted index the query reads;
- ``bm25_scopes``: the number of chunks and their total length (for the average length).

Triggers on ``chunks`` (insert, delete, update of the text) and on ``documents`` (status into
or out of ``completed``) keep them in the same transaction as the change, so they are exact
after every commit. Each scope's row is locked first (in key order), which serialises writers
of one scope and keeps them free of deadlocks. Existing chunks are indexed here.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TABLES = [
    """
CREATE TABLE bm25_scopes (
    project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    source_type varchar(16) NOT NULL,
    chunks integer NOT NULL DEFAULT 0,
    total_length bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, source_type)
)
    """,
    """
CREATE TABLE bm25_terms (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id uuid NOT NULL,
    source_type varchar(16) NOT NULL,
    lexeme text NOT NULL,
    df integer NOT NULL,
    CONSTRAINT uq_bm25_terms_scope_lexeme UNIQUE (project_id, source_type, lexeme)
)
    """,
    """
CREATE TABLE bm25_chunks (
    chunk_id uuid PRIMARY KEY,
    project_id uuid NOT NULL,
    source_type varchar(16) NOT NULL,
    length integer NOT NULL
)
    """,
    """
CREATE TABLE bm25_postings (
    term_id bigint NOT NULL,
    chunk_id uuid NOT NULL,
    tf integer NOT NULL,
    length integer NOT NULL,
    CONSTRAINT pk_bm25_postings PRIMARY KEY (term_id, chunk_id) INCLUDE (tf, length)
)
    """,
    """
CREATE INDEX ix_bm25_postings_chunk_id ON bm25_postings (chunk_id)
    """,
]

_FUNCTIONS = [
    r"""
CREATE FUNCTION bm25_index(ids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    searchable uuid[];
BEGIN
    -- Chunks of a document still processing are left out (and lock nothing): they enter
    -- when their document completes.
    searchable := ARRAY(
        SELECT c.id FROM chunks c
        LEFT JOIN documents d ON d.id = c.document_id
        WHERE c.id = ANY(ids)
          AND (c.document_id IS NULL OR d.status = 'completed')
          AND NOT EXISTS (SELECT 1 FROM bm25_chunks b WHERE b.chunk_id = c.id)
        ORDER BY c.id);
    IF cardinality(searchable) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO bm25_scopes (project_id, source_type)
    SELECT DISTINCT project_id, source_type FROM chunks WHERE id = ANY(searchable) ORDER BY 1, 2
    ON CONFLICT DO NOTHING;
    PERFORM 1 FROM bm25_scopes s
    WHERE (s.project_id, s.source_type) IN (
        SELECT project_id, source_type FROM chunks WHERE id = ANY(searchable))
    ORDER BY s.project_id, s.source_type
    FOR UPDATE;
    WITH fresh AS (
        SELECT c.id, c.project_id, c.source_type, c.tsv
        FROM chunks c
        WHERE c.id = ANY(searchable)
    ),
    occurrences AS (
        SELECT f.id, f.project_id, f.source_type, t.lexeme,
               coalesce(array_length(t.positions, 1), 1) AS tf
        FROM fresh f, unnest(f.tsv) t
    ),
    lengths AS (
        SELECT f.id, f.project_id, f.source_type, coalesce(sum(o.tf), 0)::integer AS length
        FROM fresh f LEFT JOIN occurrences o ON o.id = f.id
        GROUP BY f.id, f.project_id, f.source_type
    ),
    chunk_rows AS (
        INSERT INTO bm25_chunks (chunk_id, project_id, source_type, length)
        SELECT id, project_id, source_type, length FROM lengths
    ),
    scope_rows AS (
        UPDATE bm25_scopes s
        SET chunks = s.chunks + g.n, total_length = s.total_length + g.total
        FROM (
            SELECT project_id, source_type, count(*) AS n, sum(length) AS total
            FROM lengths GROUP BY project_id, source_type
        ) g
        WHERE s.project_id = g.project_id AND s.source_type = g.source_type
    ),
    term_rows AS (
        INSERT INTO bm25_terms AS t (project_id, source_type, lexeme, df)
        SELECT project_id, source_type, lexeme, count(*) FROM occurrences
        GROUP BY project_id, source_type, lexeme
        ORDER BY project_id, source_type, lexeme
        ON CONFLICT (project_id, source_type, lexeme) DO UPDATE SET df = t.df + excluded.df
        RETURNING t.id, t.project_id, t.source_type, t.lexeme
    )
    INSERT INTO bm25_postings (term_id, chunk_id, tf, length)
    SELECT t.id, o.id, o.tf, l.length
    FROM occurrences o
    JOIN lengths l ON l.id = o.id
    JOIN term_rows t
      ON t.project_id = o.project_id AND t.source_type = o.source_type AND t.lexeme = o.lexeme;
END
$$
    """,
    r"""
CREATE FUNCTION bm25_unindex(ids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    emptied bigint[];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM bm25_chunks WHERE chunk_id = ANY(ids)) THEN
        RETURN;
    END IF;
    PERFORM 1 FROM bm25_scopes s
    WHERE (s.project_id, s.source_type) IN (
        SELECT project_id, source_type FROM bm25_chunks WHERE chunk_id = ANY(ids))
    ORDER BY s.project_id, s.source_type
    FOR UPDATE;
    WITH gone AS (
        DELETE FROM bm25_chunks WHERE chunk_id = ANY(ids)
        RETURNING project_id, source_type, length
    ),
    scope_rows AS (
        UPDATE bm25_scopes s
        SET chunks = s.chunks - g.n, total_length = s.total_length - g.total
        FROM (
            SELECT project_id, source_type, count(*) AS n, sum(length) AS total
            FROM gone GROUP BY project_id, source_type
        ) g
        WHERE s.project_id = g.project_id AND s.source_type = g.source_type
    ),
    postings AS (
        DELETE FROM bm25_postings WHERE chunk_id = ANY(ids) RETURNING term_id
    ),
    updated AS (
        UPDATE bm25_terms t SET df = t.df - p.n
        FROM (SELECT term_id, count(*) AS n FROM postings GROUP BY term_id) p
        WHERE t.id = p.term_id
        RETURNING t.id, t.df
    )
    SELECT array_agg(id) INTO emptied FROM updated WHERE df <= 0;
    DELETE FROM bm25_terms WHERE id = ANY(emptied);
END
$$
    """,
    r"""
CREATE FUNCTION bm25_top(
    p_project uuid, p_source_types text[], p_query text, p_depth integer,
    p_k1 float8, p_b float8, p_config regconfig
) RETURNS TABLE (chunk_id uuid, score float8) LANGUAGE sql STABLE AS $$
    WITH scope AS (
        SELECT sum(s.chunks)::float8 AS n,
               sum(s.total_length)::float8 / nullif(sum(s.chunks), 0) AS avgdl
        FROM bm25_scopes s
        WHERE s.project_id = p_project AND s.source_type = ANY(p_source_types)
    ),
    query AS (
        SELECT lexeme, coalesce(array_length(positions, 1), 1) AS qtf
        FROM unnest(to_tsvector(p_config, p_query))
    ),
    terms AS (
        SELECT t.id, q.qtf, sum(t.df) OVER (PARTITION BY t.lexeme) AS df
        FROM bm25_terms t JOIN query q ON q.lexeme = t.lexeme
        WHERE t.project_id = p_project AND t.source_type = ANY(p_source_types)
    ),
    weights AS (
        SELECT array_agg(t.id) AS ids,
               array_agg(t.qtf * ln(1 + (s.n - t.df + 0.5) / (t.df + 0.5))) AS weights
        FROM terms t CROSS JOIN scope s
    )
    -- Posting lists are read by `term_id = ANY(array)`, which the primary key serves.
    SELECT p.chunk_id,
           sum(u.w * p.tf / (p.tf + p_k1 * (1 - p_b + p_b * p.length / s.avgdl))) AS total
    FROM weights w
    CROSS JOIN scope s
    JOIN bm25_postings p ON p.term_id = ANY(w.ids)
    JOIN unnest(w.ids, w.weights) u(id, w) ON u.id = p.term_id
    GROUP BY p.chunk_id
    ORDER BY total DESC, p.chunk_id
    LIMIT p_depth
$$
    """,
    r"""
CREATE FUNCTION bm25_chunks_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM bm25_index(ARRAY(SELECT id FROM new_rows ORDER BY id));
    RETURN NULL;
END
$$
    """,
    r"""
CREATE FUNCTION bm25_chunks_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM bm25_unindex(ARRAY(SELECT id FROM old_rows ORDER BY id));
    RETURN NULL;
END
$$
    """,
    r"""
CREATE FUNCTION bm25_chunks_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed uuid[];
BEGIN
    changed := ARRAY(
        SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE n.tsv IS DISTINCT FROM o.tsv
           OR n.project_id <> o.project_id
           OR n.source_type <> o.source_type
           OR n.document_id IS DISTINCT FROM o.document_id
        ORDER BY n.id);
    PERFORM bm25_unindex(changed);
    PERFORM bm25_index(changed);
    RETURN NULL;
END
$$
    """,
    r"""
CREATE FUNCTION bm25_documents_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM bm25_unindex(ARRAY(
        SELECT c.id FROM old_rows o
        JOIN new_rows n ON n.id = o.id
        JOIN chunks c ON c.document_id = o.id
        WHERE o.status = 'completed' AND n.status <> 'completed'
        ORDER BY c.id));
    PERFORM bm25_index(ARRAY(
        SELECT c.id FROM new_rows n
        JOIN old_rows o ON o.id = n.id
        JOIN chunks c ON c.document_id = n.id
        WHERE n.status = 'completed' AND o.status <> 'completed'
        ORDER BY c.id));
    RETURN NULL;
END
$$
    """,
    r"""
CREATE TRIGGER bm25_chunks_insert AFTER INSERT ON chunks
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION bm25_chunks_inserted()
    """,
    r"""
CREATE TRIGGER bm25_chunks_delete AFTER DELETE ON chunks
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION bm25_chunks_deleted()
    """,
    r"""
CREATE TRIGGER bm25_chunks_update AFTER UPDATE ON chunks
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION bm25_chunks_updated()
    """,
    r"""
CREATE TRIGGER bm25_documents_update AFTER UPDATE ON documents
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION bm25_documents_updated()
    """,
]


def upgrade() -> None:
    for statement in (*_TABLES, *_FUNCTIONS):
        op.execute(statement)
    op.execute("SELECT bm25_index(ARRAY(SELECT id FROM chunks ORDER BY id))")


def downgrade() -> None:
    for statement in (
        "DROP TRIGGER IF EXISTS bm25_documents_update ON documents",
        "DROP TRIGGER IF EXISTS bm25_chunks_update ON chunks",
        "DROP TRIGGER IF EXISTS bm25_chunks_delete ON chunks",
        "DROP TRIGGER IF EXISTS bm25_chunks_insert ON chunks",
        "DROP FUNCTION IF EXISTS bm25_documents_updated()",
        "DROP FUNCTION IF EXISTS bm25_chunks_updated()",
        "DROP FUNCTION IF EXISTS bm25_chunks_deleted()",
        "DROP FUNCTION IF EXISTS bm25_chunks_inserted()",
        (
            "DROP FUNCTION IF EXISTS "
            "bm25_top(uuid, text[], text, integer, float8, float8, regconfig)"
        ),
        "DROP FUNCTION IF EXISTS bm25_unindex(uuid[])",
        "DROP FUNCTION IF EXISTS bm25_index(uuid[])",
        "DROP TABLE IF EXISTS bm25_postings, bm25_chunks, bm25_terms, bm25_scopes",
    ):
        op.execute(statement)
