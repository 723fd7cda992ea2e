"""The offline provider's drafts: a plain first draft in prose from the user's answers, and the
changes to a draft it can make without a model.

A draft is the document itself, so it carries no notice, no prompts, no list of open
questions and no quotes of the conversation: only the answers written out as paragraphs and,
where a document passage clearly bears on an answer, one sentence quoted from it and cited.
Citations are numbered densely in order of first use, and the refs of the passages they stand
for are kept (``[S1]`` in the text is the passage whose ``ref`` is ``S1``) by choosing which
passages to cite before numbering: the caller sees the mapping in :func:`cited_refs`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ._local_text import sentences, terms

if TYPE_CHECKING:
    from ._types import Answer, Passage, ReplyContext

MIN_OVERLAP = 3
"""Content words a passage sentence must share with an answer to be quoted beside it."""
MIN_SHARE = 0.2
"""...and the share of the sentence's own content words those must be."""
_LINE_MARKUP_RE = re.compile(r"^\s*(?:(?:#{1,6}|>|[-*+]|\d+[.)])\s+)+", re.MULTILINE)
_INLINE_MARKUP_RE = re.compile(r"[*_`]{1,3}(?=\S)|(?<=\S)[*_`]{1,3}|\[S\d+\]")
_QUOTED_RE = re.compile(r"\s*[“\"][^”\"]{3,}[”\"]\s*(\[S\d+\])?")
_CITE_RE = re.compile(r"\s*\[S\d+\]")
_CONTRACTIONS = {
    "don't": "do not",
    "doesn't": "does not",
    "can't": "cannot",
    "won't": "will not",
    "isn't": "is not",
    "aren't": "are not",
    "we're": "we are",
    "it's": "it is",
    "we'll": "we will",
    "they're": "they are",
    "I'm": "I am",
}


def plain(text: str) -> str:
    """``text`` as one plain sentence run: Markdown markers and citations removed, spaces
    collapsed, a capital first and a full stop last."""
    text = _INLINE_MARKUP_RE.sub("", _LINE_MARKUP_RE.sub("", text))
    text = " ".join(text.split())
    if not text:
        return ""
    if text[-1] not in ".!?\"')]”":
        text += "."
    return text[:1].upper() + text[1:]


def _quote_for(
    answer: Answer, passages: tuple[Passage, ...], used: set[str]
) -> tuple[Passage, str] | None:
    """The one document sentence that clearly bears on ``answer``, if any; a sentence in
    ``used`` (quoted already in this draft) is not quoted twice."""
    wanted = terms(f"{answer.question} {answer.answer}")
    best: tuple[float, Passage, str] | None = None
    for passage in passages:
        if passage.document_id is None:
            continue  # only the user's documents: never the conversation or earlier drafts
        lines = [line for line in passage.text.splitlines() if not line.lstrip().startswith("#")]
        for sentence in (s for line in lines for s in sentences(line)):
            if sentence in used:
                continue
            own = terms(sentence)
            overlap = len(wanted & own)
            if overlap < MIN_OVERLAP or overlap / max(len(own), 1) < MIN_SHARE:
                continue
            score = overlap + min(passage.score, 1.0)
            if best is None or score > best[0]:
                best = (score, passage, sentence)
    return (best[1], best[2]) if best else None


_ASIDE_RE = re.compile(r"\s+[-\u2013\u2014]\s+[^.!?]*\?$")
_OPENER_RE = re.compile(
    r"^(?:well|so|hmm|ok(?:ay)?|what do you think|do you think|i think|i guess|i'd say|"
    r"i would say|honestly|to be honest)\s*[,:-]\s*",
    re.IGNORECASE,
)


def statement(answer: str) -> str:
    """An answer as document prose: a question put back to the assistant ("- is that what
    you mean?", "Is that the sort of thing you need?") and an opener said to it ("What do
    you think, …") are left out, and a statement that ends in a question mark ends in a full
    stop."""
    text = plain(answer)
    parts = sentences(text)
    while len(parts) > 1 and parts[-1].endswith("?"):
        parts.pop()
    text = _ASIDE_RE.sub(".", " ".join(parts))
    if text.endswith("?"):
        text = text[:-1] + "."
    # A conversational opener ("What do you think, every morning…") is said to the assistant.
    bare = _OPENER_RE.sub("", text)
    return bare[:1].upper() + bare[1:] if bare else text


