"""Offline, deterministic token counting with the Llama-2 tokenizer that WordLlama ships.

The tokenizer file comes from the installed `wordllama` package (no network, no model hub) and
is loaded once per process. Counts exclude special tokens (no BOS/EOS).
"""

from __future__ import annotations

import functools
import json
import os
from contextlib import contextmanager
from contextvars import ContextVar
from importlib import resources
from typing import TYPE_CHECKING

from tokenizers import Tokenizer

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

__all__ = ["count_tokens", "count_tokens_after_newline", "count_tokens_batch", "counts_remembered"]

_TOKENIZER_FILE = "l2_supercat_tokenizer_config.json"

# The tokenizer's batches run on a Rayon thread pool with a thread per core. Ingest already
# runs documents in parallel (parser processes, worker threads), and handing a chunk's few
# texts to that pool costs more than counting them: on 2 cores it tripled the chunker's wall
# time. An operator's own setting wins.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Counts already made while cutting one document (see `counts_remembered`).
_remembered: ContextVar[dict[str, int] | None] = ContextVar("token_counts", default=None)


@functools.cache
def _tokenizer() -> Tokenizer:
    path = resources.files("wordllama").joinpath("tokenizers", _TOKENIZER_FILE)
    with resources.as_file(path) as file:
        tokenizer = Tokenizer.from_file(str(file))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


@functools.cache
def _tokenizer_after_newline() -> Tokenizer:
    """The tokenizer without the normalizer step that puts a word boundary in front of a
    text: how a text is cut where it follows a line break inside a longer one."""
    config = json.loads(_tokenizer().to_str())
    steps = config["normalizer"]["normalizers"]
    config["normalizer"]["normalizers"] = [step for step in steps if step["type"] != "Prepend"]
    return Tokenizer.from_str(json.dumps(config))


def count_tokens(text: str) -> int:
    """Number of tokens in `text`."""
    if not text:
        return 0
    return count_tokens_batch([text])[0]


@contextmanager
def counts_remembered() -> Iterator[None]:
    """Within the block, a text counted once is not given to the tokenizer again.

    The chunker counts a long paragraph's sentences when it splits the paragraph and again
    when it repeats the last ones as the next chunk's overlap; the count of a text never
    changes, so the second time is a lookup. Scoped to one block (one document) so that memory
    stays bounded.
    """
    token = _remembered.set({})
    try:
        yield
    finally:
        _remembered.reset(token)


def count_tokens_batch(texts: Sequence[str]) -> list[int]:
    """Token counts of many texts at once (one call into the tokenizer)."""
    if not texts:
        return []
    remembered = _remembered.get()
    if remembered is None:
        return _count(texts)
    known = [remembered.get(text) for text in texts]
    missing = [text for text, count in zip(texts, known, strict=True) if count is None]
    fresh = iter(_count(missing))
    counts: list[int] = []
    for text, count in zip(texts, known, strict=True):
        if count is not None:
            counts.append(count)
        else:
            remembered[text] = counted = next(fresh)
            counts.append(counted)
    return counts


def _count(texts: Sequence[str]) -> list[int]:
    if not texts:
        return []
    # The "fast" batch skips computing character offsets, which counting never needs: about
    # twice as fast, and tokenising is most of the chunker's time.
    encodings = _tokenizer().encode_batch_fast(list(texts), add_special_tokens=False)
    return [len(encoding.ids) for encoding in encodings]


def count_tokens_after_newline(texts: Sequence[str]) -> list[int]:
    """Token counts of texts where each follows a line break inside a longer text (where
    `count_tokens` counts them alone, as a text's start, whose first word takes a word
    boundary with it). Not remembered: the chunker asks it for few, short texts."""
    if not texts:
        return []
    encodings = _tokenizer_after_newline().encode_batch_fast(list(texts), add_special_tokens=False)
    return [len(encoding.ids) for encoding in encodings]
