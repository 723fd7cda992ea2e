"""The one client of the chat benchmarks, speaking each server's protocol over ``websockets``.

Every server is driven by the same code: a real WebSocket connection from the ``websockets``
library, a turn sent, frames read until the reply is complete. Only the framing differs, each
as that server's own browser client does it:

- ours: ``/ws/chat`` JSON frames (``chat:join_session``, ``chat:send_message``; the reply's
  ``chat:message_delta`` frames, then its ``chat:message_received``);
- Chainlit: Socket.IO 5 over Engine.IO 4 on the WebSocket transport (open packet, ``40`` connect
  with the session's auth, ``connection_successful``, ``client_message``; the reply's
  ``stream_start``/``stream_token`` frames, then its ``new_message``), answering the server's
  pings as the browser's Socket.IO client does;
- the bare Litestar handler: a text frame in, ``TOKENS`` text frames out.

A turn's time to first delta runs from the moment the message is handed to the socket to the
moment the first frame carrying reply text arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from websockets.asyncio.client import connect

from bench._zero import TOKENS

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

OPEN_TIMEOUT_S = 60
"""A handshake at 1,000 connections opening at once can wait long for a busy server."""


class BenchError(RuntimeError):
    """A server answered a turn with an error, or not as its protocol says."""


class Chat(Protocol):
    """One open conversation with a server."""

    async def turn(self, text: str) -> float:
        """Send ``text``; wait for the whole reply; the seconds to its first delta."""
        ...

    async def idle(self) -> None:
        """Read (and answer pings) until the connection closes: keeps an idle one alive."""
        ...

    async def close(self) -> None:
        """Close the connection."""
        ...


class OurChat:
    """A session of our ``/ws/chat`` protocol."""

    DELTA = '{"event":"chat:message_delta"'
    RECEIVED = '{"event":"chat:message_received"'

    def __init__(self, ws: ClientConnection, session_id: str) -> None:
        self.ws = ws
        self.session_id = session_id
        self.client_ids: list[str] = []
        """The ``client_message_id`` of every message sent, in order (the soak checks them)."""
        self.refused: set[str] = set()
        """Those answered with ``chat:error`` before the server echoed them as stored."""

    @classmethod
    async def open(
        cls, url: str, token: str, project_id: str, session_id: str | None = None
    ) -> OurChat:
        """Connect and join ``session_id`` (or create a session in ``project_id``)."""
        ws = await connect(
            url,
            additional_headers={"Authorization": f"Bearer {token}"},
            open_timeout=OPEN_TIMEOUT_S,
            max_queue=None,
        )
        data: dict[str, str] = {"project_id": project_id}
        if session_id is not None:
            data["session_id"] = session_id
        await ws.send(json.dumps({"event": "chat:join_session", "data": data}))
        while True:
            frame = json.loads(await ws.recv())
            if frame["event"] in {"chat:session_created", "chat:session_joined"}:
                return cls(ws, frame["data"]["session"]["id"])
            if frame["event"] == "chat:error":
                await ws.close()
                raise BenchError(f"join refused: {frame['data']}")

    async def turn(self, text: str) -> float:
        """One message and its streamed reply."""
        client_id = uuid.uuid4().hex
        self.client_ids.append(client_id)
        frame = {"content": text, "client_message_id": client_id}
        started = time.perf_counter()
        await self.ws.send(json.dumps({"event": "chat:send_message", "data": frame}))
        first: float | None = None
        stored = False
        while True:
            raw = await self.ws.recv()
            assert isinstance(raw, str)
            if raw.startswith(self.DELTA):
                if first is None:
                    first = time.perf_counter() - started
                continue
            if not raw.startswith(self.RECEIVED):
                if raw.startswith('{"event":"chat:error"'):
                    if not stored:
                        self.refused.add(client_id)
                    raise BenchError(f"chat:error {json.loads(raw)['data']}")
                continue
            message = json.loads(raw)["data"]["message"]
            if message.get("client_message_id") == client_id:
                stored = True
            if message["role"] == "assistant":
                if first is None:  # a reply without deltas (a direct one): its arrival
                    first = time.perf_counter() - started
                if message.get("status", "complete") != "complete":
                    raise BenchError(f"reply {message['status']}")
                return first

    async def idle(self) -> None:
        """Drain frames; ``websockets`` answers the server's pings by itself."""
        with contextlib.suppress(Exception):
            async for _ in self.ws:
                pass

    async def close(self) -> None:
        """Close the connection."""
        await self.ws.close()


