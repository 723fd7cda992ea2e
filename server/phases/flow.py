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

import msgspec
from sqlalchemy import select

from providers import (
    ChatRequest,
    CitationKeeper,
    Message,
    ProvidersUnavailable,
    ReplyContext,
    change_report,
)
from server.chat import ReplyPlan, settle_phase
from server.db.models import ChatMessage
from server.metering import usage_scope

from .commands import PhaseCommands
from .context import chat_request
from .reading import READING, reading_request, turn_kind
from .schemas import next_question
from .status import PhaseStatus, status_of
from .understanding import classify, is_free_question

if TYPE_CHECKING:
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    from providers import Completion
    from server.chat import Turn
    from server.db.models import Phase

    from .commands import PhaseEnvironment
    from .templates import PhaseTemplate
    from .understanding import TurnKind

APPROVAL_QUESTION = (
    "Does this draft work for you? Say **approve** (or `/approve`) to accept it and move on, "
    "or tell me what to change."
)
"""Said after every finished draft; not part of the stored version."""


class PhaseFlow:
    """The phase side of one chat turn, on the turn's database session."""

    def __init__(self, env: PhaseEnvironment, db: AsyncSession, turn: Turn) -> None:
        self.env, self.db, self.turn = env, db, turn
        self.commands = PhaseCommands(env, db, turn.project_id, turn.user_id)
        self.reminder: str | None = None
        """Said after a free-conversation reply: the phase question still waiting."""

    @property
    def rows(self) -> dict[int, Phase]:
        """The project's phases by number."""
        return self.commands.rows

    async def load(self) -> bool:
        """Read the session's phase (see ``server.chat.settle_phase``), the project's phases and
        template; False when the project has no phases."""
        await settle_phase(self.db, self.turn)
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
        """The plan for a plain message, or None when it is free conversation (then
        :attr:`reminder` is what to say after the conversation's reply, if anything)."""
        row = await self.current()
        spec = self.spec(row)
        text = self.turn.content.strip()
        status = status_of(row)
        if status is PhaseStatus.NOT_STARTED:
            row = await self.commands.start(row.number)
            if is_free_question(text):
                self.reminder = self.progress(row, spec)
                return None
            plan = self.ask(row, spec)
            if self.is_first_contact(row):
                plan.closing = self.title_question()
            return plan
        if status is not PhaseStatus.IN_PROGRESS:
            return None
        draft_waiting = row.current_version is not None
        pending = None if draft_waiting else next_question(row, spec)
        kind = classify(text, question_pending=pending is not None, draft_waiting=draft_waiting)
        read = await self.read(row, spec, text, pending, draft_waiting=draft_waiting)
        if read is not None:
            kind, index = read
            pending = index if index is not None else pending
        if kind == "was_answer":
            return await self.file_previous_as_answer(row, spec)
        if kind == "approve":
            return await self.approve()
        if kind == "change":
            return await self.draft(row, feedback=text)
        if kind == "question":
            self.reminder = self.progress(row, spec) if pending is not None else None
            return None
        if pending is None or spec is None:
            return await self.draft(row)
        return await self.record_answer(row, spec, pending, text, self.turn.message_id)

    async def read(
        self,
        row: Phase,
        spec: PhaseTemplate | None,
        text: str,
        pending: int | None,
        *,
        draft_waiting: bool,
    ) -> tuple[TurnKind, int | None] | None:
        """The turn as the project's AI model reads it (structured output), or None when the
        profile has no model or none answered: then the offline rules decide."""
        models = self.env.models
        project = self.commands.project
        if models is None or project is None:
            return None
        profile = models.profile_for(project)
        router = models.router
        if not router.has_model(profile):
            return None
        workflow = self.commands.workflow
        answered = {int(a["index"]) for a in row.answers}
        request = reading_request(
            text,
            document=workflow.title.lower() if workflow else "document",
            number=row.number,
            title=row.title,
            spec=spec,
            answered=answered,
            pending=pending,
            draft_waiting=draft_waiting,
        )
        try:
            with usage_scope(purpose="understand"):
                answer = await router.structured(request, READING, profile)
        except ProvidersUnavailable:
            return None
        count = len(spec.questions) if spec is not None else 0
        return turn_kind(
            answer.value,
            pending=pending,
            draft_waiting=draft_waiting,
            count=count,
            answered=answered,
        )

    async def record_answer(
        self, row: Phase, spec: PhaseTemplate, index: int, text: str, message_id: UUID
    ) -> ReplyPlan:
        """Record ``text`` as the answer to question ``index``; ask the next one or draft."""
        row = await self.commands.answer(row.number, index, text, message_id=message_id)
        if next_question(row, spec) is not None:
            return self.ask(row, spec, noted=index + 1, answered=text)
        return await self.draft(row)

    async def file_previous_as_answer(self, row: Phase, spec: PhaseTemplate | None) -> ReplyPlan:
        """ "That was an answer": the user's previous message becomes the pending answer."""
        pending = next_question(row, spec) if row.current_version is None else None
        if pending is None or spec is None:
            return self.say(
                "There is no open question in this phase to file it under. To change an "
                "answer, use /answer PHASE.QUESTION text, e.g. /answer 2.1 …"
            )
        previous = await self.db.scalar(
            select(ChatMessage)
            .where(
                ChatMessage.session_id == self.turn.session_id,
                ChatMessage.role == "user",
                ChatMessage.id != self.turn.message_id,
            )
            .order_by(ChatMessage.seq.desc())
            .limit(1)
        )
        if previous is None:
            return self.say("There is no earlier message of yours in this conversation to file.")
        return await self.record_answer(row, spec, pending, previous.content, previous.id)

    def is_first_contact(self, row: Phase) -> bool:
        """Whether ``row`` is the first phase of a project nobody has written anything in."""
        return row.number == min(self.rows) and not any(
            p.answers or p.current_version for p in self.rows.values()
        )

    def title_question(self) -> str:
        """Asks for the document's title at the start, naming the one it has."""
        workflow = self.commands.workflow
        kind = workflow.title.lower() if workflow else "document"
        name = self.commands.project.name if self.commands.project else ""
        return (
            f"One more thing before we go on: this {kind} is titled “{name}”. If it should "
            "carry another title (the name of your company or project, say), type /title and "
            "the name."
        )

    def progress(self, row: Phase, spec: PhaseTemplate | None) -> str | None:
        """ "Back to question k of n: …" for the phase's pending question, if any."""
        index = next_question(row, spec)
        if spec is None or index is None:
            return None
        count = len(spec.questions)
        return (
            f"Back to phase {row.number}, question {index + 1} of {count}: {spec.questions[index]}"
        )

    def ask(
        self,
        row: Phase,
        spec: PhaseTemplate | None,
        *,
        noted: int | None = None,
        answered: str = "",
    ) -> ReplyPlan:
        """Ask the phase's next question through the provider, saying which question of how
        many it is and, after an answer, which question it was filed under."""
        index = next_question(row, spec)
        question = spec.questions[index] if spec is not None and index is not None else None
        count = len(spec.questions) if spec is not None else None
        number = index + 1 if index is not None else None
        goal = spec.goal if spec else None
        workflow = self.commands.workflow
        document = workflow.title.lower() if workflow else "document"
        said = (
            f"Begin with exactly: 'Noted as your answer to question {noted} of {count}.' "
            if noted
            else ""
        )
        system = (
            f"You are guiding the user through phase {row.number}, '{row.title}', of their "
            f"{document}. Goal of the phase: {goal or row.title}. {said}Then ask question "
            f"{number} of {count}, saying so ('Question {number} of {count}: ...'), phrased "
            "naturally without changing what it asks. Ask only this one question; do not "
            "repeat earlier questions or the phase's goal:\n"
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
            question_number=number,
            question_count=count,
            noted=noted,
        )
        request = ChatRequest(
            messages=(Message("system", system), Message("user", opener)), context=context
        )
        return ReplyPlan(request=request, purpose="ask", phase_number=row.number)

    async def draft(self, row: Phase, feedback: str | None = None) -> ReplyPlan:
        """Draft ``row`` through the provider; the finished reply becomes a new version.

        What the draft leaves out (questions not answered yet, earlier phases with no content)
        and, offline, which requested changes were made, are said after it, in the
        conversation, never inside the document.
        """
        order = await self.commands.regenerate(row.number, feedback)
        commands = self.commands
        spec = self.spec(row)
        missing = (
            [
                f"question {i + 1} ({q})"
                for i, (q, a) in enumerate(
                    (a.question, a.answer) for a in order.context.context.answers
                )
                if not a.strip()
            ]
            if spec is not None
            else []
        )
        gaps = list(order.context.context.gaps)

        passages = list(order.context.context.passages)
        keeper = CitationKeeper(passages)

        async def on_complete(
            db: AsyncSession, text: str, completion: Completion | None, stopped: bool
        ) -> None:
            # A stopped or empty reply stays in the conversation but is not a version.
            if stopped or not text.strip():
                return
            await commands.on(db).store(order, text, completion, keeper.relabelled)

        def closing(completion: Completion | None) -> str:
            lines = []
            if feedback and completion is not None and completion.provider == "local":
                made, needs = change_report(feedback)
                if made:
                    lines.append("Changes made: " + "; ".join(made) + ".")
                if needs:
                    lines.append(
                        "These need an AI model provider, which is not answering here: "
                        + "; ".join(needs)
                        + "."
                    )
            if gaps:
                lines.append("Drafted without " + ", ".join(gaps) + ", which have no content yet.")
            if missing and not feedback:
                lines.append("Not answered yet, so not in the draft: " + "; ".join(missing) + ".")
            lines.append(APPROVAL_QUESTION)
            return "\n\n".join(lines)

        return ReplyPlan(
            request=msgspec.structs.replace(chat_request(order.context), citations=keeper),
            purpose="draft",
            phase_number=row.number,
            passages=passages,
            on_complete=on_complete,
            closing=closing,
            prompts=list(order.context.prompts),
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
            count = len(spec.questions)
            lines.append(f"Question {pending + 1} of {count}: {spec.questions[pending]}")
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
        """Where the document stands, in a few lines a widget shows well."""
        current = (await self.current()).number
        done = [n for n, r in self.rows.items() if status_of(r) is PhaseStatus.COMPLETED]
        workflow = self.commands.workflow
        title = workflow.title if workflow else "Document"
        lines = [f"**{title}: {len(done)} of {len(self.rows)} phases complete.**"]
        waiting: list[int] = []
        for number, row in sorted(self.rows.items()):
            state = self.state_of(row)
            if state is None:
                waiting.append(number)
                continue
            here = " ← you are here" if number == current else ""
            lines.append(f"- {number}. {row.title}: {state}{here}")
        if waiting:
            here = f" (you are on phase {current})" if current in waiting else ""
            lines.append(f"- Not started: {_ranges(waiting)}{here}")
        return self.say("\n".join(lines))

    def state_of(self, row: Phase) -> str | None:
        """How ``row`` stands, in words; None for a phase nobody started."""
        status = status_of(row)
        if status is PhaseStatus.NOT_STARTED:
            return None
        if status is PhaseStatus.COMPLETED:
            return "complete"
        if status is PhaseStatus.STALE:
            return "needs a new draft (a phase it builds on changed)"
        if row.current_version is not None:
            return f"draft waiting for your approval (version {row.current_version})"
        spec = self.spec(row)
        index = next_question(row, spec)
        if spec is not None and index is not None:
            return f"in progress, question {index + 1} of {len(spec.questions)}"
        return "in progress, ready to draft"


def _ranges(numbers: list[int]) -> str:
    """``[6, 7, 8, 10]`` as ``6 to 8, 10``."""
    runs: list[list[int]] = []
    for number in numbers:
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    return ", ".join(f"{r[0]} to {r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)
