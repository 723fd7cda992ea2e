"""Markdown (and plain text) with markdown-it-py: front matter, headings, paragraphs, list
items, code blocks, GFM tables; raw HTML and template tags reduced to their text."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import yaml
from markdown_it import MarkdownIt

from ingest._errors import IngestError
from ingest._html import HtmlText, strip_template_tags
from ingest._sniff import decode_text
from ingest._structure import HeadingStack, render_table
from ingest._types import Block, ParsedDocument, Table

if TYPE_CHECKING:
    from collections.abc import Sequence

    from markdown_it.token import Token

    from ingest._control import ParseControl
    from ingest._types import Limits

__all__ = ["parse_markdown"]

# YAML front matter may end with `...` (the YAML document end marker) as well as `---`;
# mdit-py-plugins' front_matter rule only knows `---`, so the block is cut off here.
_FRONT_MATTER = re.compile(
    r"\A---[ \t]*\r?\n(?P<yaml>.*?)(?:\r?\n)?^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)",
    re.DOTALL | re.MULTILINE,
)
_REPORT_EVERY = 256


def _markdown_it() -> MarkdownIt:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def parse_markdown(data: bytes, limits: Limits, control: ParseControl) -> ParsedDocument:
    """Parse Markdown (plain text is Markdown without markup) into blocks."""
    del limits  # size is checked by the caller; markdown-it caps nesting by itself
    text = decode_text(data)
    if text is None:
        raise IngestError("malformed", "the text file is not valid UTF-8 or UTF-16")
    metadata, body = _front_matter(text)
    walker = _Walker(control)
    walker.walk(_markdown_it().parse(body))
    title = metadata.get("title") or walker.first_h1
    return ParsedDocument("markdown", title, metadata, None, tuple(walker.blocks))


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    match = _FRONT_MATTER.match(text)
    if match is None:
        return {}, text
    try:
        loaded = yaml.safe_load(match.group("yaml"))
    except yaml.YAMLError:
        return {}, text
    if not isinstance(loaded, dict):
        return {}, text
    metadata: dict[str, str] = {}
    for key, value in loaded.items():
        if value is None:
            continue
        if isinstance(value, list):
            metadata[str(key)] = ", ".join(str(item) for item in value)
        else:
            metadata[str(key)] = str(value)
    return metadata, text[match.end() :]


def _inline_text(token: Token) -> str:
    """The text of an inline token: inline HTML tags and template tags dropped, inline code
    kept verbatim in backticks."""
    parts: list[str] = []
    prose: list[str] = []

    def end_prose() -> None:
        if prose:
            parts.append(strip_template_tags("".join(prose)))
            prose.clear()

    for child in token.children or ():
        if child.type == "text":
            prose.append(child.content)
        elif child.type == "code_inline":
            end_prose()
            parts.append(f"`{child.content}`")
        elif child.type == "softbreak":
            prose.append(" ")
        elif child.type == "hardbreak":
            prose.append("\n")
        elif child.type == "image":
            prose.append(child.content)
    end_prose()
    return "".join(parts).strip()


class _Walker:
    def __init__(self, control: ParseControl) -> None:
        self._control = control
        self._headings = HeadingStack()
        self._html = HtmlText()
        self.blocks: list[Block] = []
        self.first_h1: str | None = None

    def walk(self, tokens: Sequence[Token]) -> None:
        list_depth = 0
        item_started = False
        index = 0
        while index < len(tokens):
            token = tokens[index]
            kind = token.type
            if kind in ("bullet_list_open", "ordered_list_open"):
                list_depth += 1
            elif kind in ("bullet_list_close", "ordered_list_close"):
                list_depth -= 1
            elif kind == "list_item_open":
                item_started = True
            elif kind == "heading_open":
                self._heading(int(token.tag[1:]), _inline_text(tokens[index + 1]))
                index += 2
            elif kind == "inline":
                text = _inline_text(token)
                if text and list_depth and item_started:
                    self._add(Block("list_item", text, level=list_depth - 1))
                elif text:
                    self._add(Block("paragraph", text))
                item_started = False
            elif kind == "code_block" and self._html.open_elements:
                # Indented text inside an HTML element split by a blank line, not code.
                for text in self._html.paragraphs(token.content):
                    self._add(Block("paragraph", text))
            elif kind in ("fence", "code_block"):
                language = token.info.split()[0] if token.info.strip() else None
                code = token.content.rstrip("\n")
                if code.strip():
                    self._add(Block("code", code, language=language))
            elif kind == "html_block":
                for text in self._html.paragraphs(token.content):
                    self._add(Block("paragraph", text))
            elif kind == "table_open":
                index = self._table(tokens, index)
            index += 1

    def _add(self, block: Block) -> None:
        self.blocks.append(
            Block(
                block.kind,
                block.text,
                level=block.level,
                heading_path=self._headings.path,
                table=block.table,
                language=block.language,
            )
        )
        if len(self.blocks) % _REPORT_EVERY == 0:
            self._control.report(0, None, len(self.blocks))

    def _heading(self, level: int, text: str) -> None:
        if not text:
            return
        if level == 1 and self.first_h1 is None:
            self.first_h1 = text
        path = self._headings.push(level, text)
        self.blocks.append(Block("heading", text, level=level, heading_path=path))

    def _table(self, tokens: Sequence[Token], start: int) -> int:
        """Read the table opening at `start`; return the index of its `table_close`."""
        header: tuple[str, ...] = ()
        rows: list[tuple[str, ...]] = []
        cells: list[str] = []
        in_head = False
        index = start + 1
        while index < len(tokens) and tokens[index].type != "table_close":
            kind = tokens[index].type
            if kind == "thead_open":
                in_head = True
            elif kind == "thead_close":
                in_head = False
            elif kind == "tr_open":
                cells = []
            elif kind == "inline":
                cells.append(_inline_text(tokens[index]))
            elif kind == "tr_close":
                if in_head:
                    header = tuple(cells)
                else:
                    rows.append(tuple(cells))
            index += 1
        self._add(Block("table", render_table(header, rows), table=Table(header, tuple(rows))))
        return index
