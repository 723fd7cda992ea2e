"""The phase engine's side of chat: ``PhasePlanner`` wraps the chat's memory planner, and
``PhaseCommands`` answers the WebSocket's ``phase:*`` events.

Plain-text commands, for people typing in a widget: ``/goto N``, ``/approve``, ``/draft``,
``/regenerate [N]``, ``/answer N.Q text``, ``/status`` and ``/help``. Anything else is either an
answer to the current phase's pending question, a change request for a draft awaiting approval,
or free conversation (a message ending in ``?``, or nothing pending), which the memory planner
answers.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from server.errors import DomainError

from .flow import Engine, PhaseFlow

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from providers import Profile
    from server.chat import Planner, ReplyPlan, Turn

HELP = (
    "Commands: /goto N (move to phase N), /approve (accept the current draft), /draft (draft "
    "the current phase now), /regenerate [N] (draft it again), /answer N.Q text (change an "
    "answer), /status (where every phase stands)."
)
_COMMAND = re.compile(r"^/(?P<name>[a-z]+)(?:\s+(?P<arg>.*))?$", re.IGNORECASE | re.DOTALL)
_ANSWER = re.compile(r"^(?P<phase>\d+)\.(?P<question>\d+)\s+(?P<text>\S.*)$", re.DOTALL)


def _number(arg: str | None, command: str) -> int:
    if arg is None or not arg.strip().isdigit():
        raise DomainError("bad_request", f"/{command} needs a phase number, e.g. /{command} 3")
    return int(arg.strip())


class PhasePlanner:
    """A chat ``Planner`` that walks the conversation through the project's phases."""

    def __init__(self, memory: Planner, engine: Engine) -> None:
        self.memory, self.engine = memory, engine

    async def plan(self, session: AsyncSession, turn: Turn, profile: Profile) -> ReplyPlan:
        """The reply to ``turn``: a command's, the phase flow's, or the memory planner's."""
        flow = PhaseFlow(self.engine, session, turn)
        if not await flow.load():
            return await self.memory.plan(session, turn, profile)
        command = _COMMAND.match(turn.content.strip())
        if command is not None:
            try:
                return await self._command(flow, command["name"].lower(), command["arg"])
            except DomainError as error:
                return flow.say(error.message[:1].upper() + error.message[1:] + ".")
        plan = await flow.on_message()
        return plan if plan is not None else await self.memory.plan(session, turn, profile)

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
        return flow.say(HELP)


class PhaseCommands:
    """Handles ``phase:goto``, ``phase:approve`` and ``phase:regenerate`` from the WebSocket."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def handle(
        self, db_session: AsyncSession, turn: Turn, event: str, data: dict[str, Any]
    ) -> ReplyPlan:
        """The reply to a phase event; errors become ``chat:error`` frames with their code."""
        flow = PhaseFlow(self.engine, db_session, turn)
        if not await flow.load():
            raise DomainError("not_found", "this project has no phases")
        if event == "phase:goto":
            return await flow.goto(int(data["number"]))
        if event == "phase:approve":
            return await flow.approve()
        if event == "phase:regenerate":
            number = data.get("number")
            return await flow.regenerate(int(number) if number is not None else None)
        raise DomainError("bad_request", f"unknown phase event {event!r}")