@dataclass
class Section:
    """A heading (empty for the text before the first one) and its paragraphs."""

    heading: str
    paragraphs: list[str] = field(default_factory=list)


def parse(text: str) -> list[Section]:
    """A draft split into its sections (``##``/``###`` headings) and paragraphs."""
    sections = [Section("")]
    for raw in re.split(r"\n\s*\n", text.strip()):
        block = raw.strip()
        heading = re.match(r"^#{1,6}\s+(.*)$", block)
        if heading and "\n" not in block:
            sections.append(Section(heading.group(1).strip()))
        elif block:
            sections[-1].paragraphs.append(block)
    return [s for s in sections if s.heading or s.paragraphs]


def render(title: str, sections: list[Section]) -> str:
    """The sections as Markdown under ``## title``."""
    parts = [f"## {title}"]
    for section in sections:
        if section.heading and section.heading != title:
            parts.append(f"### {section.heading}")
        parts.extend(section.paragraphs)
    return "\n\n".join(parts)


def fresh(context: ReplyContext) -> list[Section]:
    """A first draft from the answers: one paragraph per answer, a quote where one fits."""
    paragraphs: list[str] = []
    used: set[str] = set()
    for answer in context.answers:
        text = statement(answer.answer)
        if not text:
            continue
        found = _quote_for(answer, context.passages, used)
        if found is not None:
            passage, sentence = found
            used.add(sentence)
            where = passage.source.split(",")[0]
            quoted = plain(sentence).rstrip(".")
            text += f" As {where} puts it: “{quoted}” [{passage.ref}]."
        paragraphs.append(text)
    if not paragraphs:
        paragraphs.append("Nothing has been written for this section yet.")
    return [Section("", paragraphs)]


def draft(context: ReplyContext) -> str:
    """The offline draft for ``context``: fresh from the answers, or the current version with
    the requested changes applied."""
    title = context.phase_title or "Draft"
    if context.feedback and context.previous.strip():
        sections = parse(context.previous)
        for change in requested(context.feedback):
            sections = change.apply(sections, context)
        return render(title, sections)
    return render(title, fresh(context))


@dataclass(frozen=True)
class Change:
    """One change a user asked for, as the offline composer understands it."""

    kind: str
    """``shorter``, ``longer``, ``drop_quotes``, ``drop_section``, ``rename``, ``reorder``,
    ``formal``, or ``tone`` (which needs a model)."""
    target: str = ""
    value: str = ""

    @property
    def offline(self) -> bool:
        """Whether the offline composer can make this change."""
        return self.kind != "tone"

    def describe(self) -> str:
        """The change in a few plain words."""
        return {
            "shorter": "made it shorter",
            "longer": "added what your answers and documents have beyond it",
            "drop_quotes": "took out the quotes",
            "drop_section": f"dropped the section “{self.target}”",
            "rename": f"renamed “{self.target}” to “{self.value}”",
            "reorder": f"moved “{self.target}” first",
            "formal": "wrote contractions out in full",
            "tone": f"a different tone ({self.target})",
        }[self.kind]

    def apply(self, sections: list[Section], context: ReplyContext) -> list[Section]:
        """``sections`` with this change made (unchanged for what needs a model)."""
        if self.kind == "shorter":
            return [Section(s.heading, [_halve(p) for p in s.paragraphs]) for s in sections]
        if self.kind == "drop_quotes":
            return [Section(s.heading, _unquoted(s.paragraphs)) for s in sections]
        if self.kind == "drop_section":
            return [s for s in sections if not _matches(s.heading, self.target)]
        if self.kind == "rename":
            return [
                Section(self.value if _matches(s.heading, self.target) else s.heading, s.paragraphs)
                for s in sections
            ]
        if self.kind == "reorder":
            first = [s for s in sections if _matches(s.heading, self.target)]
            return first + [s for s in sections if s not in first]
        if self.kind == "formal":
            return [Section(s.heading, [_formal(p) for p in s.paragraphs]) for s in sections]
        if self.kind == "longer":
            have = " ".join(p for s in sections for p in s.paragraphs)
            extra = [p for p in fresh(context)[0].paragraphs if p not in have]
            extra += [plain(summary) for _, summary in context.dependencies if summary.strip()][:1]
            if sections:
                sections[-1].paragraphs.extend(extra)
            return sections
        return sections


