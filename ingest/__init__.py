"""Document pipeline: sniff a file's type from its bytes, parse PDF, DOCX and Markdown into
structured blocks, chunk them along that structure. Pure functions, no web or database imports.

Typical use in a worker::

    kind = sniff(data, filename)                      # IngestError("unsupported_type") -> 415
    document = parse_isolated(data, kind, Limits(), progress=report, should_cancel=event)
    chunks = chunk(document, ChunkOptions())          # 350-token target, 50 overlap, 512 max

Every failure is an `IngestError` with a stable `code` (see `ErrorCode`) and a message for
the user. Chunking defaults (see `ChunkOptions` and ingest/README.md): target 350 tokens,
overlap 50 tokens, hard maximum 512 tokens, counted with the offline Llama-2 tokenizer that
WordLlama ships.
"""

from ingest._chunk import chunk
from ingest._embedding import embedding_text, embedding_token_ids
from ingest._errors import ErrorCode, IngestError
from ingest._isolated import parse_isolated
from ingest._parse import parse
from ingest._pool import ParsePool
from ingest._sniff import sniff
from ingest._tokens import TOKENIZER, count_tokens, count_tokens_batch
from ingest._types import (
    Block,
    BlockKind,
    Chunk,
    ChunkKind,
    ChunkOptions,
    DocumentKind,
    Limits,
    ParsedDocument,
    Progress,
    Table,
)

__all__ = [
    "TOKENIZER",
    "Block",
    "BlockKind",
    "Chunk",
    "ChunkKind",
    "ChunkOptions",
    "DocumentKind",
    "ErrorCode",
    "IngestError",
    "Limits",
    "ParsePool",
    "ParsedDocument",
    "Progress",
    "Table",
    "chunk",
    "count_tokens",
    "count_tokens_batch",
    "embedding_text",
    "embedding_token_ids",
    "parse",
    "parse_isolated",
    "sniff",
]
