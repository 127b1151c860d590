"""Every string the templates show has a zh_CN translation (the default language) and keys have English text."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from hub.app import create_app
from hub.directory.model import Role
from hub.settings import load_settings
from web.i18n import LOCALE_DIR
from web.pages import NAV

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
SINGULAR = re.compile(r"""\b_\(\s*(?P<q>["'])(?P<msg>(?:(?!(?P=q)).)+)(?P=q)\s*[,)]""")
PLURAL = re.compile(r"""ngettext\(\s*(?P<q>["'])(?P<one>.+?)(?P=q)\s*,\s*(?P<q2>["'])(?P<many>.+?)(?P=q2)""")
# Keys rather than English text: they need an English entry too.
KEY = re.compile(r"^[A-Za-z]+(\.[A-Za-z_]+)+$")


def catalog(locale: str) -> Catalog:
    """messages.po and every domain's <domain>.po of a locale, as the hub merges them (web.i18n)."""
    folder = LOCALE_DIR / locale / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as handle:
        merged = read_po(handle, locale=locale)
    for path in sorted(folder.glob("*.po")):
        if path.name == "messages.po":
            continue
        with path.open("rb") as handle:
            for message in read_po(handle, locale=locale):
                if message.id:
                    merged[message.id] = message
    return merged


def template_msgids() -> set[str]:
    found: set[str] = set()
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        # `_("role." + r)` does not match: the quote must be followed by `,` or `)`.
        found |= {m["msg"] for m in SINGULAR.finditer(text)}
        found |= {m["one"] for m in PLURAL.finditer(text)}
    return found


def dynamic_msgids() -> set[str]:
    """Msgids built at run time: role labels, every nav entry's label and blurb (other domains add theirs), and
    the accessible names of nav badges."""
    app = create_app(load_settings(environ={}))
    labels = {item.label for item in app[NAV]}
    badges = {item.badge.singular for item in app[NAV] if item.badge}
    return {f"role.{role.value}" for role in Role} | labels | {f"{label}.blurb" for label in labels} | badges


def test_the_parser_finds_the_templates_strings() -> None:
    found = template_msgids()
    assert {"Sign in", "Directory", "%(num)d person", "Good day, %(name)s", "Name, title, extension or unit",
            "No one matches."} <= found
    assert not any(m.startswith("role.") for m in found)


def test_every_msgid_has_a_chinese_translation() -> None:
    zh = catalog("zh_CN")
    missing, untranslated = [], []
    for msgid in sorted(template_msgids() | dynamic_msgids()):
        message = zh.get(msgid)
        if message is None:
            missing.append(msgid)
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        # Chinese text, or at least Chinese (full-width) punctuation for separators and brackets.
        if not all(strings) or not all(re.search(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]", s) for s in strings):
            untranslated.append(msgid)
    assert not missing, f"no zh_CN entry: {missing}"
    assert not untranslated, f"zh_CN entry without Chinese: {untranslated}"


def test_keys_have_english_text() -> None:
    en = catalog("en")
    keys = [m for m in template_msgids() | dynamic_msgids() if KEY.match(m)]
    assert "Directory.blurb" in keys and "role.chair" in keys
    missing = [k for k in keys if en.get(k) is None or not en.get(k).string]
    assert not missing, f"no English text for: {missing}"


def test_placeholders_survive_translation() -> None:
    for locale in ("zh_CN", "en"):
        for message in catalog(locale):
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            wanted = set(re.findall(r"%\(\w+\)[sd]", ids[0]))
            for text in strings:
                assert set(re.findall(r"%\(\w+\)[sd]", text)) == wanted, (locale, message.id)


def test_catalogs_have_no_fuzzy_entries() -> None:
    for locale in ("zh_CN", "en"):
        fuzzy = [message.id for message in catalog(locale) if message.id and message.fuzzy]
        assert not fuzzy, (locale, fuzzy)

