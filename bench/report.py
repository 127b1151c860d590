"""Benchmarks write their results into docs/benchmarks.md, one section each."""

from __future__ import annotations

from pathlib import Path


def pct(values: list[float], q: float) -> float:
    """The q-quantile of the values (nearest rank); NaN for none."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def write_section(path: str | Path, heading: str, body: str) -> None:
    """Replace the section that starts with `heading` (up to the next '## ') by `heading` + `body`; append if absent.

    Other sections are left as they are, with one blank line between sections.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    section = heading + "\n\n" + body.strip("\n") + "\n"
    start = text.find(heading + "\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(heading))
        rest = text[end + 1 :] if end >= 0 else ""
        text = text[:start] + section + ("\n" + rest if rest else "")
    path.write_text(text, encoding="utf-8")
