"""Usage metering of every provider call, the /api/v1/usage report; a project's profile override."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update

from ingest import count_tokens, embedding_text
from providers import (
    ChatRequest,
    Completion,
    Hop,
    Message,
    ProvidersUnavailable,
    Usage,
    estimate_tokens,
)
from server.app import create_app, services_of
from server.db.models import Chunk, Project, UsageEvent
from server.db.tenancy import org_context
from server.metering import usage_scope
from tests.fakes.fixtures import fake_providers
from tests.integration.documents.conftest import upload, wait_done

from .conftest import write_config
from .test_config import eventually

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path
    from uuid import UUID

    from litestar import Litestar
    from sqlalchemy.ext.asyncio import AsyncSession

    from server.settings import Settings
    from tests.fakes import FakeProviders
    from tests.integration.conftest import Account

    Client = AsyncTestClient[Litestar]

__all__ = ["fake_providers"]

EMBEDDED = "Bakeries sell bread to the neighbourhood every morning before eight o'clock."


def completion(provider: str, model: str, prompt: int, answer: int, cost: float) -> Completion:
    failed = Hop(provider="openai", model="gpt-4o", ok=False, error="timed out", attempts=2)
    answered = Hop(
        provider=provider,
        model=model,
        ok=True,
        prompt_tokens=prompt,
        completion_tokens=answer,
        cost_usd=cost,
        latency_ms=120.0,
        attempts=1,
    )
    return Completion(
        provider=provider,
        model=model,
        finish_reason="stop",
        usage=Usage(prompt, answer),
        cost_usd=cost,
        latency_ms=150.0,
        hops=(failed, answered),
    )


async def report(client: Client, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    r = await client.get("/api/v1/usage", params=params, headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


@pytest.fixture
async def recorded(
    client: Client,
    db: AsyncSession,
    admin: Account,
    member: Account,
    make_project: Callable[..., Awaitable[UUID]],
) -> dict[str, Any]:
    """Three chat replies and one embedding call by two users in two projects."""
    admin_id, member_id = admin.id, member.id
    mine = await make_project({member_id: "owner"}, "Bakery")
    theirs = await make_project({admin_id: "owner"}, "Garage")
    services = services_of(client.app)
    meter = services.runtime.meter
    with org_context(admin.org_id):  # the test's organisation, where both projects are
        with usage_scope(user_id=member_id, project_id=mine, purpose="chat"):
            meter.completion(completion("anthropic", "claude-sonnet-4-5", 1000, 500, 0.0105))
        with usage_scope(user_id=member_id, project_id=mine, purpose="draft"):
            meter.completion(completion("anthropic", "claude-sonnet-4-5", 2000, 1000, 0.021))
        with usage_scope(user_id=admin_id, project_id=theirs):
            meter.completion(completion("gemini", "gemini-2.5-flash", 100, 100, 0.00028))
            await services.config_store.embedder().embed([EMBEDDED])
    await report(client, admin.headers)  # the report writes what is pending first
    return {"admin": admin_id, "member": member_id, "mine": mine, "theirs": theirs}


async def test_usage_by_each_group(
    client: Client, admin: Account, recorded: dict[str, Any]
) -> None:
    by_provider = await report(client, admin.headers, group_by="provider")
    rows = {row["key"]: row for row in by_provider["rows"]}
    assert set(rows) == {"anthropic", "gemini", "local"}
    assert rows["anthropic"]["calls"] == 2
    assert rows["anthropic"]["prompt_tokens"] == 3000
    assert rows["anthropic"]["completion_tokens"] == 1500
    assert rows["anthropic"]["cost_usd"] == pytest.approx(0.0315)
    assert rows["anthropic"]["avg_latency_ms"] == 150.0
    assert rows["local"]["prompt_tokens"] == estimate_tokens(EMBEDDED)
    assert by_provider["rows"][0]["key"] == "anthropic"
    total = by_provider["total"]
    assert total["calls"] == 4
    assert total["failed"] == 0
    assert total["cost_usd"] == pytest.approx(0.0315 + 0.00028)

    by_user = {r["key"]: r for r in (await report(client, admin.headers, group_by="user"))["rows"]}
    assert by_user[str(recorded["member"])]["calls"] == 2
    assert by_user[str(recorded["admin"])]["calls"] == 2

    by_project = await report(client, admin.headers, group_by="project")
    projects = {r["key"]: r["calls"] for r in by_project["rows"]}
    assert projects == {str(recorded["mine"]): 2, str(recorded["theirs"]): 2}

    by_model = await report(client, admin.headers, group_by="model")
    assert {r["key"] for r in by_model["rows"]} == {
        "claude-sonnet-4-5",
        "gemini-2.5-flash",
        "wordllama-l2_supercat",
    }

    by_day = await report(client, admin.headers, group_by="day")
    today = datetime.now(UTC).date().isoformat()
    assert [(r["key"], r["calls"]) for r in by_day["rows"]] == [(today, 4)]


async def test_usage_filters_by_period_and_project(
    client: Client, db: AsyncSession, admin: Account, recorded: dict[str, Any]
) -> None:
    await db.execute(
        update(UsageEvent)
        .where(UsageEvent.purpose == "draft")
        .values(created_at=datetime(2026, 1, 5, 23, 30, tzinfo=UTC))
    )
    await db.commit()
    by_day = await report(client, admin.headers, group_by="day")
    assert by_day["rows"][0]["key"] == "2026-01-05"

    january = await report(
        client,
        admin.headers,
        group_by="provider",
        **{"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"},
    )
    assert [(r["key"], r["calls"]) for r in january["rows"]] == [("anthropic", 1)]
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    recent = await report(client, admin.headers, group_by="provider", **{"from": since})
    assert recent["total"]["calls"] == 3

    theirs = await report(
        client, admin.headers, group_by="provider", project_id=str(recorded["theirs"])
    )
    assert {r["key"] for r in theirs["rows"]} == {"gemini", "local"}


async def test_non_admins_see_only_their_own_usage(
    client: Client, member: Account, recorded: dict[str, Any]
) -> None:
    own = await report(client, member.headers, group_by="user")
    assert [r["key"] for r in own["rows"]] == [str(recorded["member"])]
    assert own["user_id"] == str(recorded["member"])
    assert own["total"]["calls"] == 2
    in_project = await report(
        client, member.headers, group_by="project", project_id=str(recorded["mine"])
    )
    assert in_project["total"]["calls"] == 2

    r = await client.get(
        "/api/v1/usage", params={"user_id": str(recorded["admin"])}, headers=member.headers
    )
    assert r.status_code == 403
    r = await client.get(
        "/api/v1/usage", params={"project_id": str(recorded["theirs"])}, headers=member.headers
    )
    assert r.status_code == 404
    r = await client.get("/api/v1/usage", params={"group_by": "planet"}, headers=member.headers)
    assert r.status_code in {400, 422}
    r = await client.get("/api/v1/usage")
    assert r.status_code == 401


async def test_a_failed_chain_is_recorded(client: Client, db: AsyncSession, admin: Account) -> None:
    error = ProvidersUnavailable(
        [
            Hop(
                provider="openai",
                model="gpt-4o",
                ok=False,
                error="cut",
                prompt_tokens=10,
                completion_tokens=5,
                cost_usd=0.0001,
                latency_ms=30.0,
                attempts=1,
            ),
            Hop(provider="anthropic", model="claude-sonnet-4-5", ok=False, error="overloaded"),
        ]
    )
    with org_context(admin.org_id):  # a usage event with no project: the organisation at work
        services_of(client.app).runtime.meter.failure(error)
    await report(client, admin.headers)
    event = await db.scalar(select(UsageEvent))
    assert event is not None
    assert (event.ok, event.provider, event.prompt_tokens) == (False, "anthropic", 10)
    assert [h["error"] for h in event.hops] == ["cut", "overloaded"]
    total = (await report(client, admin.headers, group_by="provider"))["total"]
    assert (total["calls"], total["failed"]) == (1, 1)


async def test_project_profile_override_must_exist(
    client: Client,
    db: AsyncSession,
    member: Account,
    config_path: Path,
    make_project: Callable[..., Awaitable[UUID]],
) -> None:
    project_id = await make_project({member.id: "editor"}, "Bakery")
    path = f"/api/v1/projects/{project_id}"
    r = await client.patch(path, json={"profile": "nope"}, headers=member.headers)
    assert r.status_code == 422, r.text
    assert "nope" in r.json()["message"]
    r = await client.patch(path, json={"profile": "offline"}, headers=member.headers)
    assert r.status_code == 200, r.text
    assert r.json()["profile"] == "offline"

    store = services_of(client.app).config_store
    project = await db.get(Project, project_id)
    assert store.profile_for(project) == "offline"

    raw = json.loads(config_path.read_text())
    del raw["profiles"]["offline"]
    write_config(config_path, raw)
    await eventually(lambda: "offline" not in store.config.profiles)
    assert store.profile_for(project) is None

    r = await client.patch(path, json={"profile": ""}, headers=member.headers)
    assert r.status_code == 200, r.text
    assert r.json()["profile"] is None


async def test_a_routed_reply_is_recorded_with_its_cost(
    fake_providers: FakeProviders,
    config_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    client: Client,
    db: AsyncSession,
    admin: Account,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    raw = json.loads(config_path.read_text())
    raw["providers"] = fake_providers.providers_section()
    raw["profiles"]["fake"] = {"chain": [{"provider": "openai", "model": "gpt-4o"}]}
    raw["active_profile"] = "fake"
    write_config(config_path, raw)
    store = services_of(client.app).config_store
    await eventually(lambda: "openai" in store.registry.chat)
    fake_providers.openai.queue_stream(
        "Plans need numbers.", prompt_tokens=1000, completion_tokens=2000
    )

    router = services_of(client.app).config_store.router
    request = ChatRequest(messages=(Message("user", "Help me write a plan."),))
    with org_context(admin.org_id), usage_scope(user_id=admin.id, purpose="chat"):
        events = [event async for event in router.stream(request)]
    done = events[-1]
    assert isinstance(done, Completion)
    assert "".join(e.text for e in events[:-1]) == "Plans need numbers."
    assert done.cost_usd == pytest.approx(0.0225)

    # The router itself recorded the reply; the report writes what is pending first.
    rows = (await report(client, admin.headers, group_by="model"))["rows"]
    assert rows == [
        {
            "key": "gpt-4o",
            "calls": 1,
            "failed": 0,
            "prompt_tokens": 1000,
            "completion_tokens": 2000,
            "cost_usd": pytest.approx(0.0225),
            "avg_latency_ms": pytest.approx(done.latency_ms, abs=0.01),
        }
    ]
    event = await db.scalar(select(UsageEvent))
    assert event is not None
    assert [h["provider"] for h in event.hops] == ["openai"]


async def test_every_provider_call_is_recorded_where_it_is_made(
    client: Client, db: AsyncSession, member: Account, make_project: Callable[..., Awaitable[UUID]]
) -> None:
    """An upload's ingest, a search and a chat turn (its reply and its memory) each leave usage
    rows attributed to the project, although none of them records usage itself."""
    project = await make_project({member.id: "owner"}, "Bakery")
    notes = b"# Notes\n\nOur sourdough sells out by nine every Saturday morning.\n"
    created = await upload(client, member, project, "notes.md", notes, "text/markdown")
    assert created.status_code == 202, created.text
    assert (await wait_done(client, member, created.json()["id"]))["status"] == "completed"
    found = await client.post(
        "/api/v1/search",
        headers=member.headers,
        json={"project_id": str(project), "query": "sourdough", "mode": "hybrid"},
    )
    assert found.status_code == 200, found.text
    chat = await client.post(
        f"/api/v1/projects/{project}/chat/sessions", json={"title": "Plan"}, headers=member.headers
    )
    assert chat.status_code == 201, chat.text
    sent = await client.post(
        f"/api/v1/chat/sessions/{chat.json()['id']}/messages",
        json={"content": "When does the sourdough sell out?", "client_message_id": "u1"},
        headers=member.headers,
    )
    assert sent.status_code == 200, sent.text
    assert "chat:message_received" in sent.text

    async def purposes() -> set[str]:
        await report(client, member.headers)
        rows = await db.execute(select(UsageEvent.purpose).where(UsageEvent.project_id == project))
        await db.commit()
        return set(rows.scalars())

    async def all_recorded() -> bool:
        return {"ingest", "search", "memory"} <= await purposes()

    # The turn's memory is embedded after the reply is stored, in the background.
    await eventually(all_recorded)
    total = (await report(client, member.headers, project_id=str(project)))["total"]
    assert total["calls"] >= 3
    assert total["failed"] == 0
    # The document was embedded from the chunker's token ids: its row counts them.
    documents = select(Chunk).where(Chunk.project_id == project, Chunk.source_type == "document")
    [piece] = (await db.scalars(documents)).all()
    ingest_row = await db.scalar(
        select(UsageEvent).where(UsageEvent.project_id == project, UsageEvent.purpose == "ingest")
    )
    assert ingest_row is not None
    assert ingest_row.prompt_tokens == count_tokens(embedding_text(piece.heading_path, piece.text))


async def test_a_report_writes_pending_rows_through_its_own_connection(
    settings: Settings,
    clean_db: str,
    make_account: Callable[..., Awaitable[Account]],
    make_project: Callable[..., Awaitable[UUID]],
) -> None:
    # A one-connection pool: a report that waited for a second connection to write the
    # meter's pending rows would wait for ever (and a pool full of such reports would too).
    app = create_app(replace(settings, db=replace(settings.db, pool_size=1)), clean_db)
    owner = await make_account()
    project = await make_project({owner.id: "owner"})
    async with AsyncTestClient(app=app) as client:
        meter = services_of(app).runtime.meter
        with org_context(owner.org_id), usage_scope(user_id=owner.id, project_id=project):
            meter.completion(completion("openai", "gpt-4o-mini", 100, 50, 0.001))
        async with asyncio.timeout(30):
            body = await report(client, owner.headers)
    assert body["total"]["calls"] == 1


async def test_rows_the_database_refuses_do_not_fail_the_report_that_wrote_them(
    client: Client, admin: Account, make_project: Callable[..., Awaitable[UUID]]
) -> None:
    project = await make_project({admin.id: "owner"})
    meter = services_of(client.app).runtime.meter
    with org_context(admin.org_id), usage_scope(user_id=admin.id, project_id=project):
        meter.completion(completion("p" * 101, "model", 10, 5, 0.0))  # over 100 characters
    body = await report(client, admin.headers)  # refused, logged, and the report goes on
    assert body["total"]["calls"] == 0
    assert await meter.flush() == 0  # not kept to be refused again
