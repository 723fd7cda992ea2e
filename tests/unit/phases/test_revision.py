"""A version revised on request keeps its citations pointing at the same chunks."""

from __future__ import annotations

from providers import Passage
from server.phases.context import cited_as_now

SOURCES = [
    {"kind": "answers", "label": "2 of 2 answers", "tokens": 10},
    {"kind": "document", "label": "a.md", "tokens": 5, "ref": "S1", "chunk_id": "c-1"},
    {"kind": "document", "label": "b.md", "tokens": 5, "ref": "S2", "chunk_id": "c-2"},
]


def test_markers_follow_their_chunk_to_its_new_ref_or_go() -> None:
    current = 'Bakeries "run out" [S1]. Owners start early [S2].'
    passages = [
        Passage(ref="S1", text="…", source="b.md", chunk_id="c-2"),
        Passage(ref="S2", text="…", source="c.md", chunk_id="c-3"),
    ]
    assert cited_as_now(current, SOURCES, passages) == (
        'Bakeries "run out". Owners start early [S1].'
    )
