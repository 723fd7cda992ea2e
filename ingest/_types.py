"""Data shapes shared by the parsers and the chunker (msgspec Structs, immutable)."""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = [
    "Block",
    "BlockKind",
    "Chunk",
    "ChunkKind",
    "ChunkOptions",
    "DocumentKind",
    "Limits",
    "ParsedDocument",
    "Progress",
    "Table",
]

DocumentKind = Literal["pdf", "docx", "markdown"]
BlockKind = Literal[
    "heading", "paragraph", "list_item", "table", "code", "header", "footer", "footnote"
]
ChunkKind = Literal["text", "table", "code"]

_MIB = 1024 * 1024


class Table(msgspec.Struct, frozen=True):
    """A table as cell text: the header row, then the body rows."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...] = ()


class Block(msgspec.Struct, frozen=True):
    """One structural unit of a document, in reading order.

    `level` is the heading level (1 = top) for headings and the nesting depth (0 = top) for
    list items, 0 otherwise. `heading_path` holds the titles of the enclosing headings; for a
    heading it ends with the heading itself. `page` is 1-based and set for PDFs only.
    """

    kind: BlockKind
    text: str
    level: int = 0
    heading_path: tuple[str, ...] = ()
    page: int | None = None
    table: Table | None = None
    language: str | None = None


class ParsedDocument(msgspec.Struct, frozen=True):
    """A parsed document: its blocks in reading order plus what the file says about itself.

    `warnings` are sentences for the uploader about text that could not be read (e.g. PDF
    pages whose fonts have no usable character map); the rest of the document was read.
    `chunks` are its blocks cut by `chunk`, when the parser process was asked to cut them
    (`ParsePool.parse` with `chunking`), else None.
    """

    kind: DocumentKind
    title: str | None
    metadata: dict[str, str]
    page_count: int | None
    blocks: tuple[Block, ...]
    warnings: tuple[str, ...] = ()
    chunks: tuple[Chunk, ...] | None = None


class Chunk(msgspec.Struct, frozen=True):
    """A retrievable piece of a document; `text` is what a search result shows.

    `token_ids` are the tokenizer's ids of `text` (`TOKENIZER`, as `array("i")` bytes; empty
    when not known): an embedder of the same tokenizer embeds them without tokenizing the
    text again (`embedding_token_ids`).
    """

    ordinal: int
    text: str
    heading_path: tuple[str, ...]
    page: int | None
    page_end: int | None
    token_count: int
    kind: ChunkKind
    token_ids: bytes = b""


class Progress(msgspec.Struct, frozen=True):
    """Parsing progress: pages done out of `page_count` (PDF), blocks produced so far."""

    pages_done: int
    page_count: int | None
    blocks_done: int


class ChunkOptions(msgspec.Struct, frozen=True):
    """How documents are cut into chunks; token counts use the tokenizer in `count_tokens`.

    target_tokens: chunks are filled with whole blocks up to this size.
    overlap_tokens: when a section continues in the next chunk, that chunk starts with up to
        this many tokens of whole sentences from the end of the previous one.
    max_tokens: hard ceiling; a block larger than this is split (sentences, then words; code
        by lines; tables by rows with the header row repeated).
    """

    target_tokens: int = 350
    overlap_tokens: int = 50
    max_tokens: int = 512

    def __post_init__(self) -> None:
        if not 0 < self.target_tokens <= self.max_tokens:
            raise ValueError("ChunkOptions needs 0 < target_tokens <= max_tokens")
        if not 0 <= self.overlap_tokens < self.target_tokens:
            raise ValueError("ChunkOptions needs 0 <= overlap_tokens < target_tokens")


class Limits(msgspec.Struct, frozen=True):
    """Resource limits for one document.

    max_bytes: file size; larger files are refused as `too_large`.
    max_pages: PDF page count ceiling.
    max_zip_entries / max_unzipped_bytes / max_zip_ratio: DOCX archive checks made on the
        ZIP directory before anything is decompressed (zip bombs).
    timeout_s: wall-clock time for parsing one document.
    memory_bytes: address-space ceiling of the isolated parser process.
    """

    max_bytes: int = 50 * _MIB
    max_pages: int = 5000
    max_zip_entries: int = 5000
    max_unzipped_bytes: int = 512 * _MIB
    max_zip_ratio: int = 200
    timeout_s: float = 120.0
    memory_bytes: int = 2048 * _MIB
