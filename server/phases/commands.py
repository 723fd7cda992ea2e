"""The phase workflow's use cases: start, goto, answer, edit, approve, regenerate, restore.

REST controllers, the WebSocket's ``phase:*`` frames and the typed slash commands all call
:class:`PhaseCommands`, so each rule is written once: status changes go through the status
machine (:mod:`server.phases.status`), and every change is announced to the project's
participants (``phase:updated``, then ``phase:stale``) from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from server.db.brief import ProjectBrief, forget_brief, project_brief
from server.db.models import ChatSession, Project
from server.errors import DomainError, not_found

from .context import Reader, cited_as_now, reconstruct, with_feedback
from .drafting import announce, run_draft, store_draft, view
from .services import PhaseService
from .status import PhaseEvent, PhaseStatus, status_of

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    from providers import Completion, Embedder, Router
    from server.db.models import Phase, PhaseVersion
    from server.events import Publisher

    from .schemas import Phase as PhaseView
    from .schemas import ReconstructedContext
    from .services import WriteResult
    from .templates import PhaseTemplate, Workflow, WorkflowCatalog


class Models(Protocol):
    """Where the AI models are: the router and the profile a project goes through
    (``server.ai.ConfigStore`` is one)."""

    @property
    def router(self) -> Router:
        """The provider router in force."""
        ...

    def profile_for(self, project: Any) -> str | None:
        """The profile name ``project``'s replies go through (None: the active one)."""
        ...


class PhaseEnvironment:
    """What the phase workflow needs from the app: templates, the embedder, the publisher,
    and the models that read turns with structured output (None: the offline rules only)."""

    def __init__(
        self,
        workflows: WorkflowCatalog,
        embedder: Callable[[], Embedder],
        publisher: Publisher,
        models: Models | None = None,
    ) -> None:
        self.workflows, self.embedder, self.publisher = workflows, embedder, publisher
        self.models = models


TITLE_MAX = 200
"""Longest document title (the project's name)."""


@dataclass(frozen=True, slots=True)
class DraftOrder:
    """A draft about to be written: the context it is built from and the note it will carry.

    The caller runs it through the provider router (streamed into a chat, or all at once for
    REST and jobs) and hands the text to :meth:`PhaseCommands.store`.
    """

    number: int
    context: ReconstructedContext
    note: str | None


