"""Wire schemas of documents, their chunks and search."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal
from uuid import UUID

import msgspec

from server.events import Document, DocumentStatus

if TYPE_CHECKING:
    from server.db.direct import Row
    from server.db.models import Chunk
    from server.db.models import Document as DocumentRow

__all__ = (
    "Document",
    "DocumentChunk",
    "DocumentStatus",
    "SearchHit",
    "SearchMode",
    "SearchRequest",
    "SearchResults",
    "chunk_out",
    "document_out",
)

SearchMode = Literal["keyword", "vector", "hybrid"]


class DocumentChunk(msgspec.Struct):
    """One indexed piece of a document, as search shows it."""

    id: UUID
    ordinal: int
    text: str
    heading_path: list[str]
    page: int | None
    page_end: int | None
    token_count: int
    embedding_space: str | None


class SearchRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A search over one project's documents."""

    project_id: UUID
    query: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    k: Annotated[int, msgspec.Meta(ge=1, le=100)] = 8
    mode: SearchMode = "hybrid"


class SearchHit(msgspec.Struct):
    """A chunk that matched, with its score and where it comes from."""

    chunk_id: UUID
    document_id: UUID | None
    filename: str | None
    text: str
    heading_path: list[str]
    page: int | None
    page_end: int | None
    score: float
    keyword_rank: int | None
    vector_rank: int | None


class SearchResults(msgspec.Struct):
    """Search hits, best first."""

    query: str
    mode: SearchMode
    hits: list[SearchHit]


def document_out(document: DocumentRow | Row) -> Document:
    """The wire form of a document (an object or a row of the driver's: the same columns)."""
    return Document(
        id=document.id,
        project_id=document.project_id,
        filename=document.filename,
        kind=document.kind,
        size_bytes=document.size_bytes,
        sha256=document.sha256,
        status=document.status,  # type: ignore[arg-type]
        error_code=document.error_code,
        error=document.error,
        title=document.title,
        page_count=document.page_count,
        pages_done=document.pages_done,
        chunks_total=document.chunks_total,
        chunks_done=document.chunks_done,
        uploaded_by=document.uploaded_by,
        created_at=document.created_at,
        updated_at=document.updated_at,
        warnings=[str(w) for w in (document.meta or {}).get("warnings", [])],
    )


def chunk_out(chunk: Chunk) -> DocumentChunk:
    """The wire form of a chunk (without its vector)."""
    return DocumentChunk(
        id=chunk.id,
        ordinal=chunk.ordinal,
        text=chunk.text,
        heading_path=list(chunk.heading_path),
        page=chunk.page,
        page_end=chunk.page_end,
        token_count=chunk.token_count,
        embedding_space=chunk.embedding_space,
    )
