"""What drafting a phase sends to the model, rebuilt from the database.

The same function serves drafting and ``POST .../reconstruct-context``, so what users inspect is
exactly what the model received. Order of precedence inside the token budget: the phase's
instructions and answers always go in whole; earlier phases it depends on share most of what is
left (each summarised by :func:`server.phases.summary.summarise`); retrieved passages fill the
rest, best first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

import msgspec

from providers import (
    Answer,
    ChatRequest,
    Message,
    Passage,
    ReplyContext,
    estimate_tokens,
)
from server.ai.prompts import prompt_version
from server.documents.retrieval import recall, source_label

from .schemas import PromptMessage, ReconstructedContext, Source
from .summary import summarise
from .templates import phase_template_version, template_version
from .writing import draft_output

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from sqlalchemy.ext.asyncio import AsyncSession

    from providers import Embedder
    from server.db.models import Phase
    from server.events import PromptVersion

    from .services import PhaseService
    from .templates import Workflow

DEFAULT_BUDGET = 6000
"""Prompt tokens a draft may use unless the caller asks otherwise."""
DEPENDENCY_SHARE = 0.6
"""Part of the budget left after instructions and answers that goes to earlier phases."""
FRAMING_TOKENS = 200
"""Kept back for headings and the closing request of the user message."""
DOCUMENT_PASSAGES = 8
"""Document passages a draft may draw on, best first."""
RECALLED_MESSAGES = 4
"""Earlier messages recalled into a draft (those its answers came from are in it already)."""


@dataclass(frozen=True, slots=True)
class Reader:
    """Who a draft is built for, and the embedder that turns its query into a vector."""

    user_id: UUID
    embedder: Embedder | None = None


FRAMING = (
    "You are a writing assistant helping the user write a {document}. You are drafting "
    "section {number}, '{title}'."
)
RULES = (
    "Answer with the section's parts: each a heading (empty for the opening paragraphs; never "
    "the section title '{title}' itself), its text as plain prose paragraphs, and the ids of "
    "the passages it cites. Use only facts from the user's answers, the earlier sections and "
    "the passages given; never invent figures, names or evidence. Cite a passage you rely on "
    "with its reference in square brackets right after the words it supports, e.g. [S1], and "
    "quote a passage only word for word. Where information is missing, say briefly what is "
    "missing instead of guessing. Write for the reader of the finished document, not to the "
    "user: no questions to them, no notes about this conversation, no Markdown headings or "
    "block quotes inside a text."
)


def answers_for(row: Phase, questions: tuple[str, ...] | None) -> tuple[Answer, ...]:
    """Every question of the phase with its answer (empty when not answered yet)."""
    given = {int(a["index"]): str(a["answer"]) for a in row.answers}
    if questions is None:
        questions = tuple(str(a["question"]) for a in row.answers)
    return tuple(Answer(q, given.get(i, "")) for i, q in enumerate(questions))


def _system(workflow: Workflow | None, row: Phase) -> tuple[str, str, str]:
    spec = workflow.phase(row.number) if workflow else None
    goal = spec.goal if spec else ""
    instructions = spec.instructions if spec else f"Write the '{row.title}' section."
    document = workflow.title.lower() if workflow else "document"
    parts = [
        FRAMING.format(document=document, number=row.number, title=row.title),
        f"Goal of this section: {goal}" if goal else "",
        f"Instructions:\n{instructions}",
        RULES.format(title=row.title),
    ]
    return "\n\n".join(p for p in parts if p), goal, instructions


async def _dependencies(
    phases: PhaseService, rows: Mapping[int, Phase], row: Phase, budget: int
) -> tuple[list[tuple[str, str]], list[Source], list[str]]:
    """Summaries of the phases ``row`` depends on that have content, and the ones that have none."""
    with_content = [rows[d] for d in row.depends_on if d in rows and rows[d].current_version]
    gaps = [
        f"{rows[d].title} (phase {d})"
        for d in row.depends_on
        if d in rows and rows[d].current_version is None
    ]
    each = max(budget // len(with_content), 40) if with_content else 0
    summaries: list[tuple[str, str]] = []
    sources: list[Source] = []
    current = await phases.current_versions(with_content)
    for dep in with_content:
        version = current.get(dep.id)
        if version is None:
            continue
        summary, shortened = summarise(version.content, each)
        summaries.append((f"{dep.title} (phase {dep.number})", summary))
        sources.append(
            Source(
                kind="phase",
                label=f"phase {dep.number}: {dep.title}, version {version.number}",
                tokens=estimate_tokens(summary),
                phase_number=dep.number,
                version=version.number,
                summarised=shortened,
            )
        )
    return summaries, sources, gaps


async def _passages(
    db: AsyncSession, row: Phase, query: str, budget: int, reader: Reader
) -> tuple[list[Passage], list[Source]]:
    """Document passages, then earlier messages, best first, while they fit ``budget``."""
    hits = await recall(
        db,
        user_id=reader.user_id,
        project_id=row.project_id,
        query=query,
        embedder=reader.embedder,
        documents=DOCUMENT_PASSAGES,
        messages=RECALLED_MESSAGES,
        exclude_messages={UUID(a["message_id"]) for a in row.answers if a.get("message_id")},
    )
    passages: list[Passage] = []
    sources: list[Source] = []
    for hit in hits:
        cost = estimate_tokens(hit.text) + 10
        if cost > budget:
            continue
        budget -= cost
        ref = f"S{len(passages) + 1}"
        label = source_label(hit)
        passages.append(
            Passage(
                ref=ref,
                text=hit.text,
                source=label,
                document_id=str(hit.document_id) if hit.document_id else None,
                chunk_id=str(hit.chunk_id),
                message_id=str(hit.message_id) if hit.message_id else None,
                page=hit.page,
                score=hit.score,
            )
        )
        sources.append(
            Source(
                kind="message" if hit.source_type == "message" else "document",
                label=label,
                tokens=cost,
                ref=ref,
                document_id=hit.document_id,
                chunk_id=hit.chunk_id,
                message_id=hit.message_id,
                page=hit.page,
            )
        )
    return passages, sources


def _user_message(context: ReplyContext) -> str:
    answered = [a for a in context.answers if a.answer.strip()]
    parts = [
        "## My answers\n\n"
        + ("\n\n".join(f"Q: {a.question}\nA: {a.answer}" for a in answered) or "(none yet)")
    ]
    unanswered = [a.question for a in context.answers if not a.answer.strip()]
    if unanswered:
        parts.append("## Questions not answered yet\n\n" + "\n".join(f"- {q}" for q in unanswered))
    if context.dependencies:
        parts.append(
            "## Earlier sections this one builds on\n\n"
            + "\n\n".join(f"### {label}\n\n{text}" for label, text in context.dependencies)
        )
    if context.gaps:
        parts.append(
            "## Earlier sections not written yet\n\n"
            + "\n".join(f"- {gap}" for gap in context.gaps)
            + "\n\nDo not assume their content; note where the draft will need them."
        )
    if context.passages:
        parts.append(
            "## Passages from my documents and earlier conversation\n\n"
            + "\n\n".join(f"[{p.ref}] {p.source}\n{p.text}" for p in context.passages)
        )
    parts.append(f"Draft section {context.phase_number}, '{context.phase_title}', now.")
    return "\n\n".join(parts)


async def reconstruct(
    db: AsyncSession,
    phases: PhaseService,
    *,
    project_id: UUID,
    workflow: Workflow | None,
    number: int,
    reader: Reader,
    budget: int = DEFAULT_BUDGET,
    config: Mapping[str, Any] | None = None,
    rows: Mapping[int, Phase] | None = None,
) -> ReconstructedContext:
    """The exact messages and context a draft of phase ``number`` would be built from.

    ``reader`` is who the draft is for: retrieval only returns what that user may read.
    ``config`` (the decoded config.json) labels the prompt versions. ``rows`` are the
    project's phases by number when the caller has read them in this transaction.
    """
    if rows is None:
        rows = {p.number: p for p in await phases.for_project(project_id)}
    row = rows[number]
    spec = workflow.phase(number) if workflow else None
    system, goal, instructions = _system(workflow, row)
    answers = answers_for(row, spec.questions if spec else None)
    answered = [a for a in answers if a.answer.strip()]
    answer_tokens = sum(estimate_tokens(f"{a.question} {a.answer}") for a in answered)
    sources = [
        Source(kind="instructions", label="phase instructions", tokens=estimate_tokens(system))
    ]
    if answered:
        sources.append(
            Source(
                kind="answers",
                label=f"{len(answered)} of {len(answers)} answers",
                tokens=answer_tokens,
                phase_number=number,
            )
        )
    left = max(0, budget - estimate_tokens(system) - answer_tokens - FRAMING_TOKENS)
    dependencies, dependency_sources, gaps = await _dependencies(
        phases, rows, row, int(left * DEPENDENCY_SHARE)
    )
    left -= sum(estimate_tokens(text) for _, text in dependencies)
    query = " ".join([row.title, goal, *(f"{a.question} {a.answer}" for a in answered)])
    passages, passage_sources = await _passages(db, row, query, left, reader)
    context = ReplyContext(
        intent="draft",
        phase_number=number,
        phase_title=row.title,
        phase_goal=goal or None,
        instructions=instructions,
        answers=answers,
        dependencies=tuple(dependencies),
        passages=tuple(passages),
        gaps=tuple(gaps),
    )
    messages = [
        PromptMessage(role="system", content=system),
        PromptMessage(role="user", content=_user_message(context)),
    ]
    return ReconstructedContext(
        phase_number=number,
        messages=messages,
        context=context,
        sources=[*sources, *dependency_sources, *passage_sources],
        gaps=gaps,
        prompt_tokens=sum(estimate_tokens(m.content) + 4 for m in messages),
        budget_tokens=budget,
        prompts=drafting_prompts(workflow, number, config or {}),
    )


def drafting_prompts(
    workflow: Workflow | None, number: int, config: Mapping[str, Any]
) -> list[PromptVersion]:
    """The versions a draft of phase ``number`` is written with: the drafting prompt, the
    workflow template and the phase's part of it."""
    versions = [prompt_version("drafting", f"{FRAMING}\n\n{RULES}", config)]
    spec = workflow.phase(number) if workflow else None
    if workflow is not None and spec is not None:
        versions += [template_version(workflow), phase_template_version(workflow, spec)]
    return versions


