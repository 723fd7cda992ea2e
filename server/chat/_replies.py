"""The reply engine: one reply at a time per session, run server-side, fanned out to everyone.

A reply is owned by the server process that received the message, not by any connection: it
runs in a per-session worker task that answers queued turns in order, streams deltas to the
session's channel, and stores the assistant message when done, even if every client has left.
With ``REDIS_URL`` set a Redis lock per session keeps one reply at a time across instances.
``chat:stop`` travels over the ``chat-control`` channel so it reaches whichever instance runs
the reply.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec
import structlog
from redis.exceptions import LockError, RedisError
from uuid_utils.compat import uuid7

from providers import ProvidersUnavailable, TextDelta
from server.ai import record_completion, record_failure
from server.ai.prompts import recorded
from server.db.models import Project
from server.db.tenancy import current_org, org_context
from server.documents.retrieval import cite
from server.errors import DomainError
from server.events import (
    DeltaData,
    MessageData,
    MessageDelta,
    MessageReceived,
    TypingIndicator,
    TypingIndicatorData,
    emit,
    error_frame,
    session_channel,
)

from ._memory import embed_messages
from ._store import add_assistant_message
from .schemas import message_out

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from uuid import UUID

    from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
    from litestar.channels import ChannelsPlugin
    from redis.asyncio import Redis
    from sqlalchemy.ext.asyncio import AsyncSession

    from providers import Completion
    from server.ai import ConfigStore
    from server.db.models import ChatMessage
    from server.events import Publisher, ServerFrame

    from .planner import ReplyPlan, Turn

    PlanFn = Callable[[AsyncSession, Turn], Awaitable[ReplyPlan]]

logger = structlog.get_logger()

CONTROL_CHANNEL = "chat-control"
LOCK_TIMEOUT_S = 900


@dataclass
class ReplyJob:
    """A turn waiting for its reply; ``plan`` builds the plan (planner or phase command).

    ``done`` resolves when the reply is stored (with it) or has failed (with ``None``).
    ``on_error`` (a phase command's sender) receives the job's error instead of the whole
    session: a refused command concerns only the one who sent it.
    """

    turn: Turn
    reply_to: UUID | None
    plan: PlanFn
    on_error: Callable[[DomainError], Awaitable[None]] | None = None
    reply_id: UUID = field(default_factory=uuid7)
    done: asyncio.Future[ChatMessage | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    org_id: UUID | None = field(default_factory=current_org)
    """The organisation the turn was sent in (the sender's context); the reply runs in it."""


@dataclass
class _Worker:
    queue: deque[ReplyJob] = field(default_factory=deque)
    task: asyncio.Task[None] | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)


class ReplyEngine:
    """Runs replies for the sessions whose messages this process received."""

    def __init__(
        self,
        *,
        alchemy: SQLAlchemyAsyncConfig,
        channels: ChannelsPlugin,
        publisher: Publisher,
        config_store: ConfigStore,
        redis: Redis | None,
    ) -> None:
        self._alchemy = alchemy
        self._channels = channels
        self._publisher = publisher
        self._config_store = config_store
        self._redis = redis
        self._workers: dict[UUID, _Worker] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._control: asyncio.Task[None] | None = None

    async def publish(self, session_id: UUID, frame: ServerFrame) -> None:
        """Send ``frame`` to every participant of the session, on every instance."""
        await emit(self._publisher, [session_channel(session_id)], frame)

    async def start(self) -> None:
        """Listen for ``chat:stop`` requests from every instance."""
        subscriber = await self._channels.subscribe([CONTROL_CHANNEL])
        self._control = asyncio.create_task(self._listen(subscriber.iter_events()))

    async def close(self, grace_s: float = 10.0) -> None:
        """Let running replies finish (up to ``grace_s``), then stop everything."""
        tasks = [w.task for w in self._workers.values() if w.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=grace_s)
        for task in [*tasks, *self._background, *([self._control] if self._control else [])]:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, *self._background, return_exceptions=True)

    def submit(self, job: ReplyJob) -> None:
        """Queue ``job``; its session's replies run one after another, in order."""
        worker = self._workers.setdefault(job.turn.session_id, _Worker())
        worker.queue.append(job)
        if worker.task is None:
            worker.task = asyncio.create_task(self._run(job.turn.session_id, worker))

    async def request_stop(self, session_id: UUID) -> None:
        """Stop the reply in progress in ``session_id``, on whichever instance runs it."""
        await self._publisher.publish(str(session_id).encode(), [CONTROL_CHANNEL])

    def embed_later(self, message_ids: list[UUID]) -> None:
        """Embed stored messages into the project's memory, off the critical path."""
        if not message_ids:
            return
        task = asyncio.create_task(self._embed(message_ids))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _listen(self, events: AsyncIterator[bytes]) -> None:
        async for raw in events:
            for session_id, worker in self._workers.items():
                if str(session_id).encode() == raw:
                    worker.stop.set()

    async def _run(self, session_id: UUID, worker: _Worker) -> None:
        try:
            while worker.queue:
                job = worker.queue[0]
                worker.stop.clear()
                with org_context(job.org_id):  # the turn's organisation (row-level security)
                    async with self._lock(session_id):
                        try:
                            stored = await self._reply(job, worker.stop)
                        except DomainError as problem:
                            await self._fail(job, problem)
                            stored = None
                        except Exception:
                            logger.exception("chat reply failed", session_id=str(session_id))
                            await self._fail(job, DomainError("internal", "the reply failed"))
                            stored = None
                    worker.queue.popleft()
                    # The user's message and its reply go into memory together: one embedding
                    # call and one transaction per turn.
                    stored_ids = [job.reply_to, stored.id if stored is not None else None]
                    self.embed_later([i for i in stored_ids if i is not None])
                if not job.done.done():
                    job.done.set_result(stored)
        finally:
            worker.task = None
            if worker.queue:
                worker.task = asyncio.create_task(self._run(session_id, worker))
            else:
                self._workers.pop(session_id, None)

    @contextlib.asynccontextmanager
    async def _lock(self, session_id: UUID) -> AsyncIterator[None]:
        redis = self._redis
        if redis is None:
            yield
            return
        lock = redis.lock(f"chat:reply:{session_id}", timeout=LOCK_TIMEOUT_S)
        try:
            await lock.acquire()
        except (RedisError, OSError) as error:
            # Redis is away: answer anyway (the database is the truth); replies of this
            # session on this instance still run one at a time.
            logger.warning("reply lock unavailable", session_id=str(session_id), error=str(error))
            yield
            return
        try:
            yield
        finally:
            with contextlib.suppress(RedisError, OSError, LockError):
                await lock.release()

    async def _reply(self, job: ReplyJob, stop: asyncio.Event) -> ChatMessage | None:
        turn = job.turn
        await self._typing(turn.session_id, is_typing=True)
        async with self._alchemy.get_session() as db:
            project = await db.get(Project, turn.project_id)
            profile_name = self._config_store.profile_for(project)
            plan = await job.plan(db, turn)
            await db.commit()
        parts: list[str] = []
        completion: Completion | None = None
        stopped = False
        if plan.direct_reply is not None:
            parts.append(plan.direct_reply)
        elif plan.request is not None:
            try:
                completion, stopped = await self._stream(job, plan, profile_name, parts, stop)
            except ProvidersUnavailable as error:
                async with self._alchemy.get_session() as db:
                    record_failure(
                        db,
                        error,
                        user_id=turn.user_id,
                        project_id=turn.project_id,
                        purpose=plan.purpose,
                        session_id=turn.session_id,
                    )
                    await db.commit()
                raise DomainError("provider_unavailable", str(error)) from None
        text = "".join(parts)
        shown = text
        said = plan.closing(completion) if callable(plan.closing) else plan.closing
        if said and not stopped:
            closing = f"\n\n{said}" if text else said
            await self.publish(turn.session_id, MessageDelta(DeltaData(job.reply_id, closing)))
            shown = text + closing
        async with self._alchemy.get_session() as db:
            message = await add_assistant_message(
                db,
                message_id=job.reply_id,
                session_id=turn.session_id,
                project_id=turn.project_id,
                reply_to=job.reply_to,
                content=shown,
                stopped=stopped,
                phase_number=plan.phase_number,
                provider=completion.provider if completion else None,
                model=completion.model if completion else None,
                usage=_usage(completion),
                citations=msgspec.to_builtins(cite(shown, plan.passages)),
                prompts=recorded(plan.prompts),
                profile=(profile_name or self._config_store.config.active_profile)
                if completion
                else None,
                context=[msgspec.to_builtins(p) for p in plan.passages],
            )
            if completion is not None:
                record_completion(
                    db,
                    completion,
                    user_id=turn.user_id,
                    project_id=turn.project_id,
                    purpose=plan.purpose,
                    session_id=turn.session_id,
                    message_id=message.id,
                )
            if plan.on_complete is not None:
                await plan.on_complete(db, text, completion, stopped)
            await db.commit()
            await db.refresh(message)
        await self._typing(turn.session_id, is_typing=False)
        await self.publish(turn.session_id, MessageReceived(MessageData(message_out(message))))
        return message

    async def _stream(
        self,
        job: ReplyJob,
        plan: ReplyPlan,
        profile: str | None,
        parts: list[str],
        stop: asyncio.Event,
    ) -> tuple[Completion | None, bool]:
        """Stream the routed reply into ``parts``; ``(completion, stopped)``."""
        request = plan.request
        assert request is not None
        result: list[Completion] = []

        async def consume() -> None:
            async for event in self._config_store.router.stream(request, profile):
                if isinstance(event, TextDelta):
                    parts.append(event.text)
                    frame = MessageDelta(DeltaData(job.reply_id, event.text))
                    await self.publish(job.turn.session_id, frame)
                else:
                    result.append(event)

        streaming = asyncio.create_task(consume())
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({streaming, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not streaming.done():
            streaming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await streaming
            return None, True
        streaming.result()
        return (result[0] if result else None), False

    async def _typing(self, session_id: UUID, *, is_typing: bool) -> None:
        frame = TypingIndicator(TypingIndicatorData("assistant", is_typing))
        await self.publish(session_id, frame)

    async def _fail(self, job: ReplyJob, problem: DomainError) -> None:
        with contextlib.suppress(Exception):
            await self._typing(job.turn.session_id, is_typing=False)
            if job.on_error is not None:
                await job.on_error(problem)
            else:
                await self.publish(job.turn.session_id, error_frame(problem))

    async def _embed(self, message_ids: list[UUID]) -> None:
        try:
            async with self._alchemy.get_session() as db:
                await embed_messages(db, self._config_store.registry.embedder(), message_ids)
        except Exception:
            logger.exception(
                "embedding chat messages failed", messages=[str(i) for i in message_ids]
            )


def _usage(completion: Completion | None) -> dict[str, Any]:
    if completion is None:
        return {}
    usage: dict[str, Any] = msgspec.to_builtins(completion.usage)
    usage.update(
        cost_usd=completion.cost_usd,
        latency_ms=round(completion.latency_ms, 2),
        hops=msgspec.to_builtins(completion.hops),
    )
    return usage


def _normalise(text: str) -> str:
    return " ".join(text.split())
