"""The ingest pipeline run directly, as the job handler runs it: real parser, embedder and
database; hostile files end failed with a reason and the process carries on."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from sqlalchemy import func, select

from ingest import Limits, embedding_text
from server.db.models import Chunk, Document
from server.documents.pipeline import ingest_document
from server.documents.storage import FileStore
from server.events import DocumentUpdated

from .conftest import corpus, pdf_with_facts

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from providers import Embedder
    from server.events import ServerFrame


class Events:
    """Collects what the pipeline publishes."""

    def __init__(self) -> None:
        self.seen: list[tuple[list[str], DocumentUpdated]] = []

    async def __call__(self, channels: list[str], frame: ServerFrame) -> None:
        assert isinstance(frame, DocumentUpdated)
        self.seen.append((channels, frame))

    def statuses(self) -> list[str]:
        return [frame.data.document.status for _, frame in self.seen]


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "files")


@pytest.fixture
def add_document(
    db: AsyncSession, store: FileStore, make_account: Any, make_project: Any
) -> Callable[..., Awaitable[Document]]:
    async def add(data: bytes, kind: str, filename: str = "file") -> Document:
        account = await make_account()
        project_id = await make_project({account.id: "owner"})
        sha = hashlib.sha256(data).hexdigest()
        path = store.path_for(sha)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        document = Document(
            project_id=project_id, filename=filename, kind=kind, size_bytes=len(data), sha256=sha
        )
        db.add(document)
        await db.commit()
        return document

    return add


async def run(
    document_id: UUID,
    sessions: async_sessionmaker[AsyncSession],
    embedder: Embedder,
    store: FileStore,
    events: Events,
    **kwargs: Any,
) -> str:
    return await ingest_document(
        document_id,
        session_factory=sessions,
        embedder=embedder,
        emit=events,
        store=store,
        **kwargs,
    )


async def test_pdf_is_indexed_with_pages_and_progress(
    add_document: Any, sessions: Any, embedder: Embedder, store: FileStore, db: AsyncSession
) -> None:
    data = pdf_with_facts(["Intro page.", "The lighthouse keeper is named Orvald Brisk.", "End."])
    document = await add_document(data, "pdf")
    events = Events()
    assert await run(document.id, sessions, embedder, store, events) == "completed"
    await db.refresh(document)
    assert (document.status, document.page_count, document.pages_done) == ("completed", 3, 3)
    assert document.chunks_done == document.chunks_total > 0
    chunks = (await db.scalars(select(Chunk).where(Chunk.document_id == document.id))).all()
    assert len(chunks) == document.chunks_total
    planted = [c for c in chunks if "Orvald Brisk" in c.text]
    assert planted
    assert planted[0].page <= 2 <= (planted[0].page_end or planted[0].page)
    assert planted[0].embedding_space == "local/wordllama-l2_supercat/256"
    assert len(planted[0].embedding) == 256
    assert events.statuses()[0] == "processing"
    assert events.statuses()[-1] == "completed"
    assert all(channels == [f"project:{document.project_id}"] for channels, _ in events.seen)


@pytest.mark.parametrize(
    ("parts", "kind", "code"),
    [
        (("pdf", "pdfjs_bug1020226.pdf"), "pdf", "malformed"),
        (("pdf", "sf_grayscale-image.pdf"), "pdf", "no_text"),
        (("pdf", "sf_libreoffice-writer-password.pdf"), "pdf", "encrypted"),
        (("pdf", "pdfjs_empty.pdf"), "pdf", "empty"),
        (("docx", "poi_truncated62886.docx"), "docx", "malformed"),
        (("docx", "mm_empty.docx"), "docx", "empty"),
    ],
)
async def test_bad_real_world_files_end_failed_with_a_reason(
    parts: tuple[str, str],
    kind: str,
    code: str,
    add_document: Any,
    sessions: Any,
    embedder: Embedder,
    store: FileStore,
    db: AsyncSession,
) -> None:
    document = await add_document(corpus(*parts), kind, parts[-1])
    events = Events()
    assert await run(document.id, sessions, embedder, store, events) == "failed"
    await db.refresh(document)
    assert (document.status, document.error_code) == ("failed", code)
    assert document.error
    count = await db.scalar(select(func.count()).where(Chunk.document_id == document.id))
    assert count == 0
    assert events.statuses()[-1] == "failed"


def _zip_bomb() -> bytes:
    import io  # noqa: PLC0415
    import zipfile  # noqa: PLC0415

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<Types><Override ContentType="application/vnd.openxmlformats-officedocument.'
            'wordprocessingml.document.main+xml" PartName="/word/document.xml"/></Types>',
        )
        archive.writestr("word/document.xml", b"<a>" + b" " * (300 * 1024 * 1024) + b"</a>")
    return buffer.getvalue()


def _deep_xml_docx() -> bytes:
    import io  # noqa: PLC0415
    import zipfile  # noqa: PLC0415

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<Types><Override ContentType="application/vnd.openxmlformats-officedocument.'
            'wordprocessingml.document.main+xml" PartName="/word/document.xml"/></Types>',
        )
        archive.writestr("word/document.xml", "<w:document>" + "<x>" * 100_000 + "</x>" * 100_000)
    return buffer.getvalue()


def _cyclic_pdf() -> bytes:
    # Page tree whose Kids point back at the root: a cycle a naive walker never leaves.
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 100000000 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


@pytest.mark.parametrize(
    ("make", "kind", "codes"),
    [
        (_zip_bomb, "docx", {"too_large"}),
        (_deep_xml_docx, "docx", {"malformed"}),
        (_cyclic_pdf, "pdf", {"malformed", "too_large", "empty"}),
    ],
)
async def test_hostile_files_fail_within_limits_and_the_worker_carries_on(
    make: Callable[[], bytes],
    kind: str,
    codes: set[str],
    add_document: Any,
    sessions: Any,
    embedder: Embedder,
    store: FileStore,
    db: AsyncSession,
) -> None:
    document = await add_document(make(), kind)
    limits = Limits(timeout_s=20, memory_bytes=512 * 1024 * 1024)
    assert await run(document.id, sessions, embedder, store, Events(), limits=limits) == "failed"
    await db.refresh(document)
    assert document.error_code in codes, document.error
    healthy = await add_document(pdf_with_facts(["Still serving after that."]), "pdf")
    assert await run(healthy.id, sessions, embedder, store, Events()) == "completed"


async def test_cancel_stops_the_pipeline_without_chunks(
    add_document: Any, sessions: Any, embedder: Embedder, store: FileStore, db: AsyncSession
) -> None:
    document = await add_document(corpus("pdf", "sf_GeoTopo-komprimiert.pdf"), "pdf")
    calls = 0

    async def cancelled() -> bool:
        nonlocal calls
        calls += 1
        return calls > 1

    events = Events()
    outcome = await run(document.id, sessions, embedder, store, events, should_cancel=cancelled)
    assert outcome == "cancelled"
    await db.refresh(document)
    assert document.status == "cancelled"
    count = await db.scalar(select(func.count()).where(Chunk.document_id == document.id))
    assert count == 0
    assert events.statuses()[-1] == "cancelled"


async def test_a_finished_or_missing_document_is_left_alone(
    add_document: Any, sessions: Any, embedder: Embedder, store: FileStore, db: AsyncSession
) -> None:
    document = await add_document(pdf_with_facts(["Done once."]), "pdf")
    assert await run(document.id, sessions, embedder, store, Events()) == "completed"
    assert await run(document.id, sessions, embedder, store, Events()) == "gone"
    store.remove(document.sha256)
    other = await add_document(pdf_with_facts(["Its file vanished."]), "pdf")
    store.remove(other.sha256)
    assert await run(other.id, sessions, embedder, store, Events()) == "failed"
    await db.refresh(other)
    assert other.error_code == "missing_file"


async def test_a_retry_drops_the_chunks_of_the_attempt_that_died(
    add_document: Any, sessions: Any, embedder: Embedder, store: FileStore, db: AsyncSession
) -> None:
    document = await add_document(pdf_with_facts(["First page.", "Second page."]), "pdf")
    assert await run(document.id, sessions, embedder, store, Events()) == "completed"
    await db.refresh(document)
    total = document.chunks_total
    # As a worker that died mid-way leaves it: still processing, with chunks written.
    document.status = "processing"
    await db.commit()
    assert await run(document.id, sessions, embedder, store, Events()) == "completed"
    count = await db.scalar(select(func.count()).where(Chunk.document_id == document.id))
    assert count == total
    # A document no longer waiting keeps its chunks: the start touches nothing.
    assert await run(document.id, sessions, embedder, store, Events()) == "gone"
    count = await db.scalar(select(func.count()).where(Chunk.document_id == document.id))
    assert count == total


@pytest.mark.parametrize("parse_pool", [1, 0])
async def test_vectors_made_from_the_chunkers_token_ids_are_those_of_the_embedded_texts(
    add_document: Any,
    sessions: Any,
    embedder: Embedder,
    store: FileStore,
    db: AsyncSession,
    parse_pool: int,
) -> None:
    """The local embedder takes the ids the chunker made (in a parser process, or in the
    server when documents are cut there) instead of tokenizing the texts again; each stored
    vector is the one it gives the text the chunk is embedded as (heading path included)."""
    data = corpus("md", "rust-book_ch03-02-data-types.md")
    document = await add_document(data, "markdown")
    outcome = await run(document.id, sessions, embedder, store, Events(), parse_pool=parse_pool)
    assert outcome == "completed"
    chunks = (
        await db.scalars(
            select(Chunk).where(Chunk.document_id == document.id).order_by(Chunk.ordinal)
        )
    ).all()
    assert sum(1 for c in chunks if c.heading_path) > 5
    texts = [embedding_text(c.heading_path, c.text) for c in chunks]
    expected = np.asarray(await embedder.embed(texts), dtype=np.float32)
    stored = np.asarray([list(c.embedding or []) for c in chunks], dtype=np.float32)
    np.testing.assert_allclose(stored, expected, atol=1e-6)
