"""Who may see exports, downloads before they are ready and after they expire, live updates."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import websockets
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from server.app import create_app
from server.db.models import Export
from server.queue import PERIODIC_TARGET, enqueue
from tests.integration.chat.conftest import Served
from tests.integration.exports.test_exports_api import wait_done

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from uuid import UUID

    from litestar import Litestar
    from sqlalchemy.ext.asyncio import AsyncSession

    from server.settings import Settings
    from tests.integration.conftest import Account


async def test_only_members_see_and_download_exports(
    client: AsyncTestClient[Litestar],
    make_account: Callable[..., Awaitable[Account]],
    make_plan: Callable[[UUID], Awaitable[UUID]],
) -> None:
    owner, stranger = await make_account(), await make_account()
    project_id = await make_plan(owner.id)
    created = await client.post(
        f"/api/v1/projects/{project_id}/exports", json={"format": "md"}, headers=owner.headers
    )
    done = await wait_done(client, created.json()["id"], owner.headers)
    for path in (f"/api/v1/exports/{done['id']}", done["download_url"]):
        response = await client.get(path, headers=stranger.headers)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        assert (await client.get(path)).status_code == 401
    response = await client.post(
        f"/api/v1/projects/{project_id}/exports", json={"format": "md"}, headers=stranger.headers
    )
    assert response.status_code == 404
    listed = await client.get(f"/api/v1/projects/{project_id}/exports", headers=owner.headers)
    assert [e["id"] for e in listed.json()] == [done["id"]]


async def test_unknown_format_is_rejected(
    client: AsyncTestClient[Litestar],
    make_account: Callable[..., Awaitable[Account]],
    make_plan: Callable[[UUID], Awaitable[UUID]],
) -> None:
    owner = await make_account()
    project_id = await make_plan(owner.id)
    response = await client.post(
        f"/api/v1/projects/{project_id}/exports", json={"format": "rtf"}, headers=owner.headers
    )
    assert response.status_code in (400, 422)


async def test_download_before_ready_is_a_conflict(
    client: AsyncTestClient[Litestar],
    make_account: Callable[..., Awaitable[Account]],
    make_plan: Callable[[UUID], Awaitable[UUID]],
    db: AsyncSession,
) -> None:
    owner = await make_account()
    project_id = await make_plan(owner.id)
    export = Export(project_id=project_id, format="pdf", status="running")
    db.add(export)
    await db.commit()
    response = await client.get(f"/api/v1/exports/{export.id}/download", headers=owner.headers)
    assert response.status_code == 409


async def test_expired_export_file_is_deleted_and_gone(
    settings: Settings,
    clean_db: str,
    make_account: Callable[..., Awaitable[Account]],
    make_plan: Callable[[UUID], Awaitable[UUID]],
    db: AsyncSession,
) -> None:
    quick = replace(settings, queue=replace(settings.queue, sweep_interval_s=1, queued_grace_s=1))
    app = create_app(quick, clean_db)
    owner = await make_account()
    project_id = await make_plan(owner.id)
    async with AsyncTestClient(app=app) as client:
        created = await client.post(
            f"/api/v1/projects/{project_id}/exports", json={"format": "json"}, headers=owner.headers
        )
        done = await wait_done(client, created.json()["id"], owner.headers)
        stored = await db.scalar(select(Export).where(Export.id == done["id"]))
        assert stored is not None
        assert stored.storage_path is not None
        path = settings.app.data_dir / stored.storage_path
        assert path.is_file()
        stored.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        # A job written outside the app's engine is never sent; once its grace has passed
        # (made so here) the app's sweep sends it.
        job = await enqueue(db, "expire_exports", PERIODIC_TARGET)
        job.deadline_at = datetime.now(UTC) - timedelta(seconds=1)
        await db.commit()
        for _ in range(200):
            body = (await client.get(f"/api/v1/exports/{done['id']}", headers=owner.headers)).json()
            if body["status"] == "expired":
                break
            await asyncio.sleep(0.05)
        assert body["status"] == "expired"
        assert not path.exists()
        response = await client.get(done["download_url"], headers=owner.headers)
        assert response.status_code == 410
        assert response.json()["code"] == "gone"


async def test_export_updates_reach_the_projects_websocket_clients(
    settings: Settings,
    clean_db: str,
    make_account: Callable[..., Awaitable[Account]],
    make_plan: Callable[[UUID], Awaitable[UUID]],
) -> None:
    owner = await make_account()
    project_id = await make_plan(owner.id)
    served = Served(create_app(settings, clean_db)).start()
    try:
        async with websockets.connect(f"{served.ws}?token={owner.token}") as ws:
            await ws.send(
                json.dumps({"event": "chat:join_session", "data": {"project_id": str(project_id)}})
            )
            while (
                json.loads(await asyncio.wait_for(ws.recv(), 10))["event"] != "chat:session_created"
            ):
                pass
            async with httpx.AsyncClient(base_url=served.http) as http:
                created = await http.post(
                    f"/api/v1/projects/{project_id}/exports",
                    json={"format": "pdf"},
                    headers=owner.headers,
                )
            assert created.status_code == 202
            statuses: list[str] = []
            while not statuses or statuses[-1] not in ("completed", "failed"):
                frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if frame["event"] == "export:updated":
                    assert frame["data"]["export"]["id"] == created.json()["id"]
                    statuses.append(frame["data"]["export"]["status"])
    finally:
        served.stop()
    assert statuses[-1] == "completed"
    assert "running" in statuses
    assert [s for s in statuses if s != "queued"] == ["running", "completed"]