_CITED = re.compile(r" ?\[(S\d+)\]")


def cited_as_now(
    current: str, sources: Sequence[Mapping[str, Any]], passages: Sequence[Passage]
) -> str:
    """``current`` (a stored version) with its ``[S#]`` renumbered to the passages of a new
    prompt: the same chunk keeps its citation under its new ref; a marker whose chunk is not
    among the passages now is dropped, so a revision never cites the wrong passage."""
    now = {p.chunk_id: p.ref for p in passages if p.chunk_id}
    then = {str(s["ref"]): str(s.get("chunk_id")) for s in sources if s.get("ref")}

    def swap(marker: re.Match[str]) -> str:
        ref = now.get(then.get(marker.group(1), ""))
        return f" [{ref}]" if ref else ""

    return _CITED.sub(swap, current)


def with_feedback(
    reconstructed: ReconstructedContext, current: str, feedback: str
) -> ReconstructedContext:
    """The same context, asking for a revision of ``current`` (its citations already in the
    new prompt's refs, see :func:`cited_as_now`) that does what ``feedback`` says."""
    revision = (
        f"## The current draft\n\n{current}\n\n## Changes I ask for\n\n{feedback}\n\n"
        "Revise the draft accordingly; keep what I did not ask to change."
    )
    system, user = reconstructed.messages
    messages = [system, PromptMessage(role="user", content=f"{user.content}\n\n{revision}")]
    return msgspec.structs.replace(
        reconstructed,
        messages=messages,
        context=msgspec.structs.replace(reconstructed.context, previous=current, feedback=feedback),
        prompt_tokens=sum(estimate_tokens(m.content) + 4 for m in messages),
    )


def chat_request(reconstructed: ReconstructedContext) -> ChatRequest:
    """The provider request for a reconstructed context (profile settings are the router's).

    A model answers it with structured output (the draft's parts and the passages each cites,
    rendered by :func:`server.phases.writing.render_draft`); the offline provider composes the
    draft from the context.
    """
    title = reconstructed.context.phase_title or f"Section {reconstructed.phase_number}"
    return ChatRequest(
        messages=tuple(Message(role=m.role, content=m.content) for m in reconstructed.messages),
        context=reconstructed.context,
        output=draft_output(title),
    )
