"""Heading levels a reader can follow: a draft's headings renumbered so that no level is skipped."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

_NUMBERING = re.compile(
    r"^(?:phase\s+\d+\s*[.:)\-\u2013\u2014]?|\d+\s*[.:)\-\u2013\u2014])\s+", re.IGNORECASE
)
_EDGES = re.compile(r"^\W+|\W+$")


def same_title(heading: str, title: str) -> bool:
    """Whether ``heading`` only repeats the section's ``title`` (``"Phase 5: Market"``,
    ``"5. Market"`` and ``"market"`` all repeat ``"Market"``)."""

    def key(text: str) -> str:
        return _EDGES.sub("", _NUMBERING.sub("", " ".join(text.split()))).casefold()

    return bool(key(title)) and key(heading) == key(title)


def outline_levels(levels: Iterable[int]) -> list[int]:
    """Each heading's depth below its section, from 1, never more than one deeper than the last.

    A draft that uses ``#`` then ``###`` gets 1 then 2; ``##``, ``####``, ``###`` gets 1, 2, 2;
    a heading goes back to the depth of the nearest earlier heading of its level or higher.
    """
    out: list[int] = []
    open_headings: list[tuple[int, int]] = []  # (level as written, depth given), outermost first
    for level in levels:
        while open_headings and open_headings[-1][0] >= level:
            open_headings.pop()
        depth = open_headings[-1][1] + 1 if open_headings else 1
        open_headings.append((level, depth))
        out.append(depth)
    return out
