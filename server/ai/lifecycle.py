"""The config store's part in the app's life: its watch, and the providers' /status check."""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.observability import Check

if TYPE_CHECKING:
    from server.runtime import StatusCheck

    from .config import ConfigStore


def providers_check(store: ConfigStore) -> StatusCheck:
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
