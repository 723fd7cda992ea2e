from __future__ import annotations

import pytest

from render._outline import outline_levels, same_title


@pytest.mark.parametrize(
    ("levels", "depths"),
    [
        ([], []),
        ([1, 3], [1, 2]),
        ([3, 1], [1, 1]),
        ([2, 4, 3], [1, 2, 2]),
        ([2, 4, 6, 3, 2], [1, 2, 3, 2, 1]),
        ([4, 4, 5, 1, 6], [1, 1, 2, 1, 2]),
        ([1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6]),
    ],
)
def test_outline_levels_never_skip(levels: list[int], depths: list[int]) -> None:
    assert outline_levels(levels) == depths


@pytest.mark.parametrize(
    ("heading", "repeats"),
    [
        ("Market", True),
        ("market:", True),
        ("5. Market", True),
        ("Phase 5: Market", True),
        ("Phase 5 — Market", True),
        ("Market size", False),
        ("2026 Market", False),
    ],
)
def test_same_title(heading: str, repeats: bool) -> None:
    assert same_title(heading, "Market") is repeats


def test_an_empty_title_repeats_nothing() -> None:
    assert not same_title("", "")
