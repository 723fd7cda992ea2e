"""feedback and prompt versions: ratings of replies; the prompts, profile and context of replies

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
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
    for table in ("chat_messages", "phase_versions"):
        op.add_column(
            table, sa.Column("prompts", _JSONB, nullable=False, server_default=sa.text("'[]'"))
        )
    op.add_column("chat_messages", sa.Column("profile", sa.String(length=100), nullable=True))
    op.add_column(
        "chat_messages",
        sa.Column("context", _JSONB, nullable=False, server_default=sa.text("'[]'")),
    )
    op.create_table(
        "message_feedback",
        sa.Column("id", _GUID, nullable=False),
        sa.Column("message_id", _GUID, nullable=False),
        sa.Column("project_id", _GUID, nullable=False),
        sa.Column("user_id", _GUID, nullable=False),
        sa.Column("rating", sa.String(length=4), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.CheckConstraint("rating IN ('up', 'down')", name=op.f("ck_message_feedback_rating")),
        sa.ForeignKeyConstraint(
            ["message_id"], ["chat_messages.id"],
            name=op.f("fk_message_feedback_message_id_chat_messages"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"],
            name=op.f("fk_message_feedback_project_id_projects"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"],
            name=op.f("fk_message_feedback_user_id_users"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_feedback")),
        sa.UniqueConstraint(
            "message_id", "user_id", name=op.f("uq_message_feedback_message_id_user_id")
        ),
    )
    op.create_index(
        op.f("ix_message_feedback_message_id"), "message_feedback", ["message_id"], unique=False
    )
    op.create_index(
        op.f("ix_message_feedback_project_id"), "message_feedback", ["project_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_message_feedback_project_id"), table_name="message_feedback")
    op.drop_index(op.f("ix_message_feedback_message_id"), table_name="message_feedback")
    op.drop_table("message_feedback")
    op.drop_column("chat_messages", "context")
    op.drop_column("chat_messages", "profile")
    for table in ("phase_versions", "chat_messages"):
        op.drop_column(table, "prompts")