class PhaseCommands:
    """The phases of one project, changed on behalf of one person, on one database session."""

    def __init__(
        self, env: PhaseEnvironment, db: AsyncSession, project_id: UUID, actor_id: UUID
    ) -> None:
        self.env, self.db = env, db
        self.project_id, self.actor_id = project_id, actor_id
        self.phases = PhaseService(session=db)
        self.workflow: Workflow | None = None
        self.rows: dict[int, Phase] = {}
        self.project: ProjectBrief | None = None
        self.last_version_id: UUID | None = None
        """The version the latest write of these commands created."""

    def on(self, db: AsyncSession) -> PhaseCommands:
        """The same commands on another database session (e.g. the one a reply is stored on)."""
        other = PhaseCommands(self.env, db, self.project_id, self.actor_id)
        other.workflow = self.workflow
        return other

    async def load(self) -> bool:
        """Read the project's template and phases; False when the project has no phases."""
        project = await project_brief(self.db, self.project_id)
        if project is None:
            raise not_found("project")
        self.project = project
        self.workflow = self.env.workflows.get(project.template)
        self.rows = {p.number: p for p in await self.phases.for_project(self.project_id)}
        return bool(self.rows)

    def row(self, number: int) -> Phase:
        """Phase ``number``; 404 ``not_found`` naming the phases there are."""
        found = self.rows.get(number)
        if found is None:
            there = f"this project has 1 to {len(self.rows)}" if self.rows else "it has none"
            raise DomainError("not_found", f"there is no phase {number}; {there}")
        return found

    def spec(self, number: int) -> PhaseTemplate | None:
        """The template phase of phase ``number`` (None when the template is gone)."""
        return self.workflow.phase(number) if self.workflow else None

    async def show(self, row: Phase, current: PhaseVersion | None = None) -> PhaseView:
        """The wire form of ``row`` with its current content (``current``, just written)."""
        return await view(self.phases, row, self.workflow, current)

    async def publish(
        self, row: Phase, stale: list[int] | None = None, current: PhaseVersion | None = None
    ) -> PhaseView:
        """Tell the project's participants that ``row`` (and ``stale``) changed."""
        await self.db.flush()
        shown = await self.show(row, current)
        await announce(self.env.publisher, self.project_id, [shown], stale)
        return shown

    async def _written(self, result: WriteResult) -> PhaseView:
        self.rows[result.phase.number] = result.phase
        self.last_version_id = result.version.id
        return await self.publish(result.phase, result.stale, result.version)

    async def start(self, number: int) -> Phase:
        """Begin phase ``number``: ``not_started`` becomes ``in_progress`` (told to everyone)."""
        before = status_of(self.row(number))
        row = await self.phases.transition(self.project_id, number, PhaseEvent.START)
        self.rows[number] = row
        if status_of(row) is not before:
            await self.publish(row)
        return row

    async def move(self, chat_session_id: UUID, number: int) -> Phase:
        """Make phase ``number`` the chat session's phase (its status is left alone)."""
        row = self.row(number)
        chat = await self.db.get(ChatSession, chat_session_id)
        if chat is not None:
            chat.phase_number = number
        return row

    async def goto(self, chat_session_id: UUID, number: int) -> Phase:
        """Make phase ``number`` the chat session's phase, and start it."""
        await self.move(chat_session_id, number)
        return await self.start(number)

    async def answer(
        self, number: int, question: int, text: str, *, message_id: UUID | None = None
    ) -> Phase:
        """Record ``text`` as the answer to question ``question`` (from 0) of phase ``number``."""
        self.row(number)
        spec = self.spec(number)
        if spec is None or not 0 <= question < len(spec.questions):
            raise DomainError("not_found", f"phase {number} has no question {question + 1}")
        row = await self.phases.set_answer(
            self.project_id,
            number,
            question,
            question=spec.questions[question],
            answer=text,
            message_id=message_id,
        )
        await self.publish(row)
        return row

    async def edit(
        self, number: int, content: str, based_on: int | None, note: str | None = None
    ) -> PhaseView:
        """A person's new version, refused with 409 when ``based_on`` is not current."""
        self.row(number)
        result = await self.phases.edit(
            self.project_id, number, content, based_on, author_id=self.actor_id, note=note
        )
        return await self._written(result)

    async def restore(self, number: int, version: int) -> PhaseView:
        """Write an old version's content as a new version."""
        self.row(number)
        result = await self.phases.restore(self.project_id, number, version, self.actor_id)
        return await self._written(result)

    async def approve(self, number: int) -> Phase:
        """Accept phase ``number``'s current version; 409 when it has no draft."""
        self.row(number)
        row = await self.phases.transition(self.project_id, number, PhaseEvent.APPROVE)
        self.rows[number] = row
        await self.publish(row)
        return row

    async def rename(self, title: str) -> str:
        """Give the document (the project) its title; ``bad_request`` for an empty or overlong
        one."""
        title = " ".join(title.split()).strip("\"“”'")
        if not title or len(title) > TITLE_MAX:
            raise DomainError("bad_request", f"a title has 1 to {TITLE_MAX} characters")
        project = await self.db.get(Project, self.project_id)
        if project is None:
            raise not_found("project")
        project.name = title
        await self.db.flush()
        forget_brief(self.db, self.project_id)
        return title

    def next_unfinished(self, after: int) -> int | None:
        """The first phase not completed after ``after`` (wrapping round), if any."""
        later = [
            n for n, p in sorted(self.rows.items()) if status_of(p) is not PhaseStatus.COMPLETED
        ]
        following = [n for n in later if n > after] or later
        return following[0] if following else None

    async def regenerate(self, number: int, feedback: str | None = None) -> DraftOrder:
        """Prepare a new draft of phase ``number``; ``feedback`` asks for changes to the
        current version. The phase is started if nobody had."""
        row = self.row(number)
        if status_of(row) is PhaseStatus.NOT_STARTED:
            row = await self.start(number)
        reader = Reader(self.actor_id, self.env.embedder())
        context = await reconstruct(
            self.db,
            self.phases,
            rows=self.rows,
            project_id=self.project_id,
            workflow=self.workflow,
            number=number,
            reader=reader,
            config=self.env.workflows.config(),
        )
        note = None
        if feedback:
            current = await self.phases.version(row, row.current_version)
            text = ""
            if current is not None:
                text = cited_as_now(current.content, current.sources, context.context.passages)
            context = with_feedback(context, text, feedback)
            note = f"revised as asked: {feedback}"[:1000]
        return DraftOrder(number, context, note)

    async def store(
        self,
        order: DraftOrder,
        text: str,
        completion: Completion | None,
        refs: Mapping[str, str] | None = None,
    ) -> PhaseView:
        """Store the text drafted for ``order`` as a new version awaiting approval; ``refs``
        maps the prompt's passage refs to the ones the text uses after renumbering."""
        result = await store_draft(
            self.phases,
            self.project_id,
            order.number,
            text=text,
            completion=completion,
            reconstructed=order.context,
            note=order.note,
            refs=refs,
        )
        return await self._written(result)

    async def draft_now(self, number: int, router: Router, profile: str | None) -> PhaseView:
        """Draft phase ``number`` through ``router`` at once (not streamed) and store it."""
        order = await self.regenerate(number)
        text, completion, refs = await run_draft(
            router,
            order.context,
            profile=profile,
            project_id=self.project_id,
            user_id=self.actor_id,
        )
        return await self.store(order, text, completion, refs)

    async def stale_in_order(self) -> list[int]:
        """The project's stale phases, each after the ones it depends on."""
        return await self.phases.stale_in_order(self.project_id)