class ChainlitChat:
    """A Chainlit session: Socket.IO over the Engine.IO WebSocket transport."""

    PATH = "/ws/socket.io/?EIO=4&transport=websocket"
    STREAM = ('42["stream_start"', '42["stream_token"')
    NEW = '42["new_message"'

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, base: str) -> ChainlitChat:
        """Connect, open the Socket.IO namespace with a new session, start the chat."""
        ws = await connect(base + cls.PATH, open_timeout=OPEN_TIMEOUT_S, max_queue=None)
        opened = await ws.recv()
        if not isinstance(opened, str) or not opened.startswith("0"):
            raise BenchError(f"no Engine.IO open packet: {opened!r}")
        auth = {
            "sessionId": str(uuid.uuid4()),
            "clientType": "webapp",
            "userEnv": "{}",
            "chatProfile": None,
            "threadId": None,
        }
        await ws.send("40" + json.dumps(auth))
        connected = await ws.recv()
        if not isinstance(connected, str) or not connected.startswith("40"):
            raise BenchError(f"Socket.IO connect refused: {connected!r}")
        await ws.send('42["connection_successful"]')
        return cls(ws)

    async def turn(self, text: str) -> float:
        """One ``client_message`` and its streamed reply."""
        step = {
            "id": str(uuid.uuid4()),
            "threadId": "",
            "name": "User",
            "type": "user_message",
            "output": text,
            "createdAt": datetime.now(UTC).isoformat(),
        }
        payload = json.dumps(["client_message", {"message": step, "fileReferences": []}])
        started = time.perf_counter()
        await self.ws.send("42" + payload)
        first: float | None = None
        while True:
            raw = await self.ws.recv()
            assert isinstance(raw, str)
            if raw == "2":  # Engine.IO ping
                await self.ws.send("3")
                continue
            if raw.startswith(self.STREAM):
                if first is None:
                    first = time.perf_counter() - started
                continue
            if raw.startswith(self.NEW):
                message = json.loads(raw[2:])[1]
                if message.get("type") == "assistant_message":
                    if first is None:
                        first = time.perf_counter() - started
                    return first

    async def idle(self) -> None:
        """Answer Engine.IO pings until the connection closes."""
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                if raw == "2":
                    await self.ws.send("3")

    async def close(self) -> None:
        """Close the connection."""
        await self.ws.close()


class EchoChat:
    """The bare Litestar handler: a text frame in, ``TOKENS`` frames out."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, url: str) -> EchoChat:
        """Connect."""
        return cls(await connect(url, open_timeout=OPEN_TIMEOUT_S, max_queue=None))

    async def turn(self, text: str) -> float:
        """One frame and its ``TOKENS`` answers."""
        started = time.perf_counter()
        await self.ws.send(text)
        await self.ws.recv()
        first = time.perf_counter() - started
        for _ in range(TOKENS - 1):
            await self.ws.recv()
        return first

    async def idle(self) -> None:
        """Drain frames until the connection closes."""
        with contextlib.suppress(Exception):
            async for _ in self.ws:
                pass

    async def close(self) -> None:
        """Close the connection."""
        await self.ws.close()


def hold_idle(chats: list[Any]) -> list[asyncio.Task[None]]:
    """A task per connection that keeps it alive (pings answered) while it stays idle."""
    return [asyncio.create_task(chat.idle()) for chat in chats]