def _matches(heading: str, target: str) -> bool:
    return bool(target) and target.lower().strip(" .\"'“”") in heading.lower()


SHORT_WORDS = 20
"""A one-sentence paragraph made shorter is cut at a comma near this many words."""


def _halve(paragraph: str) -> str:
    parts = sentences(paragraph)
    if len(parts) > 1:
        return " ".join(parts[: (len(parts) + 1) // 2])
    words = paragraph.split()
    if len(words) <= SHORT_WORDS:
        return paragraph
    head = " ".join(words[:SHORT_WORDS])
    cut = head.rfind(",")
    return plain(head[:cut] if cut > len(head) // 3 else head)


def _unquoted(paragraphs: list[str]) -> list[str]:
    kept = []
    for paragraph in paragraphs:
        if paragraph.lstrip().startswith(">"):
            continue
        text = _QUOTED_RE.sub(" ", paragraph)
        text = re.sub(r"\s*As [^.:]+ puts it:\s*\.?", "", text)
        text = _CITE_RE.sub("", text).strip()
        if text:
            kept.append(plain(text))
    return kept


def _formal(paragraph: str) -> str:
    for short, full in _CONTRACTIONS.items():
        paragraph = re.sub(rf"\b{re.escape(short)}\b", full, paragraph)
        paragraph = re.sub(rf"\b{re.escape(short.capitalize())}\b", full.capitalize(), paragraph)
    return paragraph.replace("!", ".")


_SECTION = r"(?:the\s+)?(?:section\s+)?[\"“']?(?P<target>[^\"”'.,;]+?)[\"”']?(?:\s+section)?"
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("drop_quotes", re.compile(r"\b(?:drop|remove|no|without|cut|lose)\b[^.;]*\bquot", re.I)),
    (
        "shorter",
        re.compile(r"\b(?:shorter|more concise|tighten|trim|condense|too long|cut it)", re.I),
    ),
    ("longer", re.compile(r"\b(?:longer|more detail|expand|elaborate|too short|flesh)", re.I)),
    (
        "rename",
        re.compile(
            r"\brename\s+"
            + _SECTION
            + r"\s+(?:to|as)\s+[\"“']?(?P<value>[^\"”'.,;]+?)(?=\s+and\b|[\"”'.,;]|$)",
            re.I,
        ),
    ),
    (
        "drop_section",
        re.compile(r"\b(?:drop|remove|delete|cut)\s+" + _SECTION + r"\s*(?:$|[.;])", re.I),
    ),
    (
        "reorder",
        re.compile(r"\b(?:put|move)\s+" + _SECTION + r"\s+(?:first|to the top|at the top)", re.I),
    ),
    ("formal", re.compile(r"\b(?:more formal|formal tone|less casual|no contractions)", re.I)),
    (
        "tone",
        re.compile(
            r"\b(?P<target>(?:more|less)\s+(?:persuasive|confident|friendly|casual|enthusiastic|"
            r"salesy|technical|warm|punchy|upbeat)|friendlier|warmer|punchier|bolder|tone)\b",
            re.I,
        ),
    ),
)


def requested(feedback: str) -> list[Change]:
    """The changes ``feedback`` asks for that the offline composer recognises, in the order
    they were asked for."""
    found: list[tuple[int, Change]] = []
    for kind, pattern in _PATTERNS:
        match = pattern.search(feedback)
        if match is None:
            continue
        groups = match.groupdict()
        target = (groups.get("target") or "").strip()
        if kind == "drop_section" and re.search(r"quot", target, re.I):
            continue
        found.append((match.start(), Change(kind, target, (groups.get("value") or "").strip())))
    return [change for _, change in sorted(found, key=lambda item: item[0])]


def change_report(feedback: str) -> tuple[list[str], list[str]]:
    """What the offline composer did with ``feedback``: (made, needs a model provider)."""
    changes = requested(feedback)
    made = [c.describe() for c in changes if c.offline]
    needs = [c.describe() for c in changes if not c.offline]
    if not changes:
        needs.append(f"“{' '.join(feedback.split())[:120]}”")
    return made, needs
