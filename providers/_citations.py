"""Keeping a reply's ``[S#]`` markers true to the passages it was given, while it streams.

A model (or the offline composer) cites passages by the refs of the prompt (``S1``..``Sn``),
using some and skipping others, and sometimes names one that does not exist or quotes words
its source does not say. :class:`CitationKeeper` rewrites the reply as it streams: a marker
naming no passage, or following a quotation that is not in the cited passage, is dropped;
the others are renumbered densely in order of first use (the first passage cited becomes
``[S1]``). At the end the passages are renumbered the same way, so every marker of the text
names a passage and every cited passage appears in the text.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from ._types import Passage

MARKER = re.compile(r"\[(S\d+)\]")
"""A citation marker: ``[S3]``."""
QUOTED = re.compile(r"[\"“]([^\"“”]{3,})[\"”]")
"""A quotation in straight or curly double quotes."""
_PARTIAL = re.compile(r"\[(?:S\d*)?$")
"""The start of a marker cut by the end of a streamed chunk."""
_SENTENCE_END = re.compile(r"[.!?;](?=\s)")


def normalise(value: str) -> str:
    """``value`` with every run of whitespace as one space (quotes are compared this way)."""
    return " ".join(value.split())


def quote_holds(segment: str, passage: Passage) -> bool:
    """Whether the quotation a marker vouches for is in ``passage``; True when there is none.

    ``segment`` is the text before the marker since the previous marker on its line; the
    quotation checked is its last one in the marker's own sentence (a sentence end inside a
    quotation does not count).
    """
    quotes = list(QUOTED.finditer(segment))
    inside = [(q.start(), q.end()) for q in quotes]
    ends = [
        end.end()
        for end in _SENTENCE_END.finditer(segment)
        if not any(a <= end.start() < b for a, b in inside)
    ]
    since = ends[-1] if ends else 0
    own = [q.group(1) for q in quotes if q.start() >= since]
    return not own or normalise(own[-1]) in normalise(passage.text)


class CitationKeeper:
    """Rewrites the markers of one streamed reply; see the module docstring.

    ``passages`` is the list the reply may cite. :meth:`finish` renumbers it in place, so the
    caller that built the request reads the renumbered passages from the list it handed over.
    """

    def __init__(self, passages: list[Passage]) -> None:
        self.passages = passages
        self._by_ref = {p.ref: p for p in passages}
        self.renumbered: dict[str, str] = {}
        """Old ref → new ref, for the passages the reply cites, in order of first use."""
        self.relabelled: dict[str, str] = {}
        """Old ref → new ref for every passage, once :meth:`finish` renumbered them."""
        self._held = ""
        self._space = ""
        self._segment = ""

    def feed(self, text: str) -> str:
        """The part of the reply so far that can be shown, ``text`` included."""
        buffer = self._held + text
        partial = _PARTIAL.search(buffer)
        cut = partial.start() if partial else len(buffer)
        self._held = buffer[cut:]
        out: list[str] = []
        start = 0
        for marker in MARKER.finditer(buffer, 0, cut):
            out.append(self._text(buffer[start : marker.start()]))
            out.append(self._marker(marker.group(1)))
            start = marker.end()
        out.append(self._text(buffer[start:cut]))
        return "".join(out)

    def finish(self) -> str:
        """The rest of the reply, and the passages renumbered (cited ones first)."""
        rest = self._text(self._held) + self._space
        self._held = self._space = ""
        cited = sorted(
            (p for p in self.passages if p.ref in self.renumbered),
            key=lambda p: int(self.renumbered[p.ref][1:]),
        )
        others = [p for p in self.passages if p.ref not in self.renumbered]
        ordered = [*cited, *others]
        self.relabelled = {p.ref: f"S{n}" for n, p in enumerate(ordered, start=1)}
        self.passages[:] = [msgspec.structs.replace(p, ref=self.relabelled[p.ref]) for p in ordered]
        return rest

    def _text(self, text: str) -> str:
        if not text:
            return ""
        shown = self._space + text
        if "\n" in text:
            self._segment = ""
        self._segment += text.rsplit("\n", 1)[-1]
        stripped = shown.rstrip(" ")
        # Spaces before a marker are held back: a dropped marker takes its space with it.
        self._space = shown[len(stripped) :]
        return stripped

    def _marker(self, ref: str) -> str:
        passage = self._by_ref.get(ref)
        if passage is None or not quote_holds(self._segment, passage):
            self._space = ""  # the dropped marker takes the space before it along
            return ""
        new = self.renumbered.setdefault(ref, f"S{len(self.renumbered) + 1}")
        shown = f"{self._space}[{new}]"
        self._space = self._segment = ""
        return shown
