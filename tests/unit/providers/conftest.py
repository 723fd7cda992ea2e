from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from providers import Registry, Router, build_registry, parse_config
from tests.fakes.fixtures import fake_providers

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tests.fakes import FakeProviders

__all__ = ["fake_providers"]

CORPORA = Path(__file__).resolve().parents[3] / ".." / "shared" / "corpora"
KEYS = {"OPENAI_API_KEY": "sk-test", "ANTHROPIC_API_KEY": "ak-test", "GEMINI_API_KEY": "gk-test"}
FAST_ROUTING = {
    "attempts": 2,
    "backoff_base_s": 0.001,
    "backoff_max_s": 0.002,
    "max_retry_after_s": 0.05,
    "cooldown_after": 3,
    "cooldown_s": 30.0,
}


@pytest.fixture
def wire() -> Path:
    folder = CORPORA / "wire"
    if not folder.is_dir():
        pytest.skip("shared corpora folder is absent")
    return folder


class FakeClock:
    """Time the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def make_config(fake: FakeProviders, chain: list[dict[str, Any]], **extra: Any) -> Any:
    routing = {**FAST_ROUTING, **extra.pop("routing", {})}
    return parse_config(
        {
            "providers": fake.providers_section(timeout_s=extra.pop("timeout_s", 5.0)),
            "profiles": {"main": {"chain": chain, "temperature": 0.3, "max_tokens": 256}},
            "routing": routing,
            **extra,
        }
    )


@pytest.fixture
async def registry_for(fake_providers: FakeProviders) -> AsyncIterator[Any]:
    made: list[Registry] = []

    def build(chain: list[dict[str, Any]], env: dict[str, str] | None = None, **extra: Any):
        config = make_config(fake_providers, chain, **extra)
        registry = build_registry(config, KEYS if env is None else env)
        made.append(registry)
        return config, registry

    yield build
    for registry in made:
        await registry.aclose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def router_for(registry_for: Any, clock: FakeClock) -> Any:
    def build(chain: list[dict[str, Any]], **extra: Any) -> Router:
        config, registry = registry_for(chain, **extra)
        return Router(config, registry, clock=clock, sleep=clock.sleep)

    return build
