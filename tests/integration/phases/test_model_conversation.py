"""The phase conversation with an AI model (the fake OpenAI server, through the real SDK): turns
read and drafts written with structured output, change requests reaching the model with the
current draft, the offline rules when the model fails, and citations kept consistent whatever
the model cites."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import select

from server.app import create_app
from server.db.models import UsageEvent
from server.settings import ChatSettings
from tests.conftest import ROOT
from tests.fakes.fixtures import fake_providers
from tests.integration.chat.conftest import Served, open_client

from .conftest import DIAMOND, reply_of

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator
    from pathlib import Path

    from sqlalchemy.ext.asyncio import AsyncSession

    from server.settings import Settings
    from tests.fakes import StructuredCall
    from tests.fakes.provider_server import FakeProviders
    from tests.integration.conftest import Account

__all__ = ["fake_providers"]

CORPORA = ROOT.parent / "shared" / "corpora"
MARKER = re.compile(r"\[(S\d+)\]")
PASSAGE = re.compile(r"^\[(S\d+)\] (.+)\n(.+)$", re.MULTILINE)


def reading(kind: str, question: int | None = None, command: str | None = None) -> dict:
    return {"kind": kind, "question": question, "command": command}


def draft(*parts: tuple[str, str, list[str]]) -> dict:
    return {"parts": [{"heading": h, "text": t, "citations": c} for h, t, c in parts]}


@pytest.fixture
def model_served(
    settings: Settings,
    clean_db: str,
    tmp_path: Path,
    fake_providers: FakeProviders,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Served]:
    """The app with the diamond workflow and a ``model`` profile on the fake OpenAI server."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    config = json.loads((ROOT / "config.json").read_text())
    config["providers"] = {**config["providers"], **fake_providers.providers_section()}
    config["workflows"]["diamond"] = DIAMOND
    config["profiles"]["model"] = {"chain": [{"provider": "openai", "model": "gpt-4o"}]}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    chat = ChatSettings(messages_per_minute=1000)
    app = create_app(
        replace(settings, app=replace(settings.app, config_path=path), chat=chat), clean_db
    )
    running = Served(app).start()
    yield running
    running.stop()


async def upload(http: httpx.AsyncClient, project: str, path: Path, mime: str) -> str:
    """Upload a corpora file (read in place) and wait until it is searchable."""
    r = await http.post(
        "/api/v1/documents",
        data={"project_id": project},
        files={"file": (path.name, path.read_bytes(), mime)},
    )
    assert r.status_code == 202, r.text
    document: str = r.json()["id"]
    for _ in range(600):
        status = (await http.get(f"/api/v1/documents/{document}")).json()["status"]
        if status in ("completed", "failed"):
            break
        await asyncio.sleep(0.1)
    assert status == "completed"
    return document


async def test_a_model_reads_turns_and_drafts_with_structured_output(
    model_served: Served,
    fake_providers: FakeProviders,
    make_account: Callable[..., Awaitable[Account]],
    db: AsyncSession,
) -> None:
    who = await make_account()
    async with httpx.AsyncClient(base_url=model_served.http, headers=who.headers) as http:
        r = await http.post("/api/v1/projects", json={"name": "Model", "template": "diamond"})
        project = r.json()["id"]
        r = await http.patch(f"/api/v1/projects/{project}", json={"profile": "model"})
        assert r.status_code == 200, r.text
        openai = fake_providers.openai
        async with open_client(model_served.ws, who.token) as ws:
            await ws.join(project)

            async def say(text: str, ref: str) -> dict[str, Any]:
                await ws.send("chat:send_message", {"content": text, "client_message_id": ref})
                return reply_of(await ws.until_reply())

            openai.queue_stream("Question 1 of 1: Root?")
            reply = await say("Hello", "hello")
            assert reply["provider"] == "openai"
            asked = openai.requests[-1].json["messages"][0]["content"]
            assert "question 1 of 1" in asked.lower()

            # The model reads the answer (a question mark does not make it a question) and
            # writes the draft as parts; the server renders them.
            openai.queue_json(reading("answer", 1))
            openai.queue_json(
                draft(("", "The root of it all is the farmers, in a paragraph to cut.", []))
            )
            reply = await say("The root is the farmers - is that what you mean?", "answer")
            read, drafted = openai.requests[-2:]
            assert read.json["response_format"]["json_schema"]["name"] == "turn_reading"
            assert "Pending question: 1." in read.json["messages"][0]["content"]
            assert drafted.json["response_format"]["json_schema"]["name"] == "phase_draft"
            first = "## Root\n\nThe root of it all is the farmers, in a paragraph to cut."
            assert reply["content"].startswith(first)
            phase = (await http.get(f"/api/v1/projects/{project}/phases/1")).json()
            assert phase["answers"][0]["answer"].endswith("is that what you mean?")
            assert phase["content"] == first

            # A change request reaches the model with the current version and the request.
            openai.queue_json(reading("change_request"))
            openai.queue_json(draft(("", "The root: the farmers.", [])))
            reply = await say("Make it shorter and more persuasive", "change")
            sent = openai.requests[-1].json["messages"][-1]["content"]
            assert f"## The current draft\n\n{first}" in sent
            assert "## Changes I ask for\n\nMake it shorter and more persuasive" in sent
            # A model made the changes: nothing is said about needing one.
            assert "AI model provider" not in reply["content"]
            versions = (await http.get(f"/api/v1/projects/{project}/phases/1/versions")).json()
            assert [v["content"] for v in versions] == [first, "## Root\n\nThe root: the farmers."]
            assert versions[1]["note"] == "revised as asked: Make it shorter and more persuasive"

            # The model fails to read a turn: the offline rules take it ("approve" approves).
            openai.queue_json_error(400, message="schema rejected")
            reply = await say("approve", "approve")
            assert "Phase 1 (Root) approved" in reply["content"]

            # The model reads as an answer what the rules would take for a free question.
            openai.queue_stream("Question 1 of 1: Left?")
            await say("/goto 2", "goto")
            openai.queue_json(reading("answer", 1))
            openai.queue_json(draft(("Market", "The left side is the market.", [])))
            reply = await say("What do you think of the market as the left side?", "left")
            left = (await http.get(f"/api/v1/projects/{project}/phases/2")).json()
            assert left["answers"][0]["answer"].startswith("What do you think")
            assert reply["content"].startswith("## Left\n\n### Market\n\nThe left side")
        # The usage report writes the server's pending usage rows first.
        assert (await http.get("/api/v1/usage")).status_code == 200

    # Reading turns is counted apart: three read, one failed.
    read = (
        await db.scalars(
            select(UsageEvent).where(
                UsageEvent.project_id == UUID(project), UsageEvent.purpose == "understand"
            )
        )
    ).all()
    assert sorted(e.ok for e in read) == [False, True, True, True]
    assert all(e.completion_tokens > 0 for e in read if e.ok)


