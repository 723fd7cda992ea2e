"""The password policy on register, password change and ``create-admin``: 422 ``weak_password``."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

from tests.integration.conftest import ASSISTANT, PASSWORD, cli_env

if TYPE_CHECKING:
    from pathlib import Path

    from litestar import Litestar
    from litestar.testing import AsyncTestClient

STRONG = "velvet orbit plankton 42"


async def test_register_explains_a_short_and_a_guessable_password(
    client: AsyncTestClient[Litestar],
) -> None:
    short = await client.post(
        "/api/v1/auth/register", json={"email": "ann@example.org", "password": "Xq7#p"}
    )
    assert short.status_code == 422, short.text
    body = short.json()
    assert body["code"] == "weak_password"
    assert [p["code"] for p in body["problems"]] == ["too_short", "too_weak"]
    assert "at least 10 characters (this one has 5)" in body["message"]
    assert body["min_length"] == 10

    common = await client.post(
        "/api/v1/auth/register", json={"email": "ann@example.org", "password": "password1234"}
    )
    assert common.status_code == 422
    assert [p["code"] for p in common.json()["problems"]] == ["too_weak"]
    assert "common password" in common.json()["message"]

    empty = await client.post(
        "/api/v1/auth/register", json={"email": "ann@example.org", "password": ""}
    )
    assert empty.status_code == 422, empty.text  # zxcvbn itself fails on ""
    assert [p["code"] for p in empty.json()["problems"]] == ["too_short", "too_weak"]
    long = await client.post(  # zxcvbn refuses input past 72 characters; the policy judges those
        "/api/v1/auth/register",
        json={"email": "ann@example.org", "password": "velvet orbit plankton " * 5},
    )
    assert long.status_code == 201, long.text

    nothing_stored = await client.post(
        "/api/v1/auth/login", json={"email": "ann@example.org", "password": "password1234"}
    )
    assert nothing_stored.status_code == 401


async def test_a_password_made_of_the_email_is_too_weak(
    client: AsyncTestClient[Litestar],
) -> None:
    r = await client.post(
        "/api/v1/auth/register",
        json={"email": "bartholomew.quince@example.org", "password": "bartholomewquince"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["problems"][0]["code"] == "too_weak"

    ok = await client.post(
        "/api/v1/auth/register",
        json={"email": "bartholomew.quince@example.org", "password": STRONG},
    )
    assert ok.status_code == 201, ok.text


async def test_change_password_checks_the_current_one_and_the_policy(
    client: AsyncTestClient[Litestar],
) -> None:
    email = "cy@example.org"
    assert (
        await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    ).status_code == 201
    first = (
        await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    ).json()
    other = (
        await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    ).json()
    headers = {"Authorization": f"Bearer {first['access_token']}"}

    wrong = await client.post(
        "/api/v1/auth/password",
        json={"current_password": "not it at all", "new_password": STRONG},
        headers=headers,
    )
    assert wrong.status_code == 422
    assert wrong.json()["code"] == "wrong_password"

    weak = await client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "qwertyuiop"},
        headers=headers,
    )
    assert weak.status_code == 422
    assert weak.json()["code"] == "weak_password"

    changed = await client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": STRONG},
        headers=headers,
    )
    assert changed.status_code == 204, changed.text

    old = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert old.status_code == 401
    new = await client.post("/api/v1/auth/login", json={"email": email, "password": STRONG})
    assert new.status_code == 200
    # The session that changed the password keeps working; the other one is signed out.
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
    kept = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert kept.status_code == 200
    revoked = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]}
    )
    assert revoked.status_code == 401


async def test_change_password_needs_a_signed_in_user(client: AsyncTestClient[Litestar]) -> None:
    r = await client.post(
        "/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": STRONG}
    )
    assert r.status_code == 401


def test_create_admin_refuses_a_weak_password(tmp_path: Path, clean_db: str) -> None:
    env = cli_env(tmp_path, DATABASE_URL=clean_db)
    done = subprocess.run(
        [*ASSISTANT, "create-admin", "--email", "root@example.org", "--password", "admin12345"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout
    assert "the password does not meet the policy" in done.stderr
    assert "Traceback" not in done.stderr
