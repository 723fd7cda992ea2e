"""Offline embeddings from WordLlama's weights, which ship inside its PyPI package."""

from __future__ import annotations

import asyncio
import functools
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tokenizers import Tokenizer
    from wordllama.inference import WordLlamaInference

WORDLLAMA_MODEL = "wordllama-l2_supercat"
WORDLLAMA_DIMENSIONS = 256
_CONFIG = "l2_supercat"
_INLINE_CHARS = 8192
"""Batches of up to this many characters embed on the event loop (about a millisecond, less
than handing them to a thread costs); larger ones in a thread."""
_INLINE_IDS = 8192
"""The same for batches given as token ids: summing this many ids' vectors takes about a
millisecond (64 chunks of 350 ids took 2.6 ms)."""

_load_lock = threading.Lock()


@functools.cache
def _model() -> WordLlamaInference:
    # WordLlama's own lookup searches a `tokenizer/` folder but the package ships `tokenizers/`;
    # pointing cache_dir at the package finds both the weights and the tokenizer, with no hub.
    # Imported here: importing wordllama calls logging.basicConfig, which must not happen as a
    # side effect of importing the providers package.
    import wordllama  # noqa: PLC0415

    with _load_lock:
        return wordllama.WordLlama.load(
            config=_CONFIG,
            dim=WORDLLAMA_DIMENSIONS,
            cache_dir=Path(wordllama.__file__).parent,
            disable_download=True,
        )


@functools.cache
def _tokenizer() -> Tokenizer:
    # The model's tokenizer pads every batch to its longest text; this copy does not.
    tokenizer: Tokenizer = type(_model().tokenizer).from_str(_model().tokenizer.to_str())
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def _embed_sync(texts: list[str]) -> list[list[float]]:
    """WordLlama's vectors (the mean of a text's token embeddings, scaled to unit length), as
    ``WordLlama.embed`` computes them but without its padded ``(texts, longest text,
    dimensions)`` array and the tokenizer's character offsets, which made embedding take
    twice as long."""
    encodings = _tokenizer().encode_batch_fast(texts, add_special_tokens=False)
    return _vectors([encoding.ids for encoding in encodings])


def _vectors(rows: Sequence[Sequence[int]]) -> list[list[float]]:
    """Unit-length vectors of texts given as their token ids."""
    table = _model().embedding
    sums = np.zeros((len(rows), table.shape[1]), dtype=np.float32)
    for number, row in enumerate(rows):
        # A text with no known token (empty, only punctuation) keeps the zero vector, which
        # PostgreSQL can store and which is similar to nothing.
        if len(row):
            ids = np.clip(np.asarray(row, dtype=np.intp), 0, table.shape[0] - 1)
            table.take(ids, axis=0).sum(axis=0, out=sums[number])
    vectors = sums.astype(np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    result: list[list[float]] = (vectors / norms).tolist()
    return result


class WordLlamaEmbedder:
    """The ``local`` embedder: 256-dimensional WordLlama vectors, no network."""

    provider = "local"
    model = WORDLLAMA_MODEL
    dimensions = WORDLLAMA_DIMENSIONS
    tokenizer: str | None = f"wordllama/{_CONFIG}_tokenizer_config.json"
    """The tokenizer file of the package that `embed_token_ids` takes the ids of (the one the
    ingest package tokenizes chunks with)."""

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit-length vector per text, in order."""
        batch = list(texts)
        if not batch:
            return []
        if sum(map(len, batch)) <= _INLINE_CHARS and _tokenizer.cache_info().currsize:
            return _embed_sync(batch)
        return await asyncio.to_thread(_embed_sync, batch)

    async def embed_token_ids(self, rows: Sequence[Sequence[int]]) -> list[list[float]]:
        """The vectors of texts given as their ids under `tokenizer`, in order: what `embed`
        gives the texts, without tokenizing them (a fraction of a millisecond a text)."""
        if sum(map(len, rows)) <= _INLINE_IDS and _model.cache_info().currsize:
            return _vectors(rows)
        return await asyncio.to_thread(_vectors, rows)
