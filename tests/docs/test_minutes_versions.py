"""Minutes of meetings (participants edit, observers read), decisions appended live, named versions
(save, view, restore as a new change) and exports, on the real hub."""

from __future__ import annotations

import asyncio
import io

import docx
from pycrdt import Doc, XmlElement, XmlFragment, XmlText, YSyncMessageType

from hub import keys
from hub.docs.content import doc_from_state, plain_text, read_tree
from hub.docs.model import DECISIONS_HEADINGS, Attendance
from hub.docs.sync_protocol import CloseCode, sync_message
from tests.conftest import Hub
from tests.docs.test_doc_sync_refusals import text_update
from tests.docs.test_documents_api import create
from tests.docs.test_documents_ws import join, refused_status


class Attendees:
    """MeetingAccess for tests: fixed participants and observers of one meeting."""

    def __init__(self, meeting_id: str, participants: set[str], observers: set[str]) -> None:
        self.meeting_id, self.participants, self.observers = meeting_id, participants, observers

    async def attendance(self, meeting_id: str, person_id: str) -> Attendance | None:
        if meeting_id != self.meeting_id:
            return None
        if person_id in self.participants:
            return Attendance.PARTICIPANT
        return Attendance.OBSERVER if person_id in self.observers else None


def fragment(doc: Doc) -> XmlFragment:
    return doc.get("default", type=XmlFragment)


def paragraph(text: str) -> XmlElement:
    return XmlElement("paragraph", None, [XmlText(text)])


def write_minutes(doc: Doc) -> None:
    """What TipTap (y-prosemirror) writes for headings, marks, lists and a table."""
    root = fragment(doc)
    root.children.append(XmlElement("heading", {"level": 1}, [XmlText("会议纪要")]))
    intro = root.children.append(XmlElement("paragraph"))
    text = intro.children.append(XmlText())
    text.insert(len(text), "Present: ")
    text.insert(len(text), "all members", {"bold": {}})
    text.insert(len(text), ", chaired by ")
    text.insert(len(text), "谢继成", {"italic": {}})
    text.insert(len(text), " <script>alert(1)</script>")
    bullets = root.children.append(XmlElement("bulletList"))
    for item in ("Budget", "Roads"):
        bullets.children.append(XmlElement("listItem", None, [paragraph(item)]))
    numbered = root.children.append(XmlElement("orderedList", {"start": 1}))
    numbered.children.append(XmlElement("listItem", None, [paragraph("First point")]))
    table = root.children.append(XmlElement("table"))
    for cell_tag, cells in (("tableHeader", ("Item", "Owner")), ("tableCell", ("Water", "水务局"))):
        row = table.children.append(XmlElement("tableRow"))
        for value in cells:
            row.children.append(XmlElement(cell_tag, {"colspan": 1, "rowspan": 1}, [paragraph(value)]))
    root.children.append(XmlElement("heading", {"level": 2}, [XmlText("Decisions")]))
    root.children.append(paragraph("Approve the water plan"))
    root.children.append(XmlElement("heading", {"level": 2}, [XmlText("Next meeting")]))


async def test_minutes_participants_edit_observers_read_others_refused(hub: Hub) -> None:
    service = hub.app[keys.DOCS]
    service.use_meetings(Attendees("m-1", {"drc-04", "gov-office-03"}, {"edu-04"}))
    doc_id = await service.create_minutes("m-1", "第一次常务会议纪要", "gov-office")
    assert await service.create_minutes("m-1", "again", "gov-office") == doc_id  # one per meeting

    drc = await join(hub, doc_id, "drc-04")
    await drc.edit(lambda t: t.insert(0, "出席："))
    await drc.wait_saved()
    observer = await join(hub, doc_id, "edu-04")
    assert observer.content == "出席："
    await observer.send_raw(sync_message(YSyncMessageType.SYNC_UPDATE, text_update("observer")))
    assert await observer.wait_closed() == CloseCode.READ_ONLY
    assert (await refused_status(hub, doc_id, hub.auth("police-04")))[0] == 403

    response = await hub.client.get("/api/v1/docs?scope=meeting&meeting=m-1", headers=hub.auth("gov-office-03"))
    listed = (await response.json())["documents"]
    assert [(d["id"], d["kind"], d["role"], d["meeting"]) for d in listed] == [(doc_id, "minutes", "editor", "m-1")]
    response = await hub.client.get("/api/v1/docs?scope=meeting&meeting=m-1", headers=hub.auth("police-04"))
    assert (await response.json())["documents"] == []
    await drc.close()


