"""Languages: zh-CN (default) and English, chosen by a cookie or Accept-Language; strings through gettext.

Catalogs are the .po files under web/locale, compiled in memory at start (no build step to forget).
"""

from __future__ import annotations

import contextvars
import io
from pathlib import Path

from aiohttp import web
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES = ("zh_CN", "en")
DEFAULT = "zh_CN"
LANG_COOKIE = "cityhub_lang"
LOCALE_DIR = Path(__file__).parent / "locale"

current_locale: contextvars.ContextVar[str] = contextvars.ContextVar("current_locale", default=DEFAULT)


def load_catalogs() -> dict[str, Translations]:
    """Every locale's translations, read from its one catalog, messages.po.

    One catalog, not one per domain: the same msgid meaning two things in two files would silently override one
    of them; in one file the collision is seen when it is written.
    """
    catalogs: dict[str, Translations] = {}
    for locale in LOCALES:
        po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
        if not po.exists():
            catalogs[locale] = Translations()
            continue
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        catalogs[locale] = Translations(buffer)
    return catalogs

def negotiate(request: web.Request) -> str:
    """The request's locale: the switch's cookie first, then Accept-Language, then Chinese."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LOCALES:
        return chosen
    header = request.headers.get("Accept-Language", "")
    ranked = []
    for part in header.split(","):
        lang, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        ranked.append((weight, lang.strip().lower()))
    for _, lang in sorted(ranked, reverse=True):
        if lang.startswith("zh"):
            return "zh_CN"
        if lang.startswith("en"):
            return "en"
    return DEFAULT


class Translator:
    """gettext for templates and handlers, following the locale of the request being served."""

    def __init__(self) -> None:
        self.catalogs = load_catalogs()

    def gettext(self, message: str, **variables: object) -> str:
        text = self.catalogs[current_locale.get()].gettext(message)
        return text % variables if variables else text

    def ngettext(self, singular: str, plural: str, n: int, **variables: object) -> str:
        text = self.catalogs[current_locale.get()].ngettext(singular, plural, n)
        return text % {"num": n, **variables}

    def raw_ngettext(self, singular: str, plural: str, n: int) -> str:
        """The translated form for n, placeholders left in (for a script to fill)."""
        return str(self.catalogs[current_locale.get()].ngettext(singular, plural, n))

    def strings(self, *messages: str) -> dict[str, str]:
        """Translations of several messages, for a page's scripts (passed as JSON, not inline code)."""
        return {message: self.gettext(message) for message in messages}
