"""The conversation test corpus walked end to end over a real WebSocket, with the offline
provider and with an AI model (a scripted one behind the fake OpenAI server, reading turns and
drafting with structured output): every persona through every phase of its template, then
invariants over everything stored (answers, versions, messages, citations), not snapshots of
text."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from pypdf import PdfReader

from providers import OFFLINE_NOTICE
from server.app import create_app
from server.settings import ChatSettings
from tests.fakes.fixtures import fake_providers
from tests.integration.chat.conftest import Served, open_client

from .conftest import Walker, reply_of
from .fake_model import FakeModel
from .personas import PERSONAS, Moment, Persona

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

    from server.settings import Settings
    from tests.fakes.provider_server import FakeProviders
    from tests.integration.chat.conftest import Client
    from tests.integration.conftest import Account

__all__ = ["fake_providers"]

ARTIFACTS_ENV = "ASSISTANT_TEST_ARTIFACTS"
"""A folder to write each persona's transcript and PDF export to, for reading them by eye."""
_MARKER = re.compile(r"\[(S\d+)\]")
_UNCITED = re.compile(r" ?\[S\d+\]")
_QUOTE_CITED = re.compile(r"[\"“]([^\"“”]{3,})[\"”][^\[\n\"“”]{0,3}\[(S\d+)\]")
SCAFFOLDING = (
    OFFLINE_NOTICE,
    "Offline provider",
    "Noted as",
    "Question ",
    "Not answered",
    "Still open",
    "Sources:",
    "Goal:",
    "Does this draft work",
    "Back to phase",
    "**",
)


def _words(text: str) -> list[str]:
    return re.sub(r"[^\w\s]", " ", text).split()


def _kept(answer: str, text: str, run: int = 5) -> bool:
    """Whether ``text`` says what ``answer`` said: some ``run`` words of it in a row (an
    answer is written as prose, without what it said to the assistant)."""
    words, written = _words(answer), f" {' '.join(_words(text)).lower()} "
    return any(
        f" {' '.join(words[i : i + run]).lower()} " in written
        for i in range(max(1, len(words) - run + 1))
    )