async def test_decision_appended_live_and_to_a_closed_document(hub: Hub) -> None:
    service = hub.app[keys.DOCS]
    doc = await create(hub, "p-xie")
    ann = await join(hub, doc["id"], "p-xie")
    await ann.edit_doc(write_minutes)
    await ann.wait_saved()

    await service.append_to_section(doc["id"], DECISIONS_HEADINGS, "Repair the Shinan pipes by May")
    # Ann sees it at once, right under "Decisions" and before "Next meeting".
    await ann.wait_for(lambda: "Shinan pipes" in str(fragment(ann.doc)))
    lines = plain_text(ann.doc).split("\n")
    at = lines.index("Decisions")
    assert lines[at + 1: at + 4] == ["Approve the water plan", "Repair the Shinan pipes by May", "Next meeting"]
    await ann.close()
    await asyncio.sleep(0)

    # Nobody has it open now: the paragraph goes to the stored document, and is there for the next editor.
    await service.append_to_section(doc["id"], DECISIONS_HEADINGS, "Second decision")
    stored = plain_text(doc_from_state(await service.current_state(doc["id"])))
    assert "Repair the Shinan pipes by May\nSecond decision\nNext meeting" in stored
    ben = await join(hub, doc["id"], "pub-util-04")
    assert plain_text(ben.doc) == stored
    await ben.close()

    # A document without the heading gets it (in Chinese, the first name given).
    other = await create(hub, "p-xie", title="空白")
    await service.append_to_section(other["id"], DECISIONS_HEADINGS, "第一项决定")
    assert plain_text(doc_from_state(await service.current_state(other["id"]))) == "决定事项\n第一项决定"


async def test_save_view_and_restore_a_version(hub: Hub) -> None:
    doc = await create(hub, "p-xie", unit_access="reader")
    base = f"/api/v1/docs/{doc['id']}"
    ann = await join(hub, doc["id"], "p-xie")
    await ann.edit_doc(lambda d: fragment(d).children.append(paragraph("as approved")))
    await ann.wait_saved()
    response = await hub.client.post(f"{base}/versions", json={"name": "会上通过的版本"}, headers=hub.auth("p-xie"))
    assert response.status == 201
    version = await response.json()
    assert version["name"] == "会上通过的版本" and version["created_by"] == "p-xie"

    await ann.edit_doc(lambda d: fragment(d).children.append(paragraph("changed afterwards")))
    await ann.wait_saved()
    reader = await join(hub, doc["id"], "pub-util-04")
    assert plain_text(reader.doc) == "as approved\nchanged afterwards"

    response = await hub.client.get(f"{base}/versions/{version['id']}", headers=hub.auth("pub-util-04"))
    viewed = await response.json()
    assert viewed["html"] == "<p>as approved</p>"
    listed = await (await hub.client.get(f"{base}/versions", headers=hub.auth("pub-util-04"))).json()
    assert [v["id"] for v in listed["versions"]] == [version["id"]]

    # Readers may neither save nor restore.
    for path, body in ((f"{base}/versions", {"name": "x"}), (f"{base}/versions/{version['id']}/restore", None)):
        response = await hub.client.post(path, json=body, headers=hub.auth("pub-util-04"))
        assert response.status == 403

    response = await hub.client.post(f"{base}/versions/{version['id']}/restore", headers=hub.auth("p-xie"))
    assert response.status == 200 and (await response.json())["changed"] is True
    # Everyone connected converges to the version, as a new change.
    await ann.wait_for(lambda: plain_text(ann.doc) == "as approved")
    await reader.wait_for(lambda: plain_text(reader.doc) == "as approved")
    assert plain_text(doc_from_state(await hub.app[keys.DOCS].current_state(doc["id"]))) == "as approved"
    # Editing goes on after a restore.
    await ann.edit_doc(lambda d: fragment(d).children.append(paragraph("after restore")))
    await reader.wait_for(lambda: plain_text(reader.doc) == "as approved\nafter restore")

    for path in (f"{base}/versions/nope", "/api/v1/docs/nope/versions"):
        response = await hub.client.get(path, headers=hub.auth("p-xie"))
        assert response.status == 404
    response = await hub.client.get(f"{base}/versions", headers=hub.auth("drc-04"))
    assert response.status == 403
    await ann.close()
    await reader.close()


