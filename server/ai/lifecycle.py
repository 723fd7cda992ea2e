"""Wiring into the app: the config store in ``app.state``, its watch, and the /status check."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server.system.controllers import Check

from .config import ConfigStore
from .prompts import validate_prompts

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from litestar import Litestar

    from server.settings import Settings


def ai_state(settings: Settings) -> dict[str, Any]:
    """``app.state`` entries: ``config_store``, ``router`` (one per app) and ``registry``.

    Loads config.json now, so a bad file stops start-up with a ``ConfigError`` naming the
    setting. ``registry`` follows reloads; ``router`` is the same object for the app's life.
    """
    store = ConfigStore(settings.app.config_path)
    store.add_validator(validate_prompts)
    return {"config_store": store, "router": store.router, "registry": store.registry}


def providers_check(store: ConfigStore) -> Callable[[], Awaitable[Check]]:
    """The /status check of providers: never an error, since ``local`` always answers."""

    async def check() -> Check:
        registry = store.registry
        parts = [f"profile {store.config.active_profile}", f"available: {', '.join(registry.chat)}"]
        if registry.skipped:
            skipped = "; ".join(f"{name} ({why})" for name, why in registry.skipped.items())
            parts.append(f"skipped: {skipped}")
        cooling = store.router.cooldowns()
        if cooling:
            parts.append("cooling down: " + ", ".join(f"{n} {s:.0f}s" for n, s in cooling.items()))
        if store.last_error:
            parts.append(f"config.json rejected, previous in force: {store.last_error}")
        return Check("ok", detail=" | ".join(parts))

    return check


async def start_config_watch(app: Litestar) -> None:
    """Start-up hook: watch config.json, keep ``app.state.registry`` current, add the check."""
    store: ConfigStore = app.state.config_store

    def follow(changed: ConfigStore) -> None:
        app.state.registry = changed.registry

    store.add_listener(follow)
    app.state.status_checks["providers"] = providers_check(store)
    await store.start()


async def stop_config_watch(app: Litestar) -> None:
    """Shutdown hook: stop watching and close the provider clients."""
    await app.state.config_store.stop()
