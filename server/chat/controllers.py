"""REST for sessions and messages, and sending a message with its reply streamed as SSE."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage
from sqlalchemy import select

from server import audit
from server.access import EDITOR, VIEWER, db_session
from server.db.models import ChatMessage, ChatSession, User
from server.errors import DomainError
from server.events import (
    ChatError,
    Message,
    MessageData,
    MessageReceived,
    ServerFrame,
    Session,
    session_channel,
)

from ._service import ChatService
from ._store import create_session, get_session, list_sessions, messages_after, messages_out
from .asyncapi import event_of
from .schemas import MAX_INT32, MessageCreate, SessionCreate, message_out, session_out

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from litestar.channels import ChannelsPlugin

    from ._replies import ReplyJob

SESSION = {**VIEWER, "project_of": ("session_id", ChatSession)}
SESSION_EDIT = {**EDITOR, "project_of": ("session_id", ChatSession)}
MAX_PAGE = 500
_FRAMES = msgspec.json.Decoder(ServerFrame)


def _event(frame: ServerFrame) -> ServerSentEventMessage:
    return ServerSentEventMessage(
        data=msgspec.json.encode(frame.data).decode(), event=event_of(type(frame))
    )


class ChatController(Controller):
    """Chat sessions and messages over plain HTTP."""

    tags = ["chat"]

    @get(
        "/api/v1/projects/{project_id:uuid}/chat/sessions",
        opt=VIEWER,
        operation_id="list_chat_sessions",
    )
    async def list_sessions(
        self, request: Request[User, Any, Any], project_id: FromPath[UUID]
    ) -> list[Session]:
        """The project's chat sessions, newest first."""
        return [session_out(s) for s in await list_sessions(db_session(request), project_id)]

    @post(
        "/api/v1/projects/{project_id:uuid}/chat/sessions",
        opt=EDITOR,
        operation_id="create_chat_session",
        status_code=201,
    )
    async def create_session(
        self,
        request: Request[User, Any, Any],
        project_id: FromPath[UUID],
        data: JSONBody[SessionCreate],
    ) -> Session:
        """Open a new session in the project (it remembers the project's earlier sessions)."""
        chat_session = await create_session(
            db_session(request), project_id, request.user.id, data.title
        )
        audit.note(request, "chat_session", chat_session.id, project_id=project_id)
        return session_out(chat_session)

    @get("/api/v1/chat/sessions/{session_id:uuid}", opt=SESSION, operation_id="get_chat_session")
    async def get_session(
        self, request: Request[User, Any, Any], session_id: FromPath[UUID]
    ) -> Session:
        """One session."""
        return session_out(await get_session(db_session(request), session_id))

    @get(
        "/api/v1/chat/sessions/{session_id:uuid}/messages",
        opt=SESSION,
        operation_id="list_chat_messages",
    )
    async def list_messages(
        self,
        request: Request[User, Any, Any],
        session_id: FromPath[UUID],
        after_seq: Annotated[int, QueryParameter(ge=0, le=MAX_INT32)] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = 100,
    ) -> list[Message]:
        """The session's messages with ``seq > after_seq``, in order (at most ``limit``)."""
        db = db_session(request)
        rows = await messages_after(db, session_id, after_seq, limit)
        return await messages_out(db, rows, request.user.id)

    @post(
        "/api/v1/chat/sessions/{session_id:uuid}/messages",
        opt=SESSION_EDIT,
        operation_id="send_chat_message",
        status_code=200,
    )
    async def send_message(
        self,
        request: Request[User, Any, Any],
        session_id: FromPath[UUID],
        data: JSONBody[MessageCreate],
        chat: NamedDependency[ChatService],
    ) -> ServerSentEvent:
        """Send a message and stream the session's events as server-sent events until its
        reply is stored: ``chat:message_received`` (the message), ``chat:typing_indicator``,
        ``chat:message_delta``..., ``chat:message_received`` (the reply), or ``chat:error``.

        Resending a ``client_message_id`` streams the stored message (and its reply, if
        stored) and starts no second reply.
        """
        db = db_session(request)
        chat_session = await get_session(db, session_id)
        await db.commit()
        channels = chat.channels
        subscriber = await channels.subscribe([session_channel(session_id)])
        try:
            message, job = await chat.send(
                chat_session, request.user.id, data.content, data.client_message_id
            )
        except DomainError:
            await channels.unsubscribe(subscriber)
            raise
        if job is None:
            await channels.unsubscribe(subscriber)
            reply = await db.scalar(
                select(ChatMessage).where(
                    ChatMessage.reply_to == message.id, ChatMessage.role == "assistant"
                )
            )
            stored = [message] if reply is None else [message, reply]
            frames = [_event(MessageReceived(MessageData(message_out(m)))) for m in stored]
            return ServerSentEvent(_replay(frames))
        return ServerSentEvent(_follow(channels, subscriber, job))


async def _replay(frames: list[ServerSentEventMessage]) -> AsyncIterator[ServerSentEventMessage]:
    for frame in frames:
        yield frame


async def _follow(
    channels: ChannelsPlugin, subscriber: Any, job: ReplyJob
) -> AsyncIterator[ServerSentEventMessage]:
    """The session's frames until ``job``'s reply is stored (or has failed)."""
    events = subscriber.iter_events()
    try:
        while True:
            next_frame = asyncio.ensure_future(anext(events))
            await asyncio.wait({next_frame, job.done}, return_when=asyncio.FIRST_COMPLETED)
            if not next_frame.done():
                # The reply failed and published its error, or it is stored and its frame is
                # on the way: drain what the channel still holds, then end.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(next_frame), 1.0)
                if not next_frame.done():
                    next_frame.cancel()
                    return
            frame = _FRAMES.decode(next_frame.result())
            yield _event(frame)
            if isinstance(frame, MessageReceived) and frame.data.message.id == job.reply_id:
                return
            if isinstance(frame, ChatError) and job.done.done() and job.done.result() is None:
                return
    finally:
        await channels.unsubscribe(subscriber)
