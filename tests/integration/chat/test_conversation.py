"""A whole conversation over a real WebSocket, idempotent resends, reconnects and stop."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .conftest import open_client

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from uuid import UUID

    from tests.integration.conftest import Account


async def test_whole_conversation(
    serve: Callable[..., object],
    make_account: Callable[..., Awaitable[Account]],
    make_project: Callable[..., Awaitable[UUID]],
) -> None:
    served = serve()
    alice = await make_account()
    project = await make_project({alice.id: "owner"})
    async with open_client(served.ws, alice.token) as client:
        created = await client.join(project)
        assert created["ref"] == "join"
        session = created["data"]["session"]
        assert session["project_id"] == str(project)
        assert created["data"].get("messages", []) == []

        await client.send(
            "chat:send_message", {"content": "Hello there", "client_message_id": "c1"}
        )
        frames = await client.until_reply()
        events = [f["event"] for f in frames]
        assert events[0] == "chat:message_received"
        user = frames[0]["data"]["message"]
        assert (user["role"], user["content"], user["seq"], user["client_message_id"]) == (
            "user",
            "Hello there",
            1,
            "c1",
        )
        assert user["author"] == str(alice.id)
        assert frames[1] == {
            "event": "chat:typing_indicator",
            "data": {"user_id": "assistant", "is_typing": True},
        }
        deltas = [f["data"] for f in frames if f["event"] == "chat:message_delta"]
        reply = frames[-1]["data"]["message"]
        assert deltas
        assert all(d["message_id"] == reply["id"] for d in deltas)
        assert "".join(d["delta"] for d in deltas) == reply["content"]
        assert (reply["role"], reply["seq"], reply["status"], reply["provider"]) == (
            "assistant",
            2,
            "complete",
            "local",
        )
        assert reply["reply_to"] == user["id"]
        assert reply["author"] == "assistant"
        assert reply["usage"]["completion_tokens"] > 0
        assert reply["usage"]["hops"][0]["provider"] == "local"
        assert {
            "event": "chat:typing_indicator",
            "data": {"user_id": "assistant", "is_typing": False},
        } in frames

        await client.send("chat:typing", {"is_typing": True})
        typing = await client.until_event("chat:typing_indicator")
        assert typing["data"] == {"user_id": str(alice.id), "is_typing": True}

        await client.send("chat:leave_session")
        await client.send(
            "chat:send_message", {"content": "gone", "client_message_id": "c2"}, ref="late"
        )
        left = await client.recv()
        assert left == {
            "event": "chat:error",
            "data": {"code": "bad_request", "message": "join a session first"},
            "ref": "late",
        }

    async with open_client(served.ws, alice.token, query=True) as again:
        joined = await again.join(project, session["id"], after_seq=0)
        assert [m["seq"] for m in joined["data"]["messages"]] == [1, 2]
        assert joined["data"]["messages"][1]["id"] == reply["id"]


async def test_resend_returns_stored_message_without_second_reply(
    serve: Callable[..., object],
    make_account: Callable[..., Awaitable[Account]],
    make_project: Callable[..., Awaitable[UUID]],
) -> None:
    served = serve()
    alice = await make_account()
    project = await make_project({alice.id: "editor"})
    async with open_client(served.ws, alice.token) as client:
        session = (await client.join(project))["data"]["session"]
        await client.send("chat:send_message", {"content": "First", "client_message_id": "same"})
        first = await client.until_reply()
        await client.send(
            "chat:send_message", {"content": "First", "client_message_id": "same"}, ref="again"
        )
        resent = await client.until_event("chat:message_received")
        assert resent["ref"] == "again"
        assert resent["data"]["message"] == first[0]["data"]["message"]
        await client.send("chat:send_message", {"content": "Second", "client_message_id": "other"})
        second = await client.until_reply()
        assert [
            f["data"]["message"]["seq"] for f in second if f["event"] == "chat:message_received"
        ] == [3, 4]
    async with open_client(served.ws, alice.token) as client:
        joined = await client.join(project, session["id"])
        assert [m["content"] for m in joined["data"]["messages"]][0::2] == ["First", "Second"]
        assert len(joined["data"]["messages"]) == 4
