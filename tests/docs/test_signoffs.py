"""Handwritten sign-off of a minutes version: who may sign, what is stored (strokes, image, the content's hash,
the audit chain), what the papers carry, and what every view says once the text changed after the signing."""

from __future__ import annotations

import hashlib
import io
import json
import math
import zipfile
from typing import Any

import docx
import pypdf
import sqlalchemy as sa

from hub import keys
from hub.docs.content import doc_from_state, read_tree
from hub.docs.export import to_html_fragment
from hub.supervision.tables import audit
from tests.conftest import Hub
from tests.docs.test_documents_ws import join
from tests.docs.test_minutes_versions import fragment, paragraph
from tests.meetings.conftest import create_meeting

LEADER = "p-xie"  # chair role in the directory, and the meeting's chair
MEMBER = "pub-util-04"  # an official of the unit, no chair role
OUTSIDER = "drc-04"


def stroke(n: int, *, y: float = 0.5) -> list[dict[str, float]]:
    return [{"x": 0.1 + 0.8 * i / max(n - 1, 1), "y": y + 0.2 * math.sin(i / 5), "t": 8.0 * i, "p": 0.6}
            for i in range(n)]


async def minutes_with_a_version(hub: Hub) -> tuple[str, str, Any]:
    meeting = await create_meeting(hub, LEADER)
    doc_id = meeting["minutes_doc_id"]
    editor = await join(hub, doc_id, LEADER)
    await editor.edit_doc(lambda d: fragment(d).children.append(paragraph("会议议定：完成供水管网排查。")))
    await editor.wait_saved()
    saved = await hub.client.post(f"/api/v1/docs/{doc_id}/versions", json={"name": "会上通过稿"},
                                  headers=hub.auth(LEADER))
    assert saved.status == 201, await saved.text()
    return doc_id, (await saved.json())["id"], editor


async def test_a_leader_signs_a_version_and_the_papers_carry_it(hub: Hub) -> None:
    doc_id, version_id, editor = await minutes_with_a_version(hub)
    base = f"/api/v1/docs/{doc_id}/signoffs"
    strokes = [stroke(40), stroke(25, y=0.7), [{"x": 0.9, "y": 0.2, "t": 0, "p": 1.0}]]
    signed = await hub.client.post(base, json={"version_id": version_id, "strokes": strokes},
                                   headers=hub.auth(LEADER))
    assert signed.status == 201, await signed.text()
    signoff = await signed.json()
    assert signoff["signer"]["name"] == "谢继成" and signoff["method"] == "token" and signoff["current"] is True
    _, snapshot = (await hub.app[keys.DOC_VERSIONS]._snapshot(doc_id, version_id))
    content = to_html_fragment(read_tree(doc_from_state(snapshot)))
    assert signoff["content_sha256"] == hashlib.sha256(content.encode()).hexdigest()

    # the strokes come back as drawn; the image is the hub's rendering of them
    one = await (await hub.client.get(f"{base}/{signoff['id']}", headers=hub.auth(MEMBER))).json()
    assert one["strokes"] == strokes and one["current"] is True
    image = await hub.client.get(signoff["image"], headers=hub.auth(MEMBER))
    assert image.status == 200 and image.content_type == "image/png"
    png = await image.read()
    assert png.startswith(b"\x89PNG")

    # in the audit chain, with the hash of what was signed; the chain still holds
    async with hub.app[keys.DB].connect() as conn:
        rows = (await conn.execute(sa.select(audit).where(audit.c.action == "doc.signed"))).all()
    assert [(r.actor, r.data["content_sha256"]) for r in rows] == [(LEADER, signoff["content_sha256"])]
    verified = await hub.client.get("/api/v1/supervision/audit/verify", headers=hub.auth("supervision-01"))
    assert (await verified.json())["status"] in ("intact", "unanchored")

    # the minutes' Word file carries the signature, the name and the day in the sign-off block
    export = await hub.client.get(f"/api/v1/docs/{doc_id}/export?format=docx", headers=hub.auth(MEMBER))
    body = await export.read()
    paper = docx.Document(io.BytesIO(body))
    text = "\n".join(p.text for p in paper.paragraphs)
    assert "签批：" in text and "谢继成" in text and "此稿与签批稿不一致" not in text
    media = [n for n in zipfile.ZipFile(io.BytesIO(body)).namelist() if n.startswith("word/media/")]
    assert [zipfile.ZipFile(io.BytesIO(body)).read(n) for n in media] == [png]

    # ... and so does the PDF, the signature an image on its last page
    pdf = await hub.client.get(f"/api/v1/docs/{doc_id}/export?format=pdf", headers=hub.auth(MEMBER))
    last = pypdf.PdfReader(io.BytesIO(await pdf.read())).pages[-1]
    assert len(last.images) == 1 and "谢继成" in last.extract_text()

    # changed after the signing: the sign-off says so, and the current paper names the signed version
    await editor.edit_doc(lambda d: fragment(d).children.append(paragraph("会后补充：另加一条。")))
    await editor.wait_saved()
    listed = await (await hub.client.get(base, headers=hub.auth(MEMBER))).json()
    assert [s["current"] for s in listed["signoffs"]] == [False]
    one = await (await hub.client.get(f"{base}/{signoff['id']}", headers=hub.auth(MEMBER))).json()
    assert one["current"] is False  # one sign-off compares as the list does
    export = await hub.client.get(f"/api/v1/docs/{doc_id}/export?format=docx", headers=hub.auth(MEMBER))
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(await export.read())).paragraphs)
    assert "此稿与签批稿不一致" in text and "会上通过稿" in text and "签批：" not in text
    # ... while the signed version's own paper still carries the signature
    export = await hub.client.get(f"/api/v1/docs/{doc_id}/export?format=docx&version={version_id}",
                                  headers=hub.auth(MEMBER))
    assert "签批：" in "\n".join(p.text for p in docx.Document(io.BytesIO(await export.read())).paragraphs)
    page = await hub.client.get(f"/docs/{doc_id}", headers=hub.auth(MEMBER))
    assert "签批后已修改：签批的是“会上通过稿”版本" in await page.text()
    await editor.close()


