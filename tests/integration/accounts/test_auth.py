"""Register, login (JSON and OAuth2 form), me, refresh rotation with reuse detection, logout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from uuid import uuid4

import jwt
import pytest
from sqlalchemy import select

from server.accounts.security import ALGORITHM
from server.db.models import RefreshToken, User
from tests.integration.conftest import PASSWORD

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient
    from sqlalchemy.ext.asyncio import AsyncSession

    from server.settings import Settings


async def _register_and_login(client: AsyncTestClient[Litestar], email: str) -> dict[str, str]:
    r = await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return r.json()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_register_stores_an_argon2id_hash_and_refuses_a_taken_email(
    client: AsyncTestClient[Litestar], db: AsyncSession
) -> None:
    r = await client.post(
        "/api/v1/auth/register",
        json={"email": "Ann@Example.org", "password": PASSWORD, "name": "Ann"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["email"] == "ann@example.org"
    assert r.json()["role"] == "user"
    assert "password" not in r.text
    stored = await db.scalar(select(User.password_hash).where(User.email == "ann@example.org"))
    assert stored is not None
    assert stored.startswith("$argon2id$")

    again = await client.post(
        "/api/v1/auth/register", json={"email": "ann@example.org", "password": PASSWORD}
    )
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"


async def test_register_rejects_invalid_fields(client: AsyncTestClient[Litestar]) -> None:
    for body in (
        {"email": "not-an-email", "password": PASSWORD},
        {"email": "a@example.org", "password": PASSWORD, "role": "admin"},
    ):
        r = await client.post("/api/v1/auth/register", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["code"] == "invalid"


async def test_login_with_json_and_with_the_oauth2_password_form(
    client: AsyncTestClient[Litestar],
) -> None:
    tokens = await _register_and_login(client, "bo@example.org")
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 900
    me = await client.get("/api/v1/auth/me", headers=_bearer(tokens["access_token"]))
    assert me.status_code == 200
    assert me.json()["email"] == "bo@example.org"

    form = await client.post(
        "/api/v1/auth/login", data={"username": "BO@example.org", "password": PASSWORD}
    )
    assert form.status_code == 200, form.text
    me = await client.get("/api/v1/auth/me", headers=_bearer(form.json()["access_token"]))
    assert me.json()["email"] == "bo@example.org"


async def test_wrong_password_and_unknown_account_get_the_same_401(
    client: AsyncTestClient[Litestar],
) -> None:
    await _register_and_login(client, "cy@example.org")
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": "cy@example.org", "password": "nope-nope"}
    )
    unknown = await client.post(
        "/api/v1/auth/login", json={"email": "nobody@example.org", "password": PASSWORD}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["code"] == "unauthorized"


async def test_disabled_account_cannot_log_in(
    client: AsyncTestClient[Litestar], db: AsyncSession, make_account
) -> None:
    account = await make_account()
    user = await db.get(User, account.id)
    assert user is not None
    user.is_active = False
    await db.commit()
    r = await client.post("/api/v1/auth/login", json={"email": account.email, "password": PASSWORD})
    assert r.status_code == 401
    r = await client.get("/api/v1/auth/me", headers=account.headers)
    assert r.status_code == 401


async def test_refresh_rotates_and_a_reused_token_revokes_the_whole_family(
    client: AsyncTestClient[Litestar], db: AsyncSession
) -> None:
    first = await _register_and_login(client, "di@example.org")
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await client.get("/api/v1/auth/me", headers=_bearer(second["access_token"]))).is_success

    # Stored hashed: the raw token is nowhere in the table.
    hashes = set((await db.scalars(select(RefreshToken.token_hash))).all())
    assert len(hashes) == 2
    assert first["refresh_token"] not in hashes
    assert second["refresh_token"] not in hashes

    reused = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert reused.status_code == 401
    assert reused.json()["code"] == "token_reused"

    # The newer token of the family and its access token are revoked too.
    newer = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
    )
    assert newer.status_code == 401
    me = await client.get("/api/v1/auth/me", headers=_bearer(second["access_token"]))
    assert me.status_code == 401


async def test_reuse_revokes_only_its_own_family(client: AsyncTestClient[Litestar]) -> None:
    laptop = await _register_and_login(client, "ed@example.org")
    r = await client.post(
        "/api/v1/auth/login", json={"email": "ed@example.org", "password": PASSWORD}
    )
    phone = r.json()
    await client.post("/api/v1/auth/refresh", json={"refresh_token": laptop["refresh_token"]})
    await client.post("/api/v1/auth/refresh", json={"refresh_token": laptop["refresh_token"]})
    assert (await client.get("/api/v1/auth/me", headers=_bearer(phone["access_token"]))).is_success
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    assert r.status_code == 200


async def test_unknown_and_expired_refresh_tokens_are_refused(
    client: AsyncTestClient[Litestar], db: AsyncSession
) -> None:
    tokens = await _register_and_login(client, "fa@example.org")
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": "made-up"})
    assert r.status_code == 401
    row = await db.scalar(select(RefreshToken))
    assert row is not None
    row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    await db.commit()
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401
    assert r.json()["code"] == "unauthorized"


async def test_logout_revokes_the_access_token_and_the_refresh_token(
    client: AsyncTestClient[Litestar],
) -> None:
    tokens = await _register_and_login(client, "gu@example.org")
    other = (
        await client.post(
            "/api/v1/auth/login", json={"email": "gu@example.org", "password": PASSWORD}
        )
    ).json()
    r = await client.post("/api/v1/auth/logout", headers=_bearer(tokens["access_token"]))
    assert r.status_code == 204, r.text
    me = await client.get("/api/v1/auth/me", headers=_bearer(tokens["access_token"]))
    assert me.status_code == 401
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401
    # Another session of the same user is untouched.
    assert (await client.get("/api/v1/auth/me", headers=_bearer(other["access_token"]))).is_success


async def test_logout_with_a_refresh_token_revokes_that_session(
    client: AsyncTestClient[Litestar],
) -> None:
    tokens = await _register_and_login(client, "ha@example.org")
    r = await client.post(
        "/api/v1/auth/logout",
        headers=_bearer(tokens["access_token"]),
        json={"refresh_token": tokens["refresh_token"]},
    )
    assert r.status_code == 204, r.text
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
async def test_expired_tampered_and_unsigned_access_tokens_are_refused(
    client: AsyncTestClient[Litestar], settings: Settings, make_account
) -> None:
    account = await make_account()
    now = datetime.now(UTC)
    claims = {
        "sub": str(account.id),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "fam": str(uuid4()),
        "org": str(account.org_id),
        "typ": "access",
    }
    secret = settings.app.secret_key
    good = jwt.encode(claims, secret, algorithm=ALGORITHM)
    assert (await client.get("/api/v1/auth/me", headers=_bearer(good))).status_code == 200

    past = {**claims, "iat": int((now - timedelta(hours=2)).timestamp())}
    past["exp"] = int((now - timedelta(hours=1)).timestamp())
    header, _, signature = good.split(".")
    forged_payload = jwt.encode({**claims, "sub": str(uuid4())}, secret, algorithm=ALGORITHM)
    bad = {
        "expired": jwt.encode(past, secret, algorithm=ALGORITHM),
        "wrong key": jwt.encode(claims, "another-secret-" + "y" * 32, algorithm=ALGORITHM),
        "alg none": jwt.encode(claims, None, algorithm="none"),
        "alg HS512": jwt.encode(claims, secret, algorithm="HS512"),
        "payload swapped": f"{header}.{forged_payload.split('.')[1]}.{signature}",
        "refresh-typed": jwt.encode({**claims, "typ": "refresh"}, secret, algorithm=ALGORITHM),
        "garbage": "not.a.token",
    }
    for name, token in bad.items():
        r = await client.get("/api/v1/auth/me", headers=_bearer(token))
        assert r.status_code == 401, (name, r.text)
        assert r.json()["code"] == "unauthorized", name
    r = await client.get("/api/v1/auth/me")
    assert r.status_code == 401
    assert set(r.json()) >= {"code", "message"}
