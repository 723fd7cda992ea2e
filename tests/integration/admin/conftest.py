"""Admin tests serve the app for real (HTTP and WebSocket), as the chat tests do."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from tests.fakes.fixtures import fake_providers
from tests.integration.chat.conftest import serve

if TYPE_CHECKING:
    from server.settings import Settings

__all__ = ["fake_providers", "serve"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The periodic sweep would re-enqueue the stuck job these tests plant: push it far away."""
    return replace(settings, queue=replace(settings.queue, sweep_interval_s=3600))
