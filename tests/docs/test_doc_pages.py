"""The documents pages as HTML: the list with the create form, the editor page's data, a version's view."""

from __future__ import annotations

import json
import re

from pycrdt import XmlElement, XmlText

from hub import keys
from hub.docs.content import fragment_of
from tests.conftest import Hub


async def test_list_create_and_open(hub: Hub) -> None:
    response = await hub.client.post("/docs", data={"title": "<b>季度</b>总结", "unit_access": "reader"},
                                     headers=hub.auth("p-xie"), allow_redirects=False)
    assert response.status == 303
    doc_id = response.headers["Location"].removeprefix("/docs/")

    page = await (await hub.client.get("/docs", headers=hub.auth("p-xie"))).text()
    assert f'href="/docs/{doc_id}"' in page and "&lt;b&gt;季度&lt;/b&gt;总结" in page and "<b>季度" not in page
    assert 'href="/docs"' in page  # the nav entry

    response = await hub.client.get(f"/docs/{doc_id}", headers=hub.auth("pub-util-04"))
    assert response.status == 200
    html = await response.text()
    found = re.search(r'<script type="application/json" id="doc-data">(.*?)</script>', html, re.S)
    assert found is not None
    data = json.loads(found.group(1))
    assert data["docId"] == doc_id and data["readOnly"] is True and data["canManage"] is False
    assert data["user"]["name"] == "周淑珍" and data["strings"]["saved"] == "已全部保存"
    assert "dist/docpage.js" in html and 'id="doc-version-form"' not in html
    assert "<script>" not in html.replace('<script type="module"', "").replace('<script type="application/json"', "")


async def test_pages_refuse_outsiders_unknown_documents_and_bad_forms(hub: Hub) -> None:
    response = await hub.client.post("/docs", data={"title": "x"}, headers=hub.auth("p-xie"), allow_redirects=False)
    doc_id = response.headers["Location"].removeprefix("/docs/")
    response = await hub.client.get(f"/docs/{doc_id}", headers=hub.auth("drc-04"))
    assert response.status == 403 and "text/html" in response.content_type
    response = await hub.client.get("/docs/unknown", headers=hub.auth("p-xie"))
    assert response.status == 404
    response = await hub.client.get(f"/docs/{doc_id}", allow_redirects=False)
    assert response.status == 302 and response.headers["Location"].startswith("/login")
    for form in ({"title": ""}, {"title": "x", "unit_access": "everyone"}):
        response = await hub.client.post("/docs", data=form, headers=hub.auth("p-xie"), allow_redirects=False)
        assert response.status == 400


async def test_version_page_renders_escaped_and_restores(hub: Hub) -> None:
    response = await hub.client.post("/docs", data={"title": "纪要"}, headers=hub.auth("p-xie"),
                                     allow_redirects=False)
    doc_id = response.headers["Location"].removeprefix("/docs/")
    service = hub.app[keys.DOCS]
    await service.apply_change(doc_id, lambda d: fragment_of(d).children.append(
        XmlElement("paragraph", None, [XmlText("<img src=x onerror=alert(1)> approved")])))
    version = await (await hub.client.post(f"/api/v1/docs/{doc_id}/versions", json={"name": "通过稿"},
                                           headers=hub.auth("p-xie"))).json()
    await service.apply_change(doc_id, lambda d: fragment_of(d).children.append(
        XmlElement("paragraph", None, [XmlText("later")])))

    page = await (await hub.client.get(f"/docs/{doc_id}/versions/{version['id']}", headers=hub.auth("p-xie"))).text()
    assert "&lt;img src=x onerror=alert(1)&gt; approved" in page and "<img src=x" not in page
    assert "谢继成" in page and "later" not in page
    response = await hub.client.post(f"/docs/{doc_id}/versions/{version['id']}/restore",
                                     headers=hub.auth("pub-util-04"), allow_redirects=False)
    assert response.status == 303  # the unit edits by default
    export = await (await hub.client.get(f"/api/v1/docs/{doc_id}/export?format=md", headers=hub.auth("p-xie"))).text()
    assert "approved" in export and "later" not in export
