"""Hybrid search fuses with the weight tuned for the embedder's model, or the default one."""

from __future__ import annotations

import pytest

from providers import MiniLMEmbedder, WordLlamaEmbedder, embedding_space
from server.documents.fusion import DEFAULT_FUSION, Fusion, fusion_for


@pytest.mark.parametrize(
    ("space", "fusion"),
    [
        (embedding_space(WordLlamaEmbedder()), Fusion("weighted", 0.6)),
        (embedding_space(MiniLMEmbedder()), Fusion("weighted", 0.4)),
        ("openai/text-embedding-3-small/1536", DEFAULT_FUSION),
        (None, DEFAULT_FUSION),
    ],
)
def test_each_shipped_model_has_its_tuned_fusion(space: str | None, fusion: Fusion) -> None:
    assert fusion_for(space) == fusion
