"""The phase conversation with an AI model (the fake OpenAI server, through the real SDK): what
the model is asked to say, and that a change request reaches it with the current draft."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from server.app import create_app
from server.settings import ChatSettings
from tests.conftest import ROOT
from tests.fakes.fixtures import fake_providers
from tests.integration.chat.conftest import Served, open_client

from .conftest import DIAMOND, reply_of

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator
    from pathlib import Path

    from server.settings import Settings
    from tests.fakes.provider_server import FakeProviders
    from tests.integration.conftest import Account

__all__ = ["fake_providers"]


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


async def test_a_model_is_told_what_to_say_and_gets_change_requests_with_the_draft(
    model_served: Served,
    fake_providers: FakeProviders,
    make_account: Callable[..., Awaitable[Account]],
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

            draft = "## Root\n\nThe root of it all, with a long paragraph that the user will cut."
            openai.queue_stream(draft)
            # An answer ending in a question mark is still the answer.
            reply = await say("The root is the farmers - is that what you mean?", "answer")
            assert reply["content"].startswith(draft)
            phase = (await http.get(f"/api/v1/projects/{project}/phases/1")).json()
            assert phase["answers"][0]["answer"].endswith("is that what you mean?")
            assert phase["content"] == draft

            openai.queue_stream("## Root\n\nThe root.")
            reply = await say("Make it shorter and more persuasive", "change")
            sent = openai.requests[-1].json["messages"][-1]["content"]
            assert f"## The current draft\n\n{draft}" in sent
            assert "## Changes I ask for\n\nMake it shorter and more persuasive" in sent
            # A model made the changes: nothing is said about needing one.
            assert "AI model provider" not in reply["content"]
            versions = (await http.get(f"/api/v1/projects/{project}/phases/1/versions")).json()
            assert [v["content"] for v in versions] == [draft, "## Root\n\nThe root."]
            assert versions[1]["note"] == "revised as asked: Make it shorter and more persuasive"
