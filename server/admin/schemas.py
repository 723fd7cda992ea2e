"""Wire schemas of the admin endpoints."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec


class QueueKind(msgspec.Struct):
    """The queue of one kind of job."""

    kind: str
    queued: int
    running: int
    oldest_queued_at: datetime | None
    """When the job waiting longest was queued."""
    failed_in_window: int


class StuckJob(msgspec.Struct):
    """A queued or running job whose deadline (its lease) has passed: it is lost until swept."""

    id: UUID
    kind: str
    status: str
    attempts: int
    deadline_at: datetime
    overdue_s: float
    last_error: str | None


class ChatTurns(msgspec.Struct):
    """Chat turns owed an answer (``chat_turns``), and the replies interrupted by a dead
    instance over the window."""

    waiting: int
    """Queued behind another turn of their session."""
    answering: int
    """Being answered under a live lease."""
    expired: int
    """Running past their lease: their instance died; a sweep takes them over within half a
    lease. One listed for long means no instance is sweeping."""
    oldest_at: datetime | None
    interrupted_in_window: int


class EmbeddingSpaceCount(msgspec.Struct):
    """How many chunks have vectors of one embedding space (``null``: no vector)."""

    space: str | None
    chunks: int
    configured: bool


class Embeddings(msgspec.Struct):
    """Chunks per embedding space, and whether spaces are mixed."""

    configured_space: str
    spaces: list[EmbeddingSpaceCount]
    foreign_chunks: int
    """Chunks with a vector of another space than the configured one (search cannot use them)."""
    mixed_projects: int
    """Projects whose chunks have vectors of more than one space."""


class Orphans(msgspec.Struct):
    """What ``assistant documents check`` would report now."""

    files_without_document: list[str]
    documents_without_file: list[str]


class HnswIndex(msgspec.Struct):
    """One partial HNSW index of the chunks table."""

    name: str
    space: str | None
    size_bytes: int


class Instance(msgspec.Struct):
    """The server process that answered: its open WebSockets and the sessions they joined."""

    id: str
    websocket_connections: int
    sessions: int
    users: int
    seen_at: datetime
    """When these counts were taken (another instance's last heartbeat)."""


class ProviderHealth(msgspec.Struct):
    """One provider: its cool-down, and its calls and failures in the window."""

    provider: str
    cooldown_s: float
    calls: int
    failed: int
    error_rate: float
    errors_by_kind: dict[str, int]


class Pool(msgspec.Struct):
    """The database connection pool of the answering instance."""

    size: int
    checked_out: int
    overflow: int
    max_overflow: int
    status: str


class Diagnostics(msgspec.Struct):
    """Everything an operator looks at when the assistant misbehaves."""

    generated_at: datetime
    window_s: int
    """The span error rates and failed jobs are counted over."""
    queue: list[QueueKind]
    stuck_jobs: list[StuckJob]
    chat_turns: ChatTurns
    documents_by_status: dict[str, int]
    embeddings: Embeddings
    orphans: Orphans
    hnsw_indexes: list[HnswIndex]
    instance: Instance
    """The instance that answered."""
    instances: list[Instance]
    """Every live instance (with ``REDIS_URL``; else only this one), this one first."""
    providers: list[ProviderHealth]
    database_pool: Pool
