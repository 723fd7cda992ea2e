"""The demo page at ``/`` in a real Chromium, used as a person would: register, create a project,
chat with a streamed reply, reload in the middle of a reply, upload a document, export a PDF."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from uuid import uuid4

from playwright.async_api import expect

from tests.conftest import CORPORA

from .conftest import PASSWORD, shoot

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from playwright.async_api import Locator, Page

    from tests.fakes import FakeProviders
    from tests.integration.chat.conftest import Served

SLOW_REPLY = (
    "Here is a first outline of your vision. "
    + " ".join(
        f"Point {n}: commuters in Lyon need reliable repairs within a day." for n in range(1, 13)
    )
    + " That is the end of the outline."
)


async def register(page: Page, base: str, name: str = "Ada Lovelace") -> str:
    """Open ``/``, create an account and land on the new-project form; returns the email."""
    email = f"ada-{uuid4().hex[:10]}@example.org"
    await page.goto(base + "/")
    await page.get_by_role("tab", name="Create account").click()
    await page.get_by_label("Name", exact=True).fill(name)
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("heading", name="Create a project")).to_be_visible()
    return email


async def create_project(page: Page, name: str) -> None:
    await page.get_by_label("Project name").fill(name)
    await page.get_by_role("button", name="Create project").click()
    await expect(page.locator("#workspace")).to_be_visible()
    await expect(chat(page).locator(".status")).to_have_text("Connected")


def chat(page: Page) -> Locator:
    return page.locator("ua-chat")


async def send(page: Page, text: str) -> None:
    box = chat(page).get_by_label("Message")
    await box.fill(text)
    await box.press("Enter")


async def test_chat_streams_and_a_reload_mid_reply_still_shows_the_finished_reply(
    page: Page, serve_app: Callable[..., Served], fake_providers: FakeProviders
) -> None:
    served = serve_app()
    fake_providers.openai.queue_stream(
        "Welcome! Tell me what your company does, and for whom.", chunk_delay=0.05
    )
    fake_providers.openai.queue_stream(SLOW_REPLY, chunk_delay=0.05)
    await register(page, served.http)
    await create_project(page, "Bicycle workshop")

    await send(page, "We repair and sell bicycles in Lyon, for commuters.")
    streaming = chat(page).locator(".msg.assistant.streaming")
    await expect(streaming).to_be_visible()  # the reply is shown while it streams
    await expect(chat(page).locator(".msg.assistant:not(.streaming)")).to_contain_text(
        "Tell me what your company does"
    )
    await expect(chat(page).locator(".msg.user")).to_have_count(1)

    await send(page, "Our customers are commuters who cannot wait a week for a repair.")
    await expect(streaming).to_contain_text("Point 2")
    await shoot(page, "chat-streaming-light-wide")
    await page.reload()  # in the middle of the reply
    await expect(chat(page).locator(".status")).to_have_text("Connected")
    finished = (
        chat(page)
        .locator(".msg.assistant:not(.streaming)")
        .filter(has_text="That is the end of the outline.")
    )
    await expect(finished).to_have_count(1)
    await expect(finished).to_contain_text(
        "Point 1: commuters in Lyon"
    )  # the whole reply, not a tail
    await expect(chat(page).locator(".msg.user")).to_have_count(2)  # history came back, once
    await expect(chat(page).locator(".msg.assistant")).to_have_count(2)
    await expect(page.locator("#phase-list li").first).to_contain_text("Vision")
    await shoot(page, "chat-after-reload-light-wide")


async def test_upload_shows_progress_to_completed_and_a_pdf_export_downloads(
    page: Page, serve_app: Callable[..., Served]
) -> None:
    served = serve_app()
    await register(page, served.http)
    await create_project(page, "Docs and exports")

    source = CORPORA / "md" / "rust-book_ch03-02-data-types.md"
    await page.locator("#file-input").set_input_files(str(source))
    item = page.locator("#document-list .item").first
    await expect(item).to_contain_text(source.name)
    await expect(item.locator("progress")).to_be_visible()
    await expect(item).to_have_attribute("data-status", "completed", timeout=120_000)
    await expect(item.locator("progress")).to_have_attribute("value", "100")

    await page.get_by_label("Format").select_option("pdf")
    await page.get_by_role("button", name="Export", exact=True).click()
    download_button = page.locator("#export-list").get_by_role("button", name="Download")
    await expect(download_button).to_be_visible(timeout=120_000)
    await shoot(page, "documents-and-export-light-wide")
    async with page.expect_download() as downloading:
        await download_button.click()
    download = await downloading.value
    assert download.suggested_filename.endswith(".pdf")
    path = await download.path()
    assert path.read_bytes().startswith(b"%PDF-")

    await page.get_by_label("Draft").check()
    await page.get_by_role("button", name="Export", exact=True).click()
    draft = page.locator("#export-list .item", has_text="-draft.pdf")
    await expect(draft.get_by_role("button", name="Download")).to_be_visible(timeout=120_000)


async def test_keyboard_only_sign_in_and_dark_narrow_layout(
    page: Page, serve_app: Callable[..., Served]
) -> None:
    served = serve_app()
    email = await register(page, served.http, name="Grace Hopper")
    await create_project(page, "Keyboard project")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name=re.compile("Write your plan"))).to_be_visible()

    await page.get_by_role("tab", name="Sign in").focus()
    await page.keyboard.press("Tab")
    await page.keyboard.type(email)
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(chat(page).locator(".status")).to_have_text("Connected")
    await expect(chat(page).get_by_label("Message")).to_be_focused()  # ready to type
    await page.keyboard.type("Typed without a mouse.")
    await page.keyboard.press("Enter")
    await expect(chat(page).locator(".msg.user")).to_contain_text("Typed without a mouse.")

    await page.get_by_role("button", name=re.compile("Switch to dark theme")).click()
    await expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    await shoot(page, "workspace-dark-wide")
    await page.set_viewport_size({"width": 390, "height": 844})
    await expect(chat(page)).to_be_visible()
    await shoot(page, "workspace-dark-narrow")
    await page.get_by_role("button", name=re.compile("Switch to light theme")).click()
    await shoot(page, "workspace-light-narrow")
    await page.get_by_role("button", name="Sign out").click()
    await shoot(page, "auth-light-narrow")


async def test_a_cited_passage_opens_from_the_reply(
    page: Page, serve_app: Callable[..., Served], tmp_path: Path
) -> None:
    served = serve_app(offline=True)  # the offline provider drafts from the documents and cites
    await register(page, served.http)
    await create_project(page, "Cited")
    notes = tmp_path / "vision.md"
    notes.write_text(
        "# Vision\n\nVelo Lyon repairs commuter bicycles within one day. Our vision is that no "
        "commuter in Lyon waits more than a day for a repair.\n"
    )
    await page.locator("#file-input").set_input_files(str(notes))
    item = page.locator("#document-list .item").first
    await expect(item).to_have_attribute("data-status", "completed", timeout=120_000)

    await send(page, "Hello")  # the assistant opens phase 1 with its first question
    await expect(chat(page).locator(".msg.assistant")).to_have_count(1)
    await send(page, "No commuter in Lyon should wait more than a day for a bicycle repair.")
    await expect(chat(page).locator(".msg.assistant")).to_have_count(2)
    await send(page, "/draft")
    source = chat(page).locator(".source").filter(has_text="vision.md")
    await expect(source).to_be_visible(timeout=60_000)
    await source.click()
    dialog = chat(page).get_by_role("dialog")
    await expect(dialog).to_contain_text("no commuter in Lyon waits more than a day")
    await shoot(page, "citation-passage-light-wide")
    await dialog.get_by_role("button", name="Close").click()
    await expect(dialog).to_be_hidden()
