"""What a participant can do in a chat, shared by the WebSocket and the REST/SSE endpoints."""

from __future__ import annotations

import unicodedata
from collections import Counter
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Protocol

import msgspec
import structlog
from redis.exceptions import RedisError
from sqlalchemy import select
from uuid_utils.compat import uuid7

from server.access import require_role
from server.db import session
from server.db.brief import project_brief
from server.db.pool import urgent
from server.db.tenancy import current_org
from server.errors import DomainError
from server.events import MessageData, MessageReceived, TypingIndicator, TypingIndicatorData
from server.feedback import rate
from server.feedback.events import announce
from server.orgs.budget import check_budget

from ._replies import Replies, ReplyJob
from ._store import TurnStart, store_user_message
from ._turns import lock_session, session_busy, start_turn
from ._watch import AccessWatch
from .planner import Turn, settle_phase
from .schemas import PhaseFrame, message_out

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from uuid import UUID

    from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
    from litestar.channels import ChannelsPlugin
    from sqlalchemy.ext.asyncio import AsyncSession

    from server.ai import ConfigStore
    from server.db.models import ChatMessage, ChatSession, ChatTurn, User
    from server.events import Publisher
    from server.feedback.schemas import Rating
    from server.limits import Throttle
    from server.settings import ChatSettings

    from .planner import Commands, Planner, ReplyPlan

logger = structlog.get_logger()

MAX_CLIENT_ID = 100
_INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u2800")
"""Letters and symbols that render as blank (Hangul fillers, the blank Braille pattern)."""
_BLANK_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me"})
"""Controls, format characters (zero-width space, joiners, BOM), spaces and lone marks."""


def is_blank(text: str) -> bool:
    """Whether ``text`` shows nothing: only whitespace, zero-width or invisible characters."""
    return all(
        ch.isspace() or ch in _INVISIBLE or unicodedata.category(ch) in _BLANK_CATEGORIES
        for ch in text
    )


class Participant(Protocol):
    """An open connection as diagnostics sees it: who, and which session it joined."""

    user: User
    chat_session: ChatSession | None


