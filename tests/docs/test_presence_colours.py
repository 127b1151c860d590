"""Others' selections in the editor are coloured by class (editor.css), not by inline styles the hub's
Content-Security-Policy refuses: every presence colour has its class."""

from __future__ import annotations

from pathlib import Path

from hub.docs.service import PALETTE

EDITOR_CSS = Path(__file__).resolve().parents[2] / "web" / "static" / "src" / "editor.css"


def test_every_presence_colour_has_its_selection_class() -> None:
    css = EDITOR_CSS.read_text(encoding="utf-8")
    assert [c for c in PALETTE if f".ch-sel-{c[1:].lower()} " not in css] == []
