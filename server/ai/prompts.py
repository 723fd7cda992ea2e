"""Prompt versions: every prompt the server sends has a content hash and a human label.

The hash is of the prompt's template text (before the turn's content is filled in), so it changes
exactly when the wording changes. Labels come from config.json's ``prompts`` section, e.g.
``{"prompts": {"drafting": "2026-11 stricter citations"}}``; workflow templates carry their own
``version`` label. Each stored reply and phase version records the versions it was written with.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import msgspec

from providers import ConfigError
from server.events import PromptVersion

if TYPE_CHECKING:
    from collections.abc import Mapping

PROMPT_NAMES = ("answering", "drafting")
"""The prompts of the server that have a version: chat answers and phase drafts."""


def content_hash(value: str | bytes) -> str:
    """The first 12 hex digits of the SHA-256 of ``value``: short, and stable across runs."""
    data = value.encode() if isinstance(value, str) else value
    return hashlib.sha256(data).hexdigest()[:12]


def prompt_labels(raw: Mapping[str, Any]) -> dict[str, str]:
    """The ``prompts`` section of a decoded config.json: label by prompt name."""
    section = raw.get("prompts", {})
    if not isinstance(section, dict):
        raise ConfigError("prompts: must be an object of labels by prompt name")
    for name, label in section.items():
        if name not in PROMPT_NAMES:
            raise ConfigError(f"prompts.{name}: unknown prompt; known: {', '.join(PROMPT_NAMES)}")
        if not isinstance(label, str) or not 0 < len(label) <= 200:
            raise ConfigError(f"prompts.{name}: the label must be a text of 1-200 characters")
    return dict(section)


def validate_prompts(raw: Mapping[str, Any]) -> None:
    """A ``ConfigStore`` validator: rejects a config.json whose ``prompts`` section is invalid."""
    prompt_labels(raw)


def prompt_version(name: str, text: str, raw: Mapping[str, Any]) -> PromptVersion:
    """The version of prompt ``name`` whose template text is ``text``, labelled from ``raw``."""
    return PromptVersion(name, content_hash(text), prompt_labels(raw).get(name))


def recorded(versions: list[PromptVersion]) -> list[dict[str, Any]]:
    """Versions as stored on a message or phase version (JSON)."""
    return [msgspec.to_builtins(v) for v in versions]


def read_recorded(stored: list[dict[str, Any]] | None) -> list[PromptVersion]:
    """Versions stored on a row, back as structs."""
    return msgspec.convert(stored or [], list[PromptVersion])
