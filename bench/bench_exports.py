"""Render time per export format for a 14-phase, ~20,000-word project.

Each format is measured beside the simplest render of the same content, so the table shows what
the structure (title page, contents, headings, lists, tables, fonts) costs:

- pdf: reportlab, one Paragraph per Markdown line, no contents, no page template
- docx: python-docx, one plain paragraph per Markdown line
- md: the phases' Markdown concatenated under their titles
- json: ``json.dumps`` of the same data

Run: ``uv run python -m bench.bench_exports``; figures go to bench/results/exports.json.
"""

from __future__ import annotations

import io
import json
import platform
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

import docx
import msgspec
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import Paragraph, SimpleDocTemplate

from render import ExportDocument, ExportPhase, ExportVersion, render

if TYPE_CHECKING:
    from collections.abc import Callable

RESULTS = Path(__file__).resolve().parent / "results" / "exports.json"
TITLES = (
    "Vision", "Audience", "Problem", "Solution", "Market", "Competition", "Business model",
    "Go-to-market", "Operations", "Team", "Milestones", "Financials", "Risks", "Executive summary",
)  # fmt: skip
WORDS = (
    "customer", "revenue", "market", "growth", "pricing", "channel", "partner", "subscription",
    "onboarding", "retention", "margin", "forecast", "segment", "pilot", "launch", "hiring",
    "compliance", "support", "churn", "funnel", "budget", "risk", "quarter", "runway", "investor",
    "product", "feature", "roadmap", "feedback", "contract", "supplier", "logistics", "analytics",
    "adoption", "referral", "payback", "cohort", "valuation", "milestone", "team", "regulation",
)  # fmt: skip
RUNS = {"pdf": 5, "docx": 5, "md": 15, "json": 15}
TARGET_WORDS = 20_000


def _sentence(rng: random.Random, words: int) -> str:
    picked = [rng.choice(WORDS) for _ in range(words)]
    if words > 6:
        picked[2] = f"**{picked[2]}**"
        picked[5] = f"*{picked[5]}*"
    return " ".join(picked).capitalize() + "."


def _phase_markdown(rng: random.Random, words: int) -> str:
    parts: list[str] = []
    written = 0
    section = 0
    while written < words:
        section += 1
        parts.append(f"## Section {section}")
        paragraph = " ".join(_sentence(rng, rng.randint(10, 22)) for _ in range(5))
        parts.append(paragraph)
        bullets = [f"- {_sentence(rng, 9)}\n  - {_sentence(rng, 7)}" for _ in range(3)]
        numbered = [f"{n}. {_sentence(rng, 8)}" for n in range(1, 5)]
        rows = [f"| {rng.choice(WORDS)} | {rng.randint(1, 999)}k | {_sentence(rng, 5)} |"]
        table = ["| Item | Amount | Note |", "| --- | ---: | --- |", *(rows * 6)]
        parts += ["\n".join(bullets), "\n".join(numbered), "\n".join(table)]
        written += sum(len(p.split()) for p in parts[-5:])
    return "\n\n".join(parts)


def build_project(seed: int = 7) -> ExportDocument:
    """A deterministic 14-phase project of about ``TARGET_WORDS`` words."""
    rng = random.Random(seed)  # noqa: S311 - test data, not security
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    phases = []
    for number, title in enumerate(TITLES, start=1):
        content = _phase_markdown(rng, TARGET_WORDS // len(TITLES))
        version = ExportVersion(
            number=1,
            content=content,
            created_at=start + timedelta(days=number),
            author="assistant",
            source="assistant:openai/gpt-4o",
        )
        phases.append(
            ExportPhase(
                number=number,
                title=title,
                status="stale" if number == 5 else "completed",
                content=content,
                current_version=1,
                updated_at=version.created_at,
                versions=[version],
            )
        )
    return ExportDocument(
        project_id="bench",
        title="Benchmark Business Plan",
        template="business-plan",
        generated_at=start + timedelta(days=30),
        phases=phases,
    )


def _lines(doc: ExportDocument) -> list[str]:
    lines = [doc.title]
    for phase in doc.phases:
        lines += [f"{phase.number}. {phase.title}", *phase.content.split("\n")]
    return lines


def baseline_pdf(doc: ExportDocument) -> bytes:
    buffer = io.BytesIO()
    style = getSampleStyleSheet()["Normal"]
    story = [Paragraph(escape(line), style) for line in _lines(doc) if line.strip()]
    SimpleDocTemplate(buffer).build(story)
    return buffer.getvalue()


def baseline_docx(doc: ExportDocument) -> bytes:
    document = docx.Document()
    for line in _lines(doc):
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def baseline_md(doc: ExportDocument) -> bytes:
    sections = [f"## {p.number}. {p.title}\n\n{p.content}" for p in doc.phases]
    return "\n\n".join([f"# {doc.title}", *sections]).encode()


def baseline_json(doc: ExportDocument) -> bytes:
    return json.dumps(msgspec.to_builtins(doc)).encode()


BASELINES: dict[str, Callable[[ExportDocument], bytes]] = {
    "pdf": baseline_pdf,
    "docx": baseline_docx,
    "md": baseline_md,
    "json": baseline_json,
}


def _median_ms(function: Callable[[], bytes], runs: int) -> tuple[float, int]:
    timings = []
    size = 0
    for _ in range(runs):
        started = time.perf_counter()
        size = len(function())
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), size


def main() -> None:
    doc = build_project()
    words = sum(len(p.content.split()) for p in doc.phases)
    render(doc, "pdf")  # warm-up: font registration and imports are once per process
    rows = []
    for fmt, baseline in BASELINES.items():
        ours_ms, ours_size = _median_ms(lambda fmt=fmt: render(doc, fmt).content, RUNS[fmt])  # type: ignore[misc]
        base_ms, base_size = _median_ms(lambda baseline=baseline: baseline(doc), RUNS[fmt])  # type: ignore[misc]
        rows.append(
            {
                "format": fmt,
                "runs": RUNS[fmt],
                "median_ms": round(ours_ms, 3),
                "bytes": ours_size,
                "baseline_median_ms": round(base_ms, 3),
                "baseline_bytes": base_size,
                "ratio": round(ours_ms / base_ms, 2),
            }
        )
    print(f"14 phases, {words:,} words; median of several runs per format\n")
    header = ("format", "ours ms", "baseline ms", "ratio", "ours KB", "base KB")
    print("{:<7}{:>10}{:>13}{:>11}{:>10}{:>10}".format(*header))
    for row in rows:
        print(
            f"{row['format']:<7}{row['median_ms']:>10.2f}{row['baseline_median_ms']:>13.2f}"
            f"{row['ratio']:>10.2f}x{row['bytes'] / 1024:>10.1f}"
            f"{row['baseline_bytes'] / 1024:>10.1f}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "exports",
                "phases": len(doc.phases),
                "words": words,
                "python": platform.python_version(),
                "results": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
