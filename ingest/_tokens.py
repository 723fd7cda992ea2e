"""Offline, deterministic tokenizing with the Llama-2 tokenizer that WordLlama ships.

The tokenizer file comes from the installed `wordllama` package (no network, no model hub) and
is loaded once per process. Token ids and counts exclude special tokens (no BOS/EOS).
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

__all__ = [
    "LINE_BREAK",
    "TOKENIZER",
    "count_tokens",
    "count_tokens_batch",
    "ids_after_newline",
    "token_ids_batch",
    "tokens_remembered",
]

_TOKENIZER_FILE = "l2_supercat_tokenizer_config.json"
TOKENIZER = "wordllama/" + _TOKENIZER_FILE
"""Which tokenizer the ids are of: an embedder that names the same one can embed them."""
LINE_BREAK = 13
"""The id of a line break (a byte token: no token of the vocabulary holds one with anything
else)."""

# The tokenizer's batches run on a Rayon thread pool with a thread per core. Ingest already
# runs documents in parallel (parser processes, worker threads), and handing a chunk's few
# texts to that pool costs more than counting them: on 2 cores it tripled the chunker's wall
# time. An operator's own setting wins.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Ids already made while cutting one document (see `tokens_remembered`).
_remembered: ContextVar[dict[str, list[int]] | None] = ContextVar("token_ids", default=None)


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


def count_tokens_batch(texts: Sequence[str]) -> list[int]:
    """Token counts of many texts at once (one call into the tokenizer)."""
    return [len(ids) for ids in token_ids_batch(texts)]


@contextmanager
def tokens_remembered() -> Iterator[None]:
    """Within the block, a text tokenized once is not given to the tokenizer again.

    The chunker tokenizes a paragraph's sentences when it counts the paragraph, and needs them
    again when it splits the paragraph, repeats the last ones as the next chunk's overlap and
    puts a chunk's ids together; the ids of a text never change, so the later times are
    lookups. Scoped to one block (one document) so that memory stays bounded.
    """
    token = _remembered.set({})
    try:
        yield
    finally:
        _remembered.reset(token)


def token_ids_batch(texts: Sequence[str]) -> list[list[int]]:
    """The token ids of many texts at once (one call into the tokenizer)."""
    remembered = _remembered.get()
    if remembered is None:
        return _encode(_tokenizer(), texts)
    missing = list(dict.fromkeys(text for text in texts if text not in remembered))
    remembered.update(zip(missing, _encode(_tokenizer(), missing), strict=True))
    return [remembered[text] for text in texts]


def ids_after_newline(text: str, ids: Sequence[int]) -> list[int]:
    """The ids of `text` where it follows a line break inside a longer text, made from `ids`,
    its ids alone (`token_ids_batch`).

    No token of the vocabulary spans a space after a word or a line break, so only the ids of
    the text's first word can differ: alone, the word takes a word boundary in front of it;
    after a line break it has none.
    """
    alone, after = _first_word_ids(_first_word(text))
    return [*after, *ids[len(alone) :]]


def _first_word(text: str) -> str:
    """`text` up to the first space after its first word."""
    end = text.find(" ", len(text) - len(text.lstrip(" ")))
    return text if end < 0 else text[:end]


@functools.lru_cache(maxsize=65_536)
def _first_word_ids(word: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The ids of `word` as a text's start, and after a line break."""
    (alone,) = _encode(_tokenizer(), [word])
    (after,) = _encode(_tokenizer_after_newline(), [word])
    return tuple(alone), tuple(after)


def _encode(tokenizer: Tokenizer, texts: Sequence[str]) -> list[list[int]]:
    if not texts:
        return []
    # The "fast" batch skips computing character offsets, which ids never need: about twice
    # as fast, and tokenizing is most of the chunker's time.
    encodings = tokenizer.encode_batch_fast(list(texts), add_special_tokens=False)
    return [encoding.ids for encoding in encodings]
