"""Fixtures for the AI endpoints: a config.json of the test's own, an admin and a user."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import ROOT

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    from server.settings import Settings
    from tests.integration.conftest import Account

KEY_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY")
NOTES = {"owner": "ops team", "reviewed": "2026-11-01"}
"""A top-level section no component reads: rewriting the file must keep it."""


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    """A copy of the repository's config.json, with a section of notes, in the test's dir."""
    path = tmp_path / "config" / "config.json"
    path.parent.mkdir()
    shutil.copy(ROOT / "config.json", path)
    raw = json.loads(path.read_text())
    raw["notes"] = NOTES
    path.write_text(json.dumps(raw, indent=2))
    return path


@pytest.fixture
def settings(settings: Settings, config_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The shared settings on the test's own config.json, with no provider key set."""
    for name in KEY_VARS:
        monkeypatch.delenv(name, raising=False)
    return replace(settings, app=replace(settings.app, config_path=config_path))


def write_config(path: Path, raw: dict[str, Any] | str) -> None:
    """Replace config.json the way an editor saving it would."""
    path.write_text(raw if isinstance(raw, str) else json.dumps(raw, indent=2))


@pytest.fixture
async def admin(make_account: Callable[..., Awaitable[Account]]) -> Account:
    """An administrator."""
    return await make_account("admin@example.org", role="admin")


@pytest.fixture
async def member(make_account: Callable[..., Awaitable[Account]]) -> Account:
    """An ordinary user."""
    return await make_account("user@example.org")
