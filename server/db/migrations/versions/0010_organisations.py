"""organisations: tenants isolated by row-level security, the application role, budgets

Revision ID: 0010
Revises: 0007

- ``organisations`` (name, personal, AI profile override, monthly token/cost budgets) and
  ``organisation_members`` (``org_admin`` | ``member``).
- ``org_id`` on every tenant table, defaulting to the transaction's organisation
  (``current_setting('app.org_id')``), so that inserts need no code; rows with a project may
  only point at a project of their own organisation (a composite foreign key); a row inserted
  with no organisation at work takes its project's (operators' SQL, test fixtures).
- Row-level security, forced, on every tenant table: a transaction sees and writes only rows of
  ``app.org_id``; a second policy opens every organisation when ``app.all_orgs`` is ``on``
  (server-wide paths, each logged by the application).
- The role ``assistant_app`` (no login, no ``BYPASSRLS``, owns nothing) the application works as,
  with the privileges it needs, granted to the role that runs the migrations; and the one piece
  of DDL it needs at run time (the HNSW index of a new embedding space) as a checked
  ``SECURITY DEFINER`` function.
- An installation with data moves into one organisation, "Default organisation": every user
  a member (server administrators its ``org_admin``), every row of every tenant table in it.
"""

from __future__ import annotations

from typing import Any

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None

_GUID = advanced_alchemy.types.guid.GUID(length=16)
_UTC = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)

ROLE = "assistant_app"
CURRENT_ORG = "nullif(current_setting('app.org_id', true), '')::uuid"
ALL_ORGS = "current_setting('app.all_orgs', true) = 'on'"

PROJECT = "projects"
# Tenant tables whose rows hang off a project by a foreign key (replaced by a composite one).
PROJECT_CHILDREN = (
    "project_members",
    "invitations",
    "phases",
    "phase_versions",
    "chat_sessions",
    "chat_messages",
    "documents",
    "chunks",
    "exports",
    "message_feedback",
)
# Tenant tables with a project id but no foreign key (accounts that outlive what they name).
LEDGERS = ("usage_events", "audit_log")
TENANT_TABLES = (PROJECT, *PROJECT_CHILDREN, *LEDGERS)
NULLABLE = frozenset({"audit_log", "usage_events"})
"""Server-level audit events (a failed sign-in) and the usage of server-wide work (re-embedding
every organisation's chunks) belong to no organisation."""


def _timestamps() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", _GUID, nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("updated_at", _UTC, nullable=False),
    ]


