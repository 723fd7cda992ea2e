"""A scripted AI model for the persona walks, played through the fake OpenAI server.

It answers what the server asks the way a careful model would, from the request alone: it reads
turns (structured output: answers to the pending question, change requests while a draft waits,
approvals, the free questions and misfiled answers the walk tells it about), asks the phase's
questions as the prompt says, answers free questions by quoting the recorded answers it is given,
and drafts phases (structured output) from the answers, citing a passage only when it bears on
them and doing what a change request asks. The server's handling of all this is under test, not
the model's writing.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from providers import content_terms

if TYPE_CHECKING:
    from tests.fakes import RecordedRequest, StructuredCall

_PENDING = re.compile(r"Pending question: (\d+)\.")
_NOTED = re.compile(r"Begin with exactly: '([^']+)'")
_ASK = re.compile(r"Then ask question (\d+) of (\d+).*:\n(.+)$", re.DOTALL)
_RECORDED = re.compile(r"^\[(S\d+)\] \(your answer in phase .*?, \d{4}-\d{2}-\d{2}\) (.+)$", re.M)
_ANSWER = re.compile(r"^Q: .+\nA: (.+)$", re.MULTILINE)
_PASSAGE = re.compile(r"^\[(S\d+)\] (.+)\n(.+)$", re.MULTILINE)
_CHANGES = re.compile(r"## Changes I ask for\n\n(.+?)\n\nRevise", re.DOTALL)
_APPROVALS = ("approve", "looks good")


class FakeModel:
    """Answers the fake OpenAI server's chat and structured calls for one walk."""

    def __init__(self) -> None:
        self.questions: set[str] = set()
        """Messages the walk says are free questions (or answers misfiled as questions)."""
        self.drafts: list[str] = []
        """The user message of every draft request, in order."""

    @staticmethod
    def _split(request: RecordedRequest) -> tuple[str, str]:
        """The system prompt and the last user message, in any of the three APIs' shapes."""
        payload = request.json or {}
        if "contents" in payload:  # Gemini
            instruction = payload.get("systemInstruction") or {}
            system = "".join(p.get("text", "") for p in instruction.get("parts", []))
            last = payload["contents"][-1]
            return system, "".join(p.get("text", "") for p in last["parts"])
        messages = payload.get("messages", [])
        system = payload.get("system")  # Anthropic
        if not isinstance(system, str):
            system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        return system, str(messages[-1]["content"])

    def structured(self, call: StructuredCall) -> Any:
        """A turn reading or a draft."""
        system, user = self._split(call.request)
        # Gemini's request names no schema: what it asks for tells them apart.
        if "kind" in call.schema["properties"]:
            return self._read(system, user)
        assert "parts" in call.schema["properties"], call.schema
        self.drafts.append(user)
        return self._draft(user)

    def _read(self, system: str, text: str) -> dict[str, Any]:
        def reading(kind: str, question: int | None = None, command: str | None = None) -> dict:
            return {"kind": kind, "question": question, "command": command}

        lowered = text.lower().strip()
        if text in self.questions:
            return reading("free_question")
        if lowered.startswith("that was"):
            return reading("command", command="that_was_an_answer")
        if "awaiting the user's approval" in system:
            if any(lowered.startswith(a) for a in _APPROVALS) and len(lowered) < 30:
                return reading("command", command="approve")
            return reading("change_request")
        pending = _PENDING.search(system)
        return reading("answer", int(pending.group(1)) if pending else None)

    def chat(self, request: RecordedRequest) -> str:
        """The text of a streamed reply: a question asked, or a free question answered."""
        system, _ = self._split(request)
        if system.startswith("You are guiding the user through phase"):
            noted = _NOTED.search(system)
            ask = _ASK.search(system)
            assert ask is not None, system
            number, count, question = ask.groups()
            lead = f"{noted.group(1)} " if noted else ""
            return f"{lead}Question {number} of {count}: {question.strip()}"
        recorded = _RECORDED.findall(system)
        if recorded:
            ref, text = recorded[0]
            return f'You decided this earlier: "{text}" [{ref}].'
        return "I could not find that in this project."

    def _draft(self, prompt: str) -> dict[str, Any]:
        answers = _ANSWER.findall(prompt.split("## The current draft", maxsplit=1)[0])
        changes = _CHANGES.search(prompt)
        asked = changes.group(1).lower() if changes else ""
        paragraphs = list(answers)
        if "shorter" in asked:
            paragraphs = [" ".join(a.split()[:10]).rstrip(".,?!") + "." for a in answers]
        parts = [{"heading": "", "text": "\n\n".join(paragraphs), "citations": []}]
        wanted = content_terms(" ".join(answers))
        evidence = [
            (ref, text)
            for ref, label, text in _PASSAGE.findall(prompt)
            if not label.startswith("conversation") and len(wanted & content_terms(text)) >= 2
        ]
        if evidence and "quote" not in asked and "shorter" not in asked:
            ref, text = evidence[0]
            words = " ".join(text.split()[:8]).rstrip(".,;:")
            parts.append(
                {
                    "heading": "Evidence",
                    "text": f'Our research notes that "{words}" [{ref}].',
                    "citations": [ref],
                }
            )
        if "longer" in asked:
            parts.append(
                {
                    "heading": "Why it matters",
                    "text": "Each point above rests on what our first customers told us, and "
                    "on the numbers we gathered while preparing this plan.",
                    "citations": [],
                }
            )
        return {"parts": parts}
