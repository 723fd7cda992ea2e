"""``/ws/chat``: one connection's receive loop, its subscription, and its limits."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from typing import TYPE_CHECKING, Any

import msgspec
import structlog
from litestar import WebSocket, websocket
from litestar.di import NamedDependency
from litestar.exceptions import WebSocketDisconnect

from server.access import USER, live_access
from server.db import session
from server.db.models import ROLE_RANK
from server.db.tenancy import current_org
from server.errors import DomainError, domain_error_of, forbidden
from server.events import (
    RESYNC,
    Authenticated,
    AuthenticatedData,
    MessageData,
    MessageReceived,
    SessionCreated,
    SessionData,
    SessionJoined,
    error_frame,
    project_channel,
    session_channel,
)
from server.runtime import runtime_of

from ._auth import FORBIDDEN, UNAUTHORIZED, Credentials, check_token, token_auth
from ._service import ChatService
from ._store import create_session, get_session, messages_after, messages_out
from .schemas import (
    Authenticate,
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
    from uuid import UUID

    from litestar.channels import ChannelsPlugin, Subscriber
    from sqlalchemy.ext.asyncio import AsyncSession

    from server.db.models import ChatMessage, ChatSession, User
    from server.events import Message, ServerFrame


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


_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
"""A JSON ``\\u0000`` escape (not preceded by an escaped backslash): a NUL in some string."""


def _ref_of(raw: str) -> str | None:
    with contextlib.suppress(msgspec.DecodeError, RecursionError):
        ref = _ENVELOPE.decode(raw).ref
        return ref if isinstance(ref, str) else None
    return None


EDITOR_FRAMES = (SendMessage, PhaseGoto, PhaseApprove, PhaseRegenerate, Stop)
"""Frames that change the session: they need the editor role, checked at each frame."""


class Connection:
    """One client connection: frames in, frames out, at most one joined session.

    Its access is re-checked against the database on every frame that changes something and,
    for all connections at once, by the service's :class:`~._watch.AccessWatch`.
    """

    def __init__(self, socket: WebSocket[Any, Any, Any], chat: ChatService) -> None:
        self.socket = socket
        self.chat = chat
        self.user: User = socket.user
        credentials: Credentials = socket.auth
        self.family = credentials.family_id
        self.expires_at = credentials.expires_at
        self.chat_session: ChatSession | None = None
        self.role: str | None = None
        self.subscriber: Subscriber | None = None
        self.forwarder: asyncio.Task[None] | None = None
        self.replayed_up_to = 0
        self.last_activity = time.monotonic()
        self.send_lock = asyncio.Lock()
        self.closed = False

    @property
    def channels(self) -> ChannelsPlugin:
        """The app's channels, where the joined session's frames arrive."""
        return self.chat.channels

    @property
    def holder(self) -> tuple[UUID, UUID, UUID | None]:
        """Who holds this connection, on which token family, in which project."""
        project = self.chat_session.project_id if self.chat_session is not None else None
        return self.user.id, self.family, project

    async def send(self, frame: ServerFrame | bytes) -> None:
        """Send one frame (a Struct, or the bytes of one from a channel)."""
        data = frame if isinstance(frame, bytes) else msgspec.json.encode(frame)
        async with self.send_lock:
            if self.closed:
                return
            await self.socket.send_data(data.decode(), mode="text")
        self.last_activity = time.monotonic()

    async def end(self, code: int, reason: str) -> None:
        """Close the connection with ``code`` (once); the receive loop then ends."""
        async with self.send_lock:
            if self.closed:
                return
            self.closed = True
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                await self.socket.close(code, reason)

    def verdict(
        self, valid: set[tuple[UUID, UUID]], roles: dict[tuple[UUID, UUID], str]
    ) -> tuple[int, str] | None:
        """The close code and reason this connection deserves now, or None to keep it."""
        user_id, family, project = self.holder
        if (user_id, family) not in valid:
            return UNAUTHORIZED, "the access token was revoked"
        if time.time() >= self.expires_at:
            return UNAUTHORIZED, "the access token expired"
        if project is not None:
            self.role = roles.get((user_id, project))
            if self.role is None:
                return FORBIDDEN, "no longer a member of this project"
        return None

    async def recheck(
        self,
        holder: tuple[UUID, UUID, UUID | None],
        valid: set[tuple[UUID, UUID]],
        roles: dict[tuple[UUID, UUID], str],
    ) -> None:
        """Apply the access found for ``holder`` (see :class:`~._watch.AccessWatch`); a
        connection that joined another project or renewed its token meanwhile waits for the
        next check."""
        if holder != self.holder:
            return
        verdict = self.verdict(valid, roles)
        if verdict is not None:
            await self.end(*verdict)

    async def authorize(self, frame: ClientFrame) -> None:
        """Check the caller's token and role now, for a frame that changes the session."""
        if time.time() >= self.expires_at:
            await self.end(UNAUTHORIZED, "the access token expired")
            raise WebSocketDisconnect(detail="expired", code=UNAUTHORIZED)
        if not isinstance(frame, EDITOR_FRAMES) or self.chat_session is None:
            return
        if isinstance(frame, SendMessage):
            return  # checked in the transaction that stores the message (see dispatch)
        async with session(self.chat.alchemy) as db:
            await self.check_access(db)
            await db.commit()

    async def check_access(self, db: AsyncSession) -> None:
        """Close the connection unless its token and membership hold now; ``forbidden``
        below the editor role. The project's brief comes with it, for the turn."""
        valid, roles = await live_access(db, [self.holder], brief=True)
        verdict = self.verdict(valid, roles)
        if verdict is not None:
            await self.end(*verdict)
            raise WebSocketDisconnect(detail=verdict[1], code=verdict[0])
        if self.role is None or ROLE_RANK[self.role] < ROLE_RANK["editor"]:
            raise forbidden(f"your role in this project ({self.role}) does not allow this")

    async def run(self) -> None:
        """Receive frames until the client leaves or the connection goes idle."""
        timeout = self.chat.settings.idle_timeout_s
        self.chat.watch.add(self)
        try:
            while not self.closed:
                left = timeout - (time.monotonic() - self.last_activity)
                if left <= 0:
                    await self.end(IDLE, "idle")
                    return
                try:
                    # asyncio.timeout, not wait_for: no task per frame received.
                    async with asyncio.timeout(left):
                        message = await self.socket.receive()
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
            self.chat.watch.discard(self)
            await self.leave()

    async def handle(self, text: str | None) -> None:
        """Answer one frame (``None``: a binary one); a problem becomes a ``chat:error`` and
        the connection stays open."""
        try:
            frame = self.decode(text)
            await self.authorize(frame)
            await self.dispatch(frame)
        except DomainError as problem:
            await self.send(error_frame(problem, _ref_of(text) if text else None))
        except WebSocketDisconnect:
            raise
        except Exception as exc:  # every frame gets an answer, never a traceback
            failure = domain_error_of(exc)
            if failure is None:
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
        if _NUL_ESCAPE.search(text) or "\x00" in text:
            raise DomainError("bad_request", "frames may not contain NUL (\\u0000) characters")
        try:
            frame: ClientFrame = _DECODER.decode(text)
        except msgspec.ValidationError as exc:
            raise DomainError("bad_request", f"invalid frame: {exc}") from None
        except msgspec.DecodeError:
            raise DomainError("bad_request", "the frame is not valid JSON") from None
        except RecursionError:
            raise DomainError("bad_request", "the frame is nested too deeply") from None
        return frame

    async def dispatch(self, frame: ClientFrame) -> None:
        """Do what the frame asks."""
        if isinstance(frame, JoinSession):
            await self.join(frame)
            return
        if isinstance(frame, Authenticate):
            await self.authenticate(frame)
            return
        chat_session = self.chat_session
        if chat_session is None:
            raise DomainError("bad_request", "join a session first")
        match frame:
            case SendMessage(data=data):
                message, job = await self.chat.send(
                    chat_session,
                    self.user.id,
                    data.content,
                    data.client_message_id,
                    check=self.check_access,
                )
                if job is None:
                    await self.send(MessageReceived(MessageData(message_out(message)), frame.ref))
            case Typing(data=data):
                await self.chat.typing(chat_session.id, self.user.id, is_typing=data.is_typing)
            case PhaseGoto() | PhaseApprove() | PhaseRegenerate():
                ref = frame.ref

                async def refused(problem: DomainError) -> None:
                    await self.send(error_frame(problem, ref))

                await self.chat.command(chat_session, self.user.id, frame, refused)
            case Stop():
                await self.chat.replies.request_stop(chat_session.id)
            case RateMessage(data=data):
                await self.chat.rate(
                    chat_session, self.user.id, data.message_id, data.rating, data.comment
                )
            case LeaveSession():
                await self.leave()

    async def authenticate(self, frame: Authenticate) -> None:
        """Carry on with the fresh token in ``frame`` (same user); ``unauthorized`` if bad."""
        checked = await check_token(runtime_of(self.socket.app), frame.data.token)
        if checked is None or checked[0].id != self.user.id:
            raise DomainError("unauthorized", "this token is not a valid access token for you")
        if checked[1].org_id != current_org():  # a socket works in one organisation
            raise DomainError("unauthorized", "this token works in another organisation")
        credentials = checked[1]
        self.family = credentials.family_id
        self.expires_at = credentials.expires_at
        expires_in = max(0, int(self.expires_at - time.time()))
        await self.send(Authenticated(AuthenticatedData(expires_in), frame.ref))

    async def join(self, frame: JoinSession) -> None:
        """Join (or create) a session; replay the messages after ``after_seq``.

        A refused join (no such session) leaves the session joined before as it was.
        """
        data = frame.data
        async with session(self.chat.alchemy) as db:
            try:
                role = await self.chat.check_member(db, self.user.id, data.project_id)
            except DomainError:
                await self.end(FORBIDDEN, "not a member of this project")
                raise WebSocketDisconnect(detail="forbidden", code=FORBIDDEN) from None
            if data.session_id is None:
                if ROLE_RANK[role] < ROLE_RANK["editor"]:
                    raise forbidden("viewers may join existing sessions but not start one")
                chat_session = await create_session(db, data.project_id, self.user.id)
            else:
                chat_session = await get_session(db, data.session_id, data.project_id)
            await self.leave()
            self.chat_session, self.role = chat_session, role
            await self._subscribe(chat_session)
            messages: list[ChatMessage] = []
            shown: list[Message] = []
            if data.session_id is not None:
                # Read after subscribing, so that nothing stored meanwhile is missed. A session
                # created just now has no messages, and nobody else knows it yet.
                messages = await messages_after(db, chat_session.id, data.after_seq or 0)
                shown = await messages_out(db, messages, self.user.id)
                await db.refresh(chat_session)
            await db.commit()  # the new session; else a read that ends with a commit
        self.replayed_up_to = messages[-1].seq if messages else (data.after_seq or 0)
        payload = SessionData(session_out(chat_session), chat_session.phase_number, shown)
        if data.session_id is None:
            await self.send(SessionCreated(payload, frame.ref))
        else:
            await self.send(SessionJoined(payload, frame.ref))

    async def _subscribe(self, chat_session: ChatSession) -> None:
        channels = [session_channel(chat_session.id), project_channel(chat_session.project_id)]
        self.subscriber = await self.channels.subscribe(channels)
        self.forwarder = asyncio.create_task(self._forward(self.subscriber))

    async def _forward(self, subscriber: Subscriber) -> None:
        """Relay the session's frames; skip messages the client already has; after a lost
        subscription (:data:`RESYNC`), send the stored messages it missed."""
        async for data in subscriber.iter_events():
            try:
                if data == RESYNC:
                    await self._catch_up()
                    continue
                if data.startswith(_RECEIVED_PREFIX):
                    seq = _MESSAGE_DECODER.decode(data).data.message.seq
                    if seq <= self.replayed_up_to:
                        continue
                    self.replayed_up_to = seq
                await self.send(data)
            except (WebSocketDisconnect, RuntimeError, OSError):
                return

    async def _catch_up(self) -> None:
        """Send the joined session's messages stored after the last one this client got."""
        chat_session = self.chat_session
        if chat_session is None:
            return
        async with session(self.chat.alchemy) as db:
            missed = await messages_after(db, chat_session.id, self.replayed_up_to)
        for message in missed:
            if message.seq > self.replayed_up_to:
                self.replayed_up_to = message.seq
                await self.send(MessageReceived(MessageData(message_out(message))))

    async def leave(self) -> None:
        """Stop receiving the joined session's frames."""
        self.chat_session = None
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
