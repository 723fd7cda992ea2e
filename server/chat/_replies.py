"""The replies: one reply at a time per session, run server-side, fanned out to everyone.

The database is the truth (see :mod:`._turns`): every turn owed an answer is a row, stored with
the message that asks for it. An instance answers the turns it holds the lease of, one session
at a time, in order: it streams deltas to the session's channel, renews the leases of all the
turns it is answering in one statement (saving each one's text so far) every
:data:`BEATS_PER_LEASE`-th of a lease, and stores the reply in the
transaction that deletes the turn and claims the session's next one, even if every client has
left. Its sweeper takes over the turns whose lease ran out (their instance died): a turn that
had not started is answered; one that had is stored ``interrupted`` with its partial text and
the session is told. ``chat:stop`` travels over the ``chat-control`` channel so it reaches
whichever instance runs the reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec
import structlog
from sqlalchemy import select
from uuid_utils.compat import uuid7

from providers import ProvidersUnavailable, TextDelta
from server.ai.prompts import recorded
from server.db import session
from server.db.brief import project_brief
from server.db.models import ChatMessage, ChatSession
from server.db.tenancy import all_orgs, current_org, org_context
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
from server.metering import usage_scope

from ._memory import Remembered, remember
from ._store import add_assistant_message
from ._turns import claim_lost, finish, mark_started, new_owner, renew
from .schemas import message_out

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from contextlib import AbstractContextManager
    from uuid import UUID

    from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
    from litestar.channels import ChannelsPlugin
    from sqlalchemy.ext.asyncio import AsyncSession

    from providers import Completion
    from server.ai import ConfigStore
    from server.db.models import ChatTurn
    from server.events import Publisher, ServerFrame
    from server.metering import UsageScope

    from .planner import ReplyPlan, Turn

    PlanFn = Callable[[AsyncSession, Turn], Awaitable[ReplyPlan]]
    Resume = Callable[[ChatTurn, str, int | None], "ReplyJob"]

logger = structlog.get_logger()

CONTROL_CHANNEL = "chat-control"
REPLIES = "chat-replies:"
"""The name of a session's reply task starts with this (diagnostics, tracebacks)."""
BEATS_PER_LEASE = 5
"""Lease renewals (each saving the text streamed so far) per lease: a reply that dies loses at
most a fifth of a lease of text, and two missed renewals still leave it time."""
DELTA_INTERVAL_S = 1 / 60
"""The shortest time between two delta frames of a reply (a screen's refresh)."""
WAITING_TTL_S = 3600.0
"""How long a queued turn's in-process waiter is kept for when another instance answers it."""


class DeltaPacer:
    """The deltas of one reply, sent as they come but at most one frame per
    :data:`DELTA_INTERVAL_S`: text that arrives sooner waits for the next frame, joined.

    A provider streaming slower than that (most, a token every 10 to 50 ms) has every token in a
    frame of its own; one that outpaces a screen's refresh (a local model, a fast endpoint, a
    burst after a network stall) has its tokens merged, which spares every participant, the
    fan-out and Redis a frame per token. The first delta of a reply goes at once.
    """

    def __init__(self, send: Callable[[str], Awaitable[None]]) -> None:
        self._send = send
        self._pending: list[str] = []
        self._last = -DELTA_INTERVAL_S
        self._timer: asyncio.Task[None] | None = None
        self._sleeping = False
        self._lock = asyncio.Lock()

    async def add(self, text: str) -> None:
        """Send ``text`` now, or with the next frame when the last one went out just now."""
        self._pending.append(text)
        if self._timer is not None:
            return
        wait = self._last + DELTA_INTERVAL_S - time.monotonic()
        if wait <= 0:
            await self._flush()
        else:
            self._schedule(wait)

    async def close(self) -> None:
        """Send what is still waiting (the reply ended, or was stopped)."""
        if self._timer is not None:
            if self._sleeping:
                self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
        await self._flush()

    def _schedule(self, wait: float) -> None:
        self._sleeping = True
        self._timer = asyncio.create_task(self._later(wait))

    async def _later(self, wait: float) -> None:
        await asyncio.sleep(wait)
        self._sleeping = False
        try:
            await self._flush()
        finally:
            self._timer = None
        if self._pending:  # text that came while that frame was being sent: the next frame
            self._schedule(max(0.0, self._last + DELTA_INTERVAL_S - time.monotonic()))

    async def _flush(self) -> None:
        async with self._lock:  # frames leave in order, even when a publish is slow
            if not self._pending:
                return
            text = "".join(self._pending)
            self._pending.clear()
            self._last = time.monotonic()
            await self._send(text)


