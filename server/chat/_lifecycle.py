"""Wiring into the app: ``app.state`` entries and the start-up/shutdown hooks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._service import ChatService
from ._settings import ChatSettings
from .planner import MemoryPlanner

if TYPE_CHECKING:
    from litestar import Litestar


async def start_chat(app: Litestar) -> None:
    """Start-up hook: ``app.state.chat`` (limits from the environment unless already set),
    ``app.state.planner`` (a ``MemoryPlanner`` unless another planner was installed), and the
    reply engine's listener for ``chat:stop``."""
    state = app.state
    settings = getattr(state, "chat_settings", None) or ChatSettings.from_env()
    state.chat_settings = settings
    if getattr(state, "planner", None) is None:
        store = state.config_store
        state.planner = MemoryPlanner(settings, app.state.registry.embedder, lambda: store.raw)
    state.chat = ChatService(state, settings)
    await state.chat.engine.start()


async def stop_chat(app: Litestar) -> None:
    """Shutdown hook: let replies in progress finish, briefly, then stop."""
    chat: ChatService | None = getattr(app.state, "chat", None)
    if chat is not None:
        await chat.engine.close()
