"""End-to-end ingest throughput: upload → ``completed`` over real HTTP, on the embedded defaults.

A real server (``assistant serve``: embedded PostgreSQL, in-process queue, the local WordLlama
embedder) runs on a free port. The benchmark registers a user, creates a project, uploads many
small Markdown files and then many text PDFs through ``POST /api/v1/documents`` (32 uploads
in flight), and polls the project's document list (once a second) until every document has
ended. A figure is documents (or PDF pages) over the wall time from the first upload to the last
completion, that completion's time read from its document (``updated_at``), not from the poll
that saw it (which would add up to a second).

Two server configurations, one after the other in the same run and on the same database:

- ours: the defaults (parse pool whose processes also cut the documents into chunks, embedding
  batches shared between documents);
- baseline: the previous code path, kept behind settings: a fresh isolated child process per
  document (``INGEST_PARSE_POOL=0``; the document is then cut in the server), one embedding
  call per document (``INGEST_EMBED_SHARED=0``) and the former four worker threads
  (``WORKER_THREADS=4``).

Both write small documents through the shared completion transaction
(`server.documents.completion`), which has no setting.

Run: ``uv run python -m bench.bench_ingest_e2e`` (also the second half of ``make bench-ingest``).
Writes bench/results/ingest_e2e.json.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

RESULTS = Path(__file__).resolve().parent / "results" / "ingest_e2e.json"
MARKDOWN_DOCS = int(os.environ.get("BENCH_MARKDOWN_DOCS", "600"))
PDF_DOCS = int(os.environ.get("BENCH_PDF_DOCS", "60"))
PDF_PAGES = 10
IN_FLIGHT = 32
PASSWORD = "bench-password-1234"  # noqa: S105 - a throwaway account in a throwaway database
CONFIGURATIONS: dict[str, dict[str, str]] = {
    "ours": {},
    "baseline": {"INGEST_PARSE_POOL": "0", "INGEST_EMBED_SHARED": "0", "WORKER_THREADS": "4"},
}

_WORDS = [
    *("harbour", "tide", "gauge", "mooring", "survey", "pier", "inspection", "storm"),
    *("season", "fleet", "budget", "committee", "review", "figure", "report", "quarter"),
    *("plan", "approval", "owner", "lighthouse", "keeper"),
]


def markdown_file(number: int) -> bytes:
    """A small Markdown note (~1.5 KB: a title, two sections, a list), unique per number."""
    words = [_WORDS[(number * 7 + i * 3) % len(_WORDS)] for i in range(120)]
    body = " ".join(words)
    return (
        f"# Note {number}\n\nThe {body[:400]}.\n\n## Findings {number}\n\n"
        f"- first finding {number}: {body[400:520]}\n- second finding: {body[520:640]}\n\n"
        f"## Next steps\n\nThe team will {body[:300]} before review {number}.\n"
    ).encode()


def pdf_file(number: int) -> bytes:
    """A text PDF of ``PDF_PAGES`` pages of prose (~45 lines a page), unique per number."""
    from reportlab.lib.pagesizes import A4  # noqa: PLC0415 - only the benchmark needs it
    from reportlab.pdfgen import canvas  # noqa: PLC0415

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    for page in range(PDF_PAGES):
        pdf.setFont("Helvetica-Bold", 14)
        pdf.drawString(72, 790, f"Report {number}, section {page + 1}")
        pdf.setFont("Helvetica", 10)
        for line in range(45):
            words = [_WORDS[(number + page * 13 + line * 5 + i) % len(_WORDS)] for i in range(14)]
            end = "." if line % 6 == 5 else ""
            pdf.drawString(72, 760 - 15 * line, " ".join(words) + end)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def _free_port() -> int:
    # The benchmark's own range (8200-8249) when free, else any free port.
    for port in range(8200, 8250):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free: int = sock.getsockname()[1]
        return free


def _start(root: Path, extra: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(root / "data"),
        "ASSISTANT_CONFIG": str(root / "config.json"),
        "SECRET_KEY": "bench-ingest-secret-" + "x" * 32,
        "LOGIN_RATE_PER_IP": "1000",
        **extra,
    }
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    command = [sys.executable, "-c", "from server.cli import main; main()", "serve"]
    log = (root / f"server-{port}.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - our own server, fixed arguments
        [*command, "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited; see {log.name}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    process.terminate()
    raise SystemExit("the server did not start within 180 s")


def _cpu_seconds(root_pid: int, data_dir: str) -> float:
    """CPU time (user + system) of the server and all its descendants (the fork server and
    parser processes) and of the embedded PostgreSQL serving ``data_dir`` (its postmaster and
    backends), from /proc. On a shared machine CPU per document is the steadier figure
    beside wall-clock throughput."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    roots = {root_pid}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        # Own time plus that of exited children it reaped (per-document parser processes).
        times[pid] = sum(int(value) for value in fields[11:15]) / tick
        with contextlib.suppress(OSError):
            if data_dir.encode() in (entry / "cmdline").read_bytes():
                roots.add(pid)
    family = set(roots)
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in family and pid not in family:
                family.add(pid)
                grew = True
    return sum(times.get(pid, 0.0) for pid in family)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def _login(client: httpx.AsyncClient, email: str) -> None:
    response = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
    )
    if response.status_code not in (201, 409):
        response.raise_for_status()
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    response.raise_for_status()
    client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"


