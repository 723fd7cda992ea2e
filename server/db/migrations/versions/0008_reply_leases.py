"""reply leases: the turns the server owes an answer, each answered under a short lease

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_GUID = advanced_alchemy.types.guid.GUID(length=16)
_UTC = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)
_JSONB = (
    sa.JSON()
    .with_variant(postgresql.JSONB(astext_type=sa.Text()), "cockroachdb")
    .with_variant(advanced_alchemy.types.json.ORA_JSONB(), "oracle")
    .with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
)


def upgrade() -> None:
    op.create_table(
        "chat_turns",
        sa.Column("id", _GUID, nullable=False),
        sa.Column("session_id", _GUID, nullable=False),
        sa.Column("project_id", _GUID, nullable=False),
        sa.Column("user_id", _GUID, nullable=False),
        sa.Column("message_id", _GUID, nullable=True),
        sa.Column("command", _JSONB, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started", sa.Boolean(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", _UTC, nullable=True),
        sa.Column("partial", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["chat_sessions.id"],
            name=op.f("fk_chat_turns_session_id_chat_sessions"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"],
            name=op.f("fk_chat_turns_project_id_projects"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"],
            name=op.f("fk_chat_turns_user_id_users"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_turns")),
    )
    op.create_index(
        "uq_chat_turns_session_running",
        "chat_turns",
        ["session_id"],
        unique=True,
        postgresql_where=sa.text("status = 'running'"),
    )
    op.create_index("ix_chat_turns_status_lease", "chat_turns", ["status", "lease_until"])


def downgrade() -> None:
    op.drop_index("ix_chat_turns_status_lease", table_name="chat_turns")
    op.drop_index("uq_chat_turns_session_running", table_name="chat_turns")
    op.drop_table("chat_turns")
