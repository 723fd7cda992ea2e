"""Fixtures: the app served by uvicorn on a free port, with chosen CORS origins and auth."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from server.app import create_app
from tests.integration.chat.conftest import Served

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from server.settings import Settings


@pytest.fixture
def serve_web(settings: Settings, clean_db: str) -> Iterator[Callable[..., Served]]:
    """``serve_web(cors_origins=(...), **auth_settings)``: the app (the repository's config.json,
    so the offline provider answers) on a free port."""
    started: list[Served] = []

    def start(cors_origins: tuple[str, ...] = (), **auth: Any) -> Served:
        app_settings = replace(
            settings,
            app=replace(settings.app, cors_origins=cors_origins),
            auth=replace(settings.auth, **auth),
        )
        served = Served(create_app(app_settings, clean_db)).start()
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()
