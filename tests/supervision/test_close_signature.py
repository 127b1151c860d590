"""A supervisor closes an item with a handwritten signature: kept with the SHA-256 of the item as closed, in the
audit chain, shown on the item page; through the API and through the page's form; bad strokes close nothing."""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa

from hub import keys
from hub.supervision import audit
from hub.supervision.tables import audit as audit_table
from tests.supervision.conftest import LEAD, SUPERVISOR, SvHub

STROKES = [[{"x": 0.1 + i / 50, "y": 0.5, "t": 10 * i, "p": 0.7} for i in range(30)],
           [{"x": 0.5, "y": 0.2, "t": 0, "p": 0.5}, {"x": 0.6, "y": 0.8, "t": 40, "p": 0.5}]]


async def submitted(sv: SvHub) -> str:
    item_id = str((await sv.decide())["item"]["id"])
    assert (await sv.act(item_id, LEAD, "accept"))[0] == 200
    assert (await sv.act(item_id, LEAD, "submit", text="已完成改造"))[0] == 200
    return item_id


async def test_closing_signed_by_hand(sv: SvHub) -> None:
    item_id = await submitted(sv)
    # bad strokes, or strokes on another action: refused, nothing changes
    for body, code in (({"strokes": []}, "empty_signature"),
                       ({"strokes": [[{"x": 1.5, "y": 0, "t": 0}]]}, "invalid_body")):
        status, answer = await sv.act(item_id, SUPERVISOR, "close", **body)
        assert status == 400 and answer["error"]["code"] == code
    status, answer = await sv.act(item_id, SUPERVISOR, "return", text="补充", strokes=STROKES)
    assert status == 400 and answer["error"]["code"] == "signature_not_expected"
    assert (await (await sv.client.get(f"/api/v1/supervision/items/{item_id}", headers=sv.auth(LEAD))).json()
            )["item"]["status"] == "submitted"

    status, answer = await sv.act(item_id, SUPERVISOR, "close", text="同意办结", strokes=STROKES)
    assert status == 200, answer
    got = await (await sv.client.get(f"/api/v1/supervision/items/{item_id}", headers=sv.auth(LEAD))).json()
    (signoff,) = got["signoffs"]
    assert signoff["signer_id"] == SUPERVISOR and signoff["method"] == "token"
    assert signoff["state_sha256"] == hashlib.sha256(audit.canonical(got["item"])).hexdigest()
    image = await sv.client.get(signoff["image"], headers=sv.auth(LEAD))
    assert image.status == 200 and (await image.read()).startswith(b"\x89PNG")
    async with sv.app[keys.DB].connect() as conn:
        row = (await conn.execute(sa.select(audit_table).where(audit_table.c.item_id == item_id,
                                                                audit_table.c.action == "item.close"))).one()
    assert row.data["signature"]["state_sha256"] == signoff["state_sha256"]
    page = await sv.client.get(f"/supervision/items/{item_id}", headers=sv.auth(LEAD))
    assert 'data-test="item-signoff"' in await page.text()


async def test_closing_signed_on_the_page_form(sv: SvHub) -> None:
    item_id = await submitted(sv)
    page = await sv.client.get(f"/supervision/items/{item_id}", headers=sv.auth(SUPERVISOR))
    assert 'data-test="signpad-canvas"' in await page.text()
    refused = await sv.client.post(f"/supervision/items/{item_id}", headers=sv.auth(SUPERVISOR),
                                   data={"action": "close", "strokes": "[[{\"x\": NaN}]]"}, allow_redirects=False)
    assert refused.status == 400
    done = await sv.client.post(f"/supervision/items/{item_id}", headers=sv.auth(SUPERVISOR),
                                data={"action": "close", "text": "", "strokes": json.dumps(STROKES)},
                                allow_redirects=False)
    assert done.status == 303
    got = await (await sv.client.get(f"/api/v1/supervision/items/{item_id}", headers=sv.auth(LEAD))).json()
    assert got["item"]["status"] == "closed" and len(got["signoffs"]) == 1
