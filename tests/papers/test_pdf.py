"""The PDF engine: Chinese text laid out on A4 with its fonts embedded, readable back as text."""

from __future__ import annotations

import io

import pypdf

from hub.pdf import render_pdf

PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><style>
@page { size: A4; margin: 37mm 26mm 35mm 28mm; @bottom-center { content: "— " counter(page) " —"; } }
body { font-family: "Noto Serif CJK SC", serif; font-size: 16pt; }
</style></head><body><h1>城市供水保障专题会议纪要</h1><p>一、会议决定加固城区排水管网。</p></body></html>"""


async def test_chinese_on_a4_with_embedded_fonts_and_page_numbers() -> None:
    pdf = pypdf.PdfReader(io.BytesIO(await render_pdf(PAGE, title="会议纪要")))
    [page] = pdf.pages
    width_mm, height_mm = (float(v) * 25.4 / 72 for v in (page.mediabox.width, page.mediabox.height))
    assert (round(width_mm), round(height_mm)) == (210, 297)
    text = page.extract_text()
    assert "城市供水保障专题会议纪要" in text and "加固城区排水管网" in text and "— 1 —" in text
    fonts = {str(font["/BaseFont"]) for font in page["/Resources"]["/Font"].values()}
    # embedded as a subset (the "ABCDEF+" tag): the reader needs no font of its own
    assert any(name.split("+")[-1].startswith("Noto-Serif-CJK-SC") and "+" in name for name in fonts), fonts
    assert pdf.metadata is not None and pdf.metadata.title == "会议纪要"
