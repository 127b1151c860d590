"""Debian's Chromium, headless, with a fake camera and microphone: the one way every browser test launches it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

from playwright.async_api import Browser, async_playwright

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--disable-background-networking",
    "--disable-quic",
    "--no-sandbox",
]


@contextlib.asynccontextmanager
async def launched(*extra_args: str) -> AsyncIterator[Browser]:
    """A headless Chromium for one test (extra_args beyond the common ones), closed afterwards."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args],
                                                   headless=True)
        try:
            yield browser
        finally:
            await browser.close()
