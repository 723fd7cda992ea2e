"""Fixtures for documents: files with planted facts, uploads over HTTP, waiting for the worker."""

from __future__ import annotations

import asyncio
import io
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from providers import WordLlamaEmbedder
from tests.conftest import CORPORA

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from uuid import UUID

    from litestar import Litestar
    from litestar.testing import AsyncTestClient
    from sqlalchemy.ext.asyncio import AsyncSession

    from tests.integration.conftest import Account

TERMINAL = {"completed", "failed", "cancelled"}


def pdf_with_facts(pages: list[str], title: str = "Planted facts") -> bytes:
    """A reportlab PDF whose page ``n`` carries ``pages[n-1]``."""
    from reportlab.lib.pagesizes import A4  # noqa: PLC0415
    from reportlab.pdfgen.canvas import Canvas  # noqa: PLC0415

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4)
    canvas.setTitle(title)
    for text in pages:
        y = 780
        for line in text.split("\n"):
            canvas.drawString(72, y, line)
            y -= 16
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def docx_with_facts(sections: dict[str, str]) -> bytes:
    """A python-docx document with one Heading 1 per section."""
    import docx  # noqa: PLC0415

    document = docx.Document()
    for heading, body in sections.items():
        document.add_heading(heading, level=1)
        document.add_paragraph(body)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def corpus(*parts: str) -> bytes:
    """A real-world sample file, or skip when the corpora are absent."""
    path = CORPORA.joinpath(*parts)
    if not CORPORA.is_dir():
        pytest.skip("shared corpora not present")
    return path.read_bytes()


async def upload(
    client: AsyncTestClient[Litestar],
    account: Account,
    project_id: UUID | str,
    filename: str,
    data: bytes,
    content_type: str = "application/octet-stream",
) -> Any:
    """POST the file as a browser form would."""
    return await client.post(
        "/api/v1/documents",
        headers=account.headers,
        data={"project_id": str(project_id)},
        files={"file": (filename, data, content_type)},
    )


async def wait_done(
    client: AsyncTestClient[Litestar], account: Account, document_id: str, timeout_s: float = 120
) -> dict[str, Any]:
    """Poll the document until it reaches a terminal status."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        response = await client.get(f"/api/v1/documents/{document_id}", headers=account.headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in TERMINAL:
            return body
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"document still {body['status']} after {timeout_s} s: {body}")
        await asyncio.sleep(0.1)


@pytest.fixture(scope="session")
def embedder() -> WordLlamaEmbedder:
    """The offline embedder config.json uses by default."""
    return WordLlamaEmbedder()


@pytest.fixture
async def sessions(clean_db: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A session factory on the worker's database, as a job context would give."""
    engine = create_async_engine(clean_db)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()
