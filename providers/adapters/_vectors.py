"""Checks every embedder applies to what a model returned."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._types import ProviderError

if TYPE_CHECKING:
    from collections.abc import Sequence


def unit_vectors(
    provider: str, vectors: Sequence[Sequence[float]], dimensions: int
) -> list[list[float]]:
    """Scale each vector to unit length, refusing any whose size is not ``dimensions``.

    A vector of the wrong size would be stored next to vectors of another model and make every
    similarity meaningless, so it is an error, never a silent truncation.
    """
    if not vectors:
        return []
    sizes = {len(vector) for vector in vectors}
    if sizes != {dimensions}:
        raise ProviderError(
            provider,
            "malformed",
            f"expected {dimensions}-dimensional vectors, got {', '.join(map(str, sorted(sizes)))}",
        )
    array = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    result: list[list[float]] = (array / norms).tolist()
    return result
