"""documents: HNSW index of the default embedding space

Revision ID: 0005
Revises: 0004

``chunks.embedding`` has no fixed dimension, so each embedding space gets a partial expression
index (see server/documents/index.py); this one is for the local WordLlama embedder that
config.json uses by default. ``assistant documents reembed`` creates the index of any other.
"""

from __future__ import annotations

import hashlib

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

DEFAULT_SPACE = "local/wordllama-l2_supercat/256"
INDEX = "ix_chunks_hnsw_"  # + the first 16 hex digits of sha256(space), as index.py names it


def _name() -> str:
    return INDEX + hashlib.sha256(DEFAULT_SPACE.encode()).hexdigest()[:16]


def upgrade() -> None:
    op.execute(
        f"CREATE INDEX IF NOT EXISTS {_name()} ON chunks "
        "USING hnsw ((embedding::vector(256)) vector_cosine_ops) "
        "WITH (m = 16, ef_construction = 64) "
        f"WHERE embedding_space = '{DEFAULT_SPACE}'"
    )


def downgrade() -> None:
    op.execute(f"DROP INDEX IF EXISTS {_name()}")
