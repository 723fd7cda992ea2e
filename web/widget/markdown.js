// A small, safe Markdown renderer for chat messages: everything is escaped first, then a few
// constructs (headings, lists, quotes, code, emphasis, links, citation markers) become HTML.

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

function inline(text, citations) {
  let html = escapeHtml(text);
  html = html.replace(/`([^`]+)`/g, "<code>$1</code>");
  html = html.replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>");
  html = html.replace(/(^|[^*])\*([^*\s][^*]*)\*/g, "$1<em>$2</em>");
  html = html.replace(/\[([^\]]+)\]\((https?:\/\/[^)\s]+)\)/g,
    '<a href="$2" target="_blank" rel="noopener noreferrer">$1</a>');
  html = html.replace(/\[(S\d+)\]/g, (marker, ref) => {
    const cited = citations.find((c) => c.ref === ref);
    if (!cited) return marker;
    const where = cited.page ? `, page ${cited.page}` : "";
    const label = `${cited.source ?? "source"}${where}`;
    return `<button type="button" class="cite" data-ref="${escapeHtml(ref)}" `
      + `title="${escapeHtml(label)}" aria-label="Source ${escapeHtml(ref)}: ${escapeHtml(label)}">`
      + `${escapeHtml(ref)}</button>`;
  });
  return html;
}

/** HTML for a message's Markdown `text`; `[S1]` markers that name a citation become buttons. */
export function renderMarkdown(text, citations = []) {
  const out = [];
  let list = null;
  let paragraph = [];
  let fence = null;
  const flushParagraph = () => {
    if (paragraph.length) out.push(`<p>${paragraph.map((l) => inline(l, citations)).join("<br>")}</p>`);
    paragraph = [];
  };
  const closeList = () => {
    if (list) out.push(`</${list}>`);
    list = null;
  };
  for (const line of String(text).split("\n")) {
    if (fence !== null) {
      if (line.startsWith("```")) {
        out.push(`<pre><code>${escapeHtml(fence.join("\n"))}</code></pre>`);
        fence = null;
      } else {
        fence.push(line);
      }
      continue;
    }
    if (line.startsWith("```")) { flushParagraph(); closeList(); fence = []; continue; }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    const bullet = /^\s*[-*+]\s+(.*)$/.exec(line);
    const numbered = /^\s*\d+[.)]\s+(.*)$/.exec(line);
    const quote = /^>\s?(.*)$/.exec(line);
    if (heading) {
      flushParagraph(); closeList();
      const level = Math.min(6, heading[1].length + 2);
      out.push(`<h${level}>${inline(heading[2], citations)}</h${level}>`);
    } else if (bullet || numbered) {
      flushParagraph();
      const kind = bullet ? "ul" : "ol";
      if (list !== kind) { closeList(); out.push(`<${kind}>`); list = kind; }
      out.push(`<li>${inline((bullet ?? numbered)[1], citations)}</li>`);
    } else if (quote) {
      flushParagraph(); closeList();
      out.push(`<blockquote>${inline(quote[1], citations)}</blockquote>`);
    } else if (!line.trim()) {
      flushParagraph(); closeList();
    } else {
      closeList();
      paragraph.push(line);
    }
  }
  if (fence !== null) out.push(`<pre><code>${escapeHtml(fence.join("\n"))}</code></pre>`);
  flushParagraph();
  closeList();
  return out.join("");
}
