"""Wire schemas of documents, their chunks and search."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

DocumentStatus = Literal["uploaded", "processing", "completed", "failed", "cancelled"]
SearchMode = Literal["keyword", "vector", "hybrid"]


class Document(msgspec.Struct):
    """An uploaded document and how far its processing has come."""

    id: UUID
    project_id: UUID
    filename: str
    kind: str
    size_bytes: int
    sha256: str
    status: DocumentStatus
    error_code: str | None
    error: str | None
    title: str | None
    page_count: int | None
    pages_done: int
    chunks_total: int
    chunks_done: int
    uploaded_by: UUID | None
    created_at: datetime
    updated_at: datetime
    warnings: list[str] = msgspec.field(default_factory=list)
    """Sentences about text that could not be read (e.g. PDF pages whose fonts have no usable
    character map); the rest of the document was indexed."""


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