@dataclass
class Planned:
    """A turn's plan and the AI profile it is routed through."""

    plan: ReplyPlan
    profile: str | None


@dataclass
class ReplyJob:
    """A turn to answer; ``plan`` builds its plan (planner or phase command).

    ``planned`` is set when the plan was made in the transaction that stored the turn.
    ``interrupted`` (the partial text) marks a turn taken over after its instance died mid-reply.
    ``done`` resolves when the reply is stored (with it) or has failed (with ``None``).
    ``on_error`` (a phase command's sender) receives the job's error instead of the whole
    session: a refused command concerns only the one who sent it.
    """

    turn: Turn
    reply_to: UUID | None
    plan: PlanFn
    on_error: Callable[[DomainError], Awaitable[None]] | None = None
    reply_id: UUID = field(default_factory=uuid7)
    planned: Planned | None = None
    interrupted: str | None = None
    parts: list[str] = field(default_factory=list)
    """The reply's text as streamed so far (stored with a reply that fails midway)."""
    created: float = field(default_factory=time.monotonic)
    done: asyncio.Future[ChatMessage | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    org_id: UUID | None = field(default_factory=current_org)
    """The organisation the turn was sent in (the sender's context); the reply runs in it."""


@dataclass
class _Lease:
    """A turn this instance is answering, as its lease keeper sees it."""

    parts: list[str]
    """The reply's text so far (the job's own list)."""
    lost: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when another instance took the turn over."""
    saved: int = 0
    """How much of the text the database holds."""


@dataclass
class _Worker:
    queue: deque[ReplyJob] = field(default_factory=deque)
    task: asyncio.Task[None] | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)


class Replies:
    """Answers the turns whose lease this process holds; takes over those nobody holds."""

    def __init__(
        self,
        *,
        alchemy: SQLAlchemyAsyncConfig,
        channels: ChannelsPlugin,
        publisher: Publisher,
        config_store: ConfigStore,
        lease_s: float,
    ) -> None:
        self._alchemy = alchemy
        self._channels = channels
        self._publisher = publisher
        self._config_store = config_store
        self.lease_s = lease_s
        self.owner = new_owner()
        """This engine's name in the ``owner`` column of the turns it answers."""
        self.resume: Resume | None = None
        """Builds the job of a turn read back from the database (set by the chat service)."""
        self._workers: dict[UUID, _Worker] = {}
        self._waiting: dict[UUID, ReplyJob] = {}
        self._active: set[UUID] = set()
        self._leases: dict[UUID, _Lease] = {}
        """The turns being streamed here, whose leases :meth:`_keep_leases` renews."""
        self._control: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._keeper: asyncio.Task[None] | None = None

    async def publish(self, session_id: UUID, frame: ServerFrame) -> None:
        """Send ``frame`` to every participant of the session, on every instance."""
        await emit(self._publisher, [session_channel(session_id)], frame)

    async def start(self) -> None:
        """Listen for ``chat:stop`` requests from every instance; sweep for lost turns; keep
        the leases of the turns answered here."""
        subscriber = await self._channels.subscribe([CONTROL_CHANNEL])
        self._control = asyncio.create_task(self._listen(subscriber.iter_events()))
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="chat-reply-sweep")
        self._keeper = asyncio.create_task(self._keep_leases(), name="chat-reply-leases")

    async def close(self, grace_s: float = 10.0) -> None:
        """Let running replies finish (up to ``grace_s``), then stop everything. A reply cut
        short keeps its lease until it runs out; then another instance takes it over."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        tasks = [w.task for w in self._workers.values() if w.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=grace_s)
        others = [t for t in (self._control, self._sweeper, self._keeper) if t is not None]
        for task in [*tasks, *others]:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, *others, return_exceptions=True)

    def submit(self, job: ReplyJob) -> None:
        """Answer ``job``, whose turn this process holds; a session's replies run in order."""
        worker = self._workers.setdefault(job.turn.session_id, _Worker())
        worker.queue.append(job)
        if worker.task is None:
            worker.task = self._worker_task(job.turn.session_id, worker)

    def wait(self, job: ReplyJob) -> None:
        """Keep ``job``, whose turn is queued behind another of its session, until the
        instance that finishes that one claims it (this one: the job is picked up with its
        ``on_error`` and ``done``; another: it is forgotten after :data:`WAITING_TTL_S`)."""
        now = time.monotonic()
        for turn_id, waiting in list(self._waiting.items()):
            if now - waiting.created > WAITING_TTL_S:
                del self._waiting[turn_id]
                if not waiting.done.done():
                    waiting.done.set_result(None)
        self._waiting[job.reply_id] = job

    async def request_stop(self, session_id: UUID) -> None:
        """Stop the reply in progress in ``session_id``, on whichever instance runs it."""
        await self._publisher.publish(str(session_id).encode(), [CONTROL_CHANNEL])

    async def sweep(self) -> int:
        """Take over the turns nobody answers (see :func:`._turns.claim_lost`); how many."""
        # Turns of every organisation: each job then runs in its own (``_job_of``).
        with all_orgs("chat turn takeover", log=False):
            jobs = await self._claim_lost()
        for job in jobs:
            logger.warning(
                "chat turn taken over",
                session_id=str(job.turn.session_id),
                turn_id=str(job.reply_id),
                interrupted=job.interrupted is not None,
            )
            self.submit(job)
        return len(jobs)

    async def _claim_lost(self) -> list[ReplyJob]:
        jobs: list[ReplyJob] = []
        async with session(self._alchemy) as db:
            for row in await claim_lost(db, self.owner, self.lease_s):
                if row.id in self._active:
                    continue  # still answered here (a late renewal): the claim renewed it
                job = await self._job_of(db, row)
                if row.started:
                    job.interrupted = row.partial
                jobs.append(job)
            await db.commit()
        return jobs

    async def _sweep_forever(self) -> None:
        delay = self.lease_s / 2
        while True:
            try:
                await self.sweep()
                delay = self.lease_s / 2
            except Exception:  # the database may be away: try again, slower
                logger.warning("chat turn sweep failed", exc_info=True, retry_in_s=delay)
                delay = min(delay * 2, 60.0)
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))  # noqa: S311 - jitter

    async def _job_of(self, db: AsyncSession, row: ChatTurn) -> ReplyJob:
        """The job answering a turn claimed from the database."""
        waiting = self._waiting.pop(row.id, None)
        if waiting is not None:
            return waiting
        content, phase_number = "", None
        if row.message_id is not None:
            asked = select(ChatMessage.content, ChatMessage.phase_number).where(
                ChatMessage.id == row.message_id
            )
            found = (await db.execute(asked)).one_or_none()
            if found is not None:
                content, phase_number = found
        assert self.resume is not None
        job = self.resume(row, content, phase_number)
        job.org_id = await db.scalar(
            select(ChatSession.org_id).where(ChatSession.id == row.session_id)
        )
        return job

    async def _listen(self, events: AsyncIterator[bytes]) -> None:
        async for raw in events:
            for session_id, worker in self._workers.items():
                if str(session_id).encode() == raw:
                    worker.stop.set()

    def _worker_task(self, session_id: UUID, worker: _Worker) -> asyncio.Task[None]:
        return asyncio.create_task(self._run(session_id, worker), name=f"{REPLIES}{session_id}")

    async def _run(self, session_id: UUID, worker: _Worker) -> None:
        try:
            while worker.queue:
                job = worker.queue.popleft()
                worker.stop.clear()
                self._active.add(job.reply_id)
                try:
                    with org_context(job.org_id):  # the turn's organisation (row-level security)
                        following = await self._answer(job, worker.stop)
                finally:
                    self._active.discard(job.reply_id)
                if following is not None:
                    worker.queue.append(following)
        finally:
            worker.task = None
            if worker.queue:
                worker.task = self._worker_task(session_id, worker)
            else:
                self._workers.pop(session_id, None)

    async def _answer(self, job: ReplyJob, stop: asyncio.Event) -> ReplyJob | None:
        """Answer one turn; the session's next turn if this process claimed it."""
        stored: ChatMessage | None = None
        following: ReplyJob | None = None
        turn = job.turn
        try:
            if job.interrupted is not None:
                stored, following = await self._interrupted(job)
            else:
                with _usage_of(job):
                    stored, following = await self._reply(job, stop)
        except Exception as error:
            if isinstance(error, DomainError):
                problem = error
            else:
                logger.exception("chat reply failed", session_id=str(turn.session_id))
                problem = DomainError("internal", "the reply failed")
            following = await self._give_up(job, problem)
        if not job.done.done():
            job.done.set_result(stored)
        return following

    async def _reply(
        self, job: ReplyJob, stop: asyncio.Event
    ) -> tuple[ChatMessage | None, ReplyJob | None]:
        turn = job.turn
        parts = job.parts
        lease = self._leases[job.reply_id] = _Lease(parts)
        try:
            await self._typing(turn.session_id, is_typing=True)
            planned = job.planned or await self._plan(job)
            if planned is None:
                return None, None
            plan = planned.plan
            completion: Completion | None = None
            stopped = False
            if plan.direct_reply is not None:
                parts.append(plan.direct_reply)
            elif plan.request is not None:
                try:
                    with usage_scope(purpose=plan.purpose):
                        outcome = await self._stream(job, planned, parts, stop, lease.lost)
                except ProvidersUnavailable as error:
                    raise DomainError("provider_unavailable", str(error)) from None
                if outcome is None:
                    logger.warning("chat turn lost its lease", turn_id=str(job.reply_id))
                    return None, None
                completion, stopped = outcome
            return await self._complete(job, planned, parts, completion, stopped)
        finally:
            del self._leases[job.reply_id]

    async def _plan(self, job: ReplyJob) -> Planned | None:
        """Plan a turn claimed from the database, in a transaction that records it as started;
        None when the turn was taken over meanwhile."""
        async with session(self._alchemy) as db:
            planned = await self.plan(db, job)
            if not await mark_started(db, job.reply_id, self.owner):
                await db.rollback()
                return None
            await db.commit()
        return planned

    async def plan(self, db: AsyncSession, job: ReplyJob) -> Planned:
        """The plan of ``job`` and its profile, read (and, for phase commands, acted on) in
        ``db``'s transaction."""
        with _usage_of(job):
            plan = await job.plan(db, job.turn)
        project = await project_brief(db, job.turn.project_id)
        return Planned(plan, self._config_store.profile_for(project))

    async def _complete(
        self,
        job: ReplyJob,
        planned: Planned,
        parts: list[str],
        completion: Completion | None,
        stopped: bool,
    ) -> tuple[ChatMessage | None, ReplyJob | None]:
        """Store the reply, its memory and its plan's effects in one transaction,
        with the turn deleted and the session's next turn claimed."""
        turn, plan, profile = job.turn, planned.plan, planned.profile
        text = "".join(parts)
        shown = text
        said = plan.closing(completion) if callable(plan.closing) else plan.closing
        if said and not stopped:
            closing = f"\n\n{said}" if text else said
            await self.publish(turn.session_id, MessageDelta(DeltaData(job.reply_id, closing)))
            shown = text + closing
        memory = await self._remember(job, plan.phase_number, shown)
        async with session(self._alchemy) as db:
            finished = await finish(db, job.reply_id, self.owner, turn.session_id, self.lease_s)
            if not finished.held:
                await db.rollback()
                logger.warning("chat turn taken over before its reply was stored")
                return None, None
            message = await _store_reply(
                db,
                job,
                shown,
                "stopped" if stopped else "complete",
                plan.phase_number,
                provider=completion.provider if completion else None,
                model=completion.model if completion else None,
                usage=_usage(completion),
                citations=msgspec.to_builtins(cite(shown, plan.passages)),
                prompts=recorded(plan.prompts),
                profile=(profile or self._config_store.config.active_profile)
                if completion
                else None,
                context=[msgspec.to_builtins(p) for p in plan.passages],
            )
            if plan.on_complete is not None:
                await plan.on_complete(db, text, completion, stopped)
            if memory is not None:
                await memory.write(db)
            following = await self._following(db, finished.following)
            await db.commit()
        await self._typing(turn.session_id, is_typing=False)
        await self.publish(turn.session_id, MessageReceived(MessageData(message_out(message))))
        return message, following

    async def _remember(self, job: ReplyJob, phase_number: int | None, shown: str) -> Any:
        """The memory chunks of the turn's messages (None if embedding failed: the messages
        are stored all the same, only not recallable)."""
        turn = job.turn
        messages = [Remembered(job.reply_id, turn.project_id, phase_number, shown)]
        if job.reply_to is not None:
            asked = Remembered(job.reply_to, turn.project_id, turn.phase_number, turn.content)
            messages.insert(0, asked)
        try:
            return await remember(self._config_store.embedder(), messages)
        except Exception:
            logger.exception("embedding chat messages failed", turn_id=str(job.reply_id))
            return None

    async def _interrupted(self, job: ReplyJob) -> tuple[ChatMessage | None, ReplyJob | None]:
        """Store a taken-over turn that had started as ``interrupted``, with its partial text,
        and tell the session."""
        turn = job.turn
        async with session(self._alchemy) as db:
            finished = await finish(db, job.reply_id, self.owner, turn.session_id, self.lease_s)
            if not finished.held:
                await db.rollback()
                return None, None
            message = await _store_reply(
                db, job, job.interrupted or "", "interrupted", turn.phase_number
            )
            following = await self._following(db, finished.following)
            await db.commit()
        await self._typing(turn.session_id, is_typing=False)
        await self.publish(turn.session_id, MessageReceived(MessageData(message_out(message))))
        return message, following

    async def _give_up(
        self,
        job: ReplyJob,
        problem: DomainError,
    ) -> ReplyJob | None:
        """Close a turn that cannot be answered and tell its sender or its session. A user's
        message gets a reply stored ``failed`` (with the text streamed before the failure), so
        that no message is left without an answer. If even that fails (the database away), the
        turn keeps its lease until a sweep takes it over."""
        following: ReplyJob | None = None
        failed: ChatMessage | None = None
        turn = job.turn
        try:
            async with session(self._alchemy) as db:
                finished = await finish(db, job.reply_id, self.owner, turn.session_id, self.lease_s)
                if not finished.held:
                    await db.rollback()
                    return None
                if job.reply_to is not None:
                    failed = await _store_reply(
                        db, job, "".join(job.parts), "failed", turn.phase_number
                    )
                following = await self._following(db, finished.following)
                await db.commit()
        except Exception:
            failed = None
            logger.exception("could not close a failed chat turn", turn_id=str(job.reply_id))
        with contextlib.suppress(Exception):
            await self._typing(turn.session_id, is_typing=False)
            if job.on_error is not None:
                await job.on_error(problem)
            else:
                await self.publish(turn.session_id, error_frame(problem))
            if failed is not None:
                await self.publish(
                    turn.session_id, MessageReceived(MessageData(message_out(failed)))
                )
        return following

    async def _following(self, db: AsyncSession, row: ChatTurn | None) -> ReplyJob | None:
        """The job of the next turn :func:`finish` claimed, if any."""
        return None if row is None else await self._job_of(db, row)

    async def _keep_leases(self) -> None:
        """Every :data:`BEATS_PER_LEASE`-th of a lease, renew the leases of all the turns
        streamed here, in one transaction whatever their number. A renewal that fails is tried
        at the next beat."""
        while True:
            await asyncio.sleep(self.lease_s / BEATS_PER_LEASE)
            if not self._leases:
                continue
            try:
                await self._renew_leases()
            except Exception as error:  # the database may be away: the next beat tries again
                logger.warning("chat turn leases not renewed", error=str(error)[:300])

    async def _renew_leases(self) -> None:
        """Extend the leases, saving each reply's text where it grew; tell a turn another
        instance took over that it is lost."""
        leases = dict(self._leases)
        texts = {turn_id: "".join(lease.parts) for turn_id, lease in leases.items()}
        held = [
            (turn_id, text if len(text) != leases[turn_id].saved else None)
            for turn_id, text in texts.items()
        ]
        # The turns of every organisation answered here, in one statement.
        with all_orgs("chat turn leases", log=False):
            async with session(self._alchemy) as db:
                owned = await renew(db, self.owner, self.lease_s, held)
                await db.commit()
        for turn_id, lease in leases.items():
            if turn_id in owned:
                lease.saved = len(texts[turn_id])
            elif turn_id in self._leases:  # still streamed here, but no longer ours
                lease.lost.set()

    async def _stream(
        self,
        job: ReplyJob,
        planned: Planned,
        parts: list[str],
        stop: asyncio.Event,
        lost: asyncio.Event,
    ) -> tuple[Completion | None, bool] | None:
        """Stream the routed reply into ``parts``: ``(completion, stopped)``, or None when
        the turn's lease was lost."""
        request = planned.plan.request
        assert request is not None
        result: list[Completion] = []

        async def send(text: str) -> None:
            await self.publish(job.turn.session_id, MessageDelta(DeltaData(job.reply_id, text)))

        async def consume() -> None:
            pacer = DeltaPacer(send)
            try:
                async for event in self._config_store.router.stream(request, planned.profile):
                    if isinstance(event, TextDelta):
                        parts.append(event.text)
                        await pacer.add(event.text)
                    else:
                        result.append(event)
            finally:
                await pacer.close()

        streaming = asyncio.create_task(consume())
        stopping = asyncio.create_task(stop.wait())
        losing = asyncio.create_task(lost.wait())
        try:
            await asyncio.wait({streaming, stopping, losing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            losing.cancel()
        if not streaming.done():
            streaming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await streaming
            return None if lost.is_set() else (None, True)
        streaming.result()
        return (result[0] if result else None), False

    async def _typing(self, session_id: UUID, *, is_typing: bool) -> None:
        frame = TypingIndicator(TypingIndicatorData("assistant", is_typing))
        await self.publish(session_id, frame)


async def _store_reply(
    db: AsyncSession,
    job: ReplyJob,
    content: str,
    status: str,
    phase_number: int | None,
    **details: Any,
) -> ChatMessage:
    """Add the reply of ``job`` to the transaction that finishes its turn; the caller commits."""
    return await add_assistant_message(
        db,
        message_id=job.reply_id,
        session_id=job.turn.session_id,
        project_id=job.turn.project_id,
        reply_to=job.reply_to,
        content=content,
        status=status,
        phase_number=phase_number,
        **details,
    )


def _usage_of(job: ReplyJob) -> AbstractContextManager[UsageScope]:
    """The usage scope of a turn's provider calls: its sender, project, session and reply."""
    turn = job.turn
    return usage_scope(
        purpose="chat",
        user_id=turn.user_id,
        project_id=turn.project_id,
        session_id=turn.session_id,
        message_id=job.reply_id,
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
