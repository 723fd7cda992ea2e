"""`ParsePool`: reused parser processes with the same containment as `parse_isolated`."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from ingest import ChunkOptions, IngestError, Limits, ParsePool, Progress, chunk, parse
from tests.unit.ingest._files import planted_docx, planted_pdf
from tests.unit.ingest.test_isolated import HOSTILE

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

_MIB = 1024 * 1024
_NAME = "ingest-parse-pool-under-test"  # apart from a server's pool in the same process


@pytest.fixture
def pool() -> Iterator[ParsePool]:
    # One process and no size cut-off: every file goes through the same reused process.
    pool = ParsePool(1, max_bytes=1 << 40, name=_NAME)
    yield pool
    pool.close()


def _pool_pids() -> set[int]:
    return {p.pid for p in multiprocessing.active_children() if p.name == _NAME and p.pid}


def _assert_still_serving(pool: ParsePool) -> None:
    assert pool.parse(planted_pdf(), "pdf").page_count == 3


def test_one_process_serves_many_documents(pool: ParsePool) -> None:
    markdown = b"# Title\n\nThe falcon's name is Oberon.\n"
    for _ in range(20):
        assert pool.parse(markdown, "markdown") == parse(markdown, "markdown")
    assert pool.parse(planted_docx(), "docx") == parse(planted_docx(), "docx")
    assert len(_pool_pids()) == 1


@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
def test_hostile_files_fail_with_a_reason_and_the_pool_keeps_serving(
    pool: ParsePool, case: str
) -> None:
    make, kind, limits, code, reason = HOSTILE[case]
    with pytest.raises(IngestError) as caught:
        pool.parse(make(), kind, limits)
    assert caught.value.code == code
    assert reason in caught.value.message
    _assert_still_serving(pool)


def test_timeout_replaces_the_process(pool: ParsePool, corpora: Path) -> None:
    _assert_still_serving(pool)
    (before,) = _pool_pids()
    data = (corpora / "pdf" / "sf_GeoTopo-komprimiert.pdf").read_bytes()
    with pytest.raises(IngestError) as caught:
        pool.parse(data, "pdf", Limits(timeout_s=0.01))
    assert caught.value.code == "timeout"
    _assert_still_serving(pool)
    assert before not in _pool_pids()


def test_memory_limit_turns_into_an_error(pool: ParsePool) -> None:
    data = ("- item with some words\n" * 1_500_000).encode()
    with pytest.raises(IngestError) as caught:
        pool.parse(data, "markdown", Limits(memory_bytes=300 * _MIB))
    assert caught.value.code == "memory"
    _assert_still_serving(pool)


def test_a_killed_process_is_a_clear_error_and_is_replaced(pool: ParsePool, corpora: Path) -> None:
    data = (corpora / "pdf" / "sf_GeoTopo-komprimiert.pdf").read_bytes()

    def kill_on_first_page(step: Progress) -> None:
        if step.pages_done == 1:
            for pid in _pool_pids():
                os.kill(pid, signal.SIGKILL)

    with pytest.raises(IngestError) as caught:
        pool.parse(data, "pdf", progress=kill_on_first_page)
    assert caught.value.code == "memory"
    assert "SIGKILL" in caught.value.message
    _assert_still_serving(pool)


def test_cancellation_stops_the_job(pool: ParsePool, corpora: Path) -> None:
    data = (corpora / "pdf" / "sf_GeoTopo-komprimiert.pdf").read_bytes()
    cancel = threading.Event()

    def on_progress(step: Progress) -> None:
        if step.pages_done >= 3:
            cancel.set()

    with pytest.raises(IngestError) as caught:
        pool.parse(data, "pdf", progress=on_progress, should_cancel=cancel)
    assert caught.value.code == "cancelled"
    _assert_still_serving(pool)


def test_progress_and_results_equal_in_process_parsing(pool: ParsePool, corpora: Path) -> None:
    data = (corpora / "pdf" / "sf_pdflatex-4-pages.pdf").read_bytes()
    steps: list[Progress] = []
    assert pool.parse(data, "pdf", progress=steps.append) == parse(data, "pdf")
    assert steps[-1].pages_done == 4


def test_concurrent_callers_share_the_processes(corpora: Path) -> None:
    files = [
        (corpora / "md" / name).read_bytes()
        for name in ("pdf.js_README.md", "jekyll_docs_front-matter.md")
    ]
    pool = ParsePool(2, name=_NAME)
    try:
        with ThreadPoolExecutor(6) as threads:
            results = list(threads.map(lambda i: pool.parse(files[i % 2], "markdown"), range(24)))
        assert results == [parse(files[i % 2], "markdown") for i in range(24)]
        assert len(_pool_pids()) <= 2
    finally:
        pool.close()
    assert not _pool_pids()


def test_large_files_get_a_process_of_their_own(corpora: Path) -> None:
    data = (corpora / "pdf" / "pdfjs_tracemonkey.pdf").read_bytes()
    pool = ParsePool(1, max_bytes=100_000, name=_NAME)
    try:
        assert pool.parse(data, "pdf").page_count == 14
        assert not _pool_pids()  # the pool's process was never needed
    finally:
        pool.close()


def test_chunking_in_the_pool_process_matches_chunking_here(pool: ParsePool) -> None:
    options = ChunkOptions(target_tokens=60, overlap_tokens=10, max_tokens=80)
    for data, kind in ((planted_pdf(), "pdf"), (planted_docx(), "docx")):
        document = pool.parse(data, kind, chunking=options)
        here = parse(data, kind)
        assert document.blocks == here.blocks
        assert document.chunks == tuple(chunk(here, options))
        assert document.chunks
    assert pool.parse(planted_pdf(), "pdf").chunks is None
