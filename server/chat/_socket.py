"""``/ws/chat``: one connection's receive loop, its subscription, and its limits."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

import msgspec
import structlog
from litestar import WebSocket, websocket
from litestar.di import NamedDependency
from litestar.exceptions import WebSocketDisconnect

from server.access import USER
from server.errors import DomainError
from server.events import (
    MessageData,
    MessageReceived,
    SessionCreated,
    SessionData,
    SessionJoined,
    error_frame,
    project_channel,
    session_channel,
)

from ._auth import FORBIDDEN, token_auth
from ._service import ChatService
from ._store import create_session, get_session, messages_after, messages_out
from .asyncapi import event_of
from .schemas import (
    ClientFrame,
    JoinSession,
    LeaveSession,
    PhaseApprove,
    PhaseGoto,
    PhaseRegenerate,
    RateMessage,
    SendMessage,
    Stop,
    Typing,
    message_out,
    session_out,
)

if TYPE_CHECKING:
    from litestar.channels import ChannelsPlugin, Subscriber

    from server.db.models import ChatSession, User
    from server.events import ServerFrame


logger = structlog.get_logger()

IDLE = 4408
TOO_MANY = 4429
FRAME_OVERHEAD = 1024
"""Bytes a frame may carry beyond the message size limit: the envelope and other fields."""
_DECODER = msgspec.json.Decoder(ClientFrame)
_RECEIVED_PREFIX = b'{"event":"chat:message_received"'
_MESSAGE_DECODER = msgspec.json.Decoder(MessageReceived)


class _Envelope(msgspec.Struct):
    ref: str | None = None


_ENVELOPE = msgspec.json.Decoder(_Envelope)


def _ref_of(raw: str) -> str | None:
    with contextlib.suppress(msgspec.DecodeError):
        ref = _ENVELOPE.decode(raw).ref
        return ref if isinstance(ref, str) else None
    return None


class Connection:
    """One client connection: frames in, frames out, at most one joined session."""

    def __init__(self, socket: WebSocket[Any, Any, Any], chat: ChatService) -> None:
        self.socket = socket
        self.chat = chat
        self.user: User = socket.user
        self.session: ChatSession | None = None
        self.subscriber: Subscriber | None = None
        self.forwarder: asyncio.Task[None] | None = None
        self.replayed_up_to = 0
        self.last_activity = time.monotonic()
        self.send_lock = asyncio.Lock()

    @property
    def channels(self) -> ChannelsPlugin:
        """The app's channels, where the joined session's frames arrive."""
        return self.chat.channels

    async def send(self, frame: ServerFrame | bytes) -> None:
        """Send one frame (a Struct, or the bytes of one from a channel)."""
        data = frame if isinstance(frame, bytes) else msgspec.json.encode(frame)
        async with self.send_lock:
            await self.socket.send_data(data.decode(), mode="text")
        self.last_activity = time.monotonic()

    async def run(self) -> None:
        """Receive frames until the client leaves or the connection goes idle."""
        timeout = self.chat.settings.idle_timeout_s
        try:
            while True:
                left = timeout - (time.monotonic() - self.last_activity)
                if left <= 0:
                    await self.socket.close(IDLE, "idle")
                    return
                try:
                    message = await asyncio.wait_for(self.socket.receive(), left)
                except TimeoutError:
                    continue
                if message["type"] == "websocket.disconnect":
                    return
                if message["type"] == "websocket.receive":
                    self.last_activity = time.monotonic()
                    await self.handle(message.get("text"))
        except WebSocketDisconnect:
            return
        finally:
            await self.leave()

    async def handle(self, text: str | None) -> None:
        """Answer one frame (``None``: a binary one); a problem becomes a ``chat:error`` and
        the connection stays open."""
        try:
            frame = self.decode(text)
            await self.dispatch(frame)
        except DomainError as problem:
            await self.send(error_frame(problem, _ref_of(text) if text else None))
        except WebSocketDisconnect:
            raise
        except Exception:
            logger.exception("chat frame failed")
            failure = DomainError("internal", "the server could not handle this frame")
            await self.send(error_frame(failure, _ref_of(text) if text else None))

    def decode(self, text: str | None) -> ClientFrame:
        """The frame in ``text``; ``bad_request`` or ``too_large`` when it is not one."""
        if text is None:
            raise DomainError("bad_request", "frames must be JSON text, not binary")
        limit = self.chat.settings.max_message_bytes
        if len(text.encode()) > limit + FRAME_OVERHEAD:
            raise DomainError("too_large", f"a message may have at most {limit} bytes")
        try:
            frame: ClientFrame = _DECODER.decode(text)
        except msgspec.ValidationError as exc:
            raise DomainError("bad_request", f"invalid frame: {exc}") from None
        except msgspec.DecodeError:
            raise DomainError("bad_request", "the frame is not valid JSON") from None
        return frame

    async def dispatch(self, frame: ClientFrame) -> None:
        """Do what the frame asks."""
        if isinstance(frame, JoinSession):
            await self.join(frame)
            return
        session = self.session
        if session is None:
            raise DomainError("bad_request", "join a session first")
        match frame:
            case SendMessage(data=data):
                message, job = await self.chat.send(
                    session, self.user.id, data.content, data.client_message_id
                )
                if job is None:
                    await self.send(MessageReceived(MessageData(message_out(message)), frame.ref))
            case Typing(data=data):
                await self.chat.typing(session.id, self.user.id, is_typing=data.is_typing)
            case PhaseGoto() | PhaseApprove() | PhaseRegenerate():
                data = msgspec.to_builtins(frame.data)
                await self.chat.command(session, self.user.id, event_of(type(frame)), data)
            case Stop():
                await self.chat.engine.request_stop(session.id)
            case RateMessage(data=data):
                await self.chat.rate(
                    session, self.user.id, data.message_id, data.rating, data.comment
                )
            case LeaveSession():
                await self.leave()

    async def join(self, frame: JoinSession) -> None:
        """Join (or create) a session; replay the messages after ``after_seq``."""
        data = frame.data
        async with self.chat.alchemy.get_session() as db:
            try:
                await self.chat.check_member(db, self.user.id, data.project_id)
            except DomainError:
                await self.socket.close(FORBIDDEN, "not a member of this project")
                raise WebSocketDisconnect(detail="forbidden", code=FORBIDDEN) from None
            await self.leave()
            if data.session_id is None:
                session = await create_session(db, data.project_id, self.user.id)
            else:
                session = await get_session(db, data.session_id, data.project_id)
            self.session = session
            await self._subscribe(session)
            messages = await messages_after(db, session.id, data.after_seq or 0)
            shown = await messages_out(db, messages, self.user.id)
            await db.refresh(session)
        self.replayed_up_to = messages[-1].seq if messages else 0
        payload = SessionData(session_out(session), session.phase_number, shown)
        if data.session_id is None:
            await self.send(SessionCreated(payload, frame.ref))
        else:
            await self.send(SessionJoined(payload, frame.ref))

    async def _subscribe(self, session: ChatSession) -> None:
        channels = [session_channel(session.id), project_channel(session.project_id)]
        self.subscriber = await self.channels.subscribe(channels)
        self.forwarder = asyncio.create_task(self._forward(self.subscriber))

    async def _forward(self, subscriber: Subscriber) -> None:
        """Relay the session's frames; skip messages the join already replayed."""
        async for data in subscriber.iter_events():
            if data.startswith(_RECEIVED_PREFIX) and self.replayed_up_to:
                seq = _MESSAGE_DECODER.decode(data).data.message.seq
                if seq <= self.replayed_up_to:
                    continue
            try:
                await self.send(data)
            except (WebSocketDisconnect, RuntimeError, OSError):
                return

    async def leave(self) -> None:
        """Stop receiving the joined session's frames."""
        self.session = None
        if self.subscriber is not None:
            with contextlib.suppress(Exception):
                await self.channels.unsubscribe(self.subscriber)
            self.subscriber = None
        if self.forwarder is not None:
            self.forwarder.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.forwarder
            self.forwarder = None


@websocket(
    "/ws/chat",
    opt={**USER, "exclude_from_auth": True},
    middleware=[token_auth],
    signature_namespace={"WebSocket": WebSocket, "ChatService": ChatService},
)
async def chat_socket(socket: WebSocket[Any, Any, Any], chat: NamedDependency[ChatService]) -> None:
    """The chat protocol (see docs/chat.md and /asyncapi.json)."""
    user_id = socket.user.id
    await socket.accept()
    if chat.connections[user_id] >= chat.settings.max_connections_per_user:
        await socket.send_data(
            msgspec.json.encode(
                error_frame(DomainError("rate_limited", "too many open connections for this user"))
            ).decode()
        )
        await socket.close(TOO_MANY, "too many connections")
        return
    chat.connections[user_id] += 1
    connection = Connection(socket, chat)
    chat.live.add(connection)
    try:
        await connection.run()
    finally:
        chat.live.discard(connection)
        chat.connections[user_id] -= 1
        if chat.connections[user_id] <= 0:
            del chat.connections[user_id]
