"""The ``assistant`` command: help for every command, settings refused in one line, create-admin."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

import pytest

from tests.conftest import ROOT
from tests.integration.conftest import ASSISTANT, PASSWORD, cli_env

if TYPE_CHECKING:
    from pathlib import Path

    from litestar import Litestar
    from litestar.testing import AsyncTestClient


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ASSISTANT, *args],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("command", [(), ("serve",), ("db",), ("db", "upgrade"), ("create-admin",)])
def test_every_command_has_help(tmp_path: Path, command: tuple[str, ...]) -> None:
    done = _run(*command, "--help", env=cli_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage:")
    if not command:
        for name in ("serve", "db", "create-admin"):
            assert name in done.stdout


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PORT", "abc"),
        ("PORT", "70000"),
        ("DATABASE_URL", "mysql://x"),
        ("REDIS_URL", "http://x"),
        ("ASSISTANT_CONFIG", "/nonexistent/config.json"),
        ("SECRET_KEY", "short"),
        ("LOGIN_RATE_PER_IP", "0"),
    ],
)
def test_a_bad_setting_stops_serve_with_one_line_naming_it(
    tmp_path: Path, variable: str, value: str
) -> None:
    done = _run("serve", env=cli_env(tmp_path, **{variable: value}))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert variable in lines[0]
    assert "Traceback" not in done.stderr


def test_db_upgrade_and_create_admin(
    tmp_path: Path, clean_db: str, client: AsyncTestClient[Litestar]
) -> None:
    env = cli_env(tmp_path, DATABASE_URL=clean_db)
    upgraded = _run("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "database at head" in upgraded.stdout

    created = _run("create-admin", "--email", "Root@Example.org", "--password", PASSWORD, env=env)
    assert created.returncode == 0, created.stderr
    assert "admin created: root@example.org" in created.stdout
    again = _run("create-admin", "--email", "root@example.org", "--password", PASSWORD, env=env)
    assert "admin promoted: root@example.org" in again.stdout

    refused = _run("create-admin", "--email", "nobody", "--password", PASSWORD, env=env)
    assert refused.returncode == 2
    assert "Traceback" not in refused.stderr


async def test_the_created_admin_can_sign_in_and_read_the_audit_trail(
    tmp_path: Path, clean_db: str, client: AsyncTestClient[Litestar]
) -> None:
    env = cli_env(tmp_path, DATABASE_URL=clean_db)
    created = _run("create-admin", "--email", "boss@example.org", "--password", PASSWORD, env=env)
    assert created.returncode == 0, created.stderr
    r = await client.post(
        "/api/v1/auth/login", json={"email": "boss@example.org", "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    me = await client.get("/api/v1/auth/me", headers=headers)
    assert me.json()["role"] == "admin"
    assert (await client.get("/api/v1/audit", headers=headers)).status_code == 200
