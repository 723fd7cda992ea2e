"""Organisations are isolated by the application and, underneath it, by PostgreSQL itself.

The first tests go through the application's checks (REST, search, WebSocket joins across
organisations). The defence-in-depth tests switch the application's project check off (every
caller is told they own every project) and show that the database still returns nothing of
another organisation: REST reads, search and chat recall come back empty, because the app works
as a role that row-level security binds and every transaction names its organisation.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine
from websockets.exceptions import ConnectionClosed

import server.access
from server.db.models import Job
from server.db.tenancy import APP_ROLE
from server.documents.storage import file_store
from tests.integration.chat.conftest import TIMEOUT, open_client
from tests.integration.documents.conftest import upload, wait_done

from .conftest import SECRET

if TYPE_CHECKING:
    from collections.abc import Callable

    from litestar import Litestar
    from litestar.testing import AsyncTestClient
    from sqlalchemy.ext.asyncio import AsyncSession

    from server.settings import Settings
    from tests.integration.chat.conftest import Client

    from .conftest import Orgs

TENANT_TABLES = {
    "projects",
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
    "usage_events",
    "audit_log",
}


async def _everything_owned(db: Any, user_id: UUID, project_id: UUID) -> str:
    """The application's project check, switched off: everyone owns everything."""
    return "owner"


def _reads(orgs: Orgs) -> list[str]:
    return [
        f"/api/v1/projects/{orgs.project_a}",
        f"/api/v1/projects/{orgs.project_a}/documents",
        f"/api/v1/projects/{orgs.project_a}/members",
        f"/api/v1/projects/{orgs.project_a}/phases",
        f"/api/v1/projects/{orgs.project_a}/chat/sessions",
        f"/api/v1/documents/{orgs.document_a}",
        f"/api/v1/documents/{orgs.document_a}/chunks",
        f"/api/v1/chat/sessions/{orgs.session_a}",
        f"/api/v1/chat/sessions/{orgs.session_a}/messages",
    ]


async def _search(
    client: AsyncTestClient[Litestar], headers: dict[str, str], project: UUID, mode: str
) -> httpx.Response:
    return await client.post(
        "/api/v1/search",
        headers=headers,
        json={"project_id": str(project), "query": "rosemary sourdough", "mode": mode},
    )


