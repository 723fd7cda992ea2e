"""Ingest benchmark: parse + chunk throughput (pages/s, MB/s) beside a baseline.

Ours: `ingest.parse` (PDFium for PDF, python-docx, markdown-it-py) + `ingest.chunk`
(structure-first, token-counted). Baseline, in the same run: pypdf `extract_text()` per page
(python-docx paragraph text for DOCX, raw text for Markdown) + a recursive character splitter
(LangChain's RecursiveCharacterTextSplitter algorithm, 1,400 characters ~ 350 tokens, 200
overlap). One extra row measures `parse_isolated` (child process per document) on the PDFs.

Run: `uv run python -m bench.bench_ingest`. Writes bench/results/ingest.json.

The baseline's libraries are imported inside functions: on Python 3.11 every
`parse_isolated` child re-imports the caller's `__main__` module, and this module should
cost a child what a worker's light entry point would, not pypdf's import time.
"""

from __future__ import annotations

import io
import json
import logging
import platform
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ingest import ParsePool, chunk, parse, parse_isolated

if TYPE_CHECKING:
    from collections.abc import Callable

    from ingest import DocumentKind

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT / ".." / "shared" / "corpora"
RESULTS = ROOT / "bench" / "results" / "ingest.json"
MB = 1_000_000
BASELINE = (
    "pypdf extract_text per page (python-docx paragraphs, raw Markdown) + recursive "
    "character splitter (1400 chars, 200 overlap)"
)
MIN_SECONDS = 0.4
MAX_REPEATS = 20


def recursive_split(
    text: str,
    chunk_size: int = 1400,
    overlap: int = 200,
    separators: tuple[str, ...] = ("\n\n", "\n", " ", ""),
) -> list[str]:
    """LangChain's recursive character splitter: split on the coarsest separator present,
    recurse into pieces that are still too long, merge small pieces with overlap."""
    separator = separators[-1]
    rest: tuple[str, ...] = ()
    for index, candidate in enumerate(separators):
        if candidate == "" or candidate in text:
            separator, rest = candidate, separators[index + 1 :]
            break
    splits = text.split(separator) if separator else list(text)
    chunks: list[str] = []
    good: list[str] = []
    for piece in splits:
        if len(piece) < chunk_size:
            good.append(piece)
            continue
        if good:
            chunks.extend(_merge(good, separator, chunk_size, overlap))
            good = []
        chunks.extend(recursive_split(piece, chunk_size, overlap, rest) if rest else [piece])
    if good:
        chunks.extend(_merge(good, separator, chunk_size, overlap))
    return chunks


def _merge(splits: list[str], separator: str, chunk_size: int, overlap: int) -> list[str]:
    docs: list[str] = []
    current: list[str] = []
    total = 0
    for piece in splits:
        length = len(piece) + (len(separator) if current else 0)
        if current and total + length > chunk_size:
            joined = separator.join(current).strip()
            if joined:
                docs.append(joined)
            while current and (total > overlap or total + length > chunk_size):
                total -= len(current[0]) + (len(separator) if len(current) > 1 else 0)
                current.pop(0)
        current.append(piece)
        total += len(piece) + (len(separator) if len(current) > 1 else 0)
    joined = separator.join(current).strip()
    if joined:
        docs.append(joined)
    return docs


def baseline(data: bytes, kind: DocumentKind) -> int:
    """Baseline extraction + splitting; returns the number of chunks."""
    import docx  # noqa: PLC0415 - see the module docstring
    import pypdf  # noqa: PLC0415

    if kind == "pdf":
        reader = pypdf.PdfReader(io.BytesIO(data))
        text = "\n\n".join(page.extract_text() or "" for page in reader.pages)
    elif kind == "docx":
        document = docx.Document(io.BytesIO(data))
        text = "\n\n".join(p.text for p in document.paragraphs)
    else:
        text = data.decode("utf-8-sig")
    return len(recursive_split(text))


def ours(data: bytes, kind: DocumentKind) -> int:
    return len(chunk(parse(data, kind)))


def ours_isolated(data: bytes, kind: DocumentKind) -> int:
    return len(chunk(parse_isolated(data, kind)))


def generated_docx() -> bytes:
    """40 sections: heading, 8 paragraphs, a list and a 15-row table each."""
    import docx  # noqa: PLC0415

    document = docx.Document()
    sentence = "The committee reviewed the quarterly figures and approved the plan. "
    for section in range(40):
        document.add_heading(f"Section {section}", level=1)
        for paragraph in range(8):
            document.add_paragraph(f"Paragraph {paragraph}. " + sentence * 6)
        for item in range(5):
            document.add_paragraph(f"Action item {item}", style="List Bullet")
        table = document.add_table(rows=16, cols=3)
        for row in range(16):
            for col in range(3):
                table.cell(row, col).text = f"r{row}c{col}" if row else f"Column {col}"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def measure(
    function: Callable[[bytes, DocumentKind], int], data: bytes, kind: DocumentKind
) -> tuple[float, int]:
    """Median seconds per run (repeating small files to at least MIN_SECONDS), and the
    chunk count."""
    times: list[float] = []
    count = 0
    started = time.perf_counter()
    while len(times) < 3 or (
        time.perf_counter() - started < MIN_SECONDS and len(times) < MAX_REPEATS
    ):
        t0 = time.perf_counter()
        count = function(data, kind)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), count


