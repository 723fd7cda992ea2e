"""What a chunk is embedded as: its heading path on a line of its own, then its text."""

from __future__ import annotations

import functools
from array import array
from typing import TYPE_CHECKING

from ingest._tokens import LINE_BREAK, ids_after_newline, token_ids_batch

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ingest._types import Chunk

__all__ = ["embedding_text", "embedding_token_ids"]


def embedding_text(heading_path: Sequence[str], text: str) -> str:
    """The text a chunk is embedded as: the heading path gives it the context its text leaves
    implicit."""
    if heading_path:
        return " > ".join(heading_path) + "\n" + text
    return text


def embedding_token_ids(chunk: Chunk) -> array[int]:
    """The ids `TOKENIZER` gives `embedding_text` of `chunk`, made from the chunk's own
    `token_ids` (the heading path is tokenized, once for each path) instead of tokenizing the
    text again."""
    ids = array("i")
    ids.frombytes(chunk.token_ids)
    if not chunk.heading_path:
        return ids
    return array(
        "i",
        [*_heading_ids(chunk.heading_path), LINE_BREAK, *ids_after_newline(chunk.text, ids)],
    )


@functools.lru_cache(maxsize=4096)
def _heading_ids(heading_path: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(token_ids_batch([" > ".join(heading_path)])[0])
