"""BM25 ranking over posting lists cached in this process, exact against PostgreSQL's.

``bm25_top`` (migration 0006) ranks inside PostgreSQL by adding up every posting of every query
lexeme; a question's common words occur in tens of thousands of chunks of a large project, and
PostgreSQL's executor spends about a microsecond on each posting (plus the aggregation), which
is hundreds of milliseconds per query at 100,000 chunks. Here the same sum is done with numpy
over posting lists kept in memory, and PostgreSQL stays the only source of truth:

- each query first reads its lexemes' term-statistics rows (``bm25_terms``: id, document
  frequency) with their ``xmin``, the transaction that last wrote the row, and the scope's
  totals. Every change to a lexeme's postings also updates its term row in the same transaction
  (the document frequency is part of it), so a cached list whose row still has the same
  ``xmin`` is exactly what the database holds. Rows the searching transaction may have written
  itself are read afresh and not kept, since further writes in it keep the same ``xmin``;
- lists that are missing or stale are read again (one statement for all of them);
- scores are computed exactly as ``bm25_top`` does (`server.documents.bm25`), ties broken by
  chunk id, and the caller checks membership and reads the chunks in SQL as before.

Chunk ids are numbered so that a query's postings are summed with one ``numpy.bincount``. The
cache is bounded (`MAX_POSTINGS`); when it is full it starts again empty, which only costs the
next queries a read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from uuid import UUID

import numpy as np
from sqlalchemy import text

from server.db.direct import fetch

from .bm25 import K1, TEXT_SEARCH_CONFIG, B

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncSession

    from server.db.direct import Row

__all__ = ["MAX_POSTINGS", "PostingCache", "posting_cache", "rank", "rank_scopes"]

MAX_POSTINGS = 4_000_000
"""Postings kept in memory at most: 12 bytes each (about 50 MB), plus each chunk id once
(about 150 bytes). 100,000 chunks of a few sentences hold about 5.5 million postings; a query
needs only its own lexemes' lists."""

_LIST_COLUMNS = """string_agg(uuid_send(p.chunk_id), ''::bytea) AS chunk_ids,
           string_agg(int4send(p.tf), ''::bytea) AS tfs,
           string_agg(int4send(p.length), ''::bytea) AS lengths"""
"""A posting list as three byte strings (16-byte chunk ids, big-endian tf and length): an
array of uuids costs more to decode into Python objects than the ranking takes."""
INLINE_POSTINGS = 256
"""A term row with at most this many postings brings its list with it, in the statement that
reads the term rows: a small project (a conversation's memory, a few documents) is ranked in
one round trip, even right after a write made every cached list stale."""

_TERMS = text(
    f"""
    SELECT s.scope, t.id, t.xmin::text::bigint AS version, q.qtf,
           coalesce(
               (t.xmin::text::bigint - x.top % 4294967296 + 4294967296) % 4294967296
                   < 2147483648,
               false
           ) AS own,
           sum(t.df) OVER (PARTITION BY s.scope, t.lexeme) AS df, totals.n, totals.total_length,
           small.chunk_ids, small.tfs, small.lengths
    FROM (
        SELECT lexeme, coalesce(array_length(positions, 1), 1) AS qtf
        FROM unnest(to_tsvector('{TEXT_SEARCH_CONFIG}', :query))
    ) q
    JOIN bm25_terms t ON t.lexeme = q.lexeme
    JOIN unnest(CAST(:source_types AS text[]), CAST(:scopes AS int[])) s(source_type, scope)
        ON s.source_type = t.source_type
    JOIN (
        SELECT s.scope, sum(b.chunks)::float8 AS n, sum(b.total_length)::float8 AS total_length
        FROM bm25_scopes b
        JOIN unnest(CAST(:source_types AS text[]), CAST(:scopes AS int[])) s(source_type, scope)
            ON s.source_type = b.source_type
        WHERE b.project_id = :project_id
        GROUP BY s.scope
    ) totals ON totals.scope = s.scope
    CROSS JOIN (SELECT pg_current_xact_id_if_assigned()::text::bigint AS top) x
    LEFT JOIN LATERAL (
        SELECT {_LIST_COLUMNS}
        FROM bm25_postings p
        WHERE p.term_id = t.id AND t.df <= {INLINE_POSTINGS}
    ) small ON true
    WHERE t.project_id = :project_id
    ORDER BY s.scope, t.id
    """  # noqa: S608 - constants
)
"""The query's term rows in each scope (a scope is a set of source types ranked together),
with the scope's totals, and the posting list of each row of at most `INLINE_POSTINGS`
postings (its three byte strings, as `_POSTINGS` reads them; null for a longer list); a source
type belongs to one scope at most."""
_ATTEMPTS = 5
"""Reads of the lists before giving up when writers keep changing them in between."""
_POSTINGS = text(
    f"""
    SELECT p.term_id, t.xmin::text::bigint AS version, {_LIST_COLUMNS}
    FROM bm25_postings p
    JOIN bm25_terms t ON t.id = p.term_id
    WHERE p.term_id = ANY(:term_ids)
    GROUP BY p.term_id, t.xmin
    """  # noqa: S608 - constants
)
"""The lists that are longer than `INLINE_POSTINGS` and not cached as they stand."""


