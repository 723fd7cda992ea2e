"""Fixtures for phase tests: projects created over the API (so they get their phases), extra
members, a config with a non-linear test workflow, the app served on a real port for WebSocket
walks, and small request helpers."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from uuid import UUID

import httpx
import pytest
from litestar.testing import AsyncTestClient

from server.app import create_app
from server.db.models import ProjectMember
from server.settings import ChatSettings
from tests.conftest import ROOT
from tests.integration.chat.conftest import Served

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
    from pathlib import Path

    from litestar import Litestar
    from sqlalchemy.ext.asyncio import AsyncSession

    from server.settings import Settings
    from tests.integration.conftest import Account

DIAMOND = {
    "title": "Diamond",
    "description": "A small non-linear workflow for tests.",
    "phases": [
        {
            "number": 1,
            "title": "Root",
            "goal": "g1",
            "questions": ["Root?"],
            "instructions": "Write the root.",
            "depends_on": [],
        },
        {
            "number": 2,
            "title": "Left",
            "goal": "g2",
            "questions": ["Left?"],
            "instructions": "Write the left side.",
            "depends_on": [1],
        },
        {
            "number": 3,
            "title": "Right",
            "goal": "g3",
            "questions": ["Right?"],
            "instructions": "Write the right side.",
            "depends_on": [1],
        },
        {
            "number": 4,
            "title": "Join",
            "goal": "g4",
            "questions": ["Join?"],
            "instructions": "Join both sides.",
            "depends_on": [2, 3],
        },
        {
            "number": 5,
            "title": "Tail",
            "goal": "g5",
            "questions": ["Tail?"],
            "instructions": "Write the tail.",
            "depends_on": [4],
        },
        {
            "number": 6,
            "title": "Aside",
            "goal": "g6",
            "questions": ["Aside?"],
            "instructions": "Write the aside.",
            "depends_on": [1],
        },
    ],
}


def config_with(tmp_path: Path, **workflows: Any) -> Path:
    """The repository's config.json with extra workflows and a ``cloud-only`` profile (no
    fallback to the local provider), written to ``tmp_path``."""
    config = json.loads((ROOT / "config.json").read_text())
    config["workflows"].update(workflows)
    config["profiles"]["cloud-only"] = {"chain": [{"provider": "openai", "model": "gpt-4o"}]}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return path


@pytest.fixture
def phase_settings(settings: Settings, tmp_path: Path) -> Settings:
    """Settings whose config.json also has the ``diamond`` workflow."""
    path = config_with(tmp_path, diamond=DIAMOND)
    return replace(settings, app=replace(settings.app, config_path=path))


@pytest.fixture
def app(phase_settings: Settings, clean_db: str) -> Litestar:
    """The app with the test workflows."""
    return create_app(phase_settings, clean_db)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """HTTP client running the app's lifespan."""
    async with AsyncTestClient(app=app) as client:
        yield client


@pytest.fixture
def new_project(
    client: AsyncTestClient[Litestar], db: AsyncSession
) -> Callable[..., Awaitable[str]]:
    """Create a project over the API as ``owner`` (offline profile) and add ``members``."""

    async def make(
        owner: Account, template: str = "business-plan", members: dict[UUID, str] | None = None
    ) -> str:
        r = await client.post(
            "/api/v1/projects", json={"name": "Plan", "template": template}, headers=owner.headers
        )
        assert r.status_code == 201, r.text
        project_id: str = r.json()["id"]
        r = await client.patch(
            f"/api/v1/projects/{project_id}", json={"profile": "offline"}, headers=owner.headers
        )
        assert r.status_code == 200, r.text
        db.add_all(
            ProjectMember(project_id=UUID(project_id), user_id=user, role=role)
            for user, role in (members or {}).items()
        )
        await db.commit()
        return project_id

    return make


class Phases:
    """Requests against one project's phases as one account."""

    def __init__(self, client: AsyncTestClient[Litestar], project_id: str, who: Account) -> None:
        self.client, self.who = client, who
        self.base = f"/api/v1/projects/{project_id}/phases"

    async def call(
        self, method: str, path: str = "", status: int | None = 200, **kwargs: Any
    ) -> Any:
        """The JSON answer of a request; ``status`` None accepts any status."""
        url = f"{self.base}{path}"
        r = await self.client.request(method, url, headers=self.who.headers, **kwargs)
        assert status is None or r.status_code == status, r.text
        return r.json() if r.content else None

    async def get(self, number: int | None = None) -> Any:
        return await self.call("GET", "" if number is None else f"/{number}")

    async def edit(self, number: int, content: str, based_on: int | None, status: int = 200) -> Any:
        body = {"content": content, "based_on_version": based_on}
        return await self.call("POST", f"/{number}/edit", status, json=body)

    async def write(self, number: int, content: str) -> Any:
        """Edit from whatever version is current."""
        current = (await self.get(number))["current_version"]
        return await self.edit(number, content, current)

    async def statuses(self) -> dict[int, str]:
        return {p["number"]: p["status"] for p in await self.get()}


@pytest.fixture
def phases_of(client: AsyncTestClient[Litestar]) -> Callable[[str, Account], Phases]:
    """``phases_of(project_id, account)``: a :class:`Phases` helper."""
    return lambda project_id, who: Phases(client, project_id, who)


@pytest.fixture
def served(phase_settings: Settings, clean_db: str) -> Iterator[Served]:
    """The app with the test workflows, served by uvicorn on a free port; a walk through every
    phase sends more messages a minute than the default limit allows."""
    app = create_app(replace(phase_settings, chat=ChatSettings(messages_per_minute=1000)), clean_db)
    running = Served(app).start()
    yield running
    running.stop()


class Walker:
    """A project walked over a real WebSocket, with HTTP for setup and checks."""

    def __init__(self, served: Served, who: Account) -> None:
        self.served, self.who = served, who
        self.http = httpx.AsyncClient(base_url=served.http, headers=who.headers, timeout=30)

    async def project(self, template: str = "business-plan") -> str:
        r = await self.http.post("/api/v1/projects", json={"name": "Walk", "template": template})
        assert r.status_code == 201, r.text
        project_id: str = r.json()["id"]
        r = await self.http.patch(f"/api/v1/projects/{project_id}", json={"profile": "offline"})
        assert r.status_code == 200, r.text
        return project_id

    async def phases(self, project_id: str) -> list[dict[str, Any]]:
        r = await self.http.get(f"/api/v1/projects/{project_id}/phases")
        assert r.status_code == 200, r.text
        phases: list[dict[str, Any]] = r.json()
        return phases

    async def close(self) -> None:
        await self.http.aclose()


def reply_of(frames: list[dict[str, Any]]) -> dict[str, Any]:
    """The stored assistant message among ``frames`` (the last one)."""
    last = frames[-1]
    assert last["event"] == "chat:message_received", last
    message: dict[str, Any] = last["data"]["message"]
    return message


@pytest.fixture
async def walker(
    served: Served, make_account: Callable[..., Awaitable[Account]]
) -> AsyncIterator[Walker]:
    """A :class:`Walker` for a new account."""
    walking = Walker(served, await make_account())
    yield walking
    await walking.close()
