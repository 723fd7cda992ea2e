"""The phase workflow's side of chat: ``PhasePlanner`` wraps the chat's memory planner, and
``PhaseFrames`` answers the WebSocket's typed ``phase:*`` frames.

Plain-text commands, for people typing in a widget: ``/goto N``, ``/approve``, ``/draft``,
``/regenerate [N]``, ``/answer N.Q text``, ``/status``, ``/title Name`` and ``/help``. Anything
else is understood by :mod:`server.phases.understanding`: an answer to the pending question (the
default), a change request for a draft awaiting approval, or a free question, which the memory
planner answers with the project's recorded answers added. Commands, frames and REST all end in
:class:`~server.phases.commands.PhaseCommands`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import msgspec

from providers import OFFLINE_NOTICE
from server.chat.schemas import PhaseApprove, PhaseGoto, PhaseRegenerate
from server.db.direct import driver
from server.errors import DomainError

from .flow import PhaseFlow
from .memory import with_memory

if TYPE_CHECKING:
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    from providers import Profile
    from server.chat import Planner, ReplyPlan, Turn

    from .commands import PhaseEnvironment

    PhaseFrame = PhaseGoto | PhaseApprove | PhaseRegenerate

HELP = (
    "Commands: /goto N (move to phase N), /approve (accept the current draft), /draft (draft "
    "the current phase now), /regenerate [N] (draft it again), /answer N.Q text (change an "
    "answer), /status (where every phase stands), /title Name (give the document its title)."
)
_COMMAND = re.compile(r"^/(?P<name>[a-z]+)(?:\s+(?P<arg>.*))?$", re.IGNORECASE | re.DOTALL)
_ANSWER = re.compile(r"^(?P<phase>\d+)\.(?P<question>\d+)\s+(?P<text>\S.*)$", re.DOTALL)
_NOTICE_SHOWN = """
SELECT EXISTS (SELECT FROM chat_messages
               WHERE session_id = $1 AND role = 'assistant' AND starts_with(content, $2))
"""


_NOTICE_SESSIONS = 100_000
"""Sessions remembered to show the offline notice at most (about 10 MB); then forgotten."""


def _number(arg: str | None, command: str) -> int:
    if arg is None or not arg.strip().isdigit():
        raise DomainError("bad_request", f"/{command} needs a phase number, e.g. /{command} 3")
    return int(arg.strip())


class PhasePlanner:
    """A chat ``Planner`` that walks the conversation through the project's phases."""

    def __init__(self, memory: Planner, env: PhaseEnvironment) -> None:
        self.memory, self.env = memory, env
        self._notice_shown: set[UUID] = set()
        """Sessions known to show the offline notice already (once shown, it stays shown)."""

    async def plan(self, db: AsyncSession, turn: Turn, profile: Profile) -> ReplyPlan:
        """The reply to ``turn``: a command's, the phase flow's, or the memory planner's."""
        flow = PhaseFlow(self.env, db, turn)
        if not await flow.load():
            return await self.memory.plan(db, turn, profile)
        command = _COMMAND.match(turn.content.strip())
        if command is not None:
            try:
                return await self._command(flow, command["name"].lower(), command["arg"])
            except DomainError as error:
                return flow.say(error.message[:1].upper() + error.message[1:] + ".")
        plan = await flow.on_message()
        if plan is None:
            recalled = await self.memory.plan(db, turn, profile)
            plan = with_memory(recalled, flow.rows, turn.content)
            if flow.reminder and plan.closing is None:
                plan.closing = flow.reminder
        return (await self._noticed(db, turn, plan)).keep_citations()

    async def _noticed(self, db: AsyncSession, turn: Turn, plan: ReplyPlan) -> ReplyPlan:
        """The plan, told whether the offline notice was already shown in this conversation
        (it is shown once; a session found to show it is not asked about again)."""
        request = plan.request
        if request is None or not request.context.notice or request.context.intent == "draft":
            return plan  # nothing to tell; a draft is the document itself, never noticed
        shown = turn.session_id in self._notice_shown
        if not shown:
            shown = await (await driver(db)).fetchval(
                _NOTICE_SHOWN, turn.session_id, OFFLINE_NOTICE
            )
            if shown:
                if len(self._notice_shown) >= _NOTICE_SESSIONS:
                    self._notice_shown.clear()
                self._notice_shown.add(turn.session_id)
        if shown:
            context = msgspec.structs.replace(request.context, notice=False)
            plan.request = msgspec.structs.replace(request, context=context)
        return plan

    @staticmethod
    async def _command(flow: PhaseFlow, name: str, arg: str | None) -> ReplyPlan:
        if name == "goto":
            return await flow.goto(_number(arg, name))
        if name == "approve":
            return await flow.approve()
        if name == "draft":
            return await flow.regenerate(None)
        if name == "regenerate":
            return await flow.regenerate(_number(arg, name) if arg else None)
        if name == "answer":
            match = _ANSWER.match((arg or "").strip())
            if match is None:
                raise DomainError(
                    "bad_request", "use /answer PHASE.QUESTION text, e.g. /answer 3.2 …"
                )
            return await flow.answer(int(match["phase"]), int(match["question"]), match["text"])
        if name == "status":
            return await flow.status()
        if name == "title":
            title = await flow.commands.rename(arg or "")
            return flow.say(f"Done: the document is now titled “{title}”.")
        return flow.say(HELP)


class PhaseFrames:
    """Answers the typed ``phase:goto``, ``phase:approve`` and ``phase:regenerate`` frames."""

    def __init__(self, env: PhaseEnvironment) -> None:
        self.env = env

    async def handle(self, db: AsyncSession, turn: Turn, frame: PhaseFrame) -> ReplyPlan:
        """The reply to a phase frame; a refusal is a ``DomainError``, which the socket
        answers with a ``chat:error`` of the same code."""
        flow = PhaseFlow(self.env, db, turn)
        if not await flow.load():
            raise DomainError("not_found", "this project has no phases")
        match frame:
            case PhaseGoto(data=data):
                return await flow.goto(data.number)
            case PhaseApprove():
                return await flow.approve()
            case PhaseRegenerate(data=data):
                return await flow.regenerate(data.number)
