"""How a turn becomes a reply: the ``Planner`` seam and the default ``MemoryPlanner``.

The replies asks the chat's planner for a :class:`ReplyPlan` for every user message; the
phase workflow wraps :class:`MemoryPlanner` to add phase work (questions, drafts, commands). A plan
is either a request to stream through the providers router, or a ``direct_reply`` text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

import msgspec
from sqlalchemy import func, select

from providers import ChatRequest, CitationKeeper, Message, ReplyContext, estimate_tokens
from server.ai.prompts import prompt_version
from server.db.models import ChatMessage, ChatSession, Phase
from server.documents.retrieval import passages as hit_passages
from server.documents.retrieval import recall

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from sqlalchemy.ext.asyncio import AsyncSession

    from providers import Completion, Embedder, Passage, Profile
    from server.documents.retrieval import Hit
    from server.events import PromptVersion
    from server.settings import ChatSettings

    from .schemas import PhaseFrame

SYSTEM_PROMPT = (
    "You are Unified Assistant. You help the user and their collaborators write a long "
    "document, one phase at a time, grounded in their own material. Be concise and concrete. "
    "When you rely on a passage below, quote the words you use and cite it as [S1], [S2]... "
    "Never invent a citation."
)
DOCUMENT_PASSAGES = 6
"""Document chunks retrieved for every turn (before the token budget trims them)."""


class Turn(msgspec.Struct):
    """A user's message (or a phase command) that the server answers.

    For a phase command there is no stored user message: ``message_id`` is then the id the
    reply will be stored under. ``phase_current`` says ``phase_number`` was read under the
    session's row lock in the transaction planning the turn (else planners read it again).
    """

    project_id: UUID
    session_id: UUID
    user_id: UUID
    message_id: UUID
    content: str
    phase_number: int | None
    phase_current: bool = False


async def settle_phase(db: AsyncSession, turn: Turn) -> None:
    """Make ``turn.phase_number`` the session's phase now, unless it already is (see
    ``Turn.phase_current``): the turn may carry the phase its connection saw when it joined,
    and another turn may have moved the session since."""
    if turn.phase_current:
        return
    chat_session = await db.get(ChatSession, turn.session_id)
    if chat_session is not None:
        turn.phase_number = chat_session.phase_number
    turn.phase_current = True


@dataclass
class ReplyPlan:
    """What to answer a turn with.

    ``on_complete(session, reply_text, completion, stopped)`` runs in the transaction that
    stores the assistant message (e.g. to store a phase version). ``closing`` is said after a
    reply that was not stopped (e.g. asking for approval of a draft): streamed and stored with
    the message, but not part of the ``reply_text`` handed to ``on_complete``.
    """

    request: ChatRequest | None
    purpose: str
    phase_number: int | None = None
    passages: list[Passage] = field(default_factory=list)
    direct_reply: str | None = None
    on_complete: Callable[[AsyncSession, str, Completion | None, bool], Awaitable[None]] | None = (
        None
    )
    closing: str | Callable[[Completion | None], str | None] | None = None
    """Said after the reply; a function of the completion when it depends on who answered."""
    prompts: list[PromptVersion] = field(default_factory=list)
    """The prompt versions the request was built with, recorded on the stored reply."""

    def keep_citations(self) -> ReplyPlan:
        """Have the router keep the reply's ``[S#]`` markers true to :attr:`passages` as it
        streams: markers naming no passage or vouching for a quotation the passage does not
        hold are dropped, the rest renumbered densely in order of first use, and
        :attr:`passages` renumbered in place to match before the reply is stored (see
        ``providers.CitationKeeper``). Called once the plan's passages are final; calling it
        again for the same passages keeps the same keeper."""
        if self.request is None:
            return self
        kept = self.request.citations
        if isinstance(kept, CitationKeeper) and kept.passages is self.passages:
            return self
        keeper = CitationKeeper(self.passages)
        self.request = msgspec.structs.replace(self.request, citations=keeper)
        return self


class Planner(Protocol):
    """Turns a user's message into a reply plan."""

    async def plan(self, db: AsyncSession, turn: Turn, profile: Profile) -> ReplyPlan:
        """The plan answering ``turn`` through ``profile``."""
        ...


