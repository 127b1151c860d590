"""docs/signaling.md and the code agree: every registered message and event, with the schema the code uses."""

from __future__ import annotations

from hub import keys
from signaling.docgen import DOC, REGISTRIES, render
from tests.conftest import Hub


def test_the_document_is_generated_from_the_current_schemas() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), "docs/signaling.md is stale: run python -m signaling.docgen"


async def test_every_message_the_hub_dispatches_is_documented(hub: Hub) -> None:
    dispatched = set(hub.app[keys.SIGNALING].commands)
    documented = {name for registry in REGISTRIES for name in registry.commands}
    assert dispatched == documented
    text = DOC.read_text(encoding="utf-8")
    for registry in hub.app[keys.SIGNALING].registries:
        for name in [*registry.commands, *registry.events]:
            assert f"`{name}`" in text, name
