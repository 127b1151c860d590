"""PDF rendering for the papers (minutes, supervision handouts, appraisal): HTML and CSS laid out by WeasyPrint,
a real typesetting engine that embeds the fonts it uses (the CJK fonts come from Debian's packages: see
docs/documents.md "PDF"). Rendering is CPU work: it runs in a worker thread, a few at a time, so the event loop
keeps serving everyone else while a long paper is laid out."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)

# Papers laid out at once per process; more wait their turn (each takes a core while it runs).
MAX_AT_ONCE = 2
_slots: asyncio.Semaphore | None = None


def render_pdf_now(html: str, *, title: str = "", lang: str = "zh-CN") -> bytes:
    """The PDF of an HTML document (its CSS inside: @page size, margins, page numbers), in this thread."""
    from weasyprint import HTML  # imported when first needed: it loads pango and fontconfig

    document: Any = HTML(string=html).render()
    if title:
        document.metadata.title = title
    document.metadata.lang = lang
    return bytes(document.write_pdf())


async def render_pdf(html: str, *, title: str = "", lang: str = "zh-CN") -> bytes:
    """The PDF of an HTML document, laid out in a worker thread (at most MAX_AT_ONCE at a time)."""
    global _slots
    if _slots is None:
        _slots = asyncio.Semaphore(MAX_AT_ONCE)
    async with _slots:
        return await asyncio.to_thread(render_pdf_now, html, title=title, lang=lang)