@dataclass(frozen=True, slots=True)
class _List:
    """One term row's postings: interned chunk numbers, term frequencies, chunk lengths."""

    version: int
    chunks: np.ndarray
    tf: np.ndarray
    length: np.ndarray


@dataclass
class _Generation:
    """Posting lists by term-statistics row id, and the numbers their chunk ids were given."""

    lists: dict[int, _List] = field(default_factory=dict)
    numbers: dict[bytes, int] = field(default_factory=dict)
    ids: list[bytes] = field(default_factory=list)
    """Chunk ids (their 16 bytes) by number."""
    size: int = 0

    def lookup(self, term_id: int, version: int) -> _List | None:
        """The list of ``term_id`` if it is the one written by transaction ``version``."""
        found = self.lists.get(term_id)
        return found if found is not None and found.version == version else None

    def store(
        self,
        term_id: int,
        version: int,
        chunk_ids: bytes,
        tfs: bytes,
        lengths: bytes,
        *,
        keep: bool = True,
    ) -> _List:
        """The list of ``term_id`` as of ``version``, read by `_POSTINGS`; kept for later
        queries unless ``keep`` is false."""
        numbers = self.numbers
        keys = [chunk_ids[start : start + 16] for start in range(0, len(chunk_ids), 16)]
        found = [numbers.get(key) for key in keys]
        for position, known in enumerate(found):
            if known is None:
                # New to this generation (or seen earlier in this very list).
                key = keys[position]
                number = numbers.get(key)
                if number is None:
                    number = numbers[key] = len(self.ids)
                    self.ids.append(key)
                found[position] = number
        interned = np.array(found, dtype=np.int32)
        count = len(interned)
        entry = _List(
            version,
            interned,
            np.frombuffer(tfs, dtype=">i4").astype(np.int32),
            np.frombuffer(lengths, dtype=">i4").astype(np.int32),
        )
        if keep:
            previous = self.lists.get(term_id)
            self.size += count - (len(previous.chunks) if previous is not None else 0)
            self.lists[term_id] = entry
        return entry


@dataclass
class PostingCache:
    """Posting lists valid for one ``xmin`` of their term-statistics row each, bounded by
    `max_postings`.

    When full it starts a new, empty generation. A query keeps the generation it started with
    until it has summed its lists, so the chunk numbers it adds up always belong together, even
    when a concurrent query starts a new generation meanwhile.
    """

    max_postings: int = MAX_POSTINGS
    _generation: _Generation = field(default_factory=_Generation)

    def generation(self) -> _Generation:
        """The current generation; a new one when the current is over `max_postings` (a query
        may overshoot it by its own lists)."""
        current = self._generation
        if current.size > self.max_postings or len(current.ids) > self.max_postings:
            current = self._generation = _Generation()
        return current


_cache = PostingCache()


def posting_cache() -> PostingCache:
    """The process's posting cache (searches run on the event loop, so it needs no lock)."""
    return _cache


async def rank(
    db: AsyncSession,
    *,
    project_id: UUID,
    source_types: Sequence[str],
    query: str,
    depth: int,
    cache: PostingCache | None = None,
) -> list[tuple[UUID, float]]:
    """The ``depth`` best chunks of the scope by BM25, best first (ties by chunk id): the
    rows ``bm25_top`` returns, computed over cached posting lists."""
    [ranked] = await rank_scopes(
        db, project_id=project_id, scopes=[(source_types, depth)], query=query, cache=cache
    )
    return ranked


