"""Browser tests: Debian's Chromium driven by Playwright (no browser download), the app served by
uvicorn on a free port with its AI provider played by the fake OpenAI server (so a reply streams
slowly enough to reload the page in the middle of it), and static pages on other origins.

Screenshots go to ``var/e2e-screenshots/`` (or ``E2E_SCREENSHOTS``) for a person to look at.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import replace
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from server.app import create_app
from tests.conftest import ROOT
from tests.fakes.fixtures import fake_providers
from tests.integration.chat.conftest import Served, free_port

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator

    from server.settings import Settings
    from tests.fakes import FakeProviders

__all__ = ["fake_providers"]

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(os.environ.get("E2E_SCREENSHOTS", ROOT / "var" / "e2e-screenshots"))
TIMEOUT_MS = 30_000
PASSWORD = "correct horse battery staple"
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One headless Chromium for the session (Playwright's async API, on the tests' own loop)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield browser
        await browser.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh browser context (its own storage) and page, wide and light."""
    context = await browser.new_context(
        viewport={"width": 1400, "height": 900}, color_scheme="light", accept_downloads=True
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    await context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


async def shoot(page: Page, name: str) -> Path:
    """Save a screenshot of the whole page as ``<name>.png``."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


def app_config(path: Path, fake: FakeProviders) -> Path:
    """The repository's config.json (its workflow) with the chat answered by the fake OpenAI."""
    config: dict[str, Any] = json.loads((ROOT / "config.json").read_text())
    config["providers"] = fake.providers_section(timeout_s=30)
    config["profiles"] = {"e2e": {"chain": [{"provider": "openai", "model": "gpt-4o"}]}}
    config["active_profile"] = "e2e"
    path.write_text(json.dumps(config))
    return path


@pytest.fixture
def serve_app(
    settings: Settings,
    clean_db: str,
    tmp_path: Path,
    fake_providers: FakeProviders,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[..., Served]]:
    """``serve_app(cors_origins=(...), offline=False)``: the whole app on a free port, answered
    by the fake OpenAI server, or (``offline``) by the repository's config as is, whose only
    provider without a key is the offline ``local`` one."""
    started: list[Served] = []

    def start(cors_origins: tuple[str, ...] = (), *, offline: bool = False) -> Served:
        if offline:
            for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
                monkeypatch.delenv(key, raising=False)
            config = ROOT / "config.json"
        else:
            monkeypatch.setenv("OPENAI_API_KEY", "sk-e2e")
            config = app_config(tmp_path / "config.json", fake_providers)
        app_settings = replace(
            settings,
            app=replace(settings.app, config_path=config, cors_origins=cors_origins),
        )
        served = Served(create_app(app_settings, clean_db)).start()
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


class StaticSite:
    """A plain web server for one folder, on its own port: another origin than the app's."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        handler = partial(_QuietHandler, directory=str(folder))
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def static_site(tmp_path: Path) -> Iterator[Callable[[str], StaticSite]]:
    """``static_site(html)``: serve one ``index.html`` from a new origin."""
    sites: list[StaticSite] = []

    def start(html: str) -> StaticSite:
        folder = tmp_path / f"site-{len(sites)}"
        folder.mkdir()
        (folder / "index.html").write_text(html)
        site = StaticSite(folder)
        sites.append(site)
        return site

    yield start
    for site in sites:
        site.stop()