async def test_export_markdown_html_and_docx(hub: Hub) -> None:
    doc = await create(hub, "p-xie", title="水务会议纪要")
    ann = await join(hub, doc["id"], "p-xie")
    await ann.edit_doc(write_minutes)
    await ann.wait_saved()
    base = f"/api/v1/docs/{doc['id']}/export"

    response = await hub.client.get(f"{base}?format=md", headers=hub.auth("p-xie"))
    assert response.status == 200 and response.content_type == "text/markdown"
    assert "filename*=UTF-8''%E6%B0%B4" in response.headers["Content-Disposition"]
    md = await response.text()
    for line in ("# 水务会议纪要", "# 会议纪要",
                 "Present: **all members**, chaired by *谢继成* \\<script\\>alert(1)\\</script\\>",
                 "- Budget\n- Roads", "1. First point", "| Item | Owner |\n|---|---|\n| Water | 水务局 |",
                 "## Decisions\n\nApprove the water plan"):
        assert line in md, line

    response = await hub.client.get(f"{base}?format=html", headers=hub.auth("p-xie"))
    page = await response.text()
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    for part in ("<h1>会议纪要</h1>", "<strong>all members</strong>", "<em>谢继成</em>",
                 "<ul><li><p>Budget</p></li><li><p>Roads</p></li></ul>", "<ol><li><p>First point</p></li></ol>",
                 "<tr><th><p>Item</p></th><th><p>Owner</p></th></tr>", "<h2>Decisions</h2>"):
        assert part in page, part

    response = await hub.client.get(f"{base}?format=docx", headers=hub.auth("p-xie"))
    word = docx.Document(io.BytesIO(await response.read()))
    styled = [(p.style.name, p.text) for p in word.paragraphs if p.text]
    assert styled[:2] == [("Title", "水务会议纪要"), ("Heading 1", "会议纪要")]
    assert ("List Bullet", "Budget") in styled and ("List Number", "First point") in styled
    assert ("Heading 2", "Decisions") in styled
    intro = next(p for p in word.paragraphs if p.text.startswith("Present"))
    assert [(r.text, r.bold, r.italic) for r in intro.runs][1:4] == [
        ("all members", True, None), (", chaired by ", None, None), ("谢继成", None, True)]
    assert [[c.text for c in row.cells] for row in word.tables[0].rows] == [["Item", "Owner"], ["Water", "水务局"]]

    # A version exports as it was; bad formats and outsiders are refused.
    version = await (await hub.client.post(f"/api/v1/docs/{doc['id']}/versions", json={"name": "v1"},
                                           headers=hub.auth("p-xie"))).json()
    await ann.edit_doc(lambda d: fragment(d).children.append(paragraph("later text")))
    await ann.wait_saved()
    old = await (await hub.client.get(f"{base}?format=md&version={version['id']}", headers=hub.auth("p-xie"))).text()
    assert "later text" not in old and old.startswith("# 水务会议纪要 (v1)")
    now = await (await hub.client.get(f"{base}?format=md", headers=hub.auth("p-xie"))).text()
    assert now.rstrip().endswith("later text")
    for query, who, status in (("format=odt", "p-xie", 400), ("format=md", "drc-04", 403),
                               ("format=md&version=nope", "p-xie", 404)):
        response = await hub.client.get(f"{base}?{query}", headers=hub.auth(who))
        assert response.status == status, query
    assert read_tree(ann.doc).children  # the client's tree reads back too
    await ann.close()


async def test_one_minutes_document_per_meeting_even_when_created_at_once(hub: Hub) -> None:
    service = hub.app[keys.DOCS]
    ids = await asyncio.gather(*(service.create_minutes("m-race", "纪要", "gov-office") for _ in range(5)))
    assert len(set(ids)) == 1
    minutes = await service.minutes_of("m-race")
    assert minutes is not None and minutes.id == ids[0] and minutes.kind.value == "minutes"
    assert await service.minutes_of("m-other") is None
