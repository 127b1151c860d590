"""Pinyin: `xjc`, `xiejicheng` and `xie` find 谢继成; a surname read two ways is found either way; units too;
exact and prefix matches come first; existing rows get their keys from the migration."""

from __future__ import annotations

from typing import Any

from hub.directory.pinyin import search_key
from tests.conftest import Hub


def test_keys_of_names() -> None:
    assert search_key("谢继成", surname=True) == "xiejicheng xjc"
    assert set(search_key("曾国藩", surname=True).split()) >= {"zengguofan", "zgf", "cengguofan", "cgf"}
    assert search_key("市公用事业局") == "shigongyongshiyeju sgysyj"
    assert search_key("Alice Li", surname=True) == "" and search_key("") == ""


async def names(hub: Hub, q: str, **params: Any) -> list[str]:
    response = await hub.client.get("/api/v1/directory/people", params={"q": q, **params},
                                    headers=hub.auth("gov-office-03"))
    assert response.status == 200, await response.text()
    return [p["name"] for p in (await response.json())["items"]]


async def test_people_are_found_by_pinyin_best_first(hub: Hub) -> None:
    for typed in ("xjc", "XJC", "xiejicheng", "xiejic", "谢继成"):
        assert (await names(hub, typed))[0] == "谢继成", typed
    assert "谢继成" in await names(hub, "xie")
    assert "周淑珍" in await names(hub, "zsz")
    # a letter pattern inside a key is no match (keys match from their start): "jc" is not xie-ji-cheng
    assert "谢继成" not in await names(hub, "jcx")
    # a name typed in full comes before names merely containing it
    assert (await names(hub, "蒋平"))[0] == "蒋平"


async def test_units_are_found_by_pinyin_and_bad_queries_refused(hub: Hub) -> None:
    response = await hub.client.get("/api/v1/directory/org-units/search", params={"q": "sgy"},
                                    headers=hub.auth("gov-office-03"))
    assert response.status == 200
    assert [u["name"] for u in (await response.json())["items"]][0] == "市公用事业局"
    for params in ({"q": ""}, {"q": "x" * 101}, {"q": "a", "limit": 0}):
        refused = await hub.client.get("/api/v1/directory/org-units/search", params=params,
                                       headers=hub.auth("gov-office-03"))
        assert refused.status == 400, params
    assert (await hub.client.get("/api/v1/directory/org-units/search?q=a")).status == 401
    # wildcards are letters here
    assert await names(hub, "%") == [] and await names(hub, "_") == []
