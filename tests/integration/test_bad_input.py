"""Bad input over REST answers 4xx with a stable code, never 5xx: NUL characters in any text
field, numbers beyond 32 bits in paths and queries, deeply nested JSON, blank messages, and
concurrent writes of the same thing (phase versions, restores, invitation revocations)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import func, select

from server.db.models import ChatMessage, ChatSession, Project
from tests.conftest import ROOT
from tests.integration.chat.conftest import serve

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    from tests.integration.conftest import Account

    Maker = Callable[..., Awaitable[Account]]
    ProjectMaker = Callable[..., Awaitable[UUID]]

__all__ = ["serve"]
BIG = 2**40


def _refused(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    assert {"code", "message"} <= set(body), body
    return body


async def test_nul_characters_in_text_fields_are_refused(
    serve: Callable[..., Any], make_account: Maker, make_project: ProjectMaker, db: AsyncSession
) -> None:
    served = serve(ROOT / "config.json")
    owner = await make_account()
    project = await make_project({owner.id: "owner"})
    chat_session = ChatSession(project_id=project, title="Probe")
    db.add(chat_session)
    await db.commit()
    async with httpx.AsyncClient(base_url=served.http, headers=owner.headers) as http:
        drafted = (await http.post("/api/v1/projects", json={"name": "Phases"})).json()["id"]
        answers = {
            "register name": await http.post(
                "/api/v1/auth/register",
                json={"email": "nul@example.org", "password": "a long passphrase", "name": "a\0b"},
            ),
            "register email": await http.post(
                "/api/v1/auth/register",
                json={"email": "n\0ul@example.org", "password": "a long passphrase"},
            ),
            "project name": await http.post("/api/v1/projects", json={"name": "Plan\0"}),
            "rename": await http.patch(f"/api/v1/projects/{project}", json={"name": "x\0"}),
            "invitation": await http.post(
                f"/api/v1/projects/{project}/invitations",
                json={"role": "viewer", "email": "in\0vite@example.org"},
            ),
            "phase content": await http.put(
                f"/api/v1/projects/{drafted}/phases/1",
                json={"content": "draft\0", "based_on_version": None},
            ),
            "message": await http.post(
                f"/api/v1/chat/sessions/{chat_session.id}/messages",
                json={"content": "hi\0", "client_message_id": "nul"},
            ),
            "session title": await http.post(
                f"/api/v1/projects/{project}/chat/sessions", json={"title": "t\0"}
            ),
        }
    for what, response in answers.items():
        body = _refused(response, 400, 422)
        assert "NUL" in body["message"] or body["code"] == "invalid", (what, body)
    assert await db.scalar(select(func.count()).select_from(ChatMessage)) == 0
    names = await db.scalars(select(Project.name).where(Project.id == project))
    assert "\0" not in "".join(names)


async def test_numbers_beyond_32_bits_and_deep_nesting_are_refused(
    serve: Callable[..., Any], make_account: Maker, make_project: ProjectMaker, db: AsyncSession
) -> None:
    served = serve(ROOT / "config.json")
    owner = await make_account()
    project = await make_project({owner.id: "owner"})
    chat_session = ChatSession(project_id=project, title="Probe")
    db.add(chat_session)
    await db.commit()
    phases = f"/api/v1/projects/{project}/phases"
    async with httpx.AsyncClient(base_url=served.http, headers=owner.headers) as http:
        for url in (
            f"/api/v1/chat/sessions/{chat_session.id}/messages?after_seq={BIG}",
            f"{phases}/{BIG}",
            f"{phases}/1/versions/{BIG}",
            f"{phases}/{BIG}/versions",
        ):
            _refused(await http.get(url), 400, 404, 422)
        _refused(await http.post(f"{phases}/1/versions/{BIG}/restore"), 400, 404, 422)
        deep = '{"name": ' + "[" * 1000 + "]" * 1000 + "}"
        nested = await http.post(
            "/api/v1/projects", content=deep, headers={"Content-Type": "application/json"}
        )
        _refused(nested, 400, 422)
        blank = await http.post(
            f"/api/v1/chat/sessions/{chat_session.id}/messages",
            json={"content": "\u200b\u200d", "client_message_id": "zw"},
        )
        assert _refused(blank, 400)["code"] == "bad_request"


async def test_concurrent_writes_of_the_same_thing_conflict_instead_of_failing(
    serve: Callable[..., Any], make_account: Maker
) -> None:
    served = serve(ROOT / "config.json")
    owner = await make_account()
    limits = httpx.Limits(max_connections=20)
    async with httpx.AsyncClient(
        base_url=served.http, headers=owner.headers, timeout=60, limits=limits
    ) as http:
        created = await http.post("/api/v1/projects", json={"name": "Race"})
        project = created.json()["id"]
        phase = f"/api/v1/projects/{project}/phases/1"
        first = await http.put(phase, json={"content": "v1", "based_on_version": None})
        assert first.status_code == 200, first.text
        puts = await asyncio.gather(
            *(
                http.put(phase, json={"content": f"draft {n}", "based_on_version": None})
                for n in range(8)
            )
        )
        restores = await asyncio.gather(
            *(http.post(f"{phase}/versions/1/restore") for _ in range(8))
        )
        for response in [*puts, *restores]:
            assert response.status_code in {200, 409}, (response.status_code, response.text)
            if response.status_code == 409:
                assert response.json()["code"] == "conflict"

        invitation = await http.post(
            f"/api/v1/projects/{project}/invitations", json={"role": "viewer"}
        )
        assert invitation.status_code == 201, invitation.text
        url = f"/api/v1/projects/{project}/invitations/{invitation.json()['id']}"
        deletes = await asyncio.gather(*(http.delete(url) for _ in range(8)))
        assert {d.status_code for d in deletes} <= {204, 404, 409}, [d.text for d in deletes]
        versions = await http.get(f"{phase}/versions")
    numbers = [v["version"] for v in versions.json()]
    assert len(numbers) == len(set(numbers))
