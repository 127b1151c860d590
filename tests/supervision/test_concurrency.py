"""Concurrent changes: one verdict wins, the other is refused; the audit chain stays one line."""

from __future__ import annotations

import asyncio

from tests.supervision.conftest import LEAD, LEAD_COLLEAGUE, SUPERVISOR, SvHub


async def test_two_verdicts_at_once(sv: SvHub) -> None:
    item_id = (await sv.decide())["item"]["id"]
    await sv.act(item_id, LEAD, "accept")
    await sv.act(item_id, LEAD, "submit", text="完成")
    results = await asyncio.gather(
        sv.act(item_id, SUPERVISOR, "close"), sv.act(item_id, "supervision-02", "return", text="补充材料"),
    )
    codes = sorted(code for code, _ in results)
    assert codes == [200, 409]
    loser = next(body for code, body in results if code == 409)
    assert loser["error"]["code"] == "illegal_transition"


async def test_many_writers_keep_the_chain(sv: SvHub) -> None:
    ids = [(await sv.decide())["item"]["id"] for _ in range(3)]
    for item_id in ids:
        await sv.act(item_id, LEAD, "accept")
    calls = [sv.act(item_id, person, "comment", text=f"意见{n}")
             for n, item_id in enumerate(ids * 4) for person in (LEAD, LEAD_COLLEAGUE)]
    results = await asyncio.gather(*calls)
    assert all(code == 200 for code, _ in results)
    verify = await sv.client.get("/api/v1/supervision/audit/verify", headers=sv.auth(SUPERVISOR))
    report = await verify.json()
    assert (report["status"], report["events"], report["first_broken_seq"]) == ("unanchored", 3 + 3 + 24, None)
