"""Pinyin search keys: `xjc`, `xiejicheng` and `xie` find 谢继成 (pypinyin). A person's surname may be read
several ways (曾 zeng/ceng, 单 shan/dan, 解 xie/jie): each reading of the first character gives a key too, so
whichever the caller types finds them. Org units take the usual reading only (市 is shi, not fu)."""

from __future__ import annotations

from pypinyin import Style, lazy_pinyin, pinyin

# Readings of one first character kept at most (a surname has two or three).
MAX_READINGS = 4


def _keys(syllables: list[str]) -> list[str]:
    """The full spelling and the initials of one reading."""
    letters = [s for s in (syllable.strip().lower() for syllable in syllables) if s.isascii() and s.isalnum()]
    if not letters:
        return []
    return ["".join(letters), "".join(s[0] for s in letters)]


def search_key(name: str, *, surname: bool = False) -> str:
    """The pinyin keys of a name, space-separated ("xiejicheng xjc"); "" when it has no Chinese."""
    if not any("\u3400" <= ch <= "\u9fff" for ch in name):
        return ""
    usual = lazy_pinyin(name, style=Style.NORMAL, errors="ignore")
    keys = _keys(usual)
    if surname and name and usual:
        readings = pinyin(name[0], style=Style.NORMAL, heteronym=True, errors="ignore")
        for reading in (readings[0] if readings else [])[:MAX_READINGS]:
            keys += _keys([reading, *usual[1:]])
    return " ".join(dict.fromkeys(keys))[:400]
