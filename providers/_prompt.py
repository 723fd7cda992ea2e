"""Rendering a request into the message list a model receives, continuation included."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._types import Message

if TYPE_CHECKING:
    from ._types import ChatRequest

CONTINUE_INSTRUCTION = (
    "Your reply above was cut off by a connection failure. Continue it from exactly where it "
    "stopped, mid-sentence if need be. Do not repeat anything already written, do not start "
    "over, and do not mention the interruption."
)


def request_messages(request: ChatRequest) -> list[Message]:
    """The messages to send for ``request``.

    When an earlier provider failed mid-reply, its text is handed over as an assistant turn
    followed by an instruction to carry on seamlessly, so the user gets one finished reply.
    """
    messages = list(request.messages)
    if request.partial:
        messages.append(Message(role="assistant", content=request.partial))
        messages.append(Message(role="user", content=CONTINUE_INSTRUCTION))
    return messages


def split_system(messages: list[Message]) -> tuple[str | None, list[Message]]:
    """Separate system messages (joined) from the conversation, for APIs that take them apart."""
    system = [m.content for m in messages if m.role == "system"]
    rest = [m for m in messages if m.role != "system"]
    return ("\n\n".join(system) if system else None), rest
