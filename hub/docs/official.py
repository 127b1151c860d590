"""Papers in the official format (GB/T 9704-2012 党政机关公文格式), for minutes (纪要) first: A4; margins top
37 mm, bottom 35 mm, left 28 mm, right 26 mm; the title in 2号 (22 pt) 小标宋, the body in 3号 (16 pt) 仿宋, 22
lines of 28 characters; headings numbered 一、 (黑体) and （一） (楷体); page numbers "— 1 —" in 4号, on the
outer side (odd pages right, even pages left); the issuing unit and the date at the end. Word gets the official
fonts by name (it substitutes where a computer lacks them); the PDF embeds free CJK fonts from Debian's packages
(docs/documents.md "PDF")."""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import docx
from docx.enum.section import WD_SECTION
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from hub.docs.content import Node, Span, heading_level
from hub.docs.export import DocxWriter, child_blocks, docx_runs, to_html_fragment

# The type area: 156 mm x 225 mm holding 22 lines of 28 characters of 16 pt.
PAGE_MARGINS_MM = {"top": 37, "bottom": 35, "left": 28, "right": 26}
BODY_PT, TITLE_PT, PAGE_NUMBER_PT = 16, 22, 14
LINE_PITCH_PT = 225 / 25.4 * 72 / 22  # 28.93 pt
CHAR_PITCH_PT = 156 / 25.4 * 72 / 28  # 15.79 pt
FONTS = {"title": "方正小标宋简体", "body": "仿宋_GB2312", "h1": "黑体", "h2": "楷体_GB2312", "number": "宋体"}
CHINESE_NUMERALS = "一二三四五六七八九十"
_SECTION_MARKS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "（", "(")


@dataclass(frozen=True)
class Signature:
    """A leader's handwritten sign-off of the paper's text: the signature as drawn, the name, the day."""

    name: str
    unit: str
    day: date
    png: bytes

    @property
    def line(self) -> str:
        return f"{self.name}　{_official_date(self.day)}"


def _official_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


@dataclass(frozen=True)
class Paper:
    """What the paper says besides its content: its title, who issues it and when, who signed it off (or that
    the text differs from what was signed)."""

    title: str
    issuer: str
    day: date
    signatures: tuple[Signature, ...] = ()
    notice: str = ""

    @property
    def date_text(self) -> str:
        """2026年12月5日: the date as official papers write it (Arabic numerals, no leading zeros)."""
        return _official_date(self.day)


def _numeral(n: int) -> str:
    if n <= 10:
        return CHINESE_NUMERALS[n - 1]
    if n < 20:
        return "十" + CHINESE_NUMERALS[n - 11]
    return CHINESE_NUMERALS[n // 10 - 1] + "十" + (CHINESE_NUMERALS[n % 10 - 1] if n % 10 else "")


def _text(node: Node) -> str:
    return "".join(c.text for c in node.children if isinstance(c, Span))


def paper_blocks(root: Node, title: str) -> list[Node]:
    """The content as the paper's blocks: a leading first-level heading that the title already says is dropped;
    the remaining heading levels become the paper's 一、 and （一） (a heading numbered by hand keeps its number)."""
    blocks = child_blocks(root)
    if blocks and blocks[0].type == "heading" and _text(blocks[0]).strip() and title.startswith(
            _text(blocks[0]).strip()):
        blocks = blocks[1:]
    levels = sorted({heading_level(b) for b in blocks if b.type == "heading"})
    counters = [0, 0, 0]
    out = []
    for block in blocks:
        if block.type != "heading":
            out.append(block)
            continue
        rank = min(levels.index(heading_level(block)), 2)
        counters[rank] += 1
        counters[rank + 1:] = [0] * (2 - rank)
        text = _text(block).lstrip()
        prefix = ""
        if not text.startswith(_SECTION_MARKS) and rank < 2:
            prefix = f"{_numeral(counters[0])}、" if rank == 0 else f"（{_numeral(counters[1])}）"
        children = [Span(prefix), *block.children] if prefix else block.children
        out.append(replace(block, attrs={**block.attrs, "level": rank + 1}, children=children))
    return out


# ---- Word ---------------------------------------------------------------------------------------------------

def _east_asian(style: Any, font: str, size: float, bold: bool = False) -> None:
    style.font.name = font
    style.font.size = Pt(size)
    style.font.bold = bold
    style.font.italic = False
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), font)
    style.font.color.rgb = None


def _language(out: Any) -> None:
    """zh-CN everywhere Word looks: the default run language and the theme fonts' language."""
    defaults = out.styles.element.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    for attribute in ("w:val", "w:eastAsia"):
        lang.set(qn(attribute), "zh-CN")
    lang.set(qn("w:bidi"), "ar-SA")
    settings = out.settings.element
    theme = settings.find(qn("w:themeFontLang"))
    if theme is None:
        theme = OxmlElement("w:themeFontLang")
        settings.append(theme)
    theme.set(qn("w:val"), "zh-CN")
    theme.set(qn("w:eastAsia"), "zh-CN")
    if settings.find(qn("w:evenAndOddHeaders")) is None:
        settings.append(OxmlElement("w:evenAndOddHeaders"))