class Walk:
    """One persona's conversation: the socket, HTTP, and what was said and expected."""

    def __init__(
        self,
        walker: Walker,
        ws: Client,
        project: str,
        persona: Persona,
        model: FakeModel | None = None,
    ) -> None:
        self.walker, self.ws, self.project, self.persona = walker, ws, project, persona
        self.model = model
        """The scripted AI model answering, or None for the offline provider."""
        self.base = f"/api/v1/projects/{project}/phases"
        self.expected: dict[tuple[int, int], str] = {}
        self.sent = 0
        self.changes: list[tuple[int, str]] = []

    async def say(self, text: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        self.sent += 1
        await self.ws.send(
            "chat:send_message", {"content": text, "client_message_id": f"m{self.sent}"}
        )
        frames = await self.ws.until_reply()
        return reply_of(frames), frames

    async def phase(self, number: int) -> dict[str, Any]:
        r = await self.walker.http.get(f"{self.base}/{number}")
        assert r.status_code == 200, r.text
        found: dict[str, Any] = r.json()
        return found

    async def answer(self, number: int, title: str) -> dict[str, Any]:
        """Answer every pending question of phase ``number``; the reply with its draft."""
        moments = {
            m.question: m for m in self.persona.moments.get(number, ()) if m.kind == "misfiled"
        }
        while True:
            phase = await self.phase(number)
            index = phase["next_question"]
            assert index is not None, phase
            count = len(phase["questions"])
            if index in moments:
                text = moments.pop(index).text
                if self.model is not None:
                    self.model.questions.add(text)
                reply, _ = await self.say(text)
                assert (
                    f"Back to phase {number}, question {index + 1} of {count}" in reply["content"]
                )
                reply, _ = await self.say("That was an answer")
            else:
                text = self.persona.answer(number, index, title)
                reply, _ = await self.say(text)
            self.expected[(number, index)] = text
            assert reply["phase"] == number
            if index + 1 < count and (await self.phase(number))["next_question"] is not None:
                assert (
                    f"Noted as your answer to question {index + 1} of {count}." in reply["content"]
                )
                upcoming = (await self.phase(number))["next_question"]
                assert f"Question {upcoming + 1} of {count}: " in reply["content"]
                continue
            return reply

    async def moment(self, number: int, moment: Moment, titles: dict[int, str]) -> None:
        if moment.kind == "free_question":
            before = (await self.phase(number))["answers"]
            if self.model is not None:
                self.model.questions.add(moment.text)
            reply, _ = await self.say(moment.text)
            assert moment.expect in reply["content"], reply["content"]
            cited = {c["ref"] for c in reply["citations"]}
            assert cited
            # Answered from memory, citing the message the answer was given in.
            recorded = {
                a["message_id"]
                for p in await self.walker.phases(self.project)
                for a in p["answers"]
                if moment.expect in a["answer"]
            }
            remembered = [c for c in reply["citations"] if "your answer in phase" in c["source"]]
            assert remembered, reply["citations"]
            assert remembered[0]["message_id"] in recorded
            # A free question is not recorded as an answer, and the pending question is asked again.
            assert (await self.phase(number))["answers"] == before
            assert f"Back to phase {number}, question" in reply["content"]
        elif moment.kind == "jump":
            reply, _ = await self.say(f"/goto {moment.target}")
            target = await self.phase(moment.target)
            assert target["questions"][0] in reply["content"]
            text = self.persona.answer(moment.target, 0, titles[moment.target])
            reply, _ = await self.say(text)
            self.expected[(moment.target, 0)] = text
            assert "Noted as your answer to question 1 of" in reply["content"]
            reply, _ = await self.say(f"/goto {number}")
            assert reply["phase"] == number
        elif moment.kind == "change":
            before = await self.phase(number)
            reply, _ = await self.say(moment.text)
            after = await self.phase(number)
            assert after["current_version"] == before["current_version"] + 1
            self.changes.append((number, moment.text))
            # What was asked changed; what the answers said is still there.
            for (n, _), answer in self.expected.items():
                if n == number:
                    assert _kept(answer, after["content"]), (answer, after["content"])
            assert reply["content"].rstrip().endswith("tell me what to change.")
            if "shorter" in moment.text:
                assert len(after["content"]) < len(before["content"])
            if "quotes" in moment.text:
                assert "“" not in after["content"]
                assert not _MARKER.search(after["content"])
            if "longer" in moment.text:
                assert len(after["content"]) > len(before["content"])
            if self.model is not None:
                # The model got the request and the version it applies to.
                prompt = _UNCITED.sub("", self.model.drafts[-1])
                assert f"## Changes I ask for\n\n{moment.text}" in prompt
                # (Its citations are renumbered to the new prompt's passages.)
                current = _UNCITED.sub("", before["content"])
                assert f"## The current draft\n\n{current}" in prompt
                assert "AI model provider" not in reply["content"]
            elif "persuasive" in moment.text:
                assert "need an AI model provider" in reply["content"]
                assert "more persuasive" in reply["content"]
        elif moment.kind == "change_of_mind":
            reply, _ = await self.say(f"/answer {number}.{moment.question + 1} {moment.text}")
            assert (
                f"Saved your answer to question {moment.question + 1} of phase {number}"
                in (reply["content"])
            )
            self.expected[(number, moment.question)] = moment.text
            reply, _ = await self.say(f"/regenerate {number}")
            assert moment.expect in reply["content"]
            reply, _ = await self.say("/approve")
            assert f"Phase {number} (" in reply["content"]


async def _walk(walker: Walker, persona: Persona, model: FakeModel | None = None) -> Walk:
    r = await walker.http.post(
        "/api/v1/projects", json={"name": persona.name, "template": persona.template}
    )
    assert r.status_code == 201, r.text
    project = r.json()["id"]
    profile = "offline" if model is None else "model"
    r = await walker.http.patch(f"/api/v1/projects/{project}", json={"profile": profile})
    assert r.status_code == 200, r.text
    if persona.document is not None:
        name, text = persona.document
        r = await walker.http.post(
            "/api/v1/documents",
            data={"project_id": project},
            files={"file": (name, text.encode(), "text/markdown")},
        )
        assert r.status_code == 202, r.text
        document = r.json()["id"]
        for _ in range(600):
            status = (await walker.http.get(f"/api/v1/documents/{document}")).json()["status"]
            if status in ("completed", "failed"):
                break
            await asyncio.sleep(0.1)
        assert status == "completed"
    template = await walker.phases(project)
    titles = {p["number"]: p["title"] for p in template}
    async with open_client(walker.served.ws, walker.who.token) as ws:
        await ws.join(project)
        walk = Walk(walker, ws, project, persona, model)
        reply, _ = await walk.say("Hello! Let's write this.")
        assert "Question 1 of" in reply["content"]
        for number, title in titles.items():
            moments = persona.moments.get(number, ())
            for moment in moments:
                if moment.kind in ("free_question", "jump"):
                    await walk.moment(number, moment, titles)
            reply = await walk.answer(number, title)
            drafted = await walk.phase(number)
            assert drafted["awaiting_approval"], drafted
            assert reply["content"].startswith(f"## {title}\n")
            for moment in moments:
                if moment.kind == "change":
                    await walk.moment(number, moment, titles)
            approval = ("/approve", "approve", "Looks good, approve")[number % 3]
            reply, _ = await walk.say(approval)
            assert f"Phase {number} ({title}) approved" in reply["content"]
            for moment in moments:
                if moment.kind == "change_of_mind":
                    await walk.moment(number, moment, titles)
        assert "Every phase is complete" in reply["content"]
    return walk


def _dense(text: str) -> list[str]:
    """The refs of ``text`` in order of first use, checked to be S1, S2, ... in that order."""
    used = list(dict.fromkeys(_MARKER.findall(text)))
    assert used == [f"S{n}" for n in range(1, len(used) + 1)], (used, text)
    return used


async def _chunks(walk: Walk) -> dict[str, str]:
    """The text of every chunk of the project's documents, by id."""
    http = walk.walker.http
    documents = (await http.get(f"/api/v1/projects/{walk.project}/documents")).json()
    found: dict[str, str] = {}
    for document in documents:
        r = await http.get(f"/api/v1/documents/{document['id']}/chunks", params={"limit": 500})
        assert r.status_code == 200, r.text
        found.update({c["id"]: c["text"] for c in r.json()})
    return found


def _quotes_hold(text: str, cited: dict[str, str | None], chunks: dict[str, str]) -> None:
    """Every quotation followed by a marker is in the chunk that marker cites."""
    for quote, ref in _QUOTE_CITED.findall(text):
        chunk = cited.get(ref)
        if chunk in chunks:
            assert " ".join(quote.split()) in " ".join(chunks[chunk].split()), (quote, ref)


async def _check(walk: Walk) -> None:
    http, base = walk.walker.http, walk.base
    chunks = await _chunks(walk)
    phases = await walk.walker.phases(walk.project)
    assert {p["status"] for p in phases} == {"completed"}
    quoted_somewhere = False
    for phase in phases:
        number = phase["number"]
        # Every answer recorded against the right question, with the message it came from.
        recorded = {a["index"]: a for a in phase["answers"]}
        expected = {q: t for (n, q), t in walk.expected.items() if n == number}
        assert {i: a["answer"] for i, a in recorded.items()} == expected
        assert all(a["message_id"] for a in recorded.values())
        versions = (await http.get(f"{base}/{number}/versions")).json()
        for version in versions:
            content = version["content"]
            # A clean document: no scaffolding, prompts, disclaimers or nested quotes.
            for scaffold in SCAFFOLDING:
                assert scaffold not in content, (number, scaffold, content)
            assert not any(line.lstrip().startswith(">") for line in content.splitlines())
            assert "tracing" not in content.lower()  # below the relevance threshold
            for quote in re.findall(r"“([^”]*)”", content):
                assert "“" not in quote
            # Citations: every [S#] is a stored source of the version, numbered densely in
            # order of first use, and a quotation is in the chunk its marker cites.
            refs = set(_dense(content))
            sources = {s["ref"]: s.get("chunk_id") for s in version["sources"] if s.get("ref")}
            assert refs <= set(sources), (refs, sources)
            _quotes_hold(content, sources, chunks)
            quoted_somewhere |= bool(refs)
        # The answers are in the approved text, written out as prose.
        if phase["current_version"] and not any(n == number for n, _ in walk.changes):
            for answer in expected.values():
                assert _kept(answer, phase["content"], 6), (number, answer)
    if walk.persona.document is not None:
        assert quoted_somewhere, "no draft quoted the uploaded document"
    # The offline notice is said once in the conversation; citations match the text.
    sessions = (await http.get(f"/api/v1/projects/{walk.project}/chat/sessions")).json()
    messages: list[dict[str, Any]] = []
    for session in sessions:
        r = await http.get(f"/api/v1/chat/sessions/{session['id']}/messages", params={"limit": 500})
        assert r.status_code == 200, r.text
        messages += r.json()
    said = [m for m in messages if m["role"] == "assistant"]
    notices = sum(m["content"].count(OFFLINE_NOTICE) for m in said)
    assert notices == (1 if walk.model is None else 0)
    if walk.model is not None:
        assert {m["provider"] for m in said if m["provider"]} == {MODELS[walk.persona.name][0]}
    for message in said:
        markers = _dense(message["content"])
        stored = [c["ref"] for c in message["citations"]]
        assert stored == markers, (markers, stored, message["content"])
        cited = {c["ref"]: c.get("chunk_id") for c in message["citations"]}
        _quotes_hold(message["content"], cited, chunks)
    # Nothing the user said was lost.
    assert sum(1 for m in messages if m["role"] == "user") == walk.sent


async def _export_pdf(walk: Walk) -> bytes:
    """The project's PDF export, read back: every phase title on its pages, no drafts'
    scaffolding."""
    http = walk.walker.http
    r = await http.post(f"/api/v1/projects/{walk.project}/exports", json={"format": "pdf"})
    assert r.status_code == 202, r.text
    export = r.json()
    for _ in range(600):
        export = (await http.get(f"/api/v1/exports/{export['id']}")).json()
        if export["status"] in ("completed", "failed"):
            break
        await asyncio.sleep(0.1)
    assert export["status"] == "completed", export
    pdf = (await http.get(f"/api/v1/exports/{export['id']}/download")).content
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for phase in await walk.walker.phases(walk.project):
        assert phase["title"] in text
    assert "Offline provider" not in text
    return pdf


async def _transcript(walk: Walk) -> str:
    http = walk.walker.http
    sessions = (await http.get(f"/api/v1/projects/{walk.project}/chat/sessions")).json()
    lines: list[str] = []
    for session in sessions:
        r = await http.get(f"/api/v1/chat/sessions/{session['id']}/messages", params={"limit": 500})
        lines.extend(f"--- {m['role']} (phase {m.get('phase')})\n{m['content']}" for m in r.json())
    return "\n\n".join(lines)


MODELS = {
    "Ana": ("openai", "gpt-4o"),
    "Bo": ("anthropic", "claude-sonnet-4-6"),
    "Chidi": ("gemini", "gemini-2.5-flash"),
}
"""Which API (through its real SDK) plays the model for each persona."""


@pytest.fixture
def model_served(
    phase_settings: Settings,
    clean_db: str,
    tmp_path: Path,
    fake_providers: FakeProviders,
    monkeypatch: pytest.MonkeyPatch,
    persona: Persona,
) -> Iterator[tuple[Served, FakeModel]]:
    """The app with a ``model`` profile on one API of the fake provider server, played by a
    :class:`FakeModel`."""
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.setenv(key, "test-key")
    provider, name = MODELS[persona.name]
    config = json.loads(phase_settings.app.config_path.read_text())
    config["providers"] = {**config["providers"], **fake_providers.providers_section()}
    config["profiles"]["model"] = {"chain": [{"provider": provider, "model": name}]}
    path = tmp_path / "model-config.json"
    path.write_text(json.dumps(config))
    model = FakeModel()
    script = getattr(fake_providers, provider)
    script.answer_json = model.structured
    script.answer_chat = model.chat
    settings = replace(
        phase_settings,
        app=replace(phase_settings.app, config_path=path),
        chat=ChatSettings(messages_per_minute=1000),
    )
    running = Served(create_app(settings, clean_db)).start()
    yield running, model
    running.stop()


async def _keep(walk: Walk, pdf: bytes, suffix: str) -> None:
    """For people reviewing the conversation by eye: the transcript and the PDF, when asked."""
    keep = os.environ.get(ARTIFACTS_ENV)
    if keep:
        folder = Path(keep)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{walk.persona.name}{suffix}.pdf").write_bytes(pdf)
        (folder / f"{walk.persona.name}{suffix}.txt").write_text(await _transcript(walk))


@pytest.mark.slow
@pytest.mark.parametrize("persona", PERSONAS, ids=[p.name for p in PERSONAS])
async def test_persona_walks_every_phase_with_a_model(
    model_served: tuple[Served, FakeModel],
    make_account: Callable[..., Awaitable[Account]],
    persona: Persona,
) -> None:
    served, model = model_served
    walker = Walker(served, await make_account())
    try:
        walk = await _walk(walker, persona, model)
        await _check(walk)
        await _keep(walk, await _export_pdf(walk), "-model")
    finally:
        await walker.close()


@pytest.mark.slow
@pytest.mark.parametrize("persona", PERSONAS, ids=[p.name for p in PERSONAS])
async def test_persona_walks_every_phase_offline(walker: Walker, persona: Persona) -> None:
    walk = await _walk(walker, persona)
    await _check(walk)
    await _keep(walk, await _export_pdf(walk), "")
