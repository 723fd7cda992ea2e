"""``GET /api/v1/admin/diagnostics`` after planting a stuck job and an orphan file, with a
WebSocket open in a session and a provider failing into its cool-down."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import uuid4

import httpx
import pytest

from server.db.models import Job
from tests.integration.chat.conftest import open_client

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    from server.settings import Settings
    from tests.fakes.provider_server import FakeProviders
    from tests.integration.chat.conftest import Served
    from tests.integration.conftest import Account

DOCUMENT = b"# Ledgerly\n\nLedgerly sells bookkeeping to bakeries in Lyon.\n"


def _config(path: Path, fakes: FakeProviders) -> Path:
    """The fake OpenAI first, the local provider as fallback; one failure starts a cool-down."""
    config = {
        "providers": {**fakes.providers_section(), "local": {"type": "local"}},
        "profiles": {
            "chat": {
                "chain": [{"provider": "openai", "model": "gpt-4o"}, {"provider": "local"}],
                "max_tokens": 256,
            }
        },
        "active_profile": "chat",
        "embeddings": {"provider": "local", "model": "wordllama-l2_supercat", "dimensions": 256},
        "routing": {"attempts": 1, "cooldown_after": 1, "cooldown_s": 600},
    }
    path.write_text(json.dumps(config))
    return path


async def _wait_completed(http: httpx.AsyncClient, account: Account, document_id: str) -> None:
    for _ in range(600):
        r = await http.get(f"/api/v1/documents/{document_id}", headers=account.headers)
        if r.json()["status"] in {"completed", "failed"}:
            assert r.json()["status"] == "completed", r.text
            return
        await http.get("/health")
    pytest.fail("the document was not indexed")


async def test_diagnostics_show_a_stuck_job_an_orphan_a_socket_and_a_cooling_provider(
    serve: Callable[..., Served],
    settings: Settings,
    db: AsyncSession,
    tmp_path: Path,
    fake_providers: FakeProviders,
    monkeypatch: pytest.MonkeyPatch,
    make_account: Callable[..., Awaitable[Account]],
    make_project: Callable[..., Awaitable[UUID]],
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    fake_providers.endpoint("openai").queue_error(500)
    served = serve(config=_config(tmp_path / "config.json", fake_providers))
    admin = await make_account(role="admin")
    owner = await make_account()
    project_id = await make_project({owner.id: "owner"})

    # A job whose lease ran out ten minutes ago, and a file no document refers to.
    stuck = Job(
        kind="render_export",
        target_id=uuid4(),
        status="running",
        attempts=1,
        deadline_at=datetime.now(UTC) - timedelta(minutes=10),
        started_at=datetime.now(UTC) - timedelta(minutes=25),
    )
    db.add(stuck)
    await db.commit()
    orphan = hashlib.sha256(b"left behind").hexdigest()
    path = settings.app.data_dir / "files" / orphan[:2] / orphan
    path.parent.mkdir(parents=True)
    path.write_bytes(b"left behind")

    async with httpx.AsyncClient(base_url=served.http, timeout=30) as http:
        r = await http.post(
            "/api/v1/documents",
            headers=owner.headers,
            data={"project_id": str(project_id)},
            files={"file": ("ledgerly.md", DOCUMENT, "text/markdown")},
        )
        assert r.status_code == 202, r.text
        await _wait_completed(http, owner, r.json()["id"])

        async with open_client(served.ws, owner.token) as client:
            created = await client.join(project_id)
            session_id = created["data"]["session"]["id"]
            await client.send(
                "chat:send_message",
                {"content": "Who are our customers?", "client_message_id": "d1"},
            )
            frames = await client.until_reply()
            assert frames[-1]["data"]["message"]["provider"] == "local", frames[-1]

            refused = await http.get("/api/v1/admin/diagnostics", headers=owner.headers)
            assert refused.status_code == 403
            r = await http.get("/api/v1/admin/diagnostics", headers=admin.headers)
            assert r.status_code == 200, r.text
            report: dict[str, Any] = r.json()

        # After the socket closed, the instance counts it no more.
        after = (await http.get("/api/v1/admin/diagnostics", headers=admin.headers)).json()

    [planted] = [j for j in report["stuck_jobs"] if j["id"] == str(stuck.id)]
    assert planted["status"] == "running"
    assert planted["overdue_s"] >= 600
    # The reply was stored: no turn is owed, none was interrupted.
    assert report["chat_turns"] == {
        "waiting": 0,
        "answering": 0,
        "expired": 0,
        "oldest_at": None,
        "interrupted_in_window": 0,
    }
    kinds = {q["kind"]: q for q in report["queue"]}
    assert kinds["render_export"]["running"] >= 1
    assert kinds["ingest_document"]["queued"] == 0

    assert report["orphans"]["files_without_document"] == [orphan]
    assert report["orphans"]["documents_without_file"] == []
    assert report["documents_by_status"] == {"completed": 1}

    embeddings = report["embeddings"]
    assert embeddings["configured_space"] == "local/wordllama-l2_supercat/256"
    assert embeddings["foreign_chunks"] == 0
    assert embeddings["mixed_projects"] == 0
    [space] = [s for s in embeddings["spaces"] if s["configured"]]
    assert space["chunks"] >= 1
    [index] = [i for i in report["hnsw_indexes"] if i["space"] == space["space"]]
    assert index["size_bytes"] > 0

    instance = report["instance"]
    assert instance["websocket_connections"] == 1
    assert instance["sessions"] == 1
    assert instance["users"] == 1
    assert session_id
    assert after["instance"]["websocket_connections"] == 0
    assert report["instances"] == [instance]  # without Redis, only the answering instance

    providers = {p["provider"]: p for p in report["providers"]}
    assert providers["openai"]["cooldown_s"] > 0
    assert providers["openai"]["failed"] >= 1
    assert providers["openai"]["error_rate"] > 0
    assert sum(providers["openai"]["errors_by_kind"].values()) == providers["openai"]["failed"]
    assert providers["local"]["failed"] == 0
    assert providers["local"]["calls"] >= 1

    pool = report["database_pool"]
    assert pool["size"] >= 1
    assert pool["checked_out"] >= 1  # the request's own session holds one


async def test_status_stays_a_cheap_probe(serve: Callable[..., Served]) -> None:
    served = serve()
    async with httpx.AsyncClient(base_url=served.http, timeout=30) as http:
        body = (await http.get("/status")).json()
    assert set(body) == {"status", "checks"}
    assert not {"stuck_jobs", "orphans", "queue"} & set(body["checks"])
