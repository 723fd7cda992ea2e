"""Structure-first chunking of a parsed document.

Defaults (`ChunkOptions`): target 350 tokens, overlap 50 tokens, hard maximum 512 tokens,
counted with the offline Llama-2 tokenizer (`count_tokens`).

Rules, in order of precedence:

1. Sections (a heading and what follows it until the next heading) are the units of
   meaning: a chunk starts at each heading, except that consecutive sections under the same
   top-level heading are merged while the result stays within `target_tokens`, and a chunk
   holding only headings is carried into the next section (no heading-only chunks). Headers,
   footers and footnotes form sections of their own.
2. Blocks are kept whole and packed in order up to `target_tokens`. A block larger than
   `max_tokens` is split: prose at sentence ends, code by lines (each piece re-fenced),
   tables by rows with the header row repeated in every piece.
3. When a section continues into the next chunk, that chunk begins with up to
   `overlap_tokens` of whole sentences from the end of the previous chunk.

A chunk's text is the document's own text (headings as plain lines, list items as
"- item", tables as Markdown pipe tables, code fenced); `heading_path` is the path of its
section (the common path when sections were merged), `page`/`page_end` the first and last
PDF page it draws from.
"""

from __future__ import annotations

import itertools
from array import array
from typing import TYPE_CHECKING

import msgspec

from ingest._split import split_code, split_sentences, split_table, split_text
from ingest._structure import render_table
from ingest._tokens import (
    LINE_BREAK,
    count_tokens_batch,
    ids_after_newline,
    token_ids_batch,
    tokens_remembered,
)
from ingest._types import Block, Chunk, ChunkKind, ChunkOptions

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ingest._types import ParsedDocument

__all__ = ["chunk"]

_FURNITURE = frozenset({"header", "footer", "footnote"})
_LINES = frozenset({"table", "code"})  # blocks split by lines rather than sentences
_SEPARATOR_TOKENS = 2  # "\n\n" between pieces


class _Piece(msgspec.Struct):
    text: str
    tokens: int
    kind: str  # a BlockKind, or "overlap"
    page: int | None
    block: int  # index of the source block; pieces of one block rejoin with a space


class _Section(msgspec.Struct):
    path: tuple[str, ...]
    group: str  # "body" or a furniture kind; sections of different groups never merge
    blocks: list[Block]


def chunk(document: ParsedDocument, options: ChunkOptions | None = None) -> list[Chunk]:
    """Cut `document` into chunks along its structure (see the module docstring)."""
    with tokens_remembered():
        return _chunk(document, options)


def _chunk(document: ParsedDocument, options: ChunkOptions | None) -> list[Chunk]:
    options = options or ChunkOptions()
    packer = _Packer(options)
    sections = list(_sections(document.blocks))
    blocks = [block for section in sections for block in section.blocks]
    texts = [_render(block) for block in blocks]
    counts = iter(_count_blocks(blocks, texts))
    rendered = iter(texts)
    number = 0
    for section in sections:
        pieces: list[_Piece] = []
        for block in section.blocks:
            pieces.extend(_pieces(block, number, next(rendered), next(counts), options))
            number += 1
        packer.add_section(section, pieces)
    return packer.finish()


def _sections(blocks: tuple[Block, ...]) -> Iterator[_Section]:
    current: _Section | None = None
    for block in blocks:
        group = block.kind if block.kind in _FURNITURE else "body"
        if current is None or block.kind == "heading" or group != current.group:
            if current is not None:
                yield current
            current = _Section(block.heading_path, group, [])
        current.blocks.append(block)
    if current is not None:
        yield current


def _count_blocks(blocks: list[Block], texts: list[str]) -> list[int]:
    """Token counts of the blocks' rendered `texts`, in one call into the tokenizer.

    Prose made of sentences joined by single spaces is tokenized sentence by sentence, and its
    count is their sum: the same number, since no token of the vocabulary spans a space
    between two words (a sentence tokenized alone is given the space in front of it). The
    sentences' ids are then remembered for when the block is split at sentences, its last
    sentences begin the next chunk, and a chunk's ids are put together, which tokenize
    nothing again.
    """
    parts = [
        [text] if block.kind in _LINES else _parts(text)
        for block, text in zip(blocks, texts, strict=True)
    ]
    counts = iter(count_tokens_batch([part for group in parts for part in group]))
    return [sum(itertools.islice(counts, len(group))) for group in parts]


