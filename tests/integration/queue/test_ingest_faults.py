"""A worker process of ``dramatiq tasks`` killed with SIGKILL in the middle of an ingest: its
job's lease runs out, the sweep sends the job again, and another worker indexes the document
within a minute. Real Redis, real worker processes, a real file from the shared corpora, and an
embedding provider (the fake OpenAI server) slow enough to be caught mid-way."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from server.app import create_app
from server.db.models import Job
from tests.conftest import REDIS_URL
from tests.fakes.fixtures import fake_providers
from tests.integration.documents.conftest import corpus, upload
from tests.integration.queue.conftest import queue_settings

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from uuid import UUID

    import pytest
    from litestar import Litestar
    from sqlalchemy.ext.asyncio import AsyncSession

    from server.settings import Settings
    from tests.fakes import FakeProviders
    from tests.integration.conftest import Account
    from tests.integration.queue.conftest import Workers

__all__ = ["fake_providers"]

RETRIED_WITHIN_S = 60
HANG_S = 600.0


def _children(pid: int) -> list[int]:
    """The processes ``pid`` started (Linux ``/proc``)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in children.split()]


async def _document(
    client: AsyncTestClient[Litestar], account: Account, document_id: str
) -> dict[str, Any]:
    response = await client.get(f"/api/v1/documents/{document_id}", headers=account.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_worker_killed_mid_ingest_is_retried_within_a_minute(
    settings: Settings,
    clean_db: str,
    fake_providers: FakeProviders,
    workers: Callable[[Settings], Workers],
    make_account: Callable[..., Awaitable[Account]],
    make_project: Callable[..., Awaitable[UUID]],
    db: AsyncSession,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    redis.Redis.from_url(REDIS_URL).ping()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    config = json.loads(settings.app.config_path.read_text())
    config["providers"] = fake_providers.providers_section(timeout_s=HANG_S)
    config["embeddings"] = {
        "provider": "openai",
        "model": "text-embedding-3-small",
        "dimensions": 64,
    }
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    app_settings = queue_settings(settings, REDIS_URL)
    app_settings = replace(app_settings, app=replace(app_settings.app, config_path=config_path))
    app = create_app(app_settings, clean_db)
    # Workers with the default lease and sweep interval: the retry is the product's, not a
    # test setting's.
    group = workers(app_settings)
    env = {"ASSISTANT_CONFIG": str(config_path), "OPENAI_API_KEY": "sk-test"}
    env |= {"QUEUE_SWEEP_INTERVAL": "10"}
    fake_providers.openai.embed_delay = HANG_S
    doomed = group.start(dramatiq=True, **env)
    owner = await make_account()
    project = await make_project({owner.id: "owner"})

    async with AsyncTestClient(app=app) as client:
        created = await upload(
            client,
            owner,
            project,
            "openai-python_README.md",
            corpus("md", "openai-python_README.md"),
        )
        assert created.status_code == 202, created.text
        document_id = created.json()["id"]
        deadline = time.monotonic() + 120
        while not any(r.path.endswith("/embeddings") for r in fake_providers.openai.requests):
            assert time.monotonic() < deadline, "the worker never started embedding"
            await asyncio.sleep(0.1)
        assert (await _document(client, owner, document_id))["status"] == "processing"

        # Dramatiq's main process only supervises: the job runs in its worker process.
        (worker_process,) = _children(doomed.pid)
        os.kill(worker_process, signal.SIGKILL)
        doomed.wait(timeout=60)  # it sees its worker die and stops
        killed_at = time.monotonic()
        fake_providers.openai.embed_delay = 0.0
        group.start(dramatiq=True, **env)

        while (body := await _document(client, owner, document_id))["status"] == "processing":
            assert time.monotonic() - killed_at < RETRIED_WITHIN_S, body
            await asyncio.sleep(0.2)
        assert body["status"] == "completed", body
        chunks = await client.get(f"/api/v1/documents/{document_id}/chunks", headers=owner.headers)
        assert chunks.status_code == 200, chunks.text

    db.expire_all()
    job = await db.scalar(select(Job).where(Job.target_id == document_id))
    assert job is not None
    assert (job.status, job.attempts) == ("completed", 2)