def _create_tables() -> None:
    op.create_table(
        "organisations",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("personal", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("profile", sa.String(length=100), nullable=True),
        sa.Column("monthly_token_budget", sa.BigInteger(), nullable=True),
        sa.Column("monthly_cost_budget_usd", sa.Numeric(16, 4), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
    )
    op.create_table(
        "organisation_members",
        sa.Column("org_id", _GUID, nullable=False),
        sa.Column("user_id", _GUID, nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        *_timestamps(),
        sa.CheckConstraint("role IN ('org_admin', 'member')", name=op.f("ck_org_member_role")),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_organisation_members_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_organisation_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_members")),
        sa.UniqueConstraint("org_id", "user_id", name=op.f("uq_organisation_members_org_id")),
    )
    op.create_index(
        op.f("ix_organisation_members_org_id"), "organisation_members", ["org_id"], unique=False
    )
    op.create_index(
        op.f("ix_organisation_members_user_id"), "organisation_members", ["user_id"], unique=False
    )
    op.add_column("refresh_tokens", sa.Column("org_id", _GUID, nullable=True))
    op.create_foreign_key(
        op.f("fk_refresh_tokens_org_id_organisations"),
        "refresh_tokens",
        "organisations",
        ["org_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.alter_column("invitations", "project_id", nullable=True)
    op.add_column("jobs", sa.Column("org_id", _GUID, nullable=True))
    op.create_index(op.f("ix_jobs_org_id"), "jobs", ["org_id"], unique=False)


_DEFAULT_ORG = """
WITH has_data AS (
    SELECT EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM projects)
        OR EXISTS (SELECT 1 FROM usage_events) OR EXISTS (SELECT 1 FROM audit_log) AS found
)
INSERT INTO organisations (id, name, personal, created_at, updated_at)
SELECT gen_random_uuid(), 'Default organisation', false, now(), now() FROM has_data WHERE found
"""
_DEFAULT_MEMBERS = """
INSERT INTO organisation_members (id, org_id, user_id, role, created_at, updated_at)
SELECT gen_random_uuid(), o.id, u.id,
       CASE WHEN u.role = 'admin' THEN 'org_admin' ELSE 'member' END, now(), now()
FROM users u CROSS JOIN organisations o
"""


def _move_data_into_default_org() -> None:
    op.execute(_DEFAULT_ORG)
    op.execute(_DEFAULT_MEMBERS)
    for table in (*TENANT_TABLES, "jobs"):
        op.execute(f"UPDATE {table} SET org_id = (SELECT id FROM organisations LIMIT 1)")  # noqa: S608
    op.execute("UPDATE refresh_tokens SET org_id = (SELECT id FROM organisations LIMIT 1)")


_FILL_FROM_PROJECT = """
CREATE FUNCTION org_from_project() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Only for rows inserted with no organisation at work (the column default gave NULL):
    -- the project's, as far as the inserting role may see it (an application transaction
    -- with no organisation sees no project, and the NOT NULL constraint refuses the row).
    SELECT p.org_id INTO NEW.org_id FROM projects p WHERE p.id = NEW.project_id;
    RETURN NEW;
END
$$
"""


def _add_org_columns() -> None:
    for table in TENANT_TABLES:
        op.add_column(table, sa.Column("org_id", _GUID, nullable=True))
    _move_data_into_default_org()
    for table in TENANT_TABLES:
        op.alter_column(
            table,
            "org_id",
            nullable=table in NULLABLE,
            server_default=sa.text(CURRENT_ORG),
        )
        op.create_index(op.f(f"ix_{table}_org_id"), table, ["org_id"], unique=False)
    op.execute(f"ALTER TABLE jobs ALTER COLUMN org_id SET DEFAULT {CURRENT_ORG}")
    op.create_foreign_key(
        op.f("fk_projects_org_id_organisations"),
        PROJECT,
        "organisations",
        ["org_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_foreign_key(
        op.f("fk_invitations_org_id_organisations"),
        "invitations",
        "organisations",
        ["org_id"],
        ["id"],
        ondelete="CASCADE",
    )  # an organisation's invitation has no project to go with
    op.create_unique_constraint("uq_projects_id_org_id", PROJECT, ["id", "org_id"])
    op.execute(_FILL_FROM_PROJECT)
    for table in (*PROJECT_CHILDREN, *LEDGERS):
        op.execute(
            f"CREATE TRIGGER {table}_org_from_project BEFORE INSERT ON {table} FOR EACH ROW "
            "WHEN (NEW.org_id IS NULL AND NEW.project_id IS NOT NULL) "
            "EXECUTE FUNCTION org_from_project()"
        )
    for table in PROJECT_CHILDREN:
        # The same lookup the old foreign key made, now also proving the row's organisation is
        # its project's: no row of one organisation can point into another.
        op.drop_constraint(op.f(f"fk_{table}_project_id_projects"), table, type_="foreignkey")
        op.create_foreign_key(
            op.f(f"fk_{table}_project_org_projects"),
            table,
            PROJECT,
            ["project_id", "org_id"],
            ["id", "org_id"],
            ondelete="CASCADE",
        )


def _policies() -> None:
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY org_isolation ON {table} "
            f"USING (org_id = {CURRENT_ORG}) WITH CHECK (org_id = {CURRENT_ORG})"
        )
        op.execute(
            f"CREATE POLICY cross_org ON {table} USING ({ALL_ORGS}) WITH CHECK ({ALL_ORGS})"
        )
    op.execute(
        "CREATE POLICY server_events ON audit_log FOR INSERT WITH CHECK (org_id IS NULL)"
    )


_HNSW = """
CREATE FUNCTION create_chunks_hnsw_index(
    index_name text, dimensions integer, space text, m integer, ef_construction integer
) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    -- The one piece of DDL the application needs at run time (the HNSW index of a new
    -- embedding space, server/documents/index.py): it runs as the table's owner, with every
    -- argument checked, since the application's role may not create indexes itself.
    IF index_name !~ '^ix_chunks_hnsw_[0-9a-f]{16}$' THEN
        RAISE EXCEPTION 'not an HNSW index name of chunks: %', index_name;
    END IF;
    IF dimensions NOT BETWEEN 1 AND 16000 OR m NOT BETWEEN 2 AND 100
        OR ef_construction NOT BETWEEN 4 AND 1000 THEN
        RAISE EXCEPTION 'HNSW parameters out of range';
    END IF;
    EXECUTE format(
        'CREATE INDEX IF NOT EXISTS %I ON chunks USING hnsw ((embedding::vector(%s)) '
        'vector_cosine_ops) WITH (m = %s, ef_construction = %s) WHERE embedding_space = %L',
        index_name, dimensions, m, ef_construction, space);
END
$$
"""
_HNSW_SIGNATURE = "create_chunks_hnsw_index(text, integer, text, integer, integer)"

_ROLE = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}') THEN
        CREATE ROLE {ROLE} NOLOGIN NOBYPASSRLS;
    END IF;
END
$$
"""
_GRANTS = (
    f"GRANT {ROLE} TO CURRENT_USER",
    f"GRANT USAGE ON SCHEMA public TO {ROLE}",
    f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {ROLE}",
    f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {ROLE}",
    f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {ROLE}",
    f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
    f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {ROLE}",
    f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {ROLE}",
)


def upgrade() -> None:
    _create_tables()
    _add_org_columns()
    _policies()
    op.execute(_ROLE)
    for statement in _GRANTS:
        op.execute(statement)
    op.execute(_HNSW)
    op.execute(f"REVOKE ALL ON FUNCTION {_HNSW_SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {_HNSW_SIGNATURE} TO {ROLE}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {_HNSW_SIGNATURE}")
    for statement in (
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM {ROLE}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM {ROLE}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {ROLE}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {ROLE}",
        f"REVOKE USAGE ON SCHEMA public FROM {ROLE}",
    ):
        op.execute(statement)
    for table in TENANT_TABLES:
        op.execute(f"DROP POLICY IF EXISTS org_isolation ON {table}")
        op.execute(f"DROP POLICY IF EXISTS cross_org ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute("DROP POLICY IF EXISTS server_events ON audit_log")
    for table in PROJECT_CHILDREN:
        op.drop_constraint(op.f(f"fk_{table}_project_org_projects"), table, type_="foreignkey")
        op.create_foreign_key(
            op.f(f"fk_{table}_project_id_projects"),
            table,
            PROJECT,
            ["project_id"],
            ["id"],
            ondelete="CASCADE",
        )
    for table in (*PROJECT_CHILDREN, *LEDGERS):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_org_from_project ON {table}")
    op.execute("DROP FUNCTION IF EXISTS org_from_project()")
    op.drop_constraint(
        op.f("fk_invitations_org_id_organisations"), "invitations", type_="foreignkey"
    )
    op.drop_constraint("uq_projects_id_org_id", PROJECT, type_="unique")
    op.drop_constraint(op.f("fk_projects_org_id_organisations"), PROJECT, type_="foreignkey")
    for table in TENANT_TABLES:
        op.drop_index(op.f(f"ix_{table}_org_id"), table_name=table)
        op.drop_column(table, "org_id")
    op.drop_index(op.f("ix_jobs_org_id"), table_name="jobs")
    op.drop_column("jobs", "org_id")
    op.execute("DELETE FROM invitations WHERE project_id IS NULL")
    op.alter_column("invitations", "project_id", nullable=False)
    op.drop_constraint(
        op.f("fk_refresh_tokens_org_id_organisations"), "refresh_tokens", type_="foreignkey"
    )
    op.drop_column("refresh_tokens", "org_id")
    op.drop_table("organisation_members")
    op.drop_table("organisations")
