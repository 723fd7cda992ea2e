"""One turn of the phase conversation: questions, answers, drafts, approval and moves.

The chat engine asks for a :class:`~server.chat.ReplyPlan` per turn; this module decides what
the turn means for the session's current phase. A phase becomes ``in_progress`` when its first
question is asked in conversation (or it is started over REST), so a message is recorded as an
answer only once a question is pending: a greeting before that starts the phase instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from providers import ChatRequest, Message, ReplyContext
from server.chat import ReplyPlan
from server.db.models import ChatSession, Project
from server.errors import DomainError

from .context import Reader, chat_request, reconstruct, with_feedback
from .drafting import announce, store_draft, view
from .services import PhaseService
from .views import next_question

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.ext.asyncio import AsyncSession

    from providers import Completion, Embedder
    from server.chat import Turn
    from server.db.models import Phase
    from server.events import Publisher

    from .templates import PhaseTemplate, Workflow, WorkflowCatalog

APPROVALS = frozenset({"approve", "approved"})
"""Typed words that approve a draft, besides the ``/approve`` command."""
APPROVAL_QUESTION = (
    "Does this draft work for you? Say **approve** (or `/approve`) to accept it and move on, "
    "or tell me what to change."
)
"""Said after every finished draft; not part of the stored version."""


class Engine:
    """What a flow needs from the app: templates, the embedder and the event publisher."""

    def __init__(
        self,
        workflows: WorkflowCatalog,
        embedder: Callable[[], Embedder],
        publisher: Publisher,
    ) -> None:
        self.workflows, self.embedder, self.publisher = workflows, embedder, publisher


class PhaseFlow:
    """The phase side of one turn, on the turn's database session."""

    def __init__(self, engine: Engine, session: AsyncSession, turn: Turn) -> None:
        self.engine, self.session, self.turn = engine, session, turn
        self.phases = PhaseService(session=session)
        self.workflow: Workflow | None = None
        self.rows: dict[int, Phase] = {}

    async def load(self) -> bool:
        """Read the project's phases and template; False when the project has no phases.

        The session's phase is read again here: the turn may carry the phase the connection
        saw when it joined, and another turn may have moved the session since.
        """
        chat = await self.session.get(ChatSession, self.turn.session_id)
        if chat is not None:
            self.turn.phase_number = chat.phase_number
        project = await self.session.get(Project, self.turn.project_id)
        if project is not None:
            self.workflow = self.engine.workflows.get(project.template)
        self.rows = {p.number: p for p in await self.phases.for_project(self.turn.project_id)}
        return bool(self.rows)

    def spec(self, row: Phase) -> PhaseTemplate | None:
        """The template phase of ``row``."""
        return self.workflow.phase(row.number) if self.workflow else None

    async def current(self) -> Phase:
        """The session's phase; a session without one starts at the first unfinished phase."""
        number = self.turn.phase_number
        if number not in self.rows:
            unfinished = [n for n, p in sorted(self.rows.items()) if p.status != "completed"]
            number = unfinished[0] if unfinished else max(self.rows)
            await self.move_to(number)
        return self.rows[number]

    async def move_to(self, number: int) -> Phase:
        """Make phase ``number`` the session's phase; ``not_found`` if there is none."""
        if number not in self.rows:
            raise DomainError(
                "not_found", f"there is no phase {number}; this project has 1 to {len(self.rows)}"
            )
        chat = await self.session.get(ChatSession, self.turn.session_id)
        if chat is not None:
            chat.phase_number = number
        self.turn.phase_number = number
        return self.rows[number]

    async def publish(self, row: Phase, stale: list[int] | None = None) -> None:
        """Tell the project's participants that ``row`` changed."""
        await self.session.flush()
        shown = await view(self.phases, row, self.workflow)
        await announce(self.engine.publisher, self.turn.project_id, [shown], stale)

    async def start(self, row: Phase) -> None:
        """Mark ``row`` in progress if nobody has started it."""
        if row.status == "not_started":
            row.status = "in_progress"
            await self.publish(row)

    async def on_message(self) -> ReplyPlan | None:
        """The plan for a plain message, or None when it is free conversation."""
        row = await self.current()
        spec = self.spec(row)
        text = self.turn.content.strip()
        free = text.endswith("?")
        if row.status == "not_started":
            await self.start(row)
            return None if free else self.ask(row, spec, "")
        if row.status != "in_progress":
            return None
        if row.current_version is not None:
            # A draft awaits approval: the message approves it or says what to change.
            if text.lower() in APPROVALS:
                return await self.approve()
            return None if free else await self.draft(row, feedback=text)
        pending = next_question(row, spec)
        if pending is not None and spec is not None:
            if free:
                return None
            await self.phases.set_answer(
                row.project_id,
                row.number,
                pending,
                question=spec.questions[pending],
                answer=text,
                message_id=self.turn.message_id,
            )
            await self.publish(row)
            if next_question(row, spec) is not None:
                return self.ask(row, spec, text)
            return await self.draft(row)
        return await self.draft(row)

    def ask(self, row: Phase, spec: PhaseTemplate | None, answered: str) -> ReplyPlan:
        """Ask the phase's next question through the provider, acknowledging ``answered``."""
        index = next_question(row, spec)
        question = spec.questions[index] if spec is not None and index is not None else None
        goal = spec.goal if spec else None
        document = self.workflow.title.lower() if self.workflow else "document"
        lead = "Acknowledge their answer in one short sentence, then ask" if answered else "Ask"
        system = (
            f"You are guiding the user through phase {row.number}, '{row.title}', of their "
            f"{document}. Goal of the phase: {goal or row.title}. {lead} the next question, "
            "phrased naturally, without changing what it asks. Ask only this one question:\n"
            f"{question}"
        )
        opener = answered or f"Let's work on phase {row.number}, {row.title}."
        context = ReplyContext(
            intent="ask",
            user_message=answered,
            phase_number=row.number,
            phase_title=row.title,
            phase_goal=goal,
            next_question=question,
        )
        request = ChatRequest(
            messages=(Message("system", system), Message("user", opener)), context=context
        )
        return ReplyPlan(request=request, purpose="ask", phase_number=row.number)

    async def draft(self, row: Phase, feedback: str | None = None) -> ReplyPlan:
        """Draft ``row`` through the provider; the finished reply becomes a new version."""
        engine, project_id, number, workflow = (
            self.engine,
            row.project_id,
            row.number,
            self.workflow,
        )
        reconstructed = await reconstruct(
            self.session,
            self.phases,
            project_id=project_id,
            workflow=workflow,
            number=number,
            reader=Reader(self.turn.user_id, engine.embedder()),
            config=engine.workflows.config(),
        )
        if feedback:
            current = await self.phases.version(row, row.current_version)
            reconstructed = with_feedback(
                reconstructed, current.content if current else "", feedback
            )

        async def on_complete(
            db: AsyncSession, text: str, completion: Completion | None, stopped: bool
        ) -> None:
            # A stopped or empty reply stays in the conversation but is not a version.
            if stopped or not text.strip():
                return
            phases = PhaseService(session=db)
            result = await store_draft(
                phases,
                project_id,
                number,
                text=text,
                completion=completion,
                reconstructed=reconstructed,
                note=f"revised as asked: {feedback}"[:1000] if feedback else None,
            )
            shown = await view(phases, result.phase, workflow)
            await announce(engine.publisher, project_id, [shown], result.stale)

        return ReplyPlan(
            request=chat_request(reconstructed),
            purpose="draft",
            phase_number=number,
            passages=list(reconstructed.context.passages),
            on_complete=on_complete,
            closing=APPROVAL_QUESTION,
            prompts=list(reconstructed.prompts),
        )

    def say(self, text: str) -> ReplyPlan:
        """A reply composed here, without a provider call."""
        return ReplyPlan(
            request=None, purpose="command", phase_number=self.turn.phase_number, direct_reply=text
        )

    def describe(self, row: Phase) -> str:
        """Where ``row`` stands and what the user can do next, in plain words."""
        spec = self.spec(row)
        lines = [f"**Phase {row.number}: {row.title}**" + (f" — {spec.goal}" if spec else "")]
        gaps = [
            f"{self.rows[d].title} (phase {d})"
            for d in row.depends_on
            if d in self.rows and self.rows[d].current_version is None
        ]
        if gaps and row.current_version is None:
            lines.append(
                "It builds on phases that have no content yet: "
                + ", ".join(gaps)
                + ". The draft will name what they would have provided."
            )
        pending = next_question(row, spec)
        if row.status == "stale":
            lines.append(
                f"It is stale: phases it builds on changed after version {row.current_version} "
                "was drafted. /regenerate drafts it again from them."
            )
        elif row.status == "completed":
            lines.append(
                f"It is complete (version {row.current_version}). /regenerate drafts it again."
            )
        elif pending is not None and spec is not None:
            lines.append(spec.questions[pending])
        elif row.current_version is None:
            lines.append("All its questions are answered: /draft writes it.")
        else:
            lines.append(
                f"Version {row.current_version} is waiting for your approval: /approve, or tell "
                "me what to change."
            )
        return "\n\n".join(lines)

    async def goto(self, number: int) -> ReplyPlan:
        """Move to phase ``number`` and say where it stands (asking its next question)."""
        row = await self.move_to(number)
        await self.start(row)
        return self.say(self.describe(row))

    async def approve(self) -> ReplyPlan:
        """Approve the current phase's draft and move on to the next unfinished phase."""
        row = await self.current()
        if row.current_version is None:
            raise DomainError(
                "bad_request",
                f"phase {row.number} has no draft to approve yet; answer its questions or /draft",
            )
        await self.phases.approve(row.project_id, row.number)
        await self.publish(row)
        done = f"Phase {row.number} ({row.title}) approved at version {row.current_version}."
        later = [n for n, p in sorted(self.rows.items()) if p.status != "completed"]
        if not later:
            return self.say(f"{done} Every phase is complete: the document is ready to export.")
        following = [n for n in later if n > row.number] or later
        nxt = await self.move_to(following[0])
        await self.start(nxt)
        return self.say(f"{done}\n\n{self.describe(nxt)}")

    async def regenerate(self, number: int | None) -> ReplyPlan:
        """Draft phase ``number`` (default: the current one) again, and move to it."""
        row = await self.move_to(number) if number is not None else await self.current()
        await self.start(row)
        return await self.draft(row)

    async def answer(self, number: int, question: int, text: str) -> ReplyPlan:
        """Set the answer to ``question`` (from 1) of phase ``number``."""
        if number not in self.rows:
            raise DomainError("not_found", f"there is no phase {number}")
        row = self.rows[number]
        spec = self.spec(row)
        if spec is None or not 1 <= question <= len(spec.questions):
            raise DomainError("not_found", f"phase {number} has no question {question}")
        await self.phases.set_answer(
            row.project_id,
            number,
            question - 1,
            question=spec.questions[question - 1],
            answer=text,
            message_id=self.turn.message_id,
        )
        await self.publish(row)
        again = f" /regenerate {number} drafts it again with it." if row.current_version else ""
        return self.say(f"Saved your answer to question {question} of phase {number}.{again}")

    async def status(self) -> ReplyPlan:
        """Every phase with its status; the current one marked."""
        current = (await self.current()).number
        lines = []
        for number, row in sorted(self.rows.items()):
            version = f", version {row.current_version}" if row.current_version else ""
            marker = "→ " if number == current else ""
            status = row.status.replace("_", " ")
            lines.append(f"- {marker}{number}. {row.title}: {status}{version}")
        return self.say("\n".join(lines))
