"""Phase Markdown to the shared block model, parsed once with markdown-it-py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from markdown_it import MarkdownIt

from render._blocks import (
    Align,
    Block,
    CodeBlock,
    Heading,
    ListBlock,
    ListItem,
    Paragraph,
    Quote,
    Rule,
    Run,
    Table,
)
from render._outline import outline_levels, same_title
from render._text import clean

if TYPE_CHECKING:
    from markdown_it.token import Token

# Raw HTML stays off: a user's "<script>" is text to show, never markup to interpret.
MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
_MAX_HEADING = 6
_ALIGN: dict[str, Align] = {"left": "left", "center": "center", "right": "right"}


def parse_markdown(text: str, heading_offset: int = 1, title: str = "") -> list[Block]:
    """Parse phase Markdown into blocks, its headings nested ``heading_offset`` levels down.

    Headings are renumbered by :func:`outline_levels`, so the first is at ``heading_offset + 1``
    and none is more than one level below the one before. A first heading that only repeats the
    section's ``title`` is left out. A heading inside a quote or a list is not part of the
    document's outline: it becomes a bold paragraph.
    """
    tokens = MARKDOWN.parse(clean(text))
    parser = _Parser(tokens, heading_offset, title)
    return parser.blocks(close=None)


def title_heading(tokens: list[Token], title: str) -> range | None:
    """The tokens of a first heading that repeats ``title``, or None."""
    if len(tokens) < 3 or tokens[0].type != "heading_open":
        return None
    return range(3) if same_title(tokens[1].content, title) else None


def section_levels(tokens: list[Token], skip: range | None = None) -> dict[int, int]:
    """The outline depth (1 = directly below the section) of each top-level heading token."""
    indices = [
        i
        for i, t in enumerate(tokens)
        if t.type == "heading_open" and t.level == 0 and (skip is None or i not in skip)
    ]
    depths = outline_levels(int(tokens[i].tag[1:]) for i in indices)
    return dict(zip(indices, depths, strict=True))


class _Parser:
    def __init__(self, tokens: list[Token], heading_offset: int, title: str) -> None:
        skip = title_heading(tokens, title)
        self._tokens = tokens
        self._offset = heading_offset
        self._depths = section_levels(tokens, skip)
        self._i = len(skip) if skip else 0

    def _next(self) -> Token:
        token = self._tokens[self._i]
        self._i += 1
        return token

    def blocks(self, close: str | None) -> list[Block]:
        out: list[Block] = []
        while self._i < len(self._tokens):
            token = self._next()
            if token.type == close:
                break
            block = self._block(token)
            if block is not None:
                out.append(block)
        return out

    def _block(self, token: Token) -> Block | None:
        match token.type:
            case "heading_open":
                depth = self._depths.get(self._i - 1)
                runs = inline_runs(self._next())
                self._next()
                if depth is None:
                    return Paragraph([_bold(run) for run in runs])
                return Heading(min(depth + self._offset, _MAX_HEADING), runs)
            case "paragraph_open":
                runs = inline_runs(self._next())
                self._next()
                return Paragraph(runs)
            case "bullet_list_open" | "ordered_list_open":
                return self._list(token)
            case "blockquote_open":
                return Quote(self.blocks(close="blockquote_close"))
            case "fence" | "code_block":
                language = token.info.strip().split(" ")[0] if token.info else ""
                return CodeBlock(token.content.rstrip("\n"), language)
            case "hr":
                return Rule()
            case "table_open":
                return self._table()
        return None

    def _list(self, opening: Token) -> ListBlock:
        ordered = opening.type == "ordered_list_open"
        close = "ordered_list_close" if ordered else "bullet_list_close"
        start = int(opening.attrGet("start") or 1) if ordered else 1
        items: list[ListItem] = []
        while (token := self._next()).type != close:
            if token.type == "list_item_open":
                items.append(ListItem(self.blocks(close="list_item_close")))
        return ListBlock(ordered=ordered, items=items, start=start)

    def _table(self) -> Table:
        rows: list[list[list[Run]]] = []
        align: list[Align] = []
        while (token := self._next()).type != "table_close":
            if token.type == "tr_open":
                rows.append([])
            elif token.type == "th_open":
                style = str(token.attrGet("style") or "")
                align.append(_ALIGN.get(style.removeprefix("text-align:"), "left"))
            elif token.type == "inline":
                rows[-1].append(inline_runs(token))
        header, body = rows[0], rows[1:]
        width = len(header)
        return Table(header, [(row + [[]] * width)[:width] for row in body], align)


def inline_runs(token: Token) -> list[Run]:
    """The formatted runs of an inline token, adjacent runs of equal format merged."""
    runs: list[Run] = []
    bold = italic = strike = 0
    links: list[str] = []

    def add(text: str, *, code: bool = False) -> None:
        run = Run(text, bold > 0, italic > 0, code, strike > 0, links[-1] if links else None)
        last = runs[-1] if runs else None
        if last is not None and "\n" not in (text, last.text) and _same_format(last, run):
            runs[-1] = Run(last.text + text, run.bold, run.italic, code, run.strike, run.href)
        else:
            runs.append(run)

    for child in token.children or []:
        match child.type:
            case "text" | "image":
                if child.content:
                    add(child.content)
            case "code_inline":
                add(child.content, code=True)
            case "softbreak":
                add(" ")
            case "hardbreak":
                add("\n")
            case "strong_open" | "strong_close":
                bold += 1 if child.nesting > 0 else -1
            case "em_open" | "em_close":
                italic += 1 if child.nesting > 0 else -1
            case "s_open" | "s_close":
                strike += 1 if child.nesting > 0 else -1
            case "link_open":
                links.append(str(child.attrGet("href") or ""))
            case "link_close":
                links.pop()
    return runs


def _bold(run: Run) -> Run:
    return Run(run.text, True, run.italic, run.code, run.strike, run.href)


def _same_format(a: Run, b: Run) -> bool:
    return (a.bold, a.italic, a.code, a.strike, a.href) == (
        b.bold,
        b.italic,
        b.code,
        b.strike,
        b.href,
    )
