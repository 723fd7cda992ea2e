"""chunk indexes: HNSW with 12 neighbours a node instead of 16; the unused full-text index dropped

Revision ID: 0011
Revises: 0010

Both make writing chunks cheaper; `make bench-ingest` and `make bench-search` measure them
(docs/documents.md):

- every vector a document adds updates the neighbour lists of the nodes it links to, a third
  of PostgreSQL's time ingesting a text PDF. With 12 neighbours a node, and the connections'
  ``hnsw.ef_search`` raised from 200 to 400 (`server.db.HNSW_EF_SEARCH`), recall@10 against
  exact search at 100,000 chunks is higher than before and searches are no slower. An index
  keeps the parameters it was built with, so each one is built again (about 15 s for 100,000
  chunks; searches wait for it);
- keyword search reads the BM25 statistics (migration 0006), not ``chunks.tsv``'s GIN index,
  which every chunk still had to be added to. The ``tsv`` column stays: the statistics are made
  from it.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_REBUILD = r"""
DO $$
DECLARE
    hnsw record;
BEGIN
    FOR hnsw IN
        SELECT c.relname AS name, pg_get_indexdef(c.oid) AS definition
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = 'chunks'::regclass AND c.relname LIKE 'ix\_chunks\_hnsw\_%'
    LOOP
        EXECUTE format('DROP INDEX %I', hnsw.name);
        EXECUTE regexp_replace(hnsw.definition, 'm=''\d+''', 'm=''{m}''');
    END LOOP;
END
$$
"""


def upgrade() -> None:
    op.execute(_REBUILD.replace("{m}", "12"))
    op.drop_index("ix_chunks_tsv", table_name="chunks", postgresql_using="gin")


def downgrade() -> None:
    op.create_index("ix_chunks_tsv", "chunks", ["tsv"], unique=False, postgresql_using="gin")
    op.execute(_REBUILD.replace("{m}", "16"))
