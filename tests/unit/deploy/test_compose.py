"""No image registry is reachable here, so the compose stack is checked by structure: the
services the design names, commands the real CLI accepts, environment variables the settings
read, health checks and volumes; the Dockerfile is multi-stage, locked and non-root."""

from __future__ import annotations

import json
import re
from typing import Any

import click
import pytest
import yaml

from server.cli import main
from tests.conftest import ROOT

COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
APP_SERVICES = ("migrate", "api", "worker")
THIRD_PARTY_ENV = {"FORWARDED_ALLOW_IPS"}  # read by uvicorn itself


def _settings_env() -> set[str]:
    """Every environment variable a settings module reads."""
    names: set[str] = set()
    for path in (ROOT / "server").rglob("*settings*.py"):
        names |= set(re.findall(r'\(\s*"([A-Z][A-Z0-9_]{2,})"', path.read_text()))
    return names


def _provider_keys() -> set[str]:
    config = json.loads((ROOT / "config.json").read_text())
    return {p["api_key_env"] for p in config["providers"].values() if p.get("api_key_env")}


def _command_exists(argv: list[str]) -> bool:
    """Whether ``argv`` names a real ``assistant`` (sub)command with options it accepts."""
    assert argv[0] == "assistant", argv
    command: click.Command = main
    args = argv[1:]
    while isinstance(command, click.Group) and args and not args[0].startswith("-"):
        sub = command.get_command(click.Context(command), args[0])
        if sub is None:
            return False
        command, args = sub, args[1:]
    options = {opt for param in command.params for opt in getattr(param, "opts", [])}
    return all(arg in options for arg in args if arg.startswith("--"))


def test_the_stack_has_the_services_the_design_names() -> None:
    assert {"postgres", "redis", "api", "worker", "proxy", "migrate"} <= set(SERVICES)
    assert "pgvector" in SERVICES["postgres"]["image"]
    assert SERVICES["redis"]["image"].startswith("redis:")
    assert SERVICES["api"]["deploy"]["replicas"] >= 2
    assert SERVICES["worker"]["deploy"]["replicas"] >= 1


@pytest.mark.parametrize("service", APP_SERVICES)
def test_commands_are_real_cli_commands(service: str) -> None:
    assert _command_exists(SERVICES[service]["command"])


def test_the_cli_check_refuses_made_up_commands() -> None:
    assert not _command_exists(["assistant", "serve-forever"])
    assert not _command_exists(["assistant", "worker", "--processes", "4"])


@pytest.mark.parametrize("service", APP_SERVICES)
def test_environment_names_are_settings_the_server_reads(service: str) -> None:
    known = _settings_env() | _provider_keys() | THIRD_PARTY_ENV
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "CORS_ORIGINS"} <= _settings_env()
    environment = set(SERVICES[service]["environment"])
    assert environment - known == set()
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DATA_DIR"} <= environment


def test_the_api_and_workers_share_one_database_redis_and_data_volume() -> None:
    env = [SERVICES[s]["environment"] for s in APP_SERVICES]
    assert len({e["DATABASE_URL"] for e in env}) == 1
    assert len({e["REDIS_URL"] for e in env}) == 1
    assert len({e["SECRET_KEY"] for e in env}) == 1
    assert "@postgres:5432/" in env[0]["DATABASE_URL"]
    assert env[0]["REDIS_URL"].startswith("redis://redis:6379")
    for service in ("api", "worker"):
        assert "data:/data" in SERVICES[service]["volumes"]
    assert {"pgdata", "redisdata", "data"} <= set(COMPOSE["volumes"])
    assert any(v.startswith("pgdata:") for v in SERVICES["postgres"]["volumes"])


def test_services_wait_for_what_they_need_and_have_health_checks() -> None:
    for service in ("postgres", "redis", "api", "worker", "proxy"):
        assert "healthcheck" in SERVICES[service], service
    for service in ("api", "worker"):
        needs = SERVICES[service]["depends_on"]
        assert needs["postgres"]["condition"] == "service_healthy"
        assert needs["redis"]["condition"] == "service_healthy"
        assert needs["migrate"]["condition"] == "service_completed_successfully"
    assert SERVICES["proxy"]["depends_on"]["api"]["condition"] == "service_healthy"


def test_the_proxy_passes_websockets_to_the_api_replicas() -> None:
    [mount] = [v for v in SERVICES["proxy"]["volumes"] if "nginx" in v]
    conf = (ROOT / mount.split(":")[0]).read_text()
    assert "server api:8000" in conf
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    assert "proxy_set_header Connection $connection_upgrade;" in conf
    assert "proxy_set_header Host $http_host;" in conf  # the Origin check compares with it
    assert "$request_uri" not in conf  # no ticket in the proxy's log
    assert "$args" not in conf


def test_the_dockerfile_is_multi_stage_locked_and_non_root() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", dockerfile, re.M)) >= 2
    assert "uv sync --frozen --no-dev" in dockerfile
    assert "COPY pyproject.toml uv.lock" in dockerfile
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users
    assert users[-1] not in {"root", "0"}
    pyproject = (ROOT / "pyproject.toml").read_text()
    packages = re.search(r"packages = \[([^\]]+)\]", pyproject)
    assert packages is not None
    for package in re.findall(r'"(\w+)"', packages.group(1)):
        assert f"COPY {package} ./{package}" in dockerfile, package
    for served in ("web", "clients/js/src", "config.json"):
        assert served in dockerfile
    assert '"assistant", "serve"' in dockerfile
