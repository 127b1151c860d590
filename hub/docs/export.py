"""Export of a document's content (a content.Node tree) as Markdown, HTML and Word (.docx)."""

from __future__ import annotations

import html
import io
import re
import unicodedata
from typing import Any

import docx
from docx.document import Document as DocxDocument
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.table import _Cell
from docx.text.paragraph import Paragraph

from hub.docs.content import INLINE_NODES, Node, Span, heading_level

FORMATS = {
    "md": ("text/markdown; charset=utf-8", "md"),
    "html": ("text/html; charset=utf-8", "html"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    "pdf": ("application/pdf", "pdf"),
}
_SAFE_URL = re.compile(r"^(https?://|mailto:|/(?!/))", re.IGNORECASE)


def child_blocks(node: Node) -> list[Node]:
    return [c for c in node.children if isinstance(c, Node) and c.type not in INLINE_NODES]


def _inlines(node: Node) -> list[Node | Span]:
    return [c for c in node.children if isinstance(c, Span) or c.type in INLINE_NODES]


def _is_inline_block(node: Node) -> bool:
    """A node holding text (a paragraph, heading...) rather than other blocks."""
    return not child_blocks(node)


# ---- Markdown ---------------------------------------------------------------------------------------------

_MD_ESCAPE = re.compile(r"([\\`*_\[\]<>|~])")
# What would start a block at the start of a line (also after a hard break: a heading, a quote, a bullet or a
# numbered item interrupts a paragraph). The escape goes on the punctuation: `\#`, `\-`, `1\.` (a backslash
# before a digit is a literal backslash in CommonMark).
_MD_LINE_START = re.compile(r"^(\s*)(?:([#>+-])|(\d+)([.)]))(?=\s|$)", re.MULTILINE)
# Emphasis markers around text that starts or ends with punctuation do not open or close next to a letter
# (CommonMark's flanking rules: `是**“引用”**后` stays literal); such spans are written as inline HTML instead.
_MD_TAGS = {"**": "strong", "*": "em", "~~": "del"}


def _md_text(text: str) -> str:
    return _MD_ESCAPE.sub(r"\\\1", text)


def _punctuation(char: str) -> bool:
    return unicodedata.category(char)[0] in "PS"


def _md_wrap(text: str, marker: str, raw: str) -> str:
    """Mark `text` (escaped already; `raw` as written) with an emphasis marker, whitespace kept outside."""
    stripped = text.strip()
    if not stripped:
        return text
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()):]
    core = raw.strip()
    if marker in _MD_TAGS and core and (_punctuation(core[0]) or _punctuation(core[-1])):
        tag = _MD_TAGS[marker]
        return f"{lead}<{tag}>{stripped}</{tag}>{trail}"
    return f"{lead}{marker}{stripped}{marker}{trail}"


def _md_line_start(match: re.Match[str]) -> str:
    indent, mark, digits, dot = match.groups()
    return f"{indent}\\{mark}" if mark else f"{indent}{digits}\\{dot}"


def _md_inline(node: Node) -> str:
    out = []
    for item in _inlines(node):
        if isinstance(item, Node):
            out.append("  \n" if item.type == "hardBreak" else "")
            continue
        marks = item.marks
        if "code" in marks:
            out.append(_md_wrap(item.text, "`", item.text))
            continue
        text = _md_text(item.text)
        for mark, marker in (("bold", "**"), ("italic", "*"), ("strike", "~~")):
            if mark in marks:
                text = _md_wrap(text, marker, item.text)
        link = marks.get("link")
        href = link.get("href") if isinstance(link, dict) else None
        if isinstance(href, str) and _SAFE_URL.match(href):
            text = f"[{text}](<{href.replace('>', '%3E')}>)"
        out.append(text)
    return _MD_LINE_START.sub(_md_line_start, "".join(out))


def _md_cell(cell: Node) -> str:
    parts = [_md_inline(b) if _is_inline_block(b) else _md_inline(Node("p", children=b.children))
             for b in child_blocks(cell)] or [_md_inline(cell)]
    return "<br>".join(p.replace("\n", " ") for p in parts).strip()


def _md_table(table: Node) -> list[str]:
    rows = [[_md_cell(c) for c in child_blocks(row)] for row in child_blocks(table)]
    if not rows:
        return []
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join(["---"] * width) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return lines


def _md_blocks(nodes: list[Node], indent: str = "") -> list[str]:
    """Markdown lines of some blocks, each block followed by a blank line."""
    lines: list[str] = []
    for node in nodes:
        lines.extend(_md_block(node, indent))
        lines.append("")
    return lines