async def rank_scopes(
    db: AsyncSession,
    *,
    project_id: UUID,
    scopes: Sequence[tuple[Sequence[str], int]],
    query: str,
    cache: PostingCache | None = None,
) -> list[list[tuple[UUID, float]]]:
    """:func:`rank` for several scopes at once (source types, depth), each ranked apart with
    its own statistics, in one read of the term rows and one of the stale lists."""
    cache = cache or _cache
    params = {
        "project_id": project_id,
        "query": query,
        "source_types": [kind for kinds, _ in scopes for kind in kinds],
        "scopes": [number for number, (kinds, _) in enumerate(scopes) for _ in kinds],
    }
    for _ in range(_ATTEMPTS):
        # Term rows and scope totals come from one snapshot; a list read afterwards is used
        # only if its term row is still the version that snapshot saw.
        terms = await fetch(db, _TERMS, params)
        if not terms:
            return [[] for _ in scopes]
        versions = {row.id: row.version for row in terms}
        # A row this transaction wrote keeps its xmin through further writes until commit:
        # its list is read every time and never kept. Rows are taken for this transaction's
        # when their xmin is not older than its own id (subtransactions, savepoints, come
        # after it), which may include rows of transactions that began later and committed:
        # those are merely read again.
        own = {row.id for row in terms if row.own}
        generation = cache.generation()
        lists: dict[int, _List | None] = {}
        for row in terms:
            if row.chunk_ids is not None:  # a short list, read with its term row
                lists[row.id] = generation.store(
                    row.id, row.version, row.chunk_ids, row.tfs, row.lengths, keep=not row.own
                )
            else:
                lists[row.id] = None if row.own else generation.lookup(row.id, row.version)
        stale = [term_id for term_id, found in lists.items() if found is None]
        if stale:
            for row in await fetch(db, _POSTINGS, {"term_ids": stale}):
                lists[row.term_id] = generation.store(
                    row.term_id,
                    row.version,
                    row.chunk_ids,
                    row.tfs,
                    row.lengths,
                    keep=row.term_id not in own,
                )
        found = {
            term_id: postings
            for term_id, postings in lists.items()
            if postings is not None and postings.version == versions[term_id]
        }
        if len(found) == len(versions):
            break
    else:
        raise RuntimeError("the keyword index kept changing while it was read")
    by_scope: list[list[Row]] = [[] for _ in scopes]
    for row in terms:
        by_scope[row.scope].append(row)
    return [
        _ranked(rows, found, generation, depth)
        for rows, (_, depth) in zip(by_scope, scopes, strict=True)
    ]


def _ranked(
    terms: list[Row], found: dict[int, _List], generation: _Generation, depth: int
) -> list[tuple[UUID, float]]:
    """The ``depth`` best chunks of one scope from its term rows and their lists."""
    if not terms or not terms[0].n or not terms[0].total_length:
        return []
    n, avgdl = float(terms[0].n), float(terms[0].total_length) / float(terms[0].n)
    parts: list[np.ndarray] = []
    keys: list[np.ndarray] = []
    for row in terms:
        postings = found[row.id]
        # Lucene's idf over the scopes searched, times how often the lexeme is in the query.
        df = float(row.df)
        weight = row.qtf * math.log(1 + (n - df + 0.5) / (df + 0.5))
        tf = postings.tf
        parts.append(weight * tf / (tf + K1 * (1 - B + B * postings.length / avgdl)))
        keys.append(postings.chunks)
    numbers = np.concatenate(keys)
    scores = np.bincount(numbers, weights=np.concatenate(parts))
    # Every weight is positive (Lucene's idf is), so the chunks with a posting are the nonzero.
    present = np.flatnonzero(scores)
    if len(present) > depth:
        # Everything at or above the depth-th best score, so that ties are broken by id.
        cut = np.partition(scores[present], len(present) - depth)[len(present) - depth]
        present = present[scores[present] >= cut]
    # Byte order is uuid order (PostgreSQL compares uuids byte by byte).
    ranked = sorted(
        ((float(scores[number]), generation.ids[int(number)]) for number in present),
        key=lambda pair: (-pair[0], pair[1]),
    )
    return [(UUID(bytes=chunk_id), score) for score, chunk_id in ranked[:depth]]
