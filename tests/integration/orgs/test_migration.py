"""Migration 0010 moves a single-team installation into one organisation with nothing lost,
and the application (as its row-level-security-bound role) reads it all back in that
organisation; the migration also goes down cleanly."""

from __future__ import annotations

import asyncio
import uuid

from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from server.db import sqlalchemy_config
from server.db.embedded import start_embedded
from server.db.migrate import alembic_config, upgrade
from tests.conftest import PG_DIR

TABLES = (
    "users",
    "projects",
    "project_members",
    "invitations",
    "chat_sessions",
    "chat_messages",
    "documents",
    "chunks",
    "exports",
    "phases",
    "phase_versions",
    "message_feedback",
    "usage_events",
    "audit_log",
    "jobs",
    "refresh_tokens",
)
TENANT = tuple(t for t in TABLES if t not in {"users", "jobs", "refresh_tokens"})

SEED = [
    "INSERT INTO users (id, email, password_hash, role, is_active, created_at, updated_at)"
    " VALUES (:admin, 'root@example.org', 'x', 'admin', true, now(), now()),"
    " (:user, 'ann@example.org', 'x', 'user', true, now(), now())",
    "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, expires_at, created_at,"
    " updated_at) VALUES (gen_random_uuid(), :user, gen_random_uuid(), 'h', now() + interval"
    " '1 day', now(), now())",
    "INSERT INTO projects (id, name, template, created_at, updated_at)"
    " VALUES (:project, 'Bakery', 'business-plan', now(), now())",
    "INSERT INTO project_members (id, project_id, user_id, role, created_at, updated_at)"
    " VALUES (gen_random_uuid(), :project, :user, 'owner', now(), now())",
    "INSERT INTO invitations (id, project_id, role, token_hash, expires_at, created_at,"
    " updated_at) VALUES (gen_random_uuid(), :project, 'viewer', 'i', now(), now(), now())",
    "INSERT INTO phases (id, project_id, number, title, status, depends_on, answers,"
    " created_at, updated_at) VALUES (:phase, :project, 1, 'Idea', 'completed', '{}', '[]',"
    " now(), now())",
    "INSERT INTO phase_versions (id, phase_id, project_id, number, content, author_kind,"
    " answers, sources, prompts, created_at, updated_at) VALUES (gen_random_uuid(), :phase,"
    " :project, 1, 'Bread.', 'user', '[]', '[]', '[]', now(), now())",
    "INSERT INTO chat_sessions (id, project_id, last_seq, created_at, updated_at)"
    " VALUES (:session, :project, 1, now(), now())",
    "INSERT INTO chat_messages (id, session_id, project_id, seq, role, content, status, usage,"
    " citations, prompts, context, created_at, updated_at) VALUES (:message, :session,"
    " :project, 1, 'assistant', 'Hello.', 'complete', '{}', '[]', '[]', '[]', now(), now())",
    "INSERT INTO message_feedback (id, message_id, project_id, user_id, rating, created_at,"
    " updated_at) VALUES (gen_random_uuid(), :message, :project, :user, 'up', now(), now())",
    "INSERT INTO documents (id, project_id, filename, kind, size_bytes, sha256, status,"
    " pages_done, chunks_total, chunks_done, meta, created_at, updated_at) VALUES (:document,"
    " :project, 'f.md', 'markdown', 1, repeat('a', 64), 'completed', 0, 1, 1, '{}', now(),"
    " now())",
    "INSERT INTO chunks (id, project_id, source_type, document_id, ordinal, text, heading_path,"
    " token_count, created_at, updated_at) VALUES (gen_random_uuid(), :project, 'document',"
    " :document, 0, 'Flour from the mill.', '{}', 0, now(), now())",
    "INSERT INTO exports (id, project_id, format, status, created_at, updated_at)"
    " VALUES (gen_random_uuid(), :project, 'md', 'completed', now(), now())",
    "INSERT INTO usage_events (id, user_id, project_id, purpose, provider, model,"
    " prompt_tokens, completion_tokens, cost_usd, latency_ms, hops, ok, created_at, updated_at)"
    " VALUES (gen_random_uuid(), :user, :project, 'chat', 'local', 'local', 3, 4, 0, 1, '[]',"
    " true, now(), now())",
    "INSERT INTO audit_log (id, actor_id, action, project_id, data, created_at, updated_at)"
    " VALUES (gen_random_uuid(), :user, 'create_project', :project, '{}', now(), now())",
    "INSERT INTO jobs (id, kind, target_id, payload, status, attempts, max_attempts, timeout_s,"
    " created_at, updated_at) VALUES (gen_random_uuid(), 'render_export', :project, '{}',"
    " 'completed', 1, 5, 900, now(), now())",
]


