"""Raw HTML and template tags in Markdown reduced to the text a reader sees.

Markdown files embed HTML blocks (notes, tables, details) and, in static-site sources, Liquid
or Jinja tags (`{% raw %}`, `{{ page.title }}`). Indexed verbatim, their markup would be
searched and shown as if it were prose; only the text between the tags is kept.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["HtmlText", "strip_template_tags"]

# `{% ... %}` statements, `{{ ... }}` expressions and `{# ... #}` comments (Liquid, Jinja,
# Nunjucks, Hugo shortcodes' `{{< ... >}}` and mdBook's `{{#include ...}}` alike).
_TEMPLATE_TAG = re.compile(r"\{%.*?%\}|\{\{.*?\}\}|\{#.*?#\}", re.DOTALL)
_BLOCK_ELEMENTS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "div",
        "dl", "dt", "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6",
        "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table",
        "tbody", "thead", "tfoot", "tr", "ul",
    }
)  # fmt: skip
_CELLS = frozenset({"td", "th"})
_HIDDEN = frozenset({"script", "style", "template", "noscript"})
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
_SPACES = re.compile(r"[ \t\r\f\v]+")
_WHITESPACE = re.compile(r"\s+")


def strip_template_tags(text: str) -> str:
    """`text` without template tags, the spaces left around them collapsed."""
    if "{" not in text:
        return text
    return _SPACES.sub(" ", _TEMPLATE_TAG.sub(" ", text))


class HtmlText(HTMLParser):
    """Collects the text of HTML fed to it in pieces, and how many elements are still open.

    CommonMark ends an HTML block at a blank line, so the content of one element may arrive
    as several HTML blocks with Markdown (often an indented "code" block) in between;
    `open_elements` tells the caller that such a piece is still inside HTML.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._parts: list[str] = []
        self._hidden = 0
        self._cell_open = False
        self.open_elements = 0

    def paragraphs(self, html: str) -> list[str]:
        """Feed `html`; return its text, one string per block element (tags, comments,
        scripts and template tags dropped; the cells of a table row joined with ` | `)."""
        self._parts = []
        self.feed(_TEMPLATE_TAG.sub(" ", html))
        self.goahead(True)  # flush text held back while waiting for a possible tag
        lines = (" ".join(line.split()) for line in "".join(self._parts).split("\n"))
        return [line for line in lines if line]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _VOID:
            self.open_elements += 1
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag in _BLOCK_ELEMENTS:
            self._parts.append("\n")
            self._cell_open = False
        elif tag in _CELLS:
            if self._cell_open:
                self._parts.append(" | ")
            self._cell_open = True
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self._parts.append(alt)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img" or tag in _BLOCK_ELEMENTS:
            self.handle_starttag(tag, attrs)
            if tag not in _VOID:
                self.open_elements -= 1

    def handle_endtag(self, tag: str) -> None:
        if tag not in _VOID:
            self.open_elements = max(0, self.open_elements - 1)
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCK_ELEMENTS:
            self._parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            # Line breaks in HTML source are spaces; block elements make the breaks.
            self._parts.append(_WHITESPACE.sub(" ", data))
