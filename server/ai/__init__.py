"""AI providers inside the server: config.json at run time (hot reload, the active profile, a
project's override), the one ``Router``, the /status check, usage records and reports, and the
REST endpoints for profiles, config and usage. Usage is recorded by ``server.metering``."""

from __future__ import annotations

from .config import RETIRE_AFTER_S, ConfigStore, ConfigWriteError
from .controllers import ConfigController, ProfileController, UsageController
from .lifecycle import providers_check
from .prompts import validate_prompts
from .redact import REDACTED, is_secret_key, redact
from .services import profiles_of, usage_report

__all__ = [
    "REDACTED",
    "RETIRE_AFTER_S",
    "ConfigController",
    "ConfigStore",
    "ConfigWriteError",
    "ProfileController",
    "UsageController",
    "is_secret_key",
    "profiles_of",
    "providers_check",
    "redact",
    "usage_report",
    "validate_prompts",
]