def _page(section: Any) -> None:
    section.start_type = WD_SECTION.NEW_PAGE
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(PAGE_MARGINS_MM["top"]), Mm(PAGE_MARGINS_MM["bottom"])
    section.left_margin, section.right_margin = Mm(PAGE_MARGINS_MM["left"]), Mm(PAGE_MARGINS_MM["right"])
    section.footer_distance = Mm(28 - 7)  # the number sits 7 mm below the type area
    sect = section._sectPr
    grid = sect.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        sect.append(grid)
    grid.set(qn("w:type"), "linesAndChars")
    grid.set(qn("w:linePitch"), str(round(LINE_PITCH_PT * 20)))
    grid.set(qn("w:charSpace"), str(round((CHAR_PITCH_PT - BODY_PT) * 4096)))
    _page_number(section.footer, WD_ALIGN_PARAGRAPH.RIGHT)
    _page_number(section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT)


def _page_number(footer: Any, align: Any) -> None:
    """— 1 —: 4号 半角 digits between em dashes, a character in from the outer edge."""
    paragraph = footer.paragraphs[0]
    paragraph.alignment = align
    indent = Pt(PAGE_NUMBER_PT)
    if align == WD_ALIGN_PARAGRAPH.RIGHT:
        paragraph.paragraph_format.right_indent = indent
    else:
        paragraph.paragraph_format.left_indent = indent

    def run(text: str = "") -> Any:
        made = paragraph.add_run(text)
        made.font.size = Pt(PAGE_NUMBER_PT)
        made.font.name = FONTS["number"]
        made.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONTS["number"])
        return made

    run("— ")
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
        made = run()
        if kind:
            field = OxmlElement("w:fldChar")
            field.set(qn("w:fldCharType"), kind)
            made.element.append(field)
        elif text == " PAGE ":
            code = OxmlElement("w:instrText")
            code.set(qn("xml:space"), "preserve")
            code.text = text
            made.element.append(code)
        else:
            made.text = text or ""
    run(" —")


def _styles(out: Any) -> None:
    styles = out.styles
    normal = styles["Normal"]
    _east_asian(normal, FONTS["body"], BODY_PT)
    body = normal.paragraph_format
    body.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    body.line_spacing = Pt(LINE_PITCH_PT)
    body.space_before = body.space_after = Pt(0)
    body.first_line_indent = Pt(BODY_PT * 2)
    body.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    for name, font, size in (("Title", FONTS["title"], TITLE_PT), ("Heading 1", FONTS["h1"], BODY_PT),
                             ("Heading 2", FONTS["h2"], BODY_PT), ("Heading 3", FONTS["body"], BODY_PT)):
        style = styles[name]
        _east_asian(style, font, size, bold=name == "Heading 3")
        fmt = style.paragraph_format
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = Pt(LINE_PITCH_PT * (1.3 if name == "Title" else 1))
        fmt.space_before = fmt.space_after = Pt(0)
        fmt.first_line_indent = Pt(0) if name == "Title" else Pt(BODY_PT * 2)
        fmt.alignment = WD_ALIGN_PARAGRAPH.CENTER if name == "Title" else WD_ALIGN_PARAGRAPH.LEFT
        fmt.keep_with_next = True
        # Word's title style draws a rule under it; the paper has none
        border = style.element.get_or_add_pPr().find(qn("w:pBdr"))
        if border is not None:
            border.getparent().remove(border)


class _PaperWriter(DocxWriter):
    def block(self, node: Node, cell: Any, list_kind: str, depth: int) -> None:
        if node.type == "heading" and cell is None:
            docx_runs(self.out.add_paragraph(style=f"Heading {heading_level(node)}"), node)
        else:
            super().block(node, cell, list_kind, depth)


def _signoff_docx(out: Any, paper: Paper) -> None:
    """The sign-off block: each leader's signature as drawn, then the name and the day (签批)."""
    for signature in paper.signatures:
        block = out.add_paragraph()
        block.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        block.paragraph_format.first_line_indent = Pt(0)
        block.add_run("签批：")
        block.add_run().add_picture(io.BytesIO(signature.png), width=Mm(45))
        line = out.add_paragraph(signature.line)
        line.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        line.paragraph_format.first_line_indent = Pt(0)
        line.paragraph_format.right_indent = Pt(BODY_PT * 4)
    if paper.notice:
        note = out.add_paragraph(paper.notice)
        note.paragraph_format.first_line_indent = Pt(0)
        note.runs[0].bold = True


