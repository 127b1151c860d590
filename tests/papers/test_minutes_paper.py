"""Minutes as an official paper (GB/T 9704-2012, 纪要): opened with the libraries a user's tools use: python-docx
for Word (A4, margins, the official fonts by name, zh-CN, the 22 x 28 grid, "— 1 —" page numbers on the outer
side), pypdf for the PDF (A4, the text, the page numbers, fonts embedded). Its pages are rendered to PNG in
test-artifacts/papers for a human to look at."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import docx
import pypdf
import pypdfium2
from docx.oxml.ns import qn

from tests.conftest import Hub
from tests.meetings.conftest import create_meeting

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "papers"


async def minutes_with_a_decision(hub: Hub) -> tuple[dict[str, object], str]:
    start = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)  # 09:00 in the city
    meeting = await create_meeting(hub, title="城市供水保障专题会", secretary="gov-office-03",
                                   description="通报供水形势\n研究管网改造", starts_at=start.isoformat(),
                                   ends_at=(start + timedelta(hours=2)).isoformat())
    due = (datetime.now(UTC) + timedelta(days=20)).date().isoformat()
    decided = await hub.client.post(f"/api/v1/meetings/{meeting['id']}/decisions", headers=hub.auth("p-xie"), json={
        "text": "年底前完成城区老旧供水管网改造", "lead_unit": "pub-util", "responsible": "pub-util-04",
        "due_date": due})
    assert decided.status == 201
    number = (await decided.json())["item"]["number"]
    return meeting, str(number)


async def export(hub: Hub, doc_id: object, fmt: str) -> bytes:
    response = await hub.client.get(f"/api/v1/docs/{doc_id}/export?format={fmt}", headers=hub.auth("p-xie"))
    assert response.status == 200, await response.text()
    return await response.read()


async def test_the_minutes_in_word(hub: Hub) -> None:
    meeting, number = await minutes_with_a_decision(hub)
    word = docx.Document(io.BytesIO(await export(hub, meeting["minutes_doc_id"], "docx")))
    section = word.sections[0]
    assert [round(v.mm) for v in (section.page_width, section.page_height, section.top_margin,
                                  section.bottom_margin, section.left_margin, section.right_margin)] == [
        210, 297, 37, 35, 28, 26]
    grid = section._sectPr.find(qn("w:docGrid"))
    assert grid.get(qn("w:type")) == "linesAndChars" and int(grid.get(qn("w:linePitch"))) in range(575, 585)

    def east_asian(style: str) -> str:
        return str(word.styles[style].element.rPr.rFonts.get(qn("w:eastAsia")))

    assert (east_asian("Title"), word.styles["Title"].font.size.pt) == ("方正小标宋简体", 22)
    assert (east_asian("Normal"), word.styles["Normal"].font.size.pt) == ("仿宋_GB2312", 16)
    assert east_asian("Heading 1") == "黑体" and east_asian("Heading 2") == "楷体_GB2312"
    theme = word.settings.element.find(qn("w:themeFontLang"))
    assert theme.get(qn("w:val")) == "zh-CN" and theme.get(qn("w:eastAsia")) == "zh-CN"
    assert word.settings.element.find(qn("w:evenAndOddHeaders")) is not None
    assert [p.text for p in section.footer.paragraphs] == ["— 1 —"]
    assert section.footer.paragraphs[0].alignment == 2 and section.even_page_footer.paragraphs[0].alignment == 0
    paragraphs = [(p.style.name, p.text) for p in word.paragraphs]
    assert paragraphs[0] == ("Title", "城市供水保障专题会 纪要")
    assert ("Heading 1", "一、会议议程") in paragraphs and ("Heading 1", "三、决定事项") in paragraphs
    assert ("Normal", "1. 年底前完成城区老旧供水管网改造") in paragraphs
    decision = next(text for _, text in paragraphs if text.startswith("牵头单位"))
    assert "责任人：周淑珍" in decision and f"督办编号：{number}" in decision and "办结时限：" in decision
    assert [text for _, text in paragraphs[-2:]] == ["市公用事业局", "2026年12月5日"]
    assert word.core_properties.language == "zh-CN"


async def test_the_minutes_in_pdf(hub: Hub) -> None:
    meeting, number = await minutes_with_a_decision(hub)
    pdf = await export(hub, meeting["minutes_doc_id"], "pdf")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    first = reader.pages[0]
    assert (round(float(first.mediabox.width) * 25.4 / 72), round(float(first.mediabox.height) * 25.4 / 72)) == (
        210, 297)
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "城市供水保障专题会 纪要" in text and "一、会议议程" in text and number in text
    assert "— 1 —" in text and "市公用事业局" in text and "2026年12月5日" in text
    fonts = {str(font["/BaseFont"]) for page in reader.pages for font in page["/Resources"]["/Font"].values()}
    assert any("+Noto-Serif-CJK-SC" in name for name in fonts), fonts  # embedded (a subset)
    SHOTS.mkdir(parents=True, exist_ok=True)
    rendered = pypdfium2.PdfDocument(pdf)
    for index in range(len(rendered)):
        rendered[index].render(scale=1.2).to_pil().save(SHOTS / f"minutes-{index + 1}.png")
