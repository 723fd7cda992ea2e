"""Login and register are limited per IP and per account, in memory or in Redis."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING
from uuid import uuid4

import pytest
from litestar.testing import AsyncTestClient

from server.app import create_app
from server.settings import RedisSettings
from tests.conftest import REDIS_URL, with_auth
from tests.integration.conftest import PASSWORD

if TYPE_CHECKING:
    from server.settings import Settings


def _redis(settings: Settings, url: str | None) -> Settings:
    return replace(settings, redis=RedisSettings(url=url))


@pytest.mark.parametrize("store", ["memory", "redis"])
async def test_login_is_limited_per_account(
    settings: Settings, clean_db: str, make_account, store: str
) -> None:
    settings = with_auth(settings, login_per_account_per_min=2)
    app = create_app(_redis(settings, REDIS_URL if store == "redis" else None), clean_db)
    account = await make_account(f"limited-{uuid4().hex}@example.org")
    other = await make_account()
    async with AsyncTestClient(app=app) as client:
        for _ in range(2):
            ok = await client.post(
                "/api/v1/auth/login", json={"email": account.email, "password": PASSWORD}
            )
            assert ok.status_code == 200, ok.text
        limited = await client.post(
            "/api/v1/auth/login", json={"email": account.email.upper(), "password": PASSWORD}
        )
        assert limited.status_code == 429, limited.text
        assert limited.json()["code"] == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        # Another account from the same IP is not held back by this one's limit.
        r = await client.post(
            "/api/v1/auth/login", json={"email": other.email, "password": PASSWORD}
        )
        assert r.status_code == 200


async def test_register_is_limited_per_ip(settings: Settings, clean_db: str) -> None:
    app = create_app(with_auth(settings, login_per_ip_per_min=2), clean_db)
    async with AsyncTestClient(app=app) as client:
        statuses = [
            (
                await client.post(
                    "/api/v1/auth/register",
                    json={"email": f"u{i}-{uuid4().hex}@example.org", "password": PASSWORD},
                )
            ).status_code
            for i in range(3)
        ]
        assert statuses == [201, 201, 429]
        r = await client.post(
            "/api/v1/auth/register", json={"email": "x@example.org", "password": PASSWORD}
        )
        assert r.headers["retry-after"]


async def test_redis_counts_are_shared_between_app_instances(
    settings: Settings, clean_db: str, make_account
) -> None:
    settings = _redis(with_auth(settings, login_per_account_per_min=1), REDIS_URL)
    account = await make_account(f"shared-{uuid4().hex}@example.org")
    body = {"email": account.email, "password": PASSWORD}
    async with AsyncTestClient(app=create_app(settings, clean_db)) as first:
        assert (await first.post("/api/v1/auth/login", json=body)).status_code == 200
    async with AsyncTestClient(app=create_app(settings, clean_db)) as second:
        assert (await second.post("/api/v1/auth/login", json=body)).status_code == 429