def _md_list(node: Node, indent: str, ordered: bool) -> list[str]:
    lines: list[str] = []
    start = node.attrs.get("start", 1)
    number = int(start) if isinstance(start, int | float) else 1
    for item in child_blocks(node):
        marker = f"{number}. " if ordered else "- "
        number += 1
        inner = _md_blocks(child_blocks(item) or [Node("paragraph", children=item.children)],
                           indent + " " * len(marker))
        while inner and inner[-1] == "":
            inner.pop()
        body = [line for line in inner if line != ""] if len(inner) > 1 else inner
        first = body[0][len(indent) + len(marker):] if body else ""
        lines.append(indent + marker + first)
        lines.extend(body[1:])
    return lines


def _md_block(node: Node, indent: str) -> list[str]:
    kind = node.type
    if kind == "heading":
        return [indent + "#" * heading_level(node) + " " + _md_inline(node)]
    if kind in ("bulletList", "orderedList", "taskList"):
        return _md_list(node, indent, ordered=kind == "orderedList")
    if kind == "table":
        return [indent + line for line in _md_table(node)]
    if kind == "blockquote":
        inner = _md_blocks(child_blocks(node))
        while inner and inner[-1] == "":
            inner.pop()
        return [indent + ("> " + line if line else ">") for line in inner]
    if kind == "codeBlock":
        language = node.attrs.get("language")
        fence = "```" + (language if isinstance(language, str) and language.isalnum() else "")
        return [indent + fence, *(indent + line for line in node.text.split("\n")), indent + "```"]
    if kind == "horizontalRule":
        return [indent + "---"]
    if _is_inline_block(node):
        return [indent + line for line in _md_inline(node).split("\n")]
    inner = _md_blocks(child_blocks(node), indent)
    while inner and inner[-1] == "":
        inner.pop()
    return inner


def to_markdown(root: Node, title: str) -> str:
    """The document as CommonMark/GFM (tables as pipe tables), under its title as a first-level heading."""
    lines = ["# " + _md_text(title), ""] if title else []
    lines += _md_blocks(child_blocks(root))
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


# ---- HTML -------------------------------------------------------------------------------------------------

_HTML_BLOCK_TAGS = {"paragraph": "p", "blockquote": "blockquote", "bulletList": "ul", "orderedList": "ol",
                    "listItem": "li", "table": "table", "tableRow": "tr", "tableCell": "td", "tableHeader": "th",
                    "taskList": "ul", "taskItem": "li"}


def _html_inline(node: Node) -> str:
    out = []
    for item in _inlines(node):
        if isinstance(item, Node):
            out.append("<br>" if item.type == "hardBreak" else "")
            continue
        text = html.escape(item.text)
        marks = item.marks
        if "code" in marks:
            text = f"<code>{text}</code>"
        if "bold" in marks:
            text = f"<strong>{text}</strong>"
        if "italic" in marks:
            text = f"<em>{text}</em>"
        if "strike" in marks:
            text = f"<s>{text}</s>"
        if "underline" in marks:
            text = f"<u>{text}</u>"
        link = marks.get("link")
        href = link.get("href") if isinstance(link, dict) else None
        if isinstance(href, str) and _SAFE_URL.match(href):
            text = f'<a href="{html.escape(href)}" rel="noopener noreferrer">{text}</a>'
        out.append(text)
    return "".join(out)


def _span_attr(node: Node, name: str) -> str:
    value = node.attrs.get(name)
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 < int(value) <= 1000:
        return f' {name}="{int(value)}"'
    return ""


def _html_block(node: Node) -> str:
    kind = node.type
    if kind == "heading":
        level = heading_level(node)
        return f"<h{level}>{_html_inline(node)}</h{level}>"
    if kind == "horizontalRule":
        return "<hr>"
    if kind == "codeBlock":
        return f"<pre><code>{html.escape(node.text)}</code></pre>"
    tag = _HTML_BLOCK_TAGS.get(kind, "div" if child_blocks(node) else "p")
    attrs = ""
    if tag == "ol":
        start = node.attrs.get("start")
        if isinstance(start, int | float) and not isinstance(start, bool) and int(start) != 1:
            attrs = f' start="{int(start)}"'
    elif tag in ("td", "th"):
        attrs = _span_attr(node, "colspan") + _span_attr(node, "rowspan")
    if tag == "table":
        return "<table><tbody>" + "".join(_html_block(row) for row in child_blocks(node)) + "</tbody></table>"
    inner = "".join(_html_block(b) for b in child_blocks(node)) if child_blocks(node) else _html_inline(node)
    return f"<{tag}{attrs}>{inner}</{tag}>"


