"""Two people on the demo page in one project: the invited one lands in the project's latest
conversation, and each sees the other typing and writing."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

import httpx
from playwright.async_api import expect

from .conftest import shoot
from .test_demo_page import chat, create_project, register, send

if TYPE_CHECKING:
    from collections.abc import Callable

    from playwright.async_api import Browser, Page

    from tests.integration.chat.conftest import Served


async def test_a_collaborator_joins_the_conversation_and_is_seen_typing(
    page: Page, browser: Browser, serve_app: Callable[..., Served]
) -> None:
    served = serve_app()
    await register(page, served.http, name="Ada")
    await create_project(page, "Shared plan")
    await send(page, "We repair bicycles for commuters in Lyon.")
    await expect(chat(page).locator(".msg.assistant:not(.streaming)")).to_have_count(1)

    tokens = json.loads(await page.evaluate("localStorage.getItem('ua.tokens')"))
    project = json.loads(await page.evaluate("localStorage.getItem('ua.project')"))
    async with httpx.AsyncClient(base_url=served.http) as http:
        invitation = await http.post(
            f"/api/v1/projects/{project}/invitations",
            json={"role": "editor"},
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
    invitation_token = invitation.json()["token"]

    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    grace = await context.new_page()
    try:
        grace_email = await register(grace, served.http, name="Grace")
        grace_tokens = json.loads(await grace.evaluate("localStorage.getItem('ua.tokens')"))
        async with httpx.AsyncClient(base_url=served.http) as http:
            accepted = await http.post(
                "/api/v1/invitations/accept",
                json={"token": invitation_token},
                headers={"Authorization": f"Bearer {grace_tokens['access_token']}"},
            )
            assert accepted.status_code == 200, grace_email
        # The project is in Ada's organisation: Grace switches to it in the page.
        await grace.reload()
        await grace.locator("#org-select").select_option(accepted.json()["org_id"])
        await expect(chat(grace).locator(".status")).to_have_text("Connected")
        await shoot(grace, "collaborator-switched-organisation-light-wide")
        await expect(chat(grace).locator(".status")).to_have_text("Connected")
        await expect(chat(grace).locator(".msg.user")).to_contain_text("We repair bicycles")
        session = await chat(page).get_attribute("session")
        await expect(chat(grace)).to_have_attribute("session", session or "")

        box = chat(grace).get_by_label("Message")
        typing = asyncio.create_task(box.press_sequentially("Our prices are posted", delay=300))
        await expect(chat(page).locator(".typing")).to_have_text("Grace is typing…")
        await shoot(page, "collaborator-typing-light-wide")
        await typing
        await box.press("Enter")
        mine = chat(page).locator(".msg.user").filter(has_text="Our prices are posted")
        await expect(mine).to_have_count(1)
        await expect(mine.locator(".who")).to_have_text("Grace")
        await expect(chat(page).locator(".typing")).not_to_contain_text("Grace")
    finally:
        await context.close()
