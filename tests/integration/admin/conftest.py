"""Admin tests serve the app for real (HTTP and WebSocket), as the chat tests do."""

from __future__ import annotations

from tests.fakes.fixtures import fake_providers
from tests.integration.chat.conftest import serve

__all__ = ["fake_providers", "serve"]