class ChatService:
    """The chat of one server process: its limits, its planners and its replies.

    ``planner`` answers messages (the phase workflow's, wrapping the memory planner) and
    ``commands`` answers ``phase:*`` frames; the app composes both.
    """

    def __init__(
        self,
        settings: ChatSettings,
        *,
        alchemy: SQLAlchemyAsyncConfig,
        channels: ChannelsPlugin,
        publisher: Publisher,
        replies: Replies,
        throttle: Throttle,
        config_store: ConfigStore,
        planner: Planner,
        commands: Commands,
    ) -> None:
        self.settings = settings
        self.alchemy = alchemy
        self.channels = channels
        self.publisher = publisher
        self.replies = replies
        self.throttle_store = throttle
        self.config_store = config_store
        self.planner = planner
        self.commands = commands
        self.connections: Counter[UUID] = Counter()
        """Open WebSockets per user in this process."""
        self.live: set[Participant] = set()
        """The open connections of this process, for diagnostics (who joined which session)."""
        self.watch = AccessWatch(alchemy)
        """Re-checks the access of every open WebSocket of this process."""
        replies.resume = self.resume

    async def check_member(self, db: AsyncSession, user_id: UUID, project_id: UUID) -> str:
        """The user's role in the project; ``not_found`` when not a member."""
        return await require_role(db, user_id, project_id)

    async def throttle(self, user_id: UUID) -> None:
        """Count one message of ``user_id``; ``rate_limited`` past the per-minute limit."""
        try:
            wait = await self.throttle_store.hit(
                f"chat:{user_id}", self.settings.messages_per_minute, 60
            )
        except (RedisError, OSError) as error:
            # Redis is away: the chat goes on unthrottled rather than refusing everyone.
            logger.warning("message throttle unavailable", error=str(error))
            return
        if wait is not None:
            raise DomainError(
                "rate_limited", f"too many messages, try again in {wait}s", retry_after=wait
            )

    def check_content(self, content: str, client_message_id: str) -> None:
        """``bad_request``/``too_large`` for a message that cannot be stored as sent."""
        if "\x00" in content or "\x00" in client_message_id:
            raise DomainError("bad_request", "text may not contain NUL (\\u0000) characters")
        if is_blank(content):
            raise DomainError("bad_request", "content is empty (or only invisible characters)")
        if len(content.encode()) > self.settings.max_message_bytes:
            raise DomainError(
                "too_large", f"a message may have at most {self.settings.max_message_bytes} bytes"
            )
        if not client_message_id or len(client_message_id) > MAX_CLIENT_ID:
            raise DomainError(
                "bad_request", f"client_message_id must have 1-{MAX_CLIENT_ID} characters"
            )

    async def send(
        self,
        chat_session: ChatSession,
        user_id: UUID,
        content: str,
        client_message_id: str,
        check: Callable[[AsyncSession], Awaitable[None]] | None = None,
    ) -> tuple[ChatMessage, ReplyJob | None]:
        """Store a user's message with the turn that answers it, tell every participant, and
        start (or queue) its reply.

        One transaction: ``check`` (the sender's access, re-checked now), the message, the
        turn and, when the session has no other turn in progress, the reply's plan, so that
        the replies starts streaming without another round trip. A resent
        ``client_message_id`` returns the stored message and queues nothing.
        """
        self.check_content(content, client_message_id)
        await self.throttle(user_id)
        reply_id = uuid7()
        for planning in (True, False):
            async with self._first_session() as db:
                if check is not None:
                    await check(db)
                project = await project_brief(db, chat_session.project_id)
                if project is not None and project.budgeted:  # a monthly AI budget to keep
                    await check_budget(db, current_org())
                message, created, busy = await store_user_message(
                    db,
                    chat_session.id,
                    user_id,
                    content,
                    client_message_id,
                    turn=TurnStart(
                        id=reply_id,
                        owner=self.replies.owner,
                        lease_s=self.replies.lease_s,
                        started=planning,
                    ),
                )
                if not created:
                    return message, None
                job = self._job(
                    Turn(
                        project_id=message.project_id,
                        session_id=message.session_id,
                        user_id=user_id,
                        message_id=message.id,
                        content=content,
                        phase_number=message.phase_number,
                        # Read under the session's lock just now; good for a plan made now.
                        phase_current=planning and not busy,
                    ),
                    reply_id,
                    reply_to=message.id,
                )
                if planning and not busy:
                    try:
                        job.planned = await self.replies.plan(db, job)
                    except Exception:
                        # The message is stored all the same: the replies plan it again and
                        # tells the session why it cannot be answered.
                        logger.warning("planning a reply failed; retrying in the replies")
                        await db.rollback()
                        continue
                await db.commit()
                break
        await self.replies.publish(
            chat_session.id, MessageReceived(MessageData(message_out(message)))
        )
        if busy:
            self.replies.wait(job)
        else:
            self.replies.submit(job)
        return message, job

    async def command(
        self,
        chat_session: ChatSession,
        user_id: UUID,
        frame: PhaseFrame,
        on_error: Callable[[DomainError], Awaitable[None]] | None = None,
    ) -> ReplyJob:
        """Accept a phase frame's work, answered like a message (in order, by the replies).

        When the session has no turn in progress the command is planned (and acted on) in the
        transaction that stores its turn, and a refusal raises here; queued behind another
        turn, a refusal goes to ``on_error`` (the sender) rather than to the session.
        """
        await self.throttle(user_id)
        reply_id = uuid7()
        async with self._first_session() as db:
            current = await lock_session(db, chat_session.id)
            if current is None:
                raise DomainError("not_found", "the chat session no longer exists")
            busy = bool(await db.scalar(select(session_busy(chat_session.id))))
            turn = Turn(
                project_id=current.project_id,
                session_id=current.id,
                user_id=user_id,
                message_id=reply_id,
                content="",
                phase_number=current.phase_number,
            )
            job = self._job(turn, reply_id, command=frame, on_error=on_error)
            await start_turn(
                db,
                turn_id=reply_id,
                session_id=current.id,
                project_id=current.project_id,
                user_id=user_id,
                message_id=None,
                command=msgspec.to_builtins(frame),
                owner=None if busy else self.replies.owner,
                lease_s=self.replies.lease_s,
                started=True,
            )
            if not busy:
                job.planned = await self.replies.plan(db, job)
            await db.commit()
        if busy:
            self.replies.wait(job)
        else:
            self.replies.submit(job)
        return job

    @asynccontextmanager
    async def _first_session(self) -> AsyncIterator[AsyncSession]:
        """A session for a turn's first transaction, which its sender waits for: under load
        its connection comes before those of work done after a reply was seen (storing it)."""
        with urgent():
            async with session(self.alchemy) as db:
                yield db

    def resume(self, row: ChatTurn, content: str, phase_number: int | None) -> ReplyJob:
        """The job of a turn read back from the database (claimed after the turn before it,
        or taken over from an instance that died)."""
        command = None if row.command is None else msgspec.convert(row.command, PhaseFrame)
        turn = Turn(
            project_id=row.project_id,
            session_id=row.session_id,
            user_id=row.user_id,
            message_id=row.message_id or row.id,
            content=content,
            phase_number=phase_number,
        )
        return self._job(turn, row.id, reply_to=row.message_id, command=command)

    def _job(
        self,
        turn: Turn,
        reply_id: UUID,
        *,
        reply_to: UUID | None = None,
        command: PhaseFrame | None = None,
        on_error: Callable[[DomainError], Awaitable[None]] | None = None,
    ) -> ReplyJob:
        if command is None:
            return ReplyJob(turn=turn, reply_to=reply_to, plan=self._planned, reply_id=reply_id)

        async def planned(db: AsyncSession, turn: Turn) -> ReplyPlan:
            return await self.commands.handle(db, turn, command)

        return ReplyJob(
            turn=turn, reply_to=None, plan=planned, on_error=on_error, reply_id=reply_id
        )

    async def rate(
        self,
        chat_session: ChatSession,
        user_id: UUID,
        message_id: UUID,
        rating: Rating,
        comment: str | None,
    ) -> None:
        """Store a member's rating of a reply of ``session`` and tell the session's participants.

        Viewers may rate (a reader's opinion changes no content); access is checked now, as
        for every frame.
        """
        async with session(self.alchemy) as db:
            await self.check_member(db, user_id, chat_session.project_id)
            stored = await rate(
                db, user_id, message_id, rating, comment, session_id=chat_session.id
            )
            await db.commit()
        await announce(self.publisher, stored)

    async def typing(self, session_id: UUID, user_id: UUID, *, is_typing: bool) -> None:
        """Show every participant that ``user_id`` is (no longer) typing."""
        frame = TypingIndicator(TypingIndicatorData(str(user_id), is_typing))
        await self.replies.publish(session_id, frame)

    async def _planned(self, db: AsyncSession, turn: Turn) -> ReplyPlan:
        await settle_phase(db, turn)
        store = self.config_store
        project = await project_brief(db, turn.project_id)
        profile = store.config.profile(store.profile_for(project))
        return await self.planner.plan(db, turn, profile)
