"""Fixtures: the app served by uvicorn on a free port with chosen CORS origins and ticket lifetime."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from server.app import create_app
from tests.integration.chat.conftest import Served, write_config

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from server.settings import Settings


@pytest.fixture
def serve_web(
    settings: Settings, clean_db: str, tmp_path: Path
) -> Iterator[Callable[..., Served]]:
    """``serve_web(cors_origins=(...), ws_ticket_ttl_s=30)``: the app on a free port."""
    started: list[Served] = []

    def start(cors_origins: tuple[str, ...] = (), **auth: Any) -> Served:
        config = write_config(tmp_path / "config.json")
        app_settings = replace(
            settings,
            app=replace(settings.app, config_path=config, cors_origins=cors_origins),
            auth=replace(settings.auth, **auth),
        )
        served = Served(create_app(app_settings, clean_db)).start()
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()
