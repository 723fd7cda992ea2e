"""CORS on REST: an origin listed in ``CORS_ORIGINS`` may call the API from a browser, others not;
with the list empty the server sends no CORS headers at all (same origin only)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from litestar.testing import AsyncTestClient

from server.app import create_app

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from litestar import Litestar

    from server.settings import Settings
    from tests.integration.conftest import Account

ALLOWED = "https://widget.example.org"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


def _app(settings: Settings, db_url: str, *origins: str) -> Litestar:
    return create_app(replace(settings, app=replace(settings.app, cors_origins=origins)), db_url)


async def test_preflight_from_a_listed_origin_is_allowed(settings: Settings, clean_db: str) -> None:
    async with AsyncTestClient(_app(settings, clean_db, ALLOWED)) as client:
        response = await client.options(
            "/api/v1/auth/login", headers={"Origin": ALLOWED, **PREFLIGHT}
        )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed_headers = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed_headers
    assert "content-type" in allowed_headers


async def test_preflight_from_another_origin_is_refused(settings: Settings, clean_db: str) -> None:
    async with AsyncTestClient(_app(settings, clean_db, ALLOWED)) as client:
        response = await client.options(
            "/api/v1/auth/login", headers={"Origin": "https://evil.example.com", **PREFLIGHT}
        )
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


async def test_a_listed_origin_reads_responses_and_another_does_not(
    settings: Settings, clean_db: str, make_account: Callable[..., Awaitable[Account]]
) -> None:
    account = await make_account()
    async with AsyncTestClient(_app(settings, clean_db, ALLOWED)) as client:
        mine = await client.get("/api/v1/auth/me", headers={"Origin": ALLOWED, **account.headers})
        theirs = await client.get(
            "/api/v1/auth/me", headers={"Origin": "https://evil.example.com", **account.headers}
        )
    assert mine.status_code == 200
    assert mine.headers["access-control-allow-origin"] == ALLOWED
    assert "x-request-id" in mine.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-origin" not in theirs.headers


async def test_no_cors_origins_means_no_cors_headers(settings: Settings, clean_db: str) -> None:
    async with AsyncTestClient(_app(settings, clean_db)) as client:
        preflight = await client.options(
            "/api/v1/auth/login", headers={"Origin": ALLOWED, **PREFLIGHT}
        )
        health = await client.get("/health", headers={"Origin": ALLOWED})
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in health.headers


async def test_the_widget_and_client_files_are_loadable_from_any_page(
    settings: Settings, clean_db: str
) -> None:
    async with AsyncTestClient(_app(settings, clean_db, ALLOWED)) as client:
        widget = await client.get("/widget/ua-chat.js", headers={"Origin": "https://a.example"})
        module = await client.get("/client/index.js", headers={"Origin": ALLOWED})
        page = await client.get("/")
    assert widget.status_code == 200
    assert widget.headers["content-type"].startswith("text/javascript")
    assert widget.headers["access-control-allow-origin"] == "*"
    assert module.status_code == 200
    assert module.headers["access-control-allow-origin"] == ALLOWED
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<ua-chat" in page.text
