"""``<ua-chat>`` embedded in a page served from another origin: it works from an origin listed in
``CORS_ORIGINS`` and is refused, with a message a person understands, from any other."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from uuid import uuid4

import httpx
from playwright.async_api import expect

from .conftest import PASSWORD, shoot

if TYPE_CHECKING:
    from collections.abc import Callable

    from playwright.async_api import Page

    from tests.integration.chat.conftest import Served

    from .conftest import StaticSite

EMBED_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bike shop</title>
<style>
  body {{ font-family: Georgia, serif; margin: 0; background: #fbf7f0; color: #2b2118; }}
  header {{ padding: 24px 32px; background: #2b2118; color: #fbf7f0; }}
  main {{ display: grid; grid-template-columns: 1fr 420px; gap: 32px; padding: 32px; }}
  ua-chat {{ --ua-accent: #0a7d5a; --ua-radius: 6px; --ua-height: 560px; }}
</style>
<script>
  window.shopTokens = () => ({tokens});
</script>
<script type="module" src="{server}/widget/ua-chat.js"></script>
</head><body>
<header><h1>Vélo Lyon</h1><p>Repairs within a day.</p></header>
<main>
  <article><h2>Our business plan</h2><p>Ask our assistant to help you write it.</p></article>
  <ua-chat server="{server}" project="{project}" auth="shopTokens" heading="Plan assistant"
           theme="light"></ua-chat>
</main>
</body></html>
"""


async def _account_with_project(base: str) -> tuple[dict[str, object], str]:
    email = f"shop-{uuid4().hex[:10]}@example.org"
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        await http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        login = await http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        tokens = login.json()
        project = await http.post(
            "/api/v1/projects",
            json={"name": "Vélo Lyon"},
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
    return tokens, project.json()["id"]


async def test_the_widget_works_on_a_listed_origin_and_is_refused_elsewhere(
    page: Page,
    serve_app: Callable[..., Served],
    static_site: Callable[[str], StaticSite],
) -> None:
    listed = static_site("placeholder")
    unlisted = static_site("placeholder")
    served = serve_app(cors_origins=(listed.origin,))
    tokens, project = await _account_with_project(served.http)
    html = EMBED_PAGE.format(server=served.http, tokens=json.dumps(tokens), project=project)
    for site in (listed, unlisted):
        (site.folder / "index.html").write_text(html)

    await page.goto(listed.origin + "/")
    widget = page.locator("ua-chat")
    await expect(widget.locator(".status")).to_have_text("Connected")
    box = widget.get_by_label("Message")
    await box.fill("We repair bicycles for commuters in Lyon.")
    await box.press("Enter")
    await expect(widget.locator(".msg.user")).to_contain_text("We repair bicycles")
    await expect(widget.locator(".msg.assistant:not(.streaming)")).to_have_count(1)
    await shoot(page, "widget-on-listed-origin")

    await page.goto(unlisted.origin + "/")
    notice = widget.get_by_role("alert")
    await expect(notice).to_contain_text("CORS_ORIGINS")
    await expect(widget.get_by_label("Message")).to_be_disabled()
    await expect(widget.locator(".msg")).to_have_count(0)
    await shoot(page, "widget-on-unlisted-origin")
