"""config.json over REST: profiles, switching the active one, hot reload, rejected files."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

from providers import ConfigError
from server.app import services_of
from tests.conftest import ROOT

from .conftest import NOTES, write_config

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from tests.integration.conftest import Account

    Client = AsyncTestClient[Litestar]


async def eventually(probe: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Poll ``probe`` (sync or async) until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = probe()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


async def profiles(client: Client, headers: dict[str, str]) -> dict[str, Any]:
    r = await client.get("/api/v1/profiles", headers=headers)
    assert r.status_code == 200, r.text
    return {p["name"]: p for p in r.json()}


async def loaded(client: Client, headers: dict[str, str]) -> dict[str, Any]:
    r = await client.get("/api/v1/config", headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_profiles_show_chain_availability(client: Client, admin: Account) -> None:
    listed = await profiles(client, admin.headers)
    assert set(listed) == {"balanced", "offline"}
    balanced = listed["balanced"]
    assert balanced["active"] is True
    assert listed["offline"]["active"] is False
    assert balanced["temperature"] == 0.4
    links = {link["provider"]: link for link in balanced["chain"]}
    assert links["openai"] == {
        "provider": "openai",
        "model": "gpt-4o",
        "type": "openai",
        "available": False,
        "reason": "API key OPENAI_API_KEY not set",
        "cooldown_s": None,
    }
    assert links["local"]["available"] is True
    assert balanced["available"] is True


async def test_switch_active_profile_rewrites_the_file(
    client: Client, admin: Account, config_path: Path
) -> None:
    before = json.loads(config_path.read_text())
    r = await client.put("/api/v1/profiles/active", json={"name": "offline"}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "offline"
    assert r.json()["active"] is True

    after = json.loads(config_path.read_text())
    assert after["active_profile"] == "offline"
    assert after["notes"] == NOTES
    assert {k: v for k, v in after.items() if k != "active_profile"} == {
        k: v for k, v in before.items() if k != "active_profile"
    }
    assert list(after) == list(before)
    assert not [p for p in config_path.parent.iterdir() if p != config_path]
    assert (await profiles(client, admin.headers))["offline"]["active"] is True
    assert services_of(client.app).config_store.config.active_profile == "offline"


async def test_switch_to_unknown_profile_is_invalid(
    client: Client, admin: Account, config_path: Path
) -> None:
    before = config_path.read_bytes()
    r = await client.put("/api/v1/profiles/active", json={"name": "nope"}, headers=admin.headers)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid"
    assert "nope" in r.json()["message"]
    assert config_path.read_bytes() == before


async def test_admin_endpoints_refuse_other_users(client: Client, member: Account) -> None:
    for method, path, body in [
        ("GET", "/api/v1/profiles", None),
        ("PUT", "/api/v1/profiles/active", {"name": "offline"}),
        ("GET", "/api/v1/config", None),
    ]:
        r = await client.request(method, path, json=body, headers=member.headers)
        assert r.status_code == 403, (path, r.text)
        r = await client.request(method, path, json=body)
        assert r.status_code == 401, (path, r.text)


async def test_config_is_redacted(client: Client, admin: Account, config_path: Path) -> None:
    raw = json.loads(config_path.read_text())
    raw["providers"]["azure"] = {
        "type": "openai_compatible",
        "base_url": "https://bot:hunter2@example.invalid/v1",
        "api_key_env": "AZURE_KEY",
        "headers": {"Authorization": "Bearer sk-live-1", "api-key": "abc", "X-Trace": "on"},
        "query": {"api-version": "2024-10-21", "key": "gk-live-2"},
    }
    write_config(config_path, raw)
    store = services_of(client.app).config_store
    await eventually(lambda: "azure" in store.config.providers)

    body = await loaded(client, admin.headers)
    azure = body["config"]["providers"]["azure"]
    assert azure["api_key_env"] == "AZURE_KEY"
    assert azure["headers"] == {"Authorization": "***", "api-key": "***", "X-Trace": "on"}
    assert azure["query"] == {"api-version": "2024-10-21", "key": "***"}
    assert azure["base_url"] == "https://bot:***@example.invalid/v1"
    assert body["config"]["notes"] == NOTES
    assert body["active_profile"] == "balanced"
    assert body["last_error"] is None
    assert body["path"] == str(config_path)
    for secret in ("hunter2", "sk-live-1", "gk-live-2"):
        assert secret not in json.dumps(body)


async def test_edit_on_disk_takes_effect_without_restart(
    client: Client, admin: Account, config_path: Path
) -> None:
    first = (await loaded(client, admin.headers))["loaded_at"]
    raw = json.loads(config_path.read_text())
    raw["profiles"]["fast"] = {"chain": [{"provider": "local"}], "description": "quick"}
    raw["active_profile"] = "fast"
    raw["prices"]["gpt-4o"] = {"input_per_mtok": 5.0, "output_per_mtok": 20.0}
    write_config(config_path, raw)

    listed = await eventually(
        lambda: _active(client, admin.headers, "fast"),
    )
    assert listed["fast"]["description"] == "quick"
    store = services_of(client.app).config_store
    assert store.config.prices["gpt-4o"].input_per_mtok == 5.0
    body = await loaded(client, admin.headers)
    assert body["loaded_at"] > first
    assert body["last_error"] is None


async def _active(client: Client, headers: dict[str, str], name: str) -> dict[str, Any] | None:
    listed = await profiles(client, headers)
    return listed if name in listed and listed[name]["active"] else None


async def test_invalid_json_keeps_the_previous_config(
    client: Client, admin: Account, config_path: Path
) -> None:
    good = json.loads(config_path.read_text())
    write_config(config_path, '{"profiles": {')

    body = await eventually(lambda: _rejected(client, admin.headers))
    assert body["last_error"].startswith("not valid JSON")
    assert body["last_error_at"] is not None
    assert body["config"]["notes"] == NOTES
    assert set(await profiles(client, admin.headers)) == {"balanced", "offline"}
    r = await client.put("/api/v1/profiles/active", json={"name": "offline"}, headers=admin.headers)
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "config_not_writable"

    good["active_profile"] = "offline"
    write_config(config_path, good)
    await eventually(lambda: _active(client, admin.headers, "offline"))
    assert (await loaded(client, admin.headers))["last_error"] is None


async def _rejected(client: Client, headers: dict[str, str]) -> dict[str, Any] | None:
    body = await loaded(client, headers)
    return body if body["last_error"] else None


async def test_unknown_provider_is_rejected_with_its_path(
    client: Client, admin: Account, config_path: Path
) -> None:
    raw = json.loads(config_path.read_text())
    raw["profiles"]["x"] = {"chain": [{"provider": "foo", "model": "m"}]}
    raw["active_profile"] = "x"
    write_config(config_path, raw)

    body = await eventually(lambda: _rejected(client, admin.headers))
    assert body["last_error"] == "profiles.x.chain[0].provider: unknown provider 'foo'"
    assert body["active_profile"] == "balanced"
    assert "x" not in await profiles(client, admin.headers)
    r = await client.get("/status")
    assert "unknown provider 'foo'" in r.json()["checks"]["providers"]["detail"]


async def test_other_sections_validate_through_the_hook(
    client: Client, admin: Account, config_path: Path
) -> None:
    def notes_are_text(raw: Mapping[str, Any]) -> None:
        for key, value in raw.get("notes", {}).items():
            if not isinstance(value, str):
                raise ConfigError(f"notes.{key}: must be text")

    store = services_of(client.app).config_store
    store.add_validator(notes_are_text)
    raw = json.loads(config_path.read_text())
    raw["notes"]["reviewed"] = 2026
    write_config(config_path, raw)

    body = await eventually(lambda: _rejected(client, admin.headers))
    assert body["last_error"] == "notes.reviewed: must be text"
    assert store.raw["notes"] == NOTES


async def test_status_reports_providers_without_failing(client: Client) -> None:
    r = await client.get("/status")
    check = r.json()["checks"]["providers"]
    assert check["status"] == "ok"
    assert "profile balanced" in check["detail"]
    assert "openai (API key OPENAI_API_KEY not set)" in check["detail"]
    assert "available: local" in check["detail"]


def test_serve_refuses_an_invalid_config(tmp_path: Path, clean_db: str) -> None:
    raw = json.loads((ROOT / "config.json").read_text())
    raw["profiles"]["x"] = {"chain": [{"provider": "foo", "model": "m"}]}
    config = tmp_path / "config.json"
    config.write_text(json.dumps(raw))
    env = {
        **os.environ,
        "ASSISTANT_CONFIG": str(config),
        "DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": clean_db,
        "PORT": "0",
    }
    done = subprocess.run(
        [sys.executable, "-c", "from server.cli import main; main()", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: config.json: profiles.x.chain[0].provider: unknown provider 'foo'"]
    assert done.stderr.rstrip().endswith(errors[0])
