"""Search over a project's chunks (keyword, vector, hybrid) and checked citations.

This is the one search of the server: REST search, chat replies and phase drafting all call
`search`. Access control lives in the SQL: nothing is read unless the caller is a member of
the project, so a caller who is not gets no rows, whatever the code around it does.

Keyword search is BM25 over term statistics PostgreSQL keeps exact as chunks come and go
(`server.documents.bm25`, migration 0006), ranked over posting lists this process keeps for
as long as their term rows are unchanged (`server.documents.postings`). Vector search is
cosine similarity over the embedding space's HNSW index (`server.documents.index`). Hybrid
search fuses the two top lists (`server.documents.fusion`) in one statement, and only the
fused top ``k`` rows (with their text) leave the database.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Literal
from uuid import UUID

import msgspec
from sqlalchemy import text

from providers import MARKER, Passage, embedding_space, quote_holds
from server.db.direct import fetch
from server.events import Citation

from . import bm25, postings
from .bm25 import keyword_ctes
from .fusion import DEFAULT_FUSION, Fusion, fusion_for, fusion_params, fusion_sql
from .index import ef_search, space_literal, vector_expr

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncSession

    from providers import Embedder

Mode = Literal["keyword", "vector", "hybrid"]
SourceType = Literal["document", "phase", "message"]

MIN_DEPTH = 50
"""Each ranked list fused into a hybrid result is at least this long (and at least 4·k)."""


class Hit(msgspec.Struct, frozen=True):
    """A chunk that matched a search, with where it comes from."""

    chunk_id: UUID
    project_id: UUID
    source_type: str
    text: str
    heading_path: list[str]
    page: int | None
    page_end: int | None
    score: float
    created_at: datetime
    document_id: UUID | None = None
    filename: str | None = None
    message_id: UUID | None = None
    phase_number: int | None = None
    keyword_rank: int | None = None
    vector_rank: int | None = None


_FROM = """
    FROM chunks c
    JOIN project_members m ON m.project_id = c.project_id AND m.user_id = :user_id
    LEFT JOIN documents d ON d.id = c.document_id
"""
_WHERE = """
    WHERE c.project_id = :project_id
      AND c.source_type = ANY(:source_types)
      AND (c.document_id IS NULL OR d.status = 'completed')
"""


def _vector_cte(space: str) -> str:
    # The inner ORDER BY ... LIMIT is what the HNSW index serves; ranks are numbered after it.
    expr = vector_expr(space, "c.embedding")
    dims = expr.rsplit("(", 1)[-1].rstrip(")")
    return f"""
    SELECT id, row_number() OVER (ORDER BY distance, id) AS rank, 1 - distance AS score
    FROM (
        SELECT c.id, {expr} <=> CAST(CAST(:query_vector AS real[]) AS vector({dims})) AS distance
        {_FROM}
        {_WHERE}
          AND c.embedding_space = {space_literal(space)}
        ORDER BY distance
        LIMIT :depth
    ) nearest
    """  # noqa: S608 - constants and a checked space name only


_OUTPUT = """
    SELECT c.id AS chunk_id, c.project_id, c.source_type, c.text, c.heading_path, c.page,
           c.page_end, c.created_at, c.document_id, d.filename, c.message_id, c.phase_number,
           r.score, r.keyword_rank, r.vector_rank
    FROM ranked r
    JOIN chunks c ON c.id = r.id
    LEFT JOIN documents d ON d.id = c.document_id
    ORDER BY r.score DESC, c.id
    LIMIT :k