class Commands(Protocol):
    """Answers the ``phase:*`` frames of the WebSocket (the phase workflow's command surface)."""

    async def handle(self, db: AsyncSession, turn: Turn, frame: PhaseFrame) -> ReplyPlan:
        """The reply to a phase frame; a refused command raises a ``DomainError``."""
        ...


class MemoryPlanner:
    """Plain conversation with long memory.

    The prompt holds, within ``ChatSettings.context_tokens`` (estimated tokens): the system
    prompt, the current phase, passages (the project's documents, then older messages of the
    project recalled by meaning — any session, months old), the recent conversation of the
    project (newest kept first) and the user's message.
    """

    def __init__(
        self,
        settings: ChatSettings,
        embedder: Callable[[], Embedder],
        config: Callable[[], Mapping[str, Any]] = dict,
    ) -> None:
        self._settings = settings
        self._embedder = embedder
        self._config = config
        """The decoded config.json in force, for the prompt's label."""

    async def plan(self, db: AsyncSession, turn: Turn, profile: Profile) -> ReplyPlan:
        """See :class:`Planner`."""
        budget = self._settings.context_tokens - estimate_tokens(SYSTEM_PROMPT + turn.content)
        phase_title = await self._phase_title(db, turn)
        recent = await self._recent(db, turn, budget // 2)
        budget -= sum(estimate_tokens(m.content) for m in recent)
        hits = await self._passages(db, turn, {m.id for m in recent}, budget)
        passages = hit_passages(hits)
        system = [SYSTEM_PROMPT]
        if turn.phase_number is not None:
            system.append(f"The conversation is on phase {turn.phase_number}: {phase_title}.")
        if passages:
            system.append(
                "Passages (from the user's documents and earlier conversations):\n"
                + "\n\n".join(f"[{p.ref}] ({p.source}) {p.text}" for p in passages)
            )
        messages = [Message("system", "\n\n".join(system))]
        messages.extend(
            Message("assistant" if m.role == "assistant" else "user", m.content) for m in recent
        )
        messages.append(Message("user", turn.content))
        context = ReplyContext(
            intent="chat",
            user_message=turn.content,
            phase_number=turn.phase_number,
            phase_title=phase_title,
            passages=tuple(passages),
        )
        return ReplyPlan(
            request=ChatRequest(messages=tuple(messages), context=context),
            purpose="chat",
            phase_number=turn.phase_number,
            passages=passages,
            prompts=[prompt_version("answering", SYSTEM_PROMPT, self._config())],
        ).keep_citations()

    async def _phase_title(self, db: AsyncSession, turn: Turn) -> str | None:
        if turn.phase_number is None:
            return None
        title: str | None = await db.scalar(
            select(Phase.title).where(
                Phase.project_id == turn.project_id, Phase.number == turn.phase_number
            )
        )
        return title

    async def _recent(self, db: AsyncSession, turn: Turn, budget: int) -> list[ChatMessage]:
        """The project's latest messages before the turn, oldest first, within ``budget``."""
        created = select(ChatMessage.created_at).where(ChatMessage.id == turn.message_id)
        rows = await db.scalars(
            select(ChatMessage)
            .where(
                ChatMessage.project_id == turn.project_id,
                ChatMessage.id != turn.message_id,
                ChatMessage.created_at <= func.coalesce(created.scalar_subquery(), func.now()),
            )
            .order_by(ChatMessage.created_at.desc())
            .limit(self._settings.recent_messages)
        )
        kept: list[ChatMessage] = []
        for message in rows:
            budget -= estimate_tokens(message.content)
            if budget < 0:
                break
            kept.append(message)
        return kept[::-1]

    async def _passages(
        self, db: AsyncSession, turn: Turn, recent: set[UUID], budget: int
    ) -> list[Hit]:
        """Document passages, then recalled messages, while they fit in ``budget``.

        One hybrid search over both kinds of chunk (the query is embedded once); messages of
        the recent window, already in the prompt, are left out.
        """
        hits = await recall(
            db,
            user_id=turn.user_id,
            project_id=turn.project_id,
            query=turn.content,
            embedder=self._embedder(),
            documents=DOCUMENT_PASSAGES,
            messages=self._settings.recall_limit,
            exclude_messages={*recent, turn.message_id},
        )
        kept: list[Hit] = []
        for hit in hits:
            budget -= estimate_tokens(hit.text) + 12
            if budget < 0:
                break
            kept.append(hit)
        return kept
