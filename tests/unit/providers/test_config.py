from __future__ import annotations

import json

import pytest

from providers import ConfigError, parse_config

ARCHITECTURE_EXAMPLE = {
    "providers": {
        "openai": {
            "type": "openai",
            "api_key_env": "OPENAI_API_KEY",
            "base_url": None,
            "timeout_s": 60,
        },
        "anthropic": {"type": "anthropic", "api_key_env": "ANTHROPIC_API_KEY"},
        "gemini": {"type": "gemini", "api_key_env": "GEMINI_API_KEY"},
        "ollama": {"type": "openai_compatible", "base_url": "http://127.0.0.1:11434/v1"},
        "local": {"type": "local"},
    },
    "profiles": {
        "balanced": {
            "chain": [
                {"provider": "openai", "model": "gpt-4o"},
                {"provider": "anthropic", "model": "claude-sonnet-4-5"},
                {"provider": "local"},
            ],
            "temperature": 0.4,
            "max_tokens": 2048,
        }
    },
    "active_profile": "balanced",
    "embeddings": {"provider": "local", "model": "wordllama-l2_supercat", "dimensions": 256},
    "prices": {"gpt-4o": {"input_per_mtok": 2.5, "output_per_mtok": 10.0}},
    "workflows": {"business-plan": {"phases": [{"number": 1, "title": "Summary"}]}},
}


def test_architecture_example_parses_and_ignores_other_sections() -> None:
    config = parse_config(json.dumps(ARCHITECTURE_EXAMPLE).encode())
    assert config.active_profile == "balanced"
    assert config.profile().chain[2].provider == "local"
    assert config.providers["ollama"].api_key_env is None
    assert config.prices["gpt-4o"].output_per_mtok == 10.0
    assert config.embeddings.dimensions == 256


def test_empty_config_is_the_offline_setup() -> None:
    config = parse_config(b"{}")
    assert config.active_profile == "offline"
    assert config.profile().chain[0].provider == "local"
    assert config.embeddings.model == "wordllama-l2_supercat"


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (
            {
                "profiles": {
                    "balanced": {
                        "chain": [{"provider": "openai", "model": "m"}, {"provider": "foo"}]
                    }
                }
            },
            "profiles.balanced.chain[1].provider: unknown provider 'foo'",
        ),
        (
            {"profiles": {"balanced": {"chain": [{"provider": "openai", "model": 3}]}}},
            "profiles.balanced.chain[0].model: Expected `str | null`, got `int`",
        ),
        (
            {"profiles": {"balanced": {"chain": [{"provider": "openai"}]}}},
            "profiles.balanced.chain[0].model: required for provider 'openai'",
        ),
        ({"active_profile": "fast"}, "active_profile: unknown profile 'fast'"),
        (
            {"providers": {"x": {"type": "openai_compatible"}}},
            "providers.x.base_url: required for an openai_compatible provider",
        ),
        (
            {"providers": {"x": {"type": "mistral"}}},
            "providers.x.type: Invalid enum value 'mistral'",
        ),
        (
            {"embeddings": {"provider": "anthropic", "model": "m", "dimensions": 8}},
            "embeddings.provider: provider 'anthropic' (anthropic) has no embeddings",
        ),
        (
            {"prices": {"gpt-4o": {"input_per_mtok": -1}}},
            "prices.gpt-4o: prices cannot be negative",
        ),
        (
            {"profiles": {"balanced": {"chain": []}}},
            "profiles.balanced.chain: must name at least one",
        ),
    ],
)
def test_errors_name_the_setting(patch: dict, message: str) -> None:
    data = {**ARCHITECTURE_EXAMPLE, **patch}
    if "providers" in patch:
        data["providers"] = {**ARCHITECTURE_EXAMPLE["providers"], **patch["providers"]}
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert str(caught.value).startswith(message)


def test_invalid_json_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not valid JSON"):
        parse_config(b"{nope")


def test_unknown_profile_lookup() -> None:
    with pytest.raises(ConfigError, match=r"profiles\.nope: unknown profile"):
        parse_config(ARCHITECTURE_EXAMPLE).profile("nope")