"""


def search_sql(mode: Mode, space: str | None, fusion: Fusion = DEFAULT_FUSION) -> str:
    """The statement for ``mode``; ``space`` is required for vector and hybrid."""
    if mode == "keyword":
        return f"""
        WITH {keyword_ctes()},
        ranked AS (SELECT id, score, rank AS keyword_rank, NULL::bigint AS vector_rank FROM kw)
        {_OUTPUT}"""  # noqa: S608 - constants and a checked space name only
    if space is None:
        raise ValueError(f"{mode} search needs an embedding space")
    if mode == "vector":
        return f"""
        WITH vec AS ({_vector_cte(space)}),
        ranked AS (SELECT id, score, NULL::bigint AS keyword_rank, rank AS vector_rank FROM vec)
        {_OUTPUT}"""  # noqa: S608 - constants and a checked space name only
    return f"""
    WITH {keyword_ctes()},
    vec AS ({_vector_cte(space)}),
    ranked AS (
        SELECT coalesce(kw.id, vec.id) AS id,
               {fusion_sql(fusion)} AS score,
               kw.rank AS keyword_rank, vec.rank AS vector_rank
        FROM kw FULL OUTER JOIN vec ON kw.id = vec.id
        CROSS JOIN (SELECT max(score) AS top FROM kw) kw_top
        CROSS JOIN (SELECT max(score) AS top, min(score) AS bottom FROM vec) vec_span
    )
    {_OUTPUT}"""  # noqa: S608 - constants and a checked space name only


async def search(
    db: AsyncSession,
    *,
    user_id: UUID,
    project_id: UUID,
    query: str,
    k: int = 8,
    mode: Mode = "hybrid",
    embedder: Embedder | None = None,
    source_types: Sequence[SourceType] = ("document",),
    fusion: Fusion | None = None,
) -> list[Hit]:
    """The ``k`` best chunks of ``project_id`` for ``query``, visible to ``user_id`` only.

    ``keyword`` ranks by BM25 (the query stemmed, stop words dropped; any term may match);
    ``vector`` by cosine similarity in the embedder's space; ``hybrid`` (default) fuses both
    as ``fusion`` says (by default, the fusion tuned for the embedder's model,
    `server.documents.fusion.fusion_for`). Chunks of documents that are not completed are
    never returned.
    """
    [hits] = await search_scopes(
        db,
        user_id=user_id,
        project_id=project_id,
        query=query,
        scopes=[(source_types, k)],
        mode=mode,
        embedder=embedder,
        fusion=fusion,
    )
    return hits


_SCOPED = re.compile(r":(source_types|kw_ids|kw_scores|depth|k)\b")
"""The parameters of `search_sql` that differ between the scopes of `search_scopes`."""


def scoped_search_sql(mode: Mode, space: str | None, fusion: Fusion, scopes: int) -> str:
    """`search_sql` once a scope, each branch with a ``scope`` column (its number) and its own
    parameters (``:k_0``, ``:source_types_1``, …), joined by ``UNION ALL``."""
    single = search_sql(mode, space, fusion)
    return " UNION ALL ".join(
        f"(SELECT {number} AS scope, scoped.* FROM ("  # noqa: S608 - our own statement
        + _SCOPED.sub(rf":\1_{number}", single)
        + ") scoped)"
        for number in range(scopes)
    )


async def search_scopes(
    db: AsyncSession,
    *,
    user_id: UUID,
    project_id: UUID,
    query: str,
    scopes: Sequence[tuple[Sequence[SourceType], int]],
    mode: Mode = "hybrid",
    embedder: Embedder | None = None,
    fusion: Fusion | None = None,
) -> list[list[Hit]]:
    """:func:`search` in several scopes at once (source types, ``k``), each ranked apart: one
    statement (one ``UNION ALL`` branch a scope) and one keyword ranking for all of them."""
    if not query.strip():
        return [[] for _ in scopes]
    depths = [max(MIN_DEPTH, 4 * k) for _, k in scopes]
    params: dict[str, object] = {
        "user_id": user_id,
        "project_id": project_id,
        "query": query,
    }
    for number, ((source_types, k), depth) in enumerate(zip(scopes, depths, strict=True)):
        params |= {
            f"source_types_{number}": list(source_types),
            f"k_{number}": k,
            f"depth_{number}": depth,
        }
    if mode != "vector" and bm25.RANKING == "memory":
        rankings = await postings.rank_scopes(
            db,
            project_id=project_id,
            scopes=[
                (source_types, depth)
                for (source_types, _), depth in zip(scopes, depths, strict=True)
            ],
            query=query,
        )
        for number, ranked in enumerate(rankings):
            params[f"kw_ids_{number}"] = [chunk_id for chunk_id, _ in ranked]
            params[f"kw_scores_{number}"] = [score for _, score in ranked]
    space = None
    if mode != "keyword":
        if embedder is None:
            raise ValueError(f"{mode} search needs an embedder")
        space = embedding_space(embedder)
        [vector] = await embedder.embed([query])
        params["query_vector"] = list(vector)  # sent as binary real[]
        ef = ef_search(max(depths))
        if ef is not None:
            raise_ef = text("SELECT set_config('hnsw.ef_search', :ef, true)")
            await db.execute(raise_ef, {"ef": str(ef)})
    fusion = fusion or fusion_for(space)
    params |= fusion_params(fusion)
    found: list[list[Hit]] = [[] for _ in scopes]
    statement = scoped_search_sql(mode, space, fusion, len(scopes))
    for row in await fetch(db, text(statement), params):
        found[row.scope].append(
            Hit(
                chunk_id=row.chunk_id,
                project_id=row.project_id,
                source_type=row.source_type,
                text=row.text,
                heading_path=list(row.heading_path or ()),
                page=row.page,
                page_end=row.page_end,
                score=float(row.score),
                created_at=row.created_at,
                document_id=row.document_id,
                filename=row.filename,
                message_id=row.message_id,
                phase_number=row.phase_number,
                keyword_rank=row.keyword_rank,
                vector_rank=row.vector_rank,
            )
        )
    # A branch's rows come in its own order (score, then id); sorted again, not relied upon.
    return [sorted(hits, key=lambda hit: (-hit.score, hit.chunk_id)) for hits in found]


async def recall(
    db: AsyncSession,
    *,
    user_id: UUID,
    project_id: UUID,
    query: str,
    embedder: Embedder | None,
    documents: int,
    messages: int,
    exclude_messages: set[UUID],
) -> list[Hit]:
    """Passages for a reply or a draft: the project's documents, best first, then earlier
    messages recalled by meaning (any session, months old) that are not in
    ``exclude_messages`` (those already in the prompt).

    Documents and messages are searched apart (two scopes of one search): in one list, a long
    conversation repeating the query's words would push every document out of the top.
    """
    found, said = await search_scopes(
        db,
        user_id=user_id,
        project_id=project_id,
        query=query,
        scopes=[(("document",), documents), (("message",), messages + len(exclude_messages))],
        embedder=embedder,
    )
    recalled = [h for h in said if h.message_id not in exclude_messages]
    return [*found[:documents], *recalled[:messages]]


def source_label(hit: Hit) -> str:
    """How a reply names a hit: ``plan.pdf, p. 3, Market > Size``, ``conversation, 2026-03-02``."""
    if hit.source_type == "message":
        return f"conversation, {hit.created_at.date().isoformat()}"
    if hit.source_type == "phase":
        return f"phase {hit.phase_number}"
    parts = [hit.filename or "document"]
    if hit.page is not None:
        pages = f"{hit.page}-{hit.page_end}" if hit.page_end not in (None, hit.page) else hit.page
        parts.append(f"p. {pages}")
    if hit.heading_path:
        parts.append(" > ".join(hit.heading_path))
    return ", ".join(str(p) for p in parts)


def passages(hits: Sequence[Hit]) -> list[Passage]:
    """The hits as passages for a reply, citable as ``S1``..``Sn`` in order."""
    return [
        Passage(
            ref=f"S{n}",
            text=hit.text,
            source=source_label(hit),
            document_id=str(hit.document_id) if hit.document_id else None,
            chunk_id=str(hit.chunk_id),
            message_id=str(hit.message_id) if hit.message_id else None,
            page=hit.page,
            score=hit.score,
        )
        for n, hit in enumerate(hits, start=1)
    ]


def cite(reply: str, sources: Sequence[Passage]) -> list[Citation]:
    """The passages a reply cites as ``[S<n>]``, once each, in order of first use.

    A marker naming no passage is dropped, and so is one vouching for a quotation (the last
    one of its sentence, since the previous marker on its line) whose words are not in the
    cited passage: the reply quoted something its source does not say. Whitespace is
    normalised on both sides; anything else must match exactly. This is the one citation
    check: the replies store what it keeps, and ``providers.CitationKeeper`` applies the
    same rule to replies as they stream, so what it lets through is all kept here.
    """
    by_ref = {p.ref: p for p in sources}
    found: list[Citation] = []
    seen: set[str] = set()
    for line in reply.splitlines():
        start = 0
        for marker in MARKER.finditer(line):
            ref = marker.group(1)
            segment = line[start : marker.start()]
            start = marker.end()
            passage = by_ref.get(ref)
            if passage is None or ref in seen or not quote_holds(segment, passage):
                continue
            seen.add(ref)
            found.append(
                Citation(
                    ref=ref,
                    source=passage.source,
                    document_id=UUID(passage.document_id) if passage.document_id else None,
                    chunk_id=UUID(passage.chunk_id) if passage.chunk_id else None,
                    page=passage.page,
                    message_id=UUID(passage.message_id) if passage.message_id else None,
                )
            )
    return found