def to_html_fragment(root: Node) -> str:
    """The content as HTML built from a fixed set of tags: every text escaped, no scripts, no styles."""
    return "\n".join(_html_block(b) for b in child_blocks(root))


def to_html(root: Node, title: str, lang: str = "zh-CN") -> str:
    """A standalone HTML page of the document."""
    return (
        f'<!doctype html>\n<html lang="{html.escape(lang)}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n</head>\n<body>\n<h1>{html.escape(title)}</h1>\n"
        f"{to_html_fragment(root)}\n</body>\n</html>\n"
    )


# ---- Word (.docx) -----------------------------------------------------------------------------------------

def docx_runs(paragraph: Paragraph, node: Node) -> None:
    for item in _inlines(node):
        if isinstance(item, Node):
            if item.type == "hardBreak" and paragraph.runs:
                paragraph.runs[-1].add_break()
            elif item.type == "hardBreak":
                paragraph.add_run().add_break()
            continue
        run = paragraph.add_run(item.text)
        marks = item.marks
        run.bold = True if "bold" in marks else None
        run.italic = True if "italic" in marks else None
        if "strike" in marks:
            run.font.strike = True
        if "underline" in marks:
            run.underline = True
        if "code" in marks:
            run.font.name = "Courier New"


def _list_style(kind: str, depth: int) -> str:
    base = "List Number" if kind == "orderedList" else "List Bullet"
    return base if depth == 0 else f"{base} {min(depth + 1, 3)}"


class DocxWriter:
    def __init__(self, out: DocxDocument) -> None:
        self.out = out

    def blocks(self, nodes: list[Node], cell: _Cell | None = None, list_kind: str = "", depth: int = -1) -> None:
        for node in nodes:
            self.block(node, cell, list_kind, depth)

    def _paragraph(self, cell: _Cell | None, style: str | None = None) -> Paragraph:
        if cell is not None:
            first = cell.paragraphs[0]
            paragraph = first if not first.text and not first.runs else cell.add_paragraph()
            if style:
                paragraph.style = self.out.styles[style]
            return paragraph
        return self.out.add_paragraph(style=style)

    def block(self, node: Node, cell: _Cell | None, list_kind: str, depth: int) -> None:
        kind = node.type
        if kind == "heading" and cell is None:
            paragraph = self.out.add_heading(level=heading_level(node))
            docx_runs(paragraph, node)
        elif kind in ("bulletList", "orderedList", "taskList"):
            for item in child_blocks(node):
                self.blocks(child_blocks(item) or [Node("paragraph", children=item.children)], cell, kind, depth + 1)
        elif kind == "table" and cell is None:
            self.table(node)
        elif kind == "horizontalRule":
            self._paragraph(cell)
        elif kind == "codeBlock":
            paragraph = self._paragraph(cell, "No Spacing")
            for number, line in enumerate(node.text.split("\n")):
                if number:
                    paragraph.runs[-1].add_break()
                paragraph.add_run(line).font.name = "Courier New"
        elif kind == "blockquote":
            for child in child_blocks(node):
                if _is_inline_block(child):
                    docx_runs(self._paragraph(cell, "Quote"), child)
                else:
                    self.block(child, cell, list_kind, depth)
        elif _is_inline_block(node):
            style = _list_style(list_kind, depth) if list_kind else None
            docx_runs(self._paragraph(cell, style), node)
        else:
            self.blocks(child_blocks(node), cell, list_kind, depth)

    def table(self, node: Node) -> None:
        rows = [child_blocks(row) for row in child_blocks(node)]
        if not rows:
            return
        width = max(len(r) for r in rows) or 1
        table = self.out.add_table(rows=len(rows), cols=width)
        table.style = self.out.styles["Table Grid"]
        for r, cells in enumerate(rows):
            for c, cell_node in enumerate(cells):
                cell = table.cell(r, c)
                self.blocks(child_blocks(cell_node) or [Node("paragraph", children=cell_node.children)], cell)
                if cell_node.type == "tableHeader":
                    for paragraph in cell.paragraphs:
                        for run in paragraph.runs:
                            run.bold = True


def to_docx(root: Node, title: str) -> bytes:
    """The document as a Word file: headings, lists, bold/italic, tables in Word's own styles."""
    out = docx.Document()
    normal: Any = out.styles["Normal"]
    normal.font.size = Pt(11)
    # East Asian text needs an East Asian font name, or Word falls back to one without Chinese glyphs.
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "SimSun")
    out.core_properties.title = title
    if title:
        out.add_heading(title, level=0)
    DocxWriter(out).blocks(child_blocks(root))
    buffer = io.BytesIO()
    out.save(buffer)
    return buffer.getvalue()
