"""Shared fixtures: one real PostgreSQL (pgserver) for the run, a database per xdist worker,
the schema migrated once, rows removed after each test, and the app under Litestar's test client.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from server.app import create_app
from server.db.embedded import start_embedded
from server.db.migrate import upgrade
from server.settings import AppSettings, AuthSettings, DatabaseSettings, RedisSettings, Settings

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from litestar import Litestar

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"
PG_DIR = Path(f"/tmp/unified-assistant-test-pg-{os.getuid()}")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(scope="session")
def pg_url(worker_id: str) -> Iterator[str]:
    """A freshly migrated database of its own for this xdist worker.

    The embedded server lives in a fixed folder outside pytest's rotating temp dirs (another run's
    clean-up must not delete it); each run and worker gets its own database, dropped at the end.
    """
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", uuid.uuid4().hex)[:8]
    name = f"test_{run}_{worker_id}"
    PG_DIR.mkdir(parents=True, exist_ok=True)
    admin_url = start_embedded(PG_DIR, "postgres")

    async def admin(*statements: str) -> None:
        engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
        await engine.dispose()

    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    asyncio.run(admin(drop, f'CREATE DATABASE "{name}"'))
    url = admin_url.replace("/postgres?", f"/{name}?", 1)
    upgrade(url)
    yield url
    asyncio.run(admin(drop))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for one test: its own DATA_DIR, the repository's config.json, memory stores."""
    return Settings(
        app=AppSettings(
            host="127.0.0.1",
            port=0,
            data_dir=tmp_path,
            config_path=ROOT / "config.json",
            secret_key="test-secret-key-" + "x" * 32,
            debug=False,
        ),
        db=DatabaseSettings(url=None, pool_size=10),
        redis=RedisSettings(url=None),
        auth=AuthSettings(
            access_ttl_s=900,
            refresh_ttl_s=3600,
            invitation_ttl_s=3600,
            login_per_ip_per_min=1000,
            login_per_account_per_min=1000,
        ),
    )


@pytest.fixture
async def clean_db(pg_url: str) -> AsyncIterator[str]:
    """The worker's database, emptied of rows after the test."""
    yield pg_url
    engine = create_async_engine(pg_url)
    async with engine.begin() as conn:
        tables = (
            await conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            )
        ).scalars()
        names = ", ".join(f'"{t}"' for t in tables)
        if names:
            await conn.execute(text(f"TRUNCATE {names} CASCADE"))
    await engine.dispose()


@pytest.fixture
def app(settings: Settings, clean_db: str) -> Litestar:
    """The app on the worker's database."""
    return create_app(settings, clean_db)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """HTTP client running the app's lifespan."""
    async with AsyncTestClient(app=app) as client:
        yield client


def with_auth(settings: Settings, **changes: int) -> Settings:
    """``settings`` with some auth settings changed."""
    return replace(settings, auth=replace(settings.auth, **changes))
