"""The stale cascade on non-linear graphs, regenerating stale phases in dependency order, and
the reconstructed drafting context with its sources."""

from __future__ import annotations

import asyncio
import hashlib
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy import event
from sqlalchemy.engine import Engine

from server.db.models import Chunk, Document

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.ext.asyncio import AsyncSession

    from tests.integration.conftest import Account

    from .conftest import Phases


async def _until(
    plan: Phases, done: Callable[[list[dict[str, Any]]], bool], attempts: int = 600
) -> list[dict[str, Any]]:
    """The project's phases once ``done`` holds for them (the queued job has run)."""
    for _ in range(attempts):
        phases: list[dict[str, Any]] = await plan.get()
        if done(phases):
            return phases
        await asyncio.sleep(0.1)
    raise AssertionError(f"phases never reached the expected state: {phases}")


async def _fill(plan: Phases, numbers: range | list[int]) -> None:
    for number in numbers:
        await plan.write(number, f"# Section {number}\n\nContent of section {number}.")
        await plan.call("POST", f"/{number}/approve")


async def test_cascade_follows_the_graph_not_the_numbering(
    make_account, new_project, phases_of: Callable[..., Phases]
) -> None:
    ann: Account = await make_account()
    plan = phases_of(await new_project(ann, "diamond"), ann)
    # 1 → {2, 3, 6}; {2, 3} → 4 → 5. Phase 4 has no content: it cannot be stale, but the
    # cascade still passes through it to 5.
    await _fill(plan, [1, 2, 3, 5, 6])

    result = await plan.edit(2, "A new left side.", 1)
    assert result["status"] == "completed"
    assert await plan.statuses() == {
        1: "completed",
        2: "completed",
        3: "completed",
        4: "not_started",
        5: "stale",
        6: "completed",
    }

    await plan.write(1, "A new root.")
    statuses = await plan.statuses()
    assert [n for n, s in statuses.items() if s == "stale"] == [2, 3, 5, 6]

    queued = await plan.call("POST", "/regenerate-stale", 202)
    assert queued["stale"] == [2, 3, 6, 5]
    assert queued["status"] in ("queued", "running")
    # Asking again while it is queued or running returns the same job; once done, none.
    again = await plan.call("POST", "/regenerate-stale", None)
    assert again["job_id"] in (queued["job_id"], None)
    phases = await _until(plan, lambda ps: "stale" not in {p["status"] for p in ps})
    regenerated = [p for p in phases if p["number"] in (2, 3, 5, 6)]
    assert {p["status"] for p in regenerated} == {"in_progress"}
    assert all(p["awaiting_approval"] for p in regenerated)
    # Each phase was drafted after the ones it depends on: regenerating 2 and 3 did not make 5
    # stale again after it was regenerated itself.
    versions = await plan.call("GET", "/5/versions")
    assert [(v["version"], v["author_kind"]) for v in versions] == [(1, "user"), (2, "assistant")]
    drafted_at = {
        n: (await plan.call("GET", f"/{n}/versions"))[-1]["created_at"] for n in (2, 3, 5, 6)
    }
    assert drafted_at[5] > max(drafted_at[2], drafted_at[3])


async def test_business_plan_cascade_from_competition(
    make_account, new_project, phases_of: Callable[..., Phases]
) -> None:
    ann: Account = await make_account()
    plan = phases_of(await new_project(ann), ann)
    await _fill(plan, range(1, 15))
    await plan.write(6, "Competition, rewritten.")
    statuses = await plan.statuses()
    # Business model (7) does not depend on competition; go-to-market (8) does, and through it
    # operations, team, milestones, financials, risks and the executive summary.
    assert [n for n, s in statuses.items() if s == "stale"] == [8, 9, 10, 11, 12, 13, 14]
    assert statuses[7] == "completed"


async def test_reconstructed_context_names_its_sources_and_gaps(
    make_account, new_project, phases_of: Callable[..., Phases], db: AsyncSession
) -> None:
    ann: Account = await make_account()
    project = await new_project(ann)
    plan = phases_of(project, ann)
    document = Document(
        project_id=UUID(project),
        filename="survey.pdf",
        kind="pdf",
        size_bytes=10,
        sha256=hashlib.sha256(b"survey").hexdigest(),
        status="completed",
    )
    db.add(document)
    await db.flush()
    db.add(
        Chunk(
            project_id=UUID(project),
            source_type="document",
            document_id=document.id,
            text="Irrigation pumps cost smallholder farmers 40 percent of their income.",
            heading_path=["Costs"],
            page=7,
        )
    )
    await db.commit()
    await plan.write(2, "# Audience\n\nSmallholder farmers who irrigate by hand.")
    await plan.call(
        "PUT", "/3/answers/0", json={"answer": "Irrigation pumps cost farmers too much income."}
    )

    context = await plan.call("POST", "/3/reconstruct-context")
    assert context["gaps"] == ["Vision (phase 1)"]
    system, user = context["messages"]
    assert system["role"] == "system"
    assert "Show that the problem is real" in system["content"]
    assert "Irrigation pumps cost farmers too much income." in user["content"]
    assert "Smallholder farmers who irrigate by hand." in user["content"]
    assert "Vision (phase 1)" in user["content"]
    kinds = {s["kind"]: s for s in context["sources"]}
    assert kinds["phase"]["phase_number"] == 2
    assert kinds["phase"]["version"] == 1
    assert kinds["document"]["page"] == 7
    assert kinds["document"]["document_id"] == str(document.id)
    assert kinds["document"]["label"].startswith("survey.pdf, p. 7")
    assert "[S1] survey.pdf, p. 7" in user["content"]
    assert context["context"]["intent"] == "draft"
    assert context["prompt_tokens"] <= context["budget_tokens"]

    # The draft is built from exactly that context, and keeps its sources.
    drafted = await plan.call("POST", "/3/regenerate")
    version = await plan.call("GET", f"/3/versions/{drafted['current_version']}")
    assert version["sources"] == context["sources"]
    assert "[S1]" in version["content"]

    # A small budget summarises the earlier phase instead of dropping it.
    await plan.write(2, "# Audience\n\n" + "Farmers grow maize in dry regions. " * 300)
    small = await plan.call("POST", "/3/reconstruct-context", json={"budget_tokens": 800})
    phase_source = next(s for s in small["sources"] if s["kind"] == "phase")
    assert phase_source["summarised"] is True
    assert small["prompt_tokens"] < 1200


async def test_a_late_phase_reads_every_dependency_at_once(
    make_account, new_project, phases_of: Callable[..., Phases]
) -> None:
    ann: Account = await make_account()
    plan = phases_of(await new_project(ann), ann)
    await _fill(plan, range(1, 8))
    await plan.write(5, "# Market\n\nA second version of the market.")
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        context = await plan.call("POST", "/8/reconstruct-context")
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    # Go-to-market depends on phases 2, 5, 6 and 7: each summarised from its current version.
    phases = {s["phase_number"]: s["version"] for s in context["sources"] if s["kind"] == "phase"}
    assert phases == {2: 1, 5: 2, 6: 1, 7: 1}
    assert "A second version of the market." in context["messages"][1]["content"]
    reads = [s for s in statements if "FROM phase_versions" in s]
    assert len(reads) == 1, reads