def _parts(text: str) -> list[str]:
    """What `text` is tokenized as: its sentences when it is prose made of sentences joined by
    single spaces, else the whole text."""
    sentences = split_sentences(text)
    return sentences if len(sentences) > 1 and " ".join(sentences) == text else [text]


def _render(block: Block) -> str:
    if block.kind == "list_item":
        return f"{'  ' * block.level}- {block.text}"
    if block.kind == "code":
        return f"```{block.language or ''}\n{block.text}\n```"
    if block.table is not None:
        return render_table(block.table.header, block.table.rows)
    return block.text


def _pieces(
    block: Block, number: int, text: str, tokens: int, options: ChunkOptions
) -> list[_Piece]:
    if tokens <= options.max_tokens:
        return [_Piece(text, tokens, block.kind, block.page, number)]
    budget = options.target_tokens
    if block.kind == "table" and block.table is not None:
        parts = split_table(block.table.header, block.table.rows, budget)
    elif block.kind == "code":
        parts = split_code(block.text, block.language, budget)
    else:
        parts = split_text(text, budget)
    return [_Piece(part, count, block.kind, block.page, number) for part, count in parts]


def _common_path(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    length = 0
    for left, right in zip(a, b, strict=False):
        if left != right:
            break
        length += 1
    return a[:length]


class _Packer:
    def __init__(self, options: ChunkOptions) -> None:
        self._options = options
        self._pieces: list[_Piece] = []
        self._tokens = 0
        self._path: tuple[str, ...] = ()
        self._group = ""
        self._done: list[tuple[str, tuple[str, ...], list[_Piece]]] = []

    def add_section(self, section: _Section, pieces: list[_Piece]) -> None:
        if not pieces:
            return
        total = sum(p.tokens for p in pieces) + _SEPARATOR_TOKENS * len(pieces)
        if self._pieces and section.group == self._group:
            only_headings = all(p.kind == "heading" for p in self._pieces)
            shared = _common_path(self._path, section.path)
            fits = self._tokens + total <= self._options.target_tokens
            if only_headings and self._tokens + pieces[0].tokens <= self._options.max_tokens:
                self._path = section.path
            elif fits and (shared or not (self._path or section.path)):
                self._path = shared
            else:
                self._flush()
        else:
            self._flush()
        if not self._pieces:
            self._path = section.path
            self._group = section.group
        for piece in pieces:
            self._add(piece)

    def _add(self, piece: _Piece) -> None:
        options = self._options
        cost = piece.tokens + (_SEPARATOR_TOKENS if self._pieces else 0)
        # A heading stays with what follows it as long as the hard ceiling allows.
        headings_only = all(p.kind == "heading" for p in self._pieces)
        limit = options.max_tokens if headings_only else options.target_tokens
        if self._pieces and self._tokens + cost > limit:
            overlap = self._overlap()
            self._flush()
            if overlap is not None and overlap.tokens + piece.tokens <= options.max_tokens:
                self._pieces.append(overlap)
                self._tokens = overlap.tokens
            cost = piece.tokens + (_SEPARATOR_TOKENS if self._pieces else 0)
        self._pieces.append(piece)
        self._tokens += cost

    def _overlap(self) -> _Piece | None:
        """Whole trailing sentences of the last prose piece, within `overlap_tokens`."""
        budget = self._options.overlap_tokens
        last = self._pieces[-1]
        if budget <= 0 or last.kind not in ("paragraph", "list_item", "footnote"):
            return None
        sentences = split_sentences(last.text)
        counts = count_tokens_batch(sentences)
        taken: list[str] = []
        size = 0
        for sentence, tokens in zip(reversed(sentences), reversed(counts), strict=True):
            # Joined by spaces, sentences take what they take alone (see `_count_blocks`).
            if size + tokens > budget:
                break
            taken.append(sentence)
            size += tokens
        if not taken or (len(taken) == len(sentences) and len(self._pieces) == 1):
            return None  # the overlap would repeat the whole previous chunk
        return _Piece(" ".join(reversed(taken)), size, "overlap", last.page, last.block)

    def _flush(self) -> None:
        if self._pieces and any(p.kind != "overlap" for p in self._pieces):
            self._done.append((self._group, self._path, self._pieces))
        self._pieces = []
        self._tokens = 0

    def finish(self) -> list[Chunk]:
        self._flush()
        separators = [_separators(pieces) for _, _, pieces in self._done]
        texts = [
            _join(pieces, between)
            for (_, _, pieces), between in zip(self._done, separators, strict=True)
        ]
        token_ids = _chunk_token_ids([pieces for _, _, pieces in self._done], separators, texts)
        chunks: list[Chunk] = []
        for ordinal, ((_, path, pieces), text, ids) in enumerate(
            zip(self._done, texts, token_ids, strict=True)
        ):
            pages = [p.page for p in pieces if p.page is not None]
            chunks.append(
                Chunk(
                    ordinal=ordinal,
                    text=text,
                    heading_path=path,
                    page=min(pages) if pages else None,
                    page_end=max(pages) if pages else None,
                    token_count=len(ids),
                    kind=_chunk_kind(pieces),
                    token_ids=array("i", ids).tobytes(),
                )
            )
        return chunks


def _separators(pieces: list[_Piece]) -> list[str]:
    """What goes between consecutive pieces: a blank line between blocks, a line break
    between consecutive list items, a space between sentences of one split paragraph
    (overlap included)."""
    separators: list[str] = []
    for previous, piece in itertools.pairwise(pieces):
        if previous.block == piece.block and piece.kind not in _LINES:
            separators.append(" ")
        elif previous.kind == piece.kind == "list_item":
            separators.append("\n")
        else:
            separators.append("\n\n")
    return separators


def _join(pieces: list[_Piece], separators: list[str]) -> str:
    rest = (separator + piece.text for separator, piece in zip(separators, pieces[1:], strict=True))
    return pieces[0].text + "".join(rest)


def _chunk_token_ids(
    chunks: list[list[_Piece]], separators: list[list[str]], texts: list[str]
) -> list[list[int]]:
    """The token ids of each chunk's text, put together from its pieces' ids.

    No token of the vocabulary spans a space after a word or a line break, so a text's ids are
    its parts' ids, cut there: a piece after a space has the ids it has alone (its first word
    takes the space as its word boundary); after a line break, each break is a token and the
    piece's first word has no word boundary in front of it (`ids_after_newline`). A chunk with
    table rows or code lines is tokenized whole: the pieces a long table or code block is
    split into are not tokenized as they stand.
    """
    whole = [i for i, pieces in enumerate(chunks) if any(p.kind in _LINES for p in pieces)]
    tokenized = dict(zip(whole, token_ids_batch([texts[i] for i in whole]), strict=True))
    result: list[list[int]] = []
    for number, (pieces, between) in enumerate(zip(chunks, separators, strict=True)):
        if number in tokenized:
            result.append(tokenized[number])
            continue
        ids = _piece_ids(pieces[0].text)
        for piece, separator in zip(pieces[1:], between, strict=True):
            if separator == " ":
                ids.extend(_piece_ids(piece.text))
            else:
                ids.extend([LINE_BREAK] * separator.count("\n"))
                ids.extend(ids_after_newline(piece.text, _piece_ids(piece.text)))
        result.append(ids)
    return result


def _piece_ids(text: str) -> list[int]:
    """A piece's ids, from its parts' (`_parts`): all remembered by the time a chunk is put
    together."""
    return list(itertools.chain.from_iterable(token_ids_batch(_parts(text))))


def _chunk_kind(pieces: list[_Piece]) -> ChunkKind:
    content = {p.kind for p in pieces if p.kind not in ("heading", "overlap")}
    if content == {"table"}:
        return "table"
    if content == {"code"}:
        return "code"
    return "text"