async def test_citations_in_a_model_draft_are_dense_consistent_and_quoted_from_their_chunk(
    model_served: Served,
    fake_providers: FakeProviders,
    make_account: Callable[..., Awaitable[Account]],
) -> None:
    source = CORPORA / "docx" / "poi_IllustrativeCases.docx"
    if not source.is_file():
        pytest.skip("shared corpora not present")
    who = await make_account()

    def answer(call: StructuredCall) -> Any:
        if call.name == "turn_reading":
            return reading("answer", 1)
        passages = {
            ref: (label, text)
            for ref, label, text in PASSAGE.findall(call.prompt)
            if label.startswith(source.name)
        }
        refs = sorted(passages, key=lambda r: int(r[1:]))
        assert len(refs) >= 3, call.prompt
        last, first = refs[-1], refs[0]
        words = " ".join(passages[last][1].split()[:6])
        return draft(
            ("", f'As the guide puts it, "{words}" [{last}]. A claim [S99].', [last]),
            ("Cases", f'It never says "the moon is cheese" [{first}].', [refs[1]]),
        )

    fake_providers.openai.answer_json = answer
    fake_providers.openai.queue_stream("Question 1 of 1: Root?")
    mime = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    async with httpx.AsyncClient(base_url=model_served.http, headers=who.headers) as http:
        r = await http.post("/api/v1/projects", json={"name": "Budget", "template": "diamond"})
        project = r.json()["id"]
        await http.patch(f"/api/v1/projects/{project}", json={"profile": "model"})
        await upload(http, project, source, mime)
        async with open_client(model_served.ws, who.token) as ws:
            await ws.join(project)
            await ws.send("chat:send_message", {"content": "Hi", "client_message_id": "a"})
            await ws.until_reply()
            text = "Tax cases: what the Budget means for a waiter, a nurse and a pensioner."
            await ws.send("chat:send_message", {"content": text, "client_message_id": "b"})
            reply = reply_of(await ws.until_reply())
        version = (await http.get(f"/api/v1/projects/{project}/phases/1/versions")).json()[-1]
    content = version["content"]
    # The invented S99 and the citation vouching for a quotation its passage does not hold
    # are gone; the section's own citation list added its passage; numbers are dense and
    # follow first use.
    markers = MARKER.findall(content)
    assert list(dict.fromkeys(markers)) == ["S1", "S2"], content
    assert "[S99]" not in content
    assert '"the moon is cheese".' in content
    # Every marker names a stored source of the version, and the reply's citations match.
    sources = {s["ref"]: s for s in version["sources"] if s.get("ref")}
    assert {"S1", "S2"} <= set(sources)
    assert [c["ref"] for c in reply["citations"]] == ["S1", "S2"]
    quoted = re.search(r'"([^"]+)" \[S1\]', content)
    assert quoted is not None
    chunk = sources["S1"]["chunk_id"]
    document = sources["S1"]["document_id"]
    r = await _chunk_text(model_served, who, document, chunk)
    assert " ".join(quoted.group(1).split()) in " ".join(r.split())
    for citation, ref in zip(reply["citations"], ["S1", "S2"], strict=True):
        assert citation["chunk_id"] == sources[ref]["chunk_id"]


async def _chunk_text(served: Served, who: Account, document: str, chunk: str) -> str:
    async with httpx.AsyncClient(base_url=served.http, headers=who.headers) as http:
        r = await http.get(f"/api/v1/documents/{document}/chunks", params={"limit": 500})
        assert r.status_code == 200, r.text
        found = [c["text"] for c in r.json() if c["id"] == chunk]
    assert found
    text: str = found[0]
    return text
