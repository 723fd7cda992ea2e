from __future__ import annotations


async def test_health(client) -> None:
    r = await client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert r.headers["x-request-id"]


async def test_register_login_me(client) -> None:
    r = await client.post("/api/v1/auth/register", json={"email": "A@x.org", "password": "password1"})
    assert r.status_code == 201, r.text
    assert r.json()["email"] == "a@x.org"
    r = await client.post("/api/v1/auth/login", json={"email": "a@x.org", "password": "password1"})
    assert r.status_code == 200, r.text
    tokens = r.json()
    r = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert r.status_code == 200, r.text
    assert r.json()["email"] == "a@x.org"
