"""Replies streamed from the fake OpenAI server: reconnect mid-stream, two participants, stop,
and memory of earlier sessions in the prompt."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .conftest import open_client

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path
    from uuid import UUID

    from tests.fakes import FakeProviders
    from tests.integration.conftest import Account

    Maker = Callable[..., Awaitable[Account]]
    ProjectMaker = Callable[..., Awaitable[UUID]]

WORDS = " ".join(f"word{n}" for n in range(40))


def _received(frames: list[dict]) -> list[dict]:
    return [f["data"]["message"] for f in frames if f["event"] == "chat:message_received"]


async def test_disconnect_mid_stream_then_rejoin_gets_exactly_what_was_missed(
    serve: Callable[..., object],
    fake_config: Path,
    fake_providers: FakeProviders,
    make_account: Maker,
    make_project: ProjectMaker,
) -> None:
    fake_providers.openai.queue_stream(WORDS, chunk_delay=0.05)
    served = serve(config=fake_config)
    alice = await make_account()
    project = await make_project({alice.id: "owner"})
    async with open_client(served.ws, alice.token) as client:
        session = (await client.join(project))["data"]["session"]
        await client.send(
            "chat:send_message", {"content": "Tell me words", "client_message_id": "m1"}
        )
        frames = await client.until(lambda f: f["event"] == "chat:message_delta")
        seen = _received(frames)
        assert [m["seq"] for m in seen] == [1]
    # Every client has gone; the reply finishes and is stored anyway.
    await asyncio.sleep(0.2)
    async with open_client(served.ws, alice.token) as client:
        joined = await client.join(project, session["id"], after_seq=1)
        missed = joined["data"]["messages"]
        if not missed:
            missed = _received(await client.until_reply())
        assert [m["seq"] for m in missed] == [2]
        assert missed[0]["content"] == WORDS
        assert missed[0]["status"] == "complete"
        assert missed[0]["provider"] == "openai"
        assert missed[0]["model"] == "gpt-4o"
        # Nothing more arrives for what the join already replayed.
        await client.send("chat:typing", {"is_typing": False})
        rest = await client.until(
            lambda f: (
                f["event"] == "chat:typing_indicator" and f["data"]["user_id"] == str(alice.id)
            )
        )
        assert _received(rest) == []


async def test_two_participants_see_the_same_conversation(
    serve: Callable[..., object],
    fake_config: Path,
    fake_providers: FakeProviders,
    make_account: Maker,
    make_project: ProjectMaker,
) -> None:
    fake_providers.openai.queue_stream("one two three four five", chunk_delay=0.01)
    served = serve(config=fake_config)
    alice, bob = await make_account(), await make_account()
    project = await make_project({alice.id: "owner", bob.id: "viewer"})
    async with (
        open_client(served.ws, alice.token) as a,
        open_client(served.ws, bob.token, query=True) as b,
    ):
        session = (await a.join(project))["data"]["session"]
        await b.join(project, session["id"])
        await a.send("chat:send_message", {"content": "Hi both", "client_message_id": "x"})
        frames_a = await a.until_reply()
        frames_b = await b.until_reply()
        assert frames_a == frames_b
        events = [f["event"] for f in frames_b]
        assert events[0] == "chat:message_received"
        assert "chat:message_delta" in events
        assert _received(frames_b)[-1]["content"] == "one two three four five"
        await b.send("chat:typing", {"is_typing": True})
        typing = await a.until_event("chat:typing_indicator")
        assert typing["data"] == {"user_id": str(bob.id), "is_typing": True}


async def test_stop_stores_the_partial_reply(
    serve: Callable[..., object],
    fake_config: Path,
    fake_providers: FakeProviders,
    make_account: Maker,
    make_project: ProjectMaker,
) -> None:
    fake_providers.openai.queue_stream(WORDS, chunk_delay=0.1)
    served = serve(config=fake_config)
    alice = await make_account()
    project = await make_project({alice.id: "owner"})
    async with open_client(served.ws, alice.token) as client:
        await client.join(project)
        await client.send("chat:send_message", {"content": "Go on", "client_message_id": "s1"})
        await client.until(lambda f: f["event"] == "chat:message_delta")
        await client.send("chat:stop")
        frames = await client.until_reply()
        reply = _received(frames)[-1]
        assert reply["status"] == "stopped"
        assert reply["content"]
        assert WORDS.startswith(reply["content"])
        assert len(reply["content"]) < len(WORDS)
        # The next message is answered normally.
        fake_providers.openai.queue_stream("after stop")
        await client.send("chat:send_message", {"content": "Again", "client_message_id": "s2"})
        again = _received(await client.until_reply())
        assert again[-1]["content"] == "after stop"
        assert again[-1]["status"] == "complete"


async def test_messages_sent_during_a_reply_are_answered_in_order(
    serve: Callable[..., object],
    fake_config: Path,
    fake_providers: FakeProviders,
    make_account: Maker,
    make_project: ProjectMaker,
) -> None:
    fake_providers.openai.queue_stream("first answer", chunk_delay=0.05)
    fake_providers.openai.queue_stream("second answer")
    served = serve(config=fake_config)
    alice = await make_account()
    project = await make_project({alice.id: "owner"})
    async with open_client(served.ws, alice.token) as client:
        await client.join(project)
        await client.send("chat:send_message", {"content": "Q1", "client_message_id": "q1"})
        await client.send("chat:send_message", {"content": "Q2", "client_message_id": "q2"})
        frames = await client.until(
            lambda f: (
                f["event"] == "chat:message_received"
                and f["data"]["message"]["content"] == "second answer"
            )
        )
        messages = _received(frames)
        assert [m["content"] for m in messages] == ["Q1", "Q2", "first answer", "second answer"]
        assert [m["seq"] for m in messages] == [1, 2, 3, 4]
        assert messages[2]["reply_to"] == messages[0]["id"]
        assert messages[3]["reply_to"] == messages[1]["id"]


async def test_a_new_session_remembers_earlier_sessions(
    serve: Callable[..., object],
    fake_config: Path,
    fake_providers: FakeProviders,
    make_account: Maker,
    make_project: ProjectMaker,
) -> None:
    served = serve(config=fake_config, recent_messages=2)
    alice = await make_account()
    project = await make_project({alice.id: "owner"})
    fact = "The launch codename for the bakery expansion is Marigold Sunrise."
    async with open_client(served.ws, alice.token) as client:
        await client.join(project)
        for n, content in enumerate(
            [fact, "We also discussed opening hours.", "And the delivery vans."]
        ):
            await client.send(
                "chat:send_message", {"content": content, "client_message_id": f"old{n}"}
            )
            await client.until_reply()
    await asyncio.sleep(1.0)  # embedding runs after the reply, off its critical path
    async with open_client(served.ws, alice.token) as client:
        await client.join(project)
        await client.send(
            "chat:send_message",
            {"content": "What was the codename of the bakery launch?", "client_message_id": "new"},
        )
        await client.until_reply()
    prompt = fake_providers.openai.requests[-1].json["messages"]
    recent = [m["content"] for m in prompt if m["role"] != "system"]
    assert fact not in recent  # outside the recent window of two messages...
    system = " ".join(m["content"] for m in prompt if m["role"] == "system")
    assert "Marigold Sunrise" in system  # ...but recalled by meaning


async def test_a_reply_that_fails_midway_is_stored_failed_with_the_text_streamed_so_far(
    serve: Callable[..., object],
    fake_config: Path,
    fake_providers: FakeProviders,
    make_account: Maker,
    make_project: ProjectMaker,
) -> None:
    # The provider's in-stream error after five words; a 400 is not retried.
    fake_providers.openai.queue_stream(WORDS, chunk_delay=0.02, error_after=5, error_status=400)
    served = serve(config=fake_config)
    alice = await make_account()
    project = await make_project({alice.id: "owner"})
    async with open_client(served.ws, alice.token) as client:
        session = (await client.join(project))["data"]["session"]
        await client.send("chat:send_message", {"content": "Tell me", "client_message_id": "m1"})
        frames = await client.until(
            lambda f: (
                f["event"] == "chat:message_received"
                and f["data"]["message"]["role"] == "assistant"
            )
        )
        streamed = "".join(f["data"]["delta"] for f in frames if f["event"] == "chat:message_delta")
        [error] = [f["data"] for f in frames if f["event"] == "chat:error"]
        assert error["code"] == "provider_unavailable"
        [question, reply] = _received(frames)
        assert (reply["status"], reply["reply_to"], reply["seq"]) == ("failed", question["id"], 2)
        assert reply["content"] == streamed
        assert WORDS.startswith(streamed)
        assert streamed.split() == WORDS.split()[:5]
    # Joining again shows the same two messages: nothing unanswered, nothing extra.
    async with open_client(served.ws, alice.token) as client:
        joined = await client.join(project, session["id"])
        stored = joined["data"]["messages"]
        assert [(m["role"], m["status"]) for m in stored] == [
            ("user", "complete"),
            ("assistant", "failed"),
        ]


async def test_deltas_of_a_slow_provider_are_a_frame_each_and_a_burst_is_joined(
    serve: Callable[..., object],
    fake_config: Path,
    fake_providers: FakeProviders,
    make_account: Maker,
    make_project: ProjectMaker,
) -> None:
    fake_providers.openai.queue_stream(WORDS, chunk_delay=0.05)  # 20 words a second
    fake_providers.openai.queue_stream(WORDS)  # all at once
    served = serve(config=fake_config)
    alice = await make_account()
    project = await make_project({alice.id: "owner"})
    async with open_client(served.ws, alice.token) as client:
        await client.join(project)
        counts = []
        for n in range(2):
            await client.send(
                "chat:send_message", {"content": f"Words {n}", "client_message_id": f"m{n}"}
            )
            frames = await client.until_reply()
            deltas = [f["data"]["delta"] for f in frames if f["event"] == "chat:message_delta"]
            assert "".join(deltas) == frames[-1]["data"]["message"]["content"] == WORDS
            counts.append(len(deltas))
    slow, burst = counts
    # A word every 50 ms is a frame each (a few may be joined when the machine stalls); the
    # burst is joined into a handful.
    assert slow >= len(WORDS.split()) * 3 // 4
    assert burst <= 4