async def test_the_app_connects_as_a_role_row_level_security_binds(
    app: Litestar, clean_db: str
) -> None:
    engine = create_async_engine(clean_db)
    async with engine.connect() as conn:
        owners = set(
            (
                await conn.execute(
                    text("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
                )
            ).scalars()
        )
        secured = {
            name: (rls, forced)
            for name, rls, forced in await conn.execute(
                text(
                    "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c"
                    " JOIN information_schema.columns i ON i.table_name = c.relname"
                    " AND i.column_name = 'org_id' AND i.table_schema = 'public'"
                    " WHERE c.relkind = 'r'"
                )
            )
        }
    await engine.dispose()
    assert APP_ROLE not in owners
    # Every table with an organisation is behind forced row-level security, but the map of
    # who works where (read before an organisation is chosen) and the queue's job rows
    # (server-wide infrastructure, holding only ids).
    assert set(secured) == {*TENANT_TABLES, "organisation_members", "refresh_tokens", "jobs"}
    assert {t for t, (rls, forced) in secured.items() if rls and forced} == TENANT_TABLES

    config = server.access.runtime_of(app).alchemy
    async with config.get_session() as db:
        row = (
            await db.execute(
                text(
                    "SELECT current_user, r.rolbypassrls, r.rolsuper FROM pg_roles r"
                    " WHERE r.rolname = current_user"
                )
            )
        ).one()
    assert tuple(row) == (APP_ROLE, False, False)


async def test_a_member_of_another_organisation_reads_and_searches_nothing(
    client: AsyncTestClient[Litestar], orgs: Orgs
) -> None:
    outsider = orgs.member_b.headers
    for path in _reads(orgs):
        response = await client.get(path, headers=outsider)
        assert response.status_code == 404, (path, response.text)
        assert "rosemary" not in response.text
    for mode in ("keyword", "vector", "hybrid"):
        response = await _search(client, outsider, orgs.project_a, mode)
        assert response.status_code == 404, response.text
    # The owner in A finds it (the content is there to be found).
    response = await _search(client, orgs.owner_a.headers, orgs.project_a, "keyword")
    assert response.status_code == 200, response.text
    assert SECRET in response.text


async def test_a_project_of_another_organisation_is_hidden_even_from_a_project_member(
    client: AsyncTestClient[Litestar], orgs: Orgs, db: Any
) -> None:
    """A membership row pointing into another organisation (what a bug could leave) opens
    nothing: the token's organisation decides."""
    from server.db.models import ProjectMember  # noqa: PLC0415

    db.add(ProjectMember(project_id=orgs.project_a, user_id=orgs.member_b.id, role="owner"))
    await db.commit()
    response = await client.get(f"/api/v1/projects/{orgs.project_a}", headers=orgs.member_b.headers)
    assert response.status_code == 404
    listed = await client.get("/api/v1/projects", headers=orgs.member_b.headers)
    assert [p["id"] for p in listed.json()] == [str(orgs.project_b)]


async def test_defence_in_depth_rest_reads_and_search_return_nothing_of_another_org(
    client: AsyncTestClient[Litestar], orgs: Orgs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server.access, "project_role", _everything_owned)
    outsider = orgs.member_b.headers
    # The application's check is off: the guard lets the outsider through to the handlers
    # (a list answers 200 rather than the guard's 404)...
    listed = await client.get(f"/api/v1/projects/{orgs.project_a}/documents", headers=outsider)
    assert listed.status_code == 200, listed.text
    # ...and the database gives them nothing of A, whatever they read.
    for path in _reads(orgs):
        response = await client.get(path, headers=outsider)
        assert response.status_code in {200, 404}, (path, response.text)
        assert "rosemary" not in response.text, path
        assert str(orgs.document_a) not in response.text, path
        body = response.json()
        if response.status_code == 200:
            assert body in ([], {"items": [], "total": 0}) or not _has_rows(body), (path, body)
    for mode in ("keyword", "vector", "hybrid"):
        response = await _search(client, outsider, orgs.project_a, mode)
        assert response.status_code == 200, response.text
        assert response.json()["hits"] == [], mode
    # The same switch lets A's owner search as before: nothing else changed.
    response = await _search(client, orgs.owner_a.headers, orgs.project_a, "keyword")
    assert SECRET in response.text


def _has_rows(body: Any) -> bool:
    if isinstance(body, list):
        return bool(body)
    if isinstance(body, dict):
        return any(_has_rows(v) for k, v in body.items() if k in {"items", "messages", "hits"})
    return False


async def _join_refused(client: Client, project: UUID, session: UUID) -> dict[str, Any] | int:
    """What a join of ``session`` gets: an error frame's data, or the close code."""
    await client.send(
        "chat:join_session",
        {"project_id": str(project), "session_id": str(session), "after_seq": 0},
        ref="join",
    )
    code: int | None = None
    try:
        while True:
            frame = await client.recv()
            assert SECRET not in json.dumps(frame)
            if frame["event"] == "chat:error":
                return dict(frame["data"])
            assert frame["event"] != "chat:session_joined", frame
    except ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd is not None else None
    assert code is not None
    return code


async def test_websocket_joins_across_organisations_are_refused(
    serve: Callable[..., Any], orgs: Orgs
) -> None:
    served = serve()
    async with open_client(served.ws, orgs.member_b.token) as client:
        assert await _join_refused(client, orgs.project_a, orgs.session_a) == 4403
    # The owner in A joins and recalls the message: the session is there.
    async with open_client(served.ws, orgs.owner_a.token, query=True) as client:
        joined = await client.join(orgs.project_a, orgs.session_a, after_seq=0)
        assert [m["content"] for m in joined["data"]["messages"]] == [SECRET]


async def test_defence_in_depth_chat_recall_returns_nothing_of_another_org(
    serve: Callable[..., Any], orgs: Orgs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server.access, "project_role", _everything_owned)
    served = serve()
    async with open_client(served.ws, orgs.member_b.token, query=True) as client:
        refused = await _join_refused(client, orgs.project_a, orgs.session_a)
    assert refused == {"code": "not_found", "message": "session not found"} or (
        isinstance(refused, dict) and refused.get("code") == "not_found"
    ), refused
    async with httpx.AsyncClient(base_url=served.http, timeout=TIMEOUT) as http:
        response = await http.get(
            f"/api/v1/chat/sessions/{orgs.session_a}/messages", headers=orgs.member_b.headers
        )
    assert "rosemary" not in response.text


async def test_the_database_alone_shows_each_organisation_only_its_rows(
    app: Litestar, orgs: Orgs
) -> None:
    """Straight SQL as the application's role, no application code in between."""
    config = server.access.runtime_of(app).alchemy
    counts: dict[str, list[int]] = {}
    for org_id in (orgs.a, orgs.b, None):
        async with config.get_session() as db:
            if org_id is not None:
                await db.execute(
                    text("SELECT set_config('app.org_id', :org, true)"), {"org": str(org_id)}
                )
            for table in ("projects", "documents", "chunks", "chat_sessions", "chat_messages"):
                found = await db.scalar(text(f"SELECT count(*) FROM {table}"))
                counts.setdefault(table, []).append(int(found or 0))
            secret = await db.scalar(
                text("SELECT count(*) FROM chunks WHERE text LIKE '%rosemary%'")
            )
            counts.setdefault("rosemary", []).append(int(secret or 0))
    # [org A, org B, no organisation]
    assert counts == {
        "projects": [1, 1, 0],
        "documents": [1, 0, 0],
        "chunks": [1, 0, 0],
        "chat_sessions": [1, 0, 0],
        "chat_messages": [1, 0, 0],
        "rosemary": [1, 0, 0],
    }
    # Writing into another organisation is refused by the policy's WITH CHECK.
    async with config.get_session() as db:
        await db.execute(text("SELECT set_config('app.org_id', :org, true)"), {"org": str(orgs.b)})
        with pytest.raises(Exception, match="row-level security"):
            await db.execute(
                text(
                    "INSERT INTO projects (id, org_id, name, template, created_at, updated_at)"
                    " VALUES (gen_random_uuid(), :a, 'x', 'business-plan', now(), now())"
                ),
                {"a": str(orgs.a)},
            )


async def test_a_file_two_organisations_uploaded_outlives_ones_deletion(
    client: AsyncTestClient[Litestar], orgs: Orgs, settings: Settings, db: AsyncSession
) -> None:
    """Files are stored once by hash for the whole server: whether one is still referenced is
    asked across organisations, or deleting A's document would delete B's file."""
    data = b"# Shared\n\nBoth teams uploaded the same notes.\n"
    uploaded = {}
    for account, project in ((orgs.owner_a, orgs.project_a), (orgs.member_b, orgs.project_b)):
        response = await upload(client, account, project, "shared.md", data, "text/markdown")
        assert response.status_code == 202, response.text
        uploaded[account.id] = response.json()
    # Each ingestion job runs in its document's organisation (the job row says which) and
    # completes there.
    for account, org_id in ((orgs.owner_a, orgs.a), (orgs.member_b, orgs.b)):
        document_id = uploaded[account.id]["id"]
        done = await wait_done(client, account, document_id)
        assert done["status"] == "completed", done
        job_org = await db.scalar(select(Job.org_id).where(Job.target_id == UUID(document_id)))
        assert job_org == org_id
    sha256 = uploaded[orgs.owner_a.id]["sha256"]
    path = file_store(settings.app.data_dir).path_for(sha256)
    assert path.exists()
    document_a = uploaded[orgs.owner_a.id]["id"]
    response = await client.delete(f"/api/v1/documents/{document_a}", headers=orgs.owner_a.headers)
    assert response.status_code == 204, response.text
    assert path.exists()
    document_b = uploaded[orgs.member_b.id]["id"]
    response = await client.delete(f"/api/v1/documents/{document_b}", headers=orgs.member_b.headers)
    assert response.status_code == 204, response.text
    assert not path.exists()
