"""config.json, typed: providers, profiles, the active profile, embeddings, prices, routing."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

import msgspec

ProviderType = Literal["openai", "anthropic", "gemini", "openai_compatible", "local"]

LOCAL_MODEL = "offline"
"""Model name the ``local`` chat provider reports."""

_EMBEDDING_TYPES = frozenset({"openai", "gemini", "openai_compatible", "local"})


class ConfigError(ValueError):
    """config.json is invalid; the message starts with the path of the offending setting."""


class ProviderConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One entry of ``providers``: how to reach an endpoint."""

    type: ProviderType
    api_key_env: str | None = None
    """Name of the environment variable holding the key; absent means the endpoint needs none."""
    base_url: str | None = None
    timeout_s: float = 60.0
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    """Extra HTTP headers sent with every request (e.g. Azure's ``api-key``)."""
    query: dict[str, str] = msgspec.field(default_factory=dict)
    """Extra query parameters sent with every request (e.g. Azure's ``api-version``)."""


class ChainStep(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One link of a profile's chain; its parameters override the profile's."""

    provider: str
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None


class Profile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An ordered chain of providers tried in turn, with default sampling parameters."""

    chain: tuple[ChainStep, ...]
    temperature: float | None = None
    max_tokens: int | None = None
    description: str | None = None


class EmbeddingSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Which model turns texts into vectors; ``dimensions`` is recorded with every vector."""

    provider: str = "local"
    model: str = "wordllama-l2_supercat"
    dimensions: int = 256
    batch_size: int = 96


class Price(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """US dollars per million tokens."""

    input_per_mtok: float = 0.0
    output_per_mtok: float = 0.0


class RoutingSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How hard the router tries one provider before moving on, and how long it shuns it."""

    attempts: int = 2
    """Calls per provider before falling back (retries happen only before the first token)."""
    backoff_base_s: float = 0.5
    backoff_max_s: float = 8.0
    max_retry_after_s: float = 20.0
    """A Retry-After longer than this puts the provider on cool-down instead of waiting."""
    cooldown_after: int = 3
    """Consecutive failed calls that put a provider on cool-down."""
    cooldown_s: float = 60.0


def _default_providers() -> dict[str, ProviderConfig]:
    return {"local": ProviderConfig(type="local")}


def _default_profiles() -> dict[str, Profile]:
    return {"offline": Profile(chain=(ChainStep(provider="local"),))}


class ProvidersConfig(msgspec.Struct, frozen=True):
    """The provider-related part of config.json; other top-level sections are ignored."""

    providers: dict[str, ProviderConfig] = msgspec.field(default_factory=_default_providers)
    profiles: dict[str, Profile] = msgspec.field(default_factory=_default_profiles)
    active_profile: str = ""
    """Empty in the file means the first profile."""
    embeddings: EmbeddingSettings = msgspec.field(default_factory=EmbeddingSettings)
    prices: dict[str, Price] = msgspec.field(default_factory=dict)
    routing: RoutingSettings = msgspec.field(default_factory=RoutingSettings)

    def profile(self, name: str | None = None) -> Profile:
        """The named profile, or the active one; ``ConfigError`` if there is no such profile."""
        key = name or self.active_profile
        try:
            return self.profiles[key]
        except KeyError:
            raise ConfigError(f"profiles.{key}: unknown profile") from None

    def provider_type(self, name: str) -> ProviderType:
        """The type of a provider named in config; ``local`` is always known."""
        if name in self.providers:
            return self.providers[name].type
        if name == "local":
            return "local"
        raise ConfigError(f"providers.{name}: unknown provider")


_PATH_RE = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_NAMED_SECTIONS: tuple[tuple[str, type[Any]], ...] = (
    ("providers", ProviderConfig),
    ("profiles", Profile),
    ("prices", Price),
)
_PLAIN_SECTIONS: tuple[tuple[str, type[Any]], ...] = (
    ("active_profile", str),
    ("embeddings", EmbeddingSettings),
    ("routing", RoutingSettings),
)


def parse_config(data: bytes | str | Mapping[str, Any]) -> ProvidersConfig:
    """Parse and validate config.json (raw JSON or an already decoded mapping).

    Raises ``ConfigError`` naming the offending setting, e.g.
    ``profiles.balanced.chain[1].provider: unknown provider 'foo'``. Top-level sections this
    layer does not own (``workflows``...) are ignored.
    """
    if isinstance(data, bytes | str):
        try:
            raw: Any = msgspec.json.decode(data)
        except msgspec.DecodeError as exc:
            raise ConfigError(f"config: not valid JSON ({exc})") from None
    else:
        raw = data
    if not isinstance(raw, Mapping):
        raise ConfigError("config: must be a JSON object")
    fields: dict[str, Any] = {}
    # Entries of named sections convert one by one, so errors name the key, not `[...]`.
    for section, kind in _NAMED_SECTIONS:
        if section in raw:
            entries = _convert(raw[section], dict[str, Any], section)
            fields[section] = {
                name: _convert(entry, kind, f"{section}.{name}") for name, entry in entries.items()
            }
    for section, kind in _PLAIN_SECTIONS:
        if section in raw:
            fields[section] = _convert(raw[section], kind, section)
    return _validated(ProvidersConfig(**fields))


def _convert(value: Any, kind: type[Any], where: str) -> Any:
    try:
        return msgspec.convert(value, type=kind)
    except msgspec.ValidationError as exc:
        match = _PATH_RE.match(str(exc))
        assert match is not None  # the pattern matches any string
        raise ConfigError(f"{where}{match['path'] or ''}: {match['message']}") from None


def _validated(config: ProvidersConfig) -> ProvidersConfig:
    providers = dict(config.providers)
    providers.setdefault("local", ProviderConfig(type="local"))
    for name, provider in providers.items():
        where = f"providers.{name}"
        if provider.type == "openai_compatible" and not provider.base_url:
            raise ConfigError(f"{where}.base_url: required for an openai_compatible provider")
        if provider.type in {"openai", "anthropic", "gemini"} and not provider.api_key_env:
            raise ConfigError(f"{where}.api_key_env: required for a {provider.type} provider")
        if provider.timeout_s <= 0:
            raise ConfigError(f"{where}.timeout_s: must be positive")
    if not config.profiles:
        raise ConfigError("profiles: at least one profile is required")
    for name, profile in config.profiles.items():
        if not profile.chain:
            raise ConfigError(f"profiles.{name}.chain: must name at least one provider")
        for i, step in enumerate(profile.chain):
            where = f"profiles.{name}.chain[{i}]"
            if step.provider not in providers:
                raise ConfigError(f"{where}.provider: unknown provider {step.provider!r}")
            if step.model is None and providers[step.provider].type != "local":
                raise ConfigError(f"{where}.model: required for provider {step.provider!r}")
    active = config.active_profile or next(iter(config.profiles))
    if active not in config.profiles:
        raise ConfigError(f"active_profile: unknown profile {active!r}")
    embeddings = config.embeddings
    if embeddings.provider not in providers:
        raise ConfigError(f"embeddings.provider: unknown provider {embeddings.provider!r}")
    if providers[embeddings.provider].type not in _EMBEDDING_TYPES:
        raise ConfigError(
            f"embeddings.provider: provider {embeddings.provider!r} "
            f"({providers[embeddings.provider].type}) has no embeddings"
        )
    if embeddings.dimensions <= 0:
        raise ConfigError("embeddings.dimensions: must be positive")
    if embeddings.batch_size <= 0:
        raise ConfigError("embeddings.batch_size: must be positive")
    for model, price in config.prices.items():
        if price.input_per_mtok < 0 or price.output_per_mtok < 0:
            raise ConfigError(f"prices.{model}: prices cannot be negative")
    routing = config.routing
    if routing.attempts < 1:
        raise ConfigError("routing.attempts: must be at least 1")
    if routing.cooldown_after < 1:
        raise ConfigError("routing.cooldown_after: must be at least 1")
    return msgspec.structs.replace(config, providers=providers, active_profile=active)
