"""Bad frames, bad tokens, strangers and limits: each gets its error, the connection stays
usable, and nothing is half-stored."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from server.db.models import ChatMessage

from .conftest import TIMEOUT, Client, open_client

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    from tests.integration.conftest import Account

    Maker = Callable[..., Awaitable[Account]]
    ProjectMaker = Callable[..., Awaitable[UUID]]


async def _error(client: Client) -> dict[str, Any]:
    frame = await client.recv()
    assert frame["event"] == "chat:error", frame
    data: dict[str, Any] = frame["data"]
    return data | {"ref": frame.get("ref")}


async def _closed_with(url: str, headers: dict[str, str] | None = None) -> int:
    async with connect(url, additional_headers=headers or {}, open_timeout=TIMEOUT) as conn:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(conn.recv(), TIMEOUT)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def test_bad_or_missing_token_closes_with_4401(
    serve: Callable[..., Any], make_account: Maker
) -> None:
    served = serve()
    assert await _closed_with(served.ws) == 4401
    assert await _closed_with(served.ws + "?token=not-a-token") == 4401
    assert await _closed_with(served.ws, {"Authorization": "Bearer nope"}) == 4401


async def test_a_project_the_user_cannot_read_closes_with_4403(
    serve: Callable[..., Any], make_account: Maker, make_project: ProjectMaker
) -> None:
    served = serve()
    alice, mallory = await make_account(), await make_account()
    project = await make_project({alice.id: "owner"})
    async with open_client(served.ws, mallory.token) as client:
        await client.send("chat:join_session", {"project_id": str(project)})
        with pytest.raises(ConnectionClosed) as closed:
            await client.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403


async def test_bad_frames_get_errors_and_the_connection_stays_usable(
    serve: Callable[..., Any], make_account: Maker, make_project: ProjectMaker, db: AsyncSession
) -> None:
    served = serve(max_message_bytes=1000)
    alice = await make_account()
    project = await make_project({alice.id: "owner"})
    async with open_client(served.ws, alice.token) as client:
        await client.send(
            "chat:send_message", {"content": "hi", "client_message_id": "early"}, ref="r0"
        )
        assert await _error(client) == {
            "code": "bad_request",
            "message": "join a session first",
            "ref": "r0",
        }

        await client.conn.send("{not json")
        assert (await _error(client))["code"] == "bad_request"
        await client.conn.send(b"\x00\x01binary")
        assert (await _error(client))["code"] == "bad_request"
        await client.send("chat:dance", {}, ref="r1")
        unknown = await _error(client)
        assert (unknown["code"], unknown["ref"]) == ("bad_request", "r1")
        await client.conn.send(json.dumps({"event": "chat:join_session", "data": {}, "ref": "r2"}))
        missing = await _error(client)
        assert (missing["code"], missing["ref"]) == ("bad_request", "r2")
        assert "project_id" in missing["message"]
        await client.conn.send(json.dumps([1, 2, 3]))
        assert (await _error(client))["code"] == "bad_request"

        session = (await client.join(project))["data"]["session"]
        await client.send(
            "chat:send_message", {"content": "x" * 1001, "client_message_id": "big"}, ref="r3"
        )
        assert (await _error(client))["code"] == "too_large"
        await client.send(
            "chat:send_message", {"content": "x" * 5000, "client_message_id": "huge"}, ref="r4"
        )
        huge = await _error(client)
        assert (huge["code"], huge["ref"]) == ("too_large", "r4")
        await client.send("chat:send_message", {"content": "   ", "client_message_id": "blank"})
        assert (await _error(client))["code"] == "bad_request"
        await client.send("chat:send_message", {"content": "hi", "client_message_id": "x" * 101})
        assert (await _error(client))["code"] == "bad_request"
        await client.send("chat:send_message", {"content": 5, "client_message_id": "typed"})
        assert (await _error(client))["code"] == "bad_request"
        await client.send("phase:goto", {"number": 99}, ref="r5")
        frame = await client.recv()
        while frame["event"] == "chat:typing_indicator":  # a phase command runs as a turn
            frame = await client.recv()
        assert (frame["event"], frame["data"]["code"]) == ("chat:error", "not_found")

        await client.send("chat:send_message", {"content": "still here", "client_message_id": "ok"})
        frames = await client.until_reply()
        assert frames[-1]["data"]["message"]["role"] == "assistant"

    stored = await db.scalar(
        select(func.count()).select_from(ChatMessage).where(ChatMessage.session_id == session["id"])
    )
    assert stored == 2


async def test_message_rate_limit(
    serve: Callable[..., Any], make_account: Maker, make_project: ProjectMaker
) -> None:
    served = serve(messages_per_minute=2)
    alice = await make_account()
    project = await make_project({alice.id: "owner"})
    async with open_client(served.ws, alice.token) as client:
        await client.join(project)
        for n in range(2):
            await client.send(
                "chat:send_message", {"content": f"m{n}", "client_message_id": f"m{n}"}
            )
            await client.until_reply()
        await client.send(
            "chat:send_message", {"content": "m2", "client_message_id": "m2"}, ref="r"
        )
        limited = await _error(client)
        assert limited["code"] == "rate_limited"
        assert 0 < limited["retry_after"] <= 60


async def test_connection_cap_per_user(serve: Callable[..., Any], make_account: Maker) -> None:
    served = serve(max_connections_per_user=2)
    alice = await make_account()
    async with (
        open_client(served.ws, alice.token),
        open_client(served.ws, alice.token),
        open_client(served.ws, alice.token) as third,
    ):
        assert (await _error(third))["code"] == "rate_limited"
        with pytest.raises(ConnectionClosed) as closed:
            await third.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4429


async def test_idle_connection_is_closed(serve: Callable[..., Any], make_account: Maker) -> None:
    served = serve(idle_timeout_s=1)
    alice = await make_account()
    assert await _closed_with(served.ws, {"Authorization": f"Bearer {alice.token}"}) == 4408