async def test_bad_sign_offs_store_nothing(hub: Hub) -> None:
    doc_id, version_id, editor = await minutes_with_a_version(hub)
    base = f"/api/v1/docs/{doc_id}/signoffs"
    cases: list[tuple[str, dict[str, Any], int, str]] = [
        (LEADER, {"version_id": version_id, "strokes": []}, 400, "empty_signature"),
        (LEADER, {"version_id": version_id, "strokes": [[], []]}, 400, "empty_signature"),
        (LEADER, {"version_id": version_id, "strokes": [stroke(6_000), stroke(6_000)]}, 400,
         "signature_too_large"),
        (LEADER, {"version_id": version_id, "strokes": [[{"x": 2, "y": 0.5, "t": 0}]]}, 400, "invalid_body"),
        (LEADER, {"version_id": "nope", "strokes": [stroke(10)]}, 404, "version_not_found"),
        (MEMBER, {"version_id": version_id, "strokes": [stroke(10)]}, 403, "signoff_forbidden"),
        (OUTSIDER, {"version_id": version_id, "strokes": [stroke(10)]}, 403, ""),
    ]
    for person, body, status, code in cases:
        response = await hub.client.post(base, data=io.BytesIO(json.dumps(body).encode()),
                                         headers={**hub.auth(person), "Content-Type": "application/json"})
        assert response.status == status, (body.get("version_id"), await response.text())
        if code:
            assert (await response.json())["error"]["code"] == code
    nan = '{"version_id": "' + version_id + '", "strokes": [[{"x": NaN, "y": 0.5, "t": 0}]]}'
    response = await hub.client.post(base, data=nan,
                                     headers={**hub.auth(LEADER), "Content-Type": "application/json"})
    assert response.status == 400
    # 100,000 points: more than a request may carry
    body = json.dumps({"version_id": version_id, "strokes": [stroke(100_000)]}).encode()
    huge = await hub.client.post(base, data=io.BytesIO(body),
                                 headers={**hub.auth(LEADER), "Content-Type": "application/json"})
    assert huge.status in (400, 413)
    unknown = await hub.client.post("/api/v1/docs/nope/signoffs", json={"version_id": version_id,
                                                                       "strokes": [stroke(10)]},
                                    headers=hub.auth(LEADER))
    assert unknown.status == 404
    listed = await (await hub.client.get(base, headers=hub.auth(LEADER))).json()
    assert listed["signoffs"] == []
    async with hub.app[keys.DB].connect() as conn:
        assert (await conn.execute(sa.select(audit).where(audit.c.action == "doc.signed"))).all() == []
    await editor.close()