async def _run(url: str, *statements: str, params: dict[str, object] | None = None) -> list[tuple]:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    rows: list[tuple] = []
    async with engine.connect() as conn:
        for statement in statements:
            result = await conn.execute(text(statement), params or {})
            if result.returns_rows:
                rows.extend(tuple(r) for r in result)
    await engine.dispose()
    return rows


def _counts(url: str) -> dict[str, int]:
    rows = asyncio.run(_run(url, *(f"SELECT '{t}', count(*) FROM {t}" for t in TABLES)))
    return {name: int(n) for name, n in rows}


async def _as_app(url: str, org: object) -> dict[str, int]:
    """What the application's role sees of each tenant table, working in ``org``."""
    config = sqlalchemy_config(url, pool_size=1)
    seen: dict[str, int] = {}
    async with config.get_session() as db:
        await db.execute(text("SELECT set_config('app.org_id', :o, true)"), {"o": str(org)})
        for table in TENANT:
            seen[table] = int(await db.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
    await config.get_engine().dispose()
    return seen


def test_a_single_team_installation_moves_into_one_organisation_with_nothing_lost() -> None:
    admin = start_embedded(PG_DIR, "postgres")
    name = f"orgs_migration_{uuid.uuid4().hex[:8]}"
    asyncio.run(_run(admin, f'CREATE DATABASE "{name}"'))
    url = admin.replace("/postgres?", f"/{name}?", 1)
    ids = {
        k: uuid.uuid4()
        for k in ("admin", "user", "project", "phase", "session", "message", "document")
    }
    try:
        command.upgrade(alembic_config(url), "0007")
        asyncio.run(_run(url, *SEED, params=ids))
        before = _counts(url)
        assert all(before.values()), before

        upgrade(url)

        assert _counts(url) == before
        [(org, org_name, personal)] = asyncio.run(
            _run(url, "SELECT id, name, personal FROM organisations")
        )
        assert (org_name, personal) == ("Default organisation", False)
        members = dict(asyncio.run(_run(url, "SELECT user_id, role FROM organisation_members")))
        assert members == {ids["admin"]: "org_admin", ids["user"]: "member"}
        for table in (*TENANT, "jobs", "refresh_tokens"):
            orgs = asyncio.run(_run(url, f"SELECT DISTINCT org_id FROM {table}"))
            assert orgs == [(org,)], table
        # The application, bound by row-level security, sees everything in the organisation
        # and nothing from any other.
        assert asyncio.run(_as_app(url, org)) == {t: before[t] for t in TENANT}
        assert set(asyncio.run(_as_app(url, uuid.uuid4())).values()) == {0}

        command.downgrade(alembic_config(url), "0007")
        assert _counts(url) == before
        assert asyncio.run(
            _run(url, "SELECT count(*) FROM pg_tables WHERE tablename = 'organisations'")
        ) == [(0,)]
        upgrade(url)  # and up again
        assert _counts(url) == before
    finally:
        asyncio.run(_run(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_a_fresh_installation_gets_no_default_organisation() -> None:
    admin = start_embedded(PG_DIR, "postgres")
    name = f"orgs_fresh_{uuid.uuid4().hex[:8]}"
    asyncio.run(_run(admin, f'CREATE DATABASE "{name}"'))
    url = admin.replace("/postgres?", f"/{name}?", 1)
    try:
        upgrade(url)
        assert asyncio.run(_run(url, "SELECT count(*) FROM organisations")) == [(0,)]
    finally:
        asyncio.run(_run(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
