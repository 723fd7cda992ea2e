"""Hostile and broken files through `parse_isolated`: each ends in an `IngestError` with a
reason, and the next document still parses."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pytest

from ingest import IngestError, Limits, Progress, parse, parse_isolated
from tests.unit.ingest._files import (
    add_part,
    billion_laughs_document_xml,
    cyclic_pdf,
    deeply_nested_document_xml,
    lying_count_pdf,
    many_pages_pdf,
    planted_docx,
    planted_pdf,
    replace_part,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from ingest import DocumentKind

_MIB = 1024 * 1024


def _assert_still_serving() -> None:
    document = parse_isolated(planted_pdf(), "pdf")
    assert document.page_count == 3


def _zip_bomb() -> bytes:
    return add_part(planted_docx(), "word/media/zeros.bin", 1024 * _MIB)


def _truncated_docx() -> bytes:
    data = planted_docx()
    return data[: len(data) // 2]


def _truncated_pdf() -> bytes:
    data = planted_pdf()
    return data[: len(data) // 3]


HOSTILE: dict[str, tuple[Callable[[], bytes], DocumentKind, Limits, str, str]] = {
    "docx zip bomb (1 GiB of zeros)": (_zip_bomb, "docx", Limits(), "too_large", "zip bomb"),
    "docx unpacking past the size cap": (
        planted_docx,
        "docx",
        Limits(max_unzipped_bytes=10_000),
        "too_large",
        "unpacks to",
    ),
    "docx with too many entries": (
        planted_docx,
        "docx",
        Limits(max_zip_entries=3),
        "too_large",
        "files; the limit",
    ),
    "docx billion laughs": (
        lambda: replace_part(planted_docx(), "word/document.xml", billion_laughs_document_xml()),
        "docx",
        Limits(),
        "malformed",
        "DTD",
    ),
    "docx deeply nested XML": (
        lambda: replace_part(planted_docx(), "word/document.xml", deeply_nested_document_xml(5000)),
        "docx",
        Limits(),
        "malformed",
        "nested too deeply",
    ),
    "docx truncated": (_truncated_docx, "docx", Limits(), "malformed", "truncated"),
    "pdf cyclic page tree": (cyclic_pdf, "pdf", Limits(), "malformed", "damaged"),
    "pdf absurd page count": (
        lambda: many_pages_pdf(20_000),
        "pdf",
        Limits(),
        "too_large",
        "20000 pages",
    ),
    "pdf truncated": (_truncated_pdf, "pdf", Limits(), "malformed", "damaged"),
    "file over the size limit": (
        planted_pdf,
        "pdf",
        Limits(max_bytes=1000),
        "too_large",
        "the limit is 1000 bytes",
    ),
}


@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
def test_hostile_file_fails_with_a_reason_and_the_worker_keeps_serving(case: str) -> None:
    make, kind, limits, code, reason = HOSTILE[case]
    with pytest.raises(IngestError) as caught:
        parse_isolated(make(), kind, limits)
    assert caught.value.code == code
    assert reason in caught.value.message
    _assert_still_serving()


def test_lying_page_count_reads_the_real_pages() -> None:
    document = parse_isolated(lying_count_pdf(), "pdf")
    assert document.page_count == 1
    assert document.blocks[0].text == "Hello hostile world"


def test_corpora_failures_in_isolation(corpora: Path) -> None:
    expected: dict[str, tuple[DocumentKind, str]] = {
        "pdf/pdfjs_bug1020226.pdf": ("pdf", "malformed"),
        "pdf/sf_libreoffice-writer-password.pdf": ("pdf", "encrypted"),
        "pdf/sf_grayscale-image.pdf": ("pdf", "no_text"),
        "docx/poi_truncated62886.docx": ("docx", "malformed"),
        "docx/mm_empty.docx": ("docx", "empty"),
    }
    for name, (kind, code) in expected.items():
        with pytest.raises(IngestError) as caught:
            parse_isolated((corpora / name).read_bytes(), kind)
        assert caught.value.code == code, name
    _assert_still_serving()


def test_isolated_result_equals_in_process_result_and_reports_progress(corpora: Path) -> None:
    data = (corpora / "pdf" / "sf_GeoTopo-komprimiert.pdf").read_bytes()
    steps: list[Progress] = []
    isolated = parse_isolated(data, "pdf", progress=steps.append)
    assert isolated == parse(data, "pdf")
    assert steps[-1] == Progress(117, 117, len(isolated.blocks))
    assert len(steps) >= 117


def test_timeout_kills_the_child(corpora: Path) -> None:
    data = (corpora / "pdf" / "sf_GeoTopo-komprimiert.pdf").read_bytes()
    with pytest.raises(IngestError) as caught:
        parse_isolated(data, "pdf", Limits(timeout_s=0.01))
    assert caught.value.code == "timeout"
    _assert_still_serving()


def test_memory_limit_turns_into_an_error() -> None:
    data = ("- item with some words\n" * 1_500_000).encode()
    with pytest.raises(IngestError) as caught:
        parse_isolated(data, "markdown", Limits(memory_bytes=300 * _MIB))
    assert caught.value.code == "memory"
    _assert_still_serving()


def test_cancellation_with_an_event(corpora: Path) -> None:
    data = (corpora / "pdf" / "sf_GeoTopo-komprimiert.pdf").read_bytes()
    cancel = threading.Event()

    def on_progress(step: Progress) -> None:
        if step.pages_done >= 3:
            cancel.set()

    with pytest.raises(IngestError) as caught:
        parse_isolated(data, "pdf", progress=on_progress, should_cancel=cancel)
    assert caught.value.code == "cancelled"
    _assert_still_serving()


def test_in_process_cancellation_with_a_callable(corpora: Path) -> None:
    data = (corpora / "pdf" / "sf_GeoTopo-komprimiert.pdf").read_bytes()
    seen: list[Progress] = []
    with pytest.raises(IngestError) as caught:
        parse(data, "pdf", progress=seen.append, should_cancel=lambda: len(seen) >= 5)
    assert caught.value.code == "cancelled"
    assert seen[-1].pages_done < 117
