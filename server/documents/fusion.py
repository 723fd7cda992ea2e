"""How hybrid search fuses the keyword (BM25) and the vector ranking into one.

Two methods, both computed in SQL over the two top lists (``kw`` and ``vec``, each
``(id, rank, score)``):

- ``weighted``: ``w · bm25 / max(bm25) + (1 - w) · (cos - min(cos)) / (max(cos) - min(cos))``,
  each list's scores scaled to [0, 1] over its own top list, a chunk missing from a list
  scoring 0 there;
- ``rrf``: reciprocal rank fusion, ``w / (k + keyword rank) + (1 - w) / (k + vector rank)``.

Each shipped embedding model has the fusion it does best with on Cranfield's odd-numbered
queries, checked on the even-numbered ones (``make bench-retrieval``; figures in
docs/retrieval.md); other models get `DEFAULT_FUSION`.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from providers import MINILM_MODEL, WORDLLAMA_MODEL

FusionMethod = Literal["weighted", "rrf"]


class Fusion(msgspec.Struct, frozen=True):
    """A fusion method and its constants."""

    method: FusionMethod = "weighted"
    keyword_weight: float = 0.5
    """Share of the keyword ranking in the fused score, 0..1."""
    rrf_k: float = 60.0
    """The rank constant of reciprocal rank fusion (Cormack et al., 2009)."""


DEFAULT_FUSION = Fusion()
"""The fusion of an embedding model not tuned here."""

TUNED_FUSION: dict[str, Fusion] = {
    f"local/{WORDLLAMA_MODEL}": Fusion("weighted", 0.6),
    f"local/{MINILM_MODEL}": Fusion("weighted", 0.4),
}
"""By provider/model: the best of the weights and rank constants tried on the tuning queries."""


def fusion_for(space: str | None) -> Fusion:
    """The fusion of hybrid search with vectors of embedding space ``space``
    (provider/model/dimensions)."""
    if space is None:
        return DEFAULT_FUSION
    return TUNED_FUSION.get(space.rsplit("/", 1)[0], DEFAULT_FUSION)


def fusion_sql(fusion: Fusion) -> str:
    """The fused score of a row of ``kw FULL JOIN vec`` (with ``kw_top`` and ``vec_span``).

    Reads the parameters ``:keyword_weight`` and ``:rrf_k`` (`fusion_params`).
    """
    if fusion.method == "rrf":
        return (
            "coalesce(:keyword_weight / (:rrf_k + kw.rank), 0)"
            " + coalesce((1 - :keyword_weight) / (:rrf_k + vec.rank), 0)"
        )
    return (
        "CASE WHEN kw.id IS NULL THEN 0 ELSE"
        " :keyword_weight * coalesce(kw.score / nullif(kw_top.top, 0), 1) END"
        " + CASE WHEN vec.id IS NULL THEN 0 ELSE (1 - :keyword_weight)"
        " * coalesce((vec.score - vec_span.bottom) / nullif(vec_span.top - vec_span.bottom, 0), 1)"
        " END"
    )


def fusion_params(fusion: Fusion) -> dict[str, float]:
    """The statement parameters `fusion_sql` reads."""
    return {"keyword_weight": float(fusion.keyword_weight), "rrf_k": float(fusion.rrf_k)}
