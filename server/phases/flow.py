"""One turn of the phase conversation: questions, answers, drafts, approval and moves.

The chat engine asks for a :class:`~server.chat.ReplyPlan` per turn; this module decides what
the turn means for the session's current phase and carries it out through
:class:`~server.phases.commands.PhaseCommands`, the same use cases REST calls. A phase becomes
``in_progress`` when its first question is asked in conversation (or it is started over REST),
so a message is recorded as an answer only once a question is pending: a greeting before that
starts the phase instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from providers import ChatRequest, Message, ReplyContext
from server.chat import ReplyPlan
from server.db.models import ChatSession

from .commands import PhaseCommands
from .context import chat_request
from .status import PhaseStatus, status_of
from .views import next_question

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from providers import Completion
    from server.chat import Turn
    from server.db.models import Phase

    from .commands import Engine
    from .templates import PhaseTemplate

APPROVALS = frozenset({"approve", "approved"})
"""Typed words that approve a draft, besides the ``/approve`` command."""
APPROVAL_QUESTION = (
    "Does this draft work for you? Say **approve** (or `/approve`) to accept it and move on, "
    "or tell me what to change."
)
"""Said after every finished draft; not part of the stored version."""


class PhaseFlow:
    """The phase side of one chat turn, on the turn's database session."""

    def __init__(self, engine: Engine, db: AsyncSession, turn: Turn) -> None:
        self.engine, self.db, self.turn = engine, db, turn
        self.commands = PhaseCommands(engine, db, turn.project_id, turn.user_id)

    @property
    def rows(self) -> dict[int, Phase]:
        """The project's phases by number."""
        return self.commands.rows

    async def load(self) -> bool:
        """Read the project's phases and template; False when the project has no phases.

        The session's phase is read again here: the turn may carry the phase the connection
        saw when it joined, and another turn may have moved the session since.
        """
        chat = await self.db.get(ChatSession, self.turn.session_id)
        if chat is not None:
            self.turn.phase_number = chat.phase_number
        return await self.commands.load()

    def spec(self, row: Phase) -> PhaseTemplate | None:
        """The template phase of ``row``."""
        return self.commands.spec(row.number)

    async def current(self) -> Phase:
        """The session's phase; a session without one starts at the first unfinished phase."""
        number = self.turn.phase_number
        if number not in self.rows:
            first = self.commands.next_unfinished(0)
            number = first if first is not None else max(self.rows)
            await self.move_to(number)
        return self.rows[number]

    async def move_to(self, number: int) -> Phase:
        """Make phase ``number`` the session's phase; ``not_found`` if there is none."""
        row = await self.commands.move(self.turn.session_id, number)
        self.turn.phase_number = number
        return row

    async def on_message(self) -> ReplyPlan | None:
        """The plan for a plain message, or None when it is free conversation."""
        row = await self.current()
        spec = self.spec(row)
        text = self.turn.content.strip()
        free = text.endswith("?")
        status = status_of(row)
        if status is PhaseStatus.NOT_STARTED:
            row = await self.commands.start(row.number)
            return None if free else self.ask(row, spec, "")
        if status is not PhaseStatus.IN_PROGRESS:
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
            row = await self.commands.answer(
                row.number, pending, text, message_id=self.turn.message_id
            )
            if next_question(row, spec) is not None:
                return self.ask(row, spec, text)
            return await self.draft(row)
        return await self.draft(row)

    def ask(self, row: Phase, spec: PhaseTemplate | None, answered: str) -> ReplyPlan:
        """Ask the phase's next question through the provider, acknowledging ``answered``."""
        index = next_question(row, spec)
        question = spec.questions[index] if spec is not None and index is not None else None
        goal = spec.goal if spec else None
        workflow = self.commands.workflow
        document = workflow.title.lower() if workflow else "document"
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
        order = await self.commands.regenerate(row.number, feedback)
        commands = self.commands

        async def on_complete(
            db: AsyncSession, text: str, completion: Completion | None, stopped: bool
        ) -> None:
            # A stopped or empty reply stays in the conversation but is not a version.
            if stopped or not text.strip():
                return
            await commands.on(db).store(order, text, completion)

        return ReplyPlan(
            request=chat_request(order.context),
            purpose="draft",
            phase_number=row.number,
            passages=list(order.context.context.passages),
            on_complete=on_complete,
            closing=APPROVAL_QUESTION,
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
        if status_of(row) is PhaseStatus.STALE:
            lines.append(
                f"It is stale: phases it builds on changed after version {row.current_version} "
                "was drafted. /regenerate drafts it again from them."
            )
        elif status_of(row) is PhaseStatus.COMPLETED:
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
        row = await self.commands.goto(self.turn.session_id, number)
        self.turn.phase_number = number
        return self.say(self.describe(row))

    async def approve(self) -> ReplyPlan:
        """Approve the current phase's draft and move on to the next unfinished phase."""
        row = await self.commands.approve((await self.current()).number)
        done = f"Phase {row.number} ({row.title}) approved at version {row.current_version}."
        following = self.commands.next_unfinished(row.number)
        if following is None:
            return self.say(f"{done} Every phase is complete: the document is ready to export.")
        nxt = await self.goto_quietly(following)
        return self.say(f"{done}\n\n{self.describe(nxt)}")

    async def goto_quietly(self, number: int) -> Phase:
        """Move to phase ``number`` and start it, without a reply of its own."""
        row = await self.commands.goto(self.turn.session_id, number)
        self.turn.phase_number = number
        return row

    async def regenerate(self, number: int | None) -> ReplyPlan:
        """Draft phase ``number`` (default: the current one) again, and move to it."""
        row = await self.move_to(number) if number is not None else await self.current()
        return await self.draft(row)

    async def answer(self, number: int, question: int, text: str) -> ReplyPlan:
        """Set the answer to ``question`` (from 1) of phase ``number``."""
        message_id = self.turn.message_id
        row = await self.commands.answer(number, question - 1, text, message_id=message_id)
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