def inputs() -> list[tuple[str, DocumentKind, bytes, int | None]]:
    import pypdf  # noqa: PLC0415

    files: list[tuple[str, DocumentKind, bytes, int | None]] = []
    readable_pdfs = [
        "sf_minimal-document.pdf",
        "sf_pdflatex-4-pages.pdf",
        "sf_multicolumn.pdf",
        "sf_habibi-arabic.pdf",
        "pypdf_GeoBase_NHNC1_Data_Model_UML_EN.pdf",
        "pdfjs_tracemonkey.pdf",
        "sf_GeoTopo-komprimiert.pdf",
    ]
    for name in readable_pdfs:
        data = (CORPORA / "pdf" / name).read_bytes()
        files.append((name, "pdf", data, len(pypdf.PdfReader(io.BytesIO(data)).pages)))
    files.append(("generated-40-sections.docx", "docx", generated_docx(), None))
    files.extend(
        (name, "docx", (CORPORA / "docx" / name).read_bytes(), None)
        for name in ("poi_IllustrativeCases.docx", "poi_61787.docx")
    )
    files.extend(
        (name, "markdown", (CORPORA / "md" / name).read_bytes(), None)
        for name in ("public-apis_README.md", "commonmark-spec_spec.md", "openai-python_README.md")
    )
    return files


def small_markdown(documents: int = 200) -> dict[str, float]:
    """Parse + chunk of many small Markdown files: a new child process per document (the
    former path) beside a reused `ParsePool` process, documents per second."""
    from bench.bench_ingest_e2e import markdown_file  # noqa: PLC0415

    files = [markdown_file(n) for n in range(documents)]
    pool = ParsePool(1)
    rates: dict[str, float] = {}
    try:
        for label, run in (
            ("child per document", lambda data: parse_isolated(data, "markdown")),
            ("ParsePool", lambda data: pool.parse(data, "markdown")),
        ):
            run(files[0])  # warm up
            started = time.perf_counter()
            for data in files:
                chunk(run(data))
            rates[label] = documents / (time.perf_counter() - started)
    finally:
        pool.close()
    print(
        f"\nsmall Markdown, parse + chunk: {rates['child per document']:.0f} docs/s with a child "
        f"per document, {rates['ParsePool']:.0f} docs/s with ParsePool"
    )
    return rates


def main() -> None:
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    if not CORPORA.is_dir():
        raise SystemExit(f"corpora not found at {CORPORA}")
    rows = []
    totals: dict[str, dict[str, float]] = {}
    header = (
        f"{'file':44} {'kind':8} {'pages':>5} {'MB':>6} | {'ours ms':>8} {'chunks':>6} |"
        f" {'base ms':>8} {'chunks':>6} | {'speed-up':>8}"
    )
    print(header)
    print("-" * len(header))
    for name, kind, data, pages in inputs():
        ours_s, ours_chunks = measure(ours, data, kind)
        base_s, base_chunks = measure(baseline, data, kind)
        rows.append(
            {
                "file": name,
                "kind": kind,
                "pages": pages,
                "bytes": len(data),
                "ours_seconds": ours_s,
                "ours_chunks": ours_chunks,
                "baseline_seconds": base_s,
                "baseline_chunks": base_chunks,
            }
        )
        for label, seconds in (("ours", ours_s), ("baseline", base_s)):
            bucket = totals.setdefault(f"{kind}:{label}", {"seconds": 0.0, "bytes": 0, "pages": 0})
            bucket["seconds"] += seconds
            bucket["bytes"] += len(data)
            bucket["pages"] += pages or 0
        print(
            f"{name:44} {kind:8} {pages or '':>5} {len(data) / MB:6.2f} |"
            f" {ours_s * 1000:8.1f} {ours_chunks:6d} |"
            f" {base_s * 1000:8.1f} {base_chunks:6d} | {base_s / ours_s:7.1f}x"
        )
    pdfs = [(n, k, d, p) for n, k, d, p in inputs() if k == "pdf"]
    isolated_seconds = sum(measure(ours_isolated, d, k)[0] for _, k, d, _ in pdfs)
    isolated_bytes = sum(len(d) for _, _, d, _ in pdfs)
    isolated_pages = sum(p or 0 for _, _, _, p in pdfs)
    summary = {}
    print()
    print(f"{'totals':24} {'pages/s':>10} {'MB/s':>8}")
    for key, bucket in sorted(totals.items()):
        pages_per_s = bucket["pages"] / bucket["seconds"] if bucket["pages"] else None
        mb_per_s = bucket["bytes"] / MB / bucket["seconds"]
        summary[key] = {"pages_per_s": pages_per_s, "mb_per_s": mb_per_s, **bucket}
        print(f"{key:24} {pages_per_s or 0:10.1f} {mb_per_s:8.2f}")
    summary["pdf:ours_isolated"] = {
        "pages_per_s": isolated_pages / isolated_seconds,
        "mb_per_s": isolated_bytes / MB / isolated_seconds,
        "seconds": isolated_seconds,
        "bytes": isolated_bytes,
        "pages": isolated_pages,
    }
    print(
        f"{'pdf:ours_isolated':24} {isolated_pages / isolated_seconds:10.1f} "
        f"{isolated_bytes / MB / isolated_seconds:8.2f}   (child process per document)"
    )
    summary["small_markdown"] = small_markdown()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "ingest parse+chunk",
                "machine": {"python": platform.python_version(), "platform": platform.platform()},
                "ours": "ingest.parse + ingest.chunk (target 350 tokens, overlap 50)",
                "baseline": BASELINE,
                "files": rows,
                "totals": summary,
            },
            indent=2,
        )
    )
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
