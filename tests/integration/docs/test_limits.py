"""docs/limits.md states the defaults the code has."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import msgspec

from server.accounts.schemas import UserCreate
from server.chat._service import MAX_CLIENT_ID
from server.settings import MIB, load_settings
from tests.conftest import ROOT

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

PAGE = ROOT / "docs" / "limits.md"
VARIABLES = (
    *("ACCESS_TOKEN_TTL", "REFRESH_TOKEN_TTL", "INVITATION_TTL", "EXPORT_TTL"),
    *("LOGIN_RATE_PER_IP", "LOGIN_RATE_PER_ACCOUNT", "MAX_UPLOAD_MB", "PARSE_TIMEOUT_S"),
    *("PARSE_MEMORY_MB", "CHAT_MAX_MESSAGE_BYTES", "CHAT_MESSAGES_PER_MINUTE"),
    *("CHAT_MAX_CONNECTIONS", "CHAT_IDLE_TIMEOUT", "SECRET_KEY"),
    *("PASSWORD_MIN_LENGTH", "PASSWORD_MIN_SCORE"),
)


def _rows() -> dict[str, list[str]]:
    """Table rows by their first cell: rule → [default, variable, when exceeded]."""
    rows = {}
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 4 and not set(cells[0]) <= {"-", " "}:
            rows[cells[0]] = cells[1:]
    del rows["rule"]  # the header
    return rows


def _code_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """The default of every limit variable, read from the code with nothing set."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ASSISTANT_CONFIG", str(ROOT / "config.json"))
    settings = load_settings()
    documents, chat = settings.documents, settings.chat
    return {
        "ACCESS_TOKEN_TTL": settings.auth.access_ttl_s,
        "REFRESH_TOKEN_TTL": settings.auth.refresh_ttl_s,
        "INVITATION_TTL": settings.auth.invitation_ttl_s,
        "LOGIN_RATE_PER_IP": settings.auth.login_per_ip_per_min,
        "LOGIN_RATE_PER_ACCOUNT": settings.auth.login_per_account_per_min,
        "PASSWORD_MIN_LENGTH": settings.auth.password_min_length,
        "PASSWORD_MIN_SCORE": settings.auth.password_min_score,
        "EXPORT_TTL": settings.exports.ttl_s,
        "MAX_UPLOAD_MB": documents.max_upload_bytes // MIB,
        "PARSE_TIMEOUT_S": int(documents.parse_timeout_s),
        "PARSE_MEMORY_MB": documents.parse_memory_bytes // MIB,
        "CHAT_MAX_MESSAGE_BYTES": chat.max_message_bytes,
        "CHAT_MESSAGES_PER_MINUTE": chat.messages_per_minute,
        "CHAT_MAX_CONNECTIONS": chat.max_connections_per_user,
        "CHAT_IDLE_TIMEOUT": chat.idle_timeout_s,
    }


def test_each_default_is_the_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = _code_defaults(tmp_path, monkeypatch)
    wrong = []
    for rule, (default, variable, _) in _rows().items():
        name = variable.strip("`")
        if name in defaults and str(defaults[name]) not in re.findall(r"\d+", default):
            wrong.append(f"{rule}: the page says {default!r}, {name} defaults to {defaults[name]}")
    assert wrong == []
    assert {v.strip("`") for _, v, _ in _rows().values()} - {"—"} == set(defaults)


def test_the_fixed_rules_are_the_codes() -> None:
    rows = _rows()
    password = next(
        f
        for f in msgspec.inspect.type_info(UserCreate).fields  # type: ignore[attr-defined]
        if f.name == "password"
    ).type
    dash = "\N{EN DASH}"
    assert f"(at most {password.max_length})" in rows["password length"][0]
    assert rows["`client_message_id` of a message"][0].startswith(f"1{dash}{MAX_CLIENT_ID} ")
