"""docs/deploy.md names every setting there is, and no setting that is not."""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

from hub.settings import Settings

DOC = Path(__file__).parent.parent / "docs" / "deploy.md"


def setting_names() -> set[str]:
    names = set()
    for section in dataclasses.fields(Settings):
        cls = typing.get_type_hints(Settings)[section.name]
        for key in dataclasses.fields(cls):
            names.add(f"CITYHUB_{section.name}_{key.name}".upper())
    return names


def test_deploy_doc_lists_exactly_the_settings() -> None:
    documented = set(re.findall(r"`(CITYHUB_[A-Z0-9_]+)`", DOC.read_text(encoding="utf-8"))) - {"CITYHUB_CONFIG"}
    names = setting_names()
    assert sorted(names - documented) == [], "settings missing from docs/deploy.md"
    assert sorted(documented - names) == [], "docs/deploy.md names settings that do not exist"