def official_docx(root: Node, paper: Paper) -> bytes:
    """The paper as a Word file in the official layout."""
    out = docx.Document()
    _language(out)
    _styles(out)
    _page(out.sections[0])
    out.core_properties.title = paper.title
    out.core_properties.language = "zh-CN"
    out.add_paragraph(paper.title, style="Title")
    out.add_paragraph("", style="Normal").paragraph_format.first_line_indent = Pt(0)
    _PaperWriter(out).blocks(paper_blocks(root, paper.title))
    for text in ("", paper.issuer, paper.date_text):
        signed = out.add_paragraph(text)
        signed.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        signed.paragraph_format.first_line_indent = Pt(0)
        signed.paragraph_format.right_indent = Pt(BODY_PT * 4)
    _signoff_docx(out, paper)
    buffer = io.BytesIO()
    out.save(buffer)
    return buffer.getvalue()


# ---- PDF (HTML for hub.pdf) ---------------------------------------------------------------------------------

PAPER_CSS = f"""
@page {{ size: A4; margin: {PAGE_MARGINS_MM['top']}mm {PAGE_MARGINS_MM['right']}mm {PAGE_MARGINS_MM['bottom']}mm
  {PAGE_MARGINS_MM['left']}mm; }}
@page :right {{ @bottom-right {{ content: "— " counter(page) " —"; font: {PAGE_NUMBER_PT}pt "Noto Serif CJK SC";
  margin-right: 1em; vertical-align: top; padding-top: 7mm; }} }}
@page :left {{ @bottom-left {{ content: "— " counter(page) " —"; font: {PAGE_NUMBER_PT}pt "Noto Serif CJK SC";
  margin-left: 1em; vertical-align: top; padding-top: 7mm; }} }}
html {{ font-family: "FangSong", "仿宋_GB2312", "Noto Serif CJK SC", serif; font-size: {BODY_PT}pt; }}
body {{ margin: 0; line-height: {LINE_PITCH_PT:.2f}pt; letter-spacing: {CHAR_PITCH_PT - BODY_PT:.2f}pt;
  text-align: justify; }}
h1.paper-title {{ font-family: "FZXiaoBiaoSong-B05S", "方正小标宋简体", "Noto Serif CJK SC", serif;
  font-size: {TITLE_PT}pt; font-weight: 700; text-align: center; line-height: {LINE_PITCH_PT * 1.3:.2f}pt;
  margin: 0 0 {LINE_PITCH_PT:.2f}pt; letter-spacing: 0; }}
p, li {{ margin: 0; text-indent: 2em; orphans: 2; widows: 2; }}
h1, h2, h3, h4 {{ font-size: {BODY_PT}pt; margin: 0; text-indent: 2em; break-after: avoid; }}
h1, h2 {{ font-family: "SimHei", "黑体", "Noto Sans CJK SC", sans-serif; font-weight: 400; }}
h3 {{ font-family: "KaiTi", "楷体_GB2312", "AR PL UKai CN", "Noto Serif CJK SC", serif; font-weight: 400; }}
h4, h5, h6 {{ font-weight: 700; }}
ul, ol {{ margin: 0; padding-left: 2em; }}
blockquote {{ margin: 0 2em; }}
table {{ border-collapse: collapse; width: 100%; text-indent: 0; }}
td, th {{ border: 1px solid #000; padding: 0 .3em; text-indent: 0; }}
pre {{ white-space: pre-wrap; font-size: 12pt; line-height: 1.4; }}
.issuer {{ text-align: right; text-indent: 0; margin-top: {LINE_PITCH_PT:.2f}pt; padding-right: 4em; }}
.issuer.date {{ margin-top: 0; }}
.signoff {{ text-align: right; text-indent: 0; margin-top: {LINE_PITCH_PT:.2f}pt; break-inside: avoid; }}
.signoff img {{ width: 45mm; vertical-align: middle; }}
.signoff p {{ text-align: right; text-indent: 0; padding-right: 4em; }}
.signoff-notice {{ text-indent: 0; font-weight: 700; margin-top: {LINE_PITCH_PT:.2f}pt; }}
"""


def official_html(root: Node, paper: Paper) -> str:
    """The paper as an HTML document laid out for print in the official format (hub.pdf renders it)."""
    body_root = Node("doc", children=list(paper_blocks(root, paper.title)))
    content = to_html_fragment(body_root)
    # the paper's heading levels 1-3 are h2-h4 under its title (h1)
    for level in (3, 2, 1):
        content = content.replace(f"<h{level}>", f"<h{level + 1}>").replace(f"</h{level}>", f"</h{level + 1}>")
    title = html.escape(paper.title)
    return (
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{PAPER_CSS}</style></head><body><h1 class=\"paper-title\">{title}</h1>\n{content}\n"
        f'<p class="issuer">{html.escape(paper.issuer)}</p><p class="issuer date">{html.escape(paper.date_text)}'
        f"</p>{_signoff_html(paper)}</body></html>"
    )


def _signoff_html(paper: Paper) -> str:
    blocks = [
        f'<div class="signoff"><span>签批：</span><img alt="{html.escape(s.name)}" '
        f'src="data:image/png;base64,{base64.b64encode(s.png).decode()}"><p>{html.escape(s.line)}</p></div>'
        for s in paper.signatures
    ]
    if paper.notice:
        blocks.append(f'<p class="signoff-notice">{html.escape(paper.notice)}</p>')
    return "".join(blocks)
