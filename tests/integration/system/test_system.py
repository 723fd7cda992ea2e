"""Health, status, OpenAPI, request ids, the error shape and the audit trail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar.testing import AsyncTestClient

from server.app import create_app
from tests.conftest import REDIS_URL

if TYPE_CHECKING:
    from litestar import Litestar

    from server.settings import Settings
    from tests.integration.conftest import Account


async def test_health_status_and_openapi(client: AsyncTestClient[Litestar]) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    status = await client.get("/status")
    assert status.status_code == 200, status.text
    checks = status.json()["checks"]
    assert checks["database"]["status"] == "ok"
    assert checks["redis"]["status"] == "disabled"

    schema = await client.get("/schema/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/auth/login" in paths
    assert "/api/v1/projects/{project_id}" in paths


async def test_status_checks_redis_when_configured(settings: Settings, clean_db: str) -> None:
    from dataclasses import replace  # noqa: PLC0415

    from server.settings import RedisSettings  # noqa: PLC0415

    app = create_app(replace(settings, redis=RedisSettings(url=REDIS_URL)), clean_db)
    async with AsyncTestClient(app=app) as client:
        status = await client.get("/status")
    assert status.json()["checks"]["redis"]["status"] == "ok", status.text


async def test_request_id_is_accepted_or_made_and_always_returned(
    client: AsyncTestClient[Litestar],
) -> None:
    sent = await client.get("/health", headers={"X-Request-ID": "trace-42.a"})
    assert sent.headers["x-request-id"] == "trace-42.a"
    made = await client.get("/health")
    assert len(made.headers["x-request-id"]) == 32
    hostile = await client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert hostile.headers["x-request-id"] != "bad id\twith spaces"
    error = await client.get("/nowhere", headers={"X-Request-ID": "on-error"})
    assert error.headers["x-request-id"] == "on-error"


async def test_every_error_is_json_with_code_and_message(
    client: AsyncTestClient[Litestar], make_account
) -> None:
    account: Account = await make_account()
    unknown = await client.get("/nowhere")
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "not_found"

    malformed = await client.post(
        "/api/v1/projects",
        content=b"{not json",
        headers={**account.headers, "Content-Type": "application/json"},
    )
    assert malformed.status_code == 400, malformed.text
    assert malformed.json()["code"] == "bad_request"

    invalid = await client.post("/api/v1/projects", json={"name": ""}, headers=account.headers)
    assert invalid.status_code == 422, invalid.text
    assert invalid.json()["code"] == "invalid"

    wrong_method = await client.put("/health")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "method_not_allowed"

    bad_login = await client.post(
        "/api/v1/auth/login", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert bad_login.status_code == 400
    for response in (unknown, malformed, invalid, wrong_method, bad_login):
        body = response.json()
        assert isinstance(body["code"], str)
        assert isinstance(body["message"], str)
        assert response.headers["content-type"].startswith("application/json")


async def test_mutations_are_audited_and_only_admins_read_the_trail(
    client: AsyncTestClient[Litestar], make_account
) -> None:
    admin: Account = await make_account(role="admin")
    ann: Account = await make_account()
    r = await client.post(
        "/api/v1/projects",
        json={"name": "Audited"},
        headers={**ann.headers, "X-Request-ID": "req-create-1"},
    )
    project = r.json()["id"]
    await client.patch(
        f"/api/v1/projects/{project}",
        json={"name": "Renamed"},
        headers={**ann.headers, "X-Request-ID": "req-rename-1"},
    )
    await client.get(f"/api/v1/projects/{project}", headers=ann.headers)
    refused = await client.delete(f"/api/v1/projects/{project}", headers=admin.headers)
    assert refused.status_code == 404

    assert (await client.get("/api/v1/audit", headers=ann.headers)).status_code == 403
    assert (await client.get("/api/v1/audit")).status_code == 401
    trail = await client.get("/api/v1/audit", params={"project_id": project}, headers=admin.headers)
    assert trail.status_code == 200, trail.text
    rows = {row["action"]: row for row in trail.json()}
    assert set(rows) == {"create_project", "update_project"}, rows
    create = rows["create_project"]
    assert create["actor_id"] == str(ann.id)
    assert create["target_type"] == "project"
    assert create["target_id"] == project
    assert create["request_id"] == "req-create-1"
    assert create["created_at"]
    assert rows["update_project"]["request_id"] == "req-rename-1"

    by_action = await client.get(
        "/api/v1/audit", params={"action": "update_project"}, headers=admin.headers
    )
    assert [row["request_id"] for row in by_action.json()] == ["req-rename-1"]


async def test_register_and_login_are_audited_with_the_new_user_as_actor(
    client: AsyncTestClient[Litestar], make_account
) -> None:
    admin: Account = await make_account(role="admin")
    r = await client.post(
        "/api/v1/auth/register",
        json={"email": "new@example.org", "password": "long enough password"},
    )
    user_id = r.json()["id"]
    trail = await client.get("/api/v1/audit", params={"actor_id": user_id}, headers=admin.headers)
    assert [row["action"] for row in trail.json()] == ["register"]