async def _run(
    base: str, label: str, files: list[tuple[str, bytes]], server_pid: int, data_dir: str
) -> dict[str, Any]:
    """Upload ``files`` into a new project; wait until all have ended."""
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        await _login(client, "bench@example.org")
        response = await client.post("/api/v1/projects", json={"name": label})
        response.raise_for_status()
        project = response.json()["id"]
        gate = asyncio.Semaphore(IN_FLIGHT)

        async def upload(name: str, data: bytes) -> None:
            async with gate:
                reply = await client.post(
                    "/api/v1/documents",
                    data={"project_id": project},
                    files={"file": (name, data)},
                )
                reply.raise_for_status()

        started = time.perf_counter()
        started_at = datetime.now(UTC)
        cpu_before = _cpu_seconds(server_pid, data_dir)
        uploads = asyncio.gather(*(upload(name, data) for name, data in files))
        statuses: dict[str, int] = {}
        while True:
            await asyncio.sleep(1.0)
            if uploads.done():
                uploads.result()
            listed = (await client.get(f"/api/v1/projects/{project}/documents")).json()
            statuses = {}
            for document in listed:
                statuses[document["status"]] = statuses.get(document["status"], 0) + 1
            ended = sum(statuses.get(s, 0) for s in ("completed", "failed", "cancelled"))
            if uploads.done() and ended == len(files):
                break
        polled = time.perf_counter() - started
        cpu = _cpu_seconds(server_pid, data_dir) - cpu_before
        chunks = sum(document["chunks_total"] for document in listed)
    # The last document's own time of completion (its row's ``updated_at``, written by the
    # completing transaction on this machine's clock), not the poll that saw it: a poll a
    # second would add up to a second to a run of a few seconds.
    last = max(datetime.fromisoformat(document["updated_at"]) for document in listed)
    wall = (last - started_at).total_seconds()
    return {
        "documents": len(files),
        "seconds": round(wall, 2),
        "seconds_until_polled": round(polled, 2),
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "statuses": statuses,
        "chunks": chunks,
        "cpu_ms_per_document": round(cpu * 1000 / len(files), 1),
    }


def _config(root: Path) -> None:
    """The shipped config.json (the embedded defaults: local providers and embedder)."""
    shipped = Path(__file__).resolve().parents[1] / "config.json"
    (root / "config.json").write_bytes(shipped.read_bytes())


def main() -> None:
    markdown = [(f"note-{n}.md", markdown_file(n)) for n in range(MARKDOWN_DOCS)]
    pdfs = [(f"report-{n}.pdf", pdf_file(n)) for n in range(PDF_DOCS)]
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "markdown_documents": MARKDOWN_DOCS,
        "pdf_documents": PDF_DOCS,
        "pdf_pages_each": PDF_PAGES,
        "configurations": CONFIGURATIONS,
    }
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        root = Path(tmp)
        (root / "data").mkdir()
        _config(root)
        for label, extra in CONFIGURATIONS.items():
            process, base = _start(root, extra)
            try:
                # Separate projects; each configuration uploads the same files afresh.
                md = asyncio.run(
                    _run(base, f"{label} markdown", markdown, process.pid, str(root / "data"))
                )
                md["documents_per_s"] = round(md["documents"] / md["seconds"], 1)
                pdf = asyncio.run(_run(base, f"{label} pdf", pdfs, process.pid, str(root / "data")))
                pdf["pages_per_s"] = round(pdf["documents"] * PDF_PAGES / pdf["seconds"], 1)
            finally:
                _stop(process)
            results[label] = {"markdown": md, "pdf": pdf}
            print(
                f"{label:9} markdown {md['documents_per_s']:6.1f} docs/s "
                f"({md['documents']} in {md['seconds']} s, "
                f"{md['cpu_ms_per_document']} CPU ms/doc, {md['statuses']})   "
                f"text PDF {pdf['pages_per_s']:6.1f} pages/s ({pdf['documents']}x{PDF_PAGES} "
                f"pages in {pdf['seconds']} s, {pdf['cpu_ms_per_document']} CPU ms/doc, "
                f"{pdf['statuses']}), load average {pdf['load_average']}"
            )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
