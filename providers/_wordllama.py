"""Offline embeddings from WordLlama's weights, which ship inside its PyPI package."""

from __future__ import annotations

import asyncio
import functools
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .adapters._vectors import unit_vectors

if TYPE_CHECKING:
    from collections.abc import Sequence

    from wordllama.inference import WordLlamaInference

WORDLLAMA_MODEL = "wordllama-l2_supercat"
WORDLLAMA_DIMENSIONS = 256
_CONFIG = "l2_supercat"
_INLINE_LIMIT = 64
"""Batches up to this many texts embed on the event loop; it takes well under a millisecond."""

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


def _embed_sync(texts: list[str]) -> list[list[float]]:
    array = _model().embed(texts, norm=True, return_np=True)
    # A text with no known token (empty, only punctuation) comes back as NaNs: make it the zero
    # vector, which PostgreSQL can store and which is similar to nothing.
    return unit_vectors("local", np.nan_to_num(array).tolist(), WORDLLAMA_DIMENSIONS)


class WordLlamaEmbedder:
    """The ``local`` embedder: 256-dimensional WordLlama vectors, no network."""

    provider = "local"
    model = WORDLLAMA_MODEL
    dimensions = WORDLLAMA_DIMENSIONS

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit-length vector per text, in order."""
        batch = list(texts)
        if not batch:
            return []
        if len(batch) <= _INLINE_LIMIT and _model.cache_info().currsize:
            return _embed_sync(batch)
        return await asyncio.to_thread(_embed_sync, batch)
