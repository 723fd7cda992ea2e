"""A small block model of phase Markdown, shared by the PDF and DOCX renderers."""

from __future__ import annotations

from typing import Literal

import msgspec


class Run(msgspec.Struct, frozen=True):
    """A piece of inline text with uniform formatting; ``"\\n"`` alone is a hard line break."""

    text: str
    bold: bool = False
    italic: bool = False
    code: bool = False
    strike: bool = False
    href: str | None = None


class Heading(msgspec.Struct, frozen=True):
    """A heading; ``level`` is already shifted below the phase heading (phase = 1)."""

    level: int
    runs: list[Run]


class Paragraph(msgspec.Struct, frozen=True):
    runs: list[Run]


class ListItem(msgspec.Struct, frozen=True):
    blocks: list[Block]


class ListBlock(msgspec.Struct, frozen=True):
    ordered: bool
    items: list[ListItem]
    start: int = 1


Align = Literal["left", "center", "right"]


class Table(msgspec.Struct, frozen=True):
    """A table whose first row is the header; every row has ``len(header)`` cells, and
    ``align`` has each column's alignment (``---:`` is right)."""

    header: list[list[Run]]
    rows: list[list[list[Run]]]
    align: list[Align] = msgspec.field(default_factory=list)


class CodeBlock(msgspec.Struct, frozen=True):
    text: str
    language: str = ""


class Quote(msgspec.Struct, frozen=True):
    blocks: list[Block]


class Rule(msgspec.Struct, frozen=True):
    pass


Block = Heading | Paragraph | ListBlock | Table | CodeBlock | Quote | Rule


def plain_text(runs: list[Run]) -> str:
    """The text of ``runs`` without formatting, line breaks as spaces."""
    return "".join(" " if run.text == "\n" else run.text for run in runs)
