"""Naming the vector space an embedder writes into."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._types import Embedder


def embedding_space(embedder: Embedder) -> str:
    """``provider/model/dimensions``: store it with every vector and only compare within one.

    Vectors of different models, or of one model cut to different sizes, are not comparable;
    this key is what keeps them apart.
    """
    return f"{embedder.provider}/{embedder.model}/{embedder.dimensions}"
