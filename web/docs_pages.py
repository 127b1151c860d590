"""The documents pages: /docs (mine, my unit's, create), /docs/{id} (the editor), a version's read-only view."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from hub import keys
from hub.auth import policy
from hub.docs.model import DocRole
from hub.docs.service import colour_of
from hub.errors import BadRequest
from web.i18n import Translator
from web.pages import NAV, TEMPLATES, TRANSLATOR, NavItem, page_principal, render

# The signing pad's words (web/static/src/signpad.js).
PAD_STRINGS = ("Draw your signature first.", "Signing…", "Signed.", "Could not sign: %(reason)s")


def editor_strings(translator: Translator) -> dict[str, Any]:
    """The editor's labels in the current request's language, in the shape mountEditor expects."""
    t = translator.gettext
    return {
        "connecting": t("Connecting…"), "offline": t("Offline – changes are kept in this tab"),
        "syncing": t("Syncing…"), "saving": t("Saving…"), "saved": t("All changes saved"),
        "error": t("Disconnected"), "readOnly": t("Read only"),
        "closed": {
            "4400": t("The server refused a malformed message."),
            "4401": t("Your access to this document was withdrawn."),
            "4403": t("You may only read this document."),
            "4413": t("That change is too large to be saved."),
            "4414": t("The document has reached its maximum size."),
        },
        "bold": t("Bold"), "italic": t("Italic"), "heading1": t("H1"), "heading2": t("H2"),
        "bulletList": t("• List"), "orderedList": t("1. List"), "table": t("Table"), "undo": t("Undo"),
        "redo": t("Redo"), "you": t("you"),
        "noVersions": t("No versions yet."), "view": t("View"), "restore": t("Restore"),
        "confirmRestore": t("Restore this version? Everyone editing will see the document change."),
        "restored": t("Restored."), "versionSaved": t("Saved."), "failed": t("Could not do that: %(message)s"),
        "md": t("Markdown"), "html": t("HTML"), "docx": t("Word"),
        "inDocument": t("In the document"), "versions": t("Versions"), "saveVersion": t("Save version"),
        "openFull": t("Open in full"), "noAccess": t("The minutes are not shared with you."),
        "unavailable": t("The minutes could not be opened."),
    }


async def docs_list(request: web.Request) -> web.StreamResponse:
    principal = await page_principal(request)
    service = request.app[keys.DOCS]
    # a minutes document of one of my meetings is mine, and shows the date of its meeting
    meeting_starts = await service.meetings.meetings_of(principal)
    mine = await service.list_docs(principal, "mine", my_meetings=meeting_starts)
    unit = await service.list_docs(principal, "unit")
    units = {u.id: u for u in await request.app[keys.DIRECTORY].units()}
    return await render(request, "docs_list.html", {"mine": mine, "unit_docs": unit, "units": units,
                                                    "me": principal, "error": None,
                                                    "meeting_starts": meeting_starts})


async def docs_create(request: web.Request) -> web.StreamResponse:
    principal = await page_principal(request)
    form = await request.post()
    title = str(form.get("title", ""))
    access = str(form.get("unit_access", "editor"))
    if access not in ("editor", "reader", "none"):
        raise BadRequest("invalid_unit_access", "unit access must be editor, reader or none")
    doc = await request.app[keys.DOCS].create(principal, title,
                                              unit_role=None if access == "none" else DocRole(access))
    raise web.HTTPSeeOther(f"/docs/{doc.id}")


async def doc_page(request: web.Request) -> web.StreamResponse:
    principal = await page_principal(request)
    doc, role = await request.app[keys.DOCS].open(principal, request.match_info["doc_id"])
    data = {
        "docId": doc.id,
        "title": doc.title,
        "user": {"name": principal.person.name, "color": colour_of(principal.id)},
        "readOnly": role is not DocRole.EDITOR,
        "canManage": role is DocRole.EDITOR,
        "strings": editor_strings(request.app[TRANSLATOR]),
    }
    units = {u.id: u for u in await request.app[keys.DIRECTORY].units()}
    recordings = await request.app[keys.RECORDINGS].listed(doc.meeting_id) if doc.meeting_id else []
    return await render(request, "doc_page.html", {
        "doc": doc, "role": role.value, "data": data, "owner": units.get(doc.owner_unit_id),
        "recordings": recordings, "signoffs": await request.app[keys.DOC_SIGNOFFS].compared(doc.id),
    })


async def version_page(request: web.Request) -> web.StreamResponse:
    principal = await page_principal(request)
    doc, version, fragment = await request.app[keys.DOC_VERSIONS].view(
        principal, request.match_info["doc_id"], request.match_info["version_id"])
    _, role = await request.app[keys.DOCS].open(principal, doc.id)
    creator = await request.app[keys.DIRECTORY].find_person(version.created_by) if version.created_by else None
    signoffs = [s for s in await request.app[keys.DOC_SIGNOFFS].compared(doc.id) if s.version_id == version.id]
    return await render(request, "doc_version.html", {
        "doc": doc, "version": version, "content": fragment, "can_manage": role is DocRole.EDITOR,
        "creator": creator.name if creator else "-", "signoffs": signoffs,
        "can_sign": policy.can_sign_off(principal),
        "pad_data": json.dumps({"docId": doc.id, "versionId": version.id,
                                "strings": request.app[TRANSLATOR].strings(*PAD_STRINGS)},
                               ensure_ascii=False).replace("</", "<\\/"),
    })


async def version_restore(request: web.Request) -> web.StreamResponse:
    principal = await page_principal(request)
    doc_id = request.match_info["doc_id"]
    await request.app[keys.DOC_VERSIONS].restore(principal, doc_id, request.match_info["version_id"])
    raise web.HTTPSeeOther(f"/docs/{doc_id}")


def setup_docs_pages(app: web.Application) -> None:
    """The nav entry and the pages of shared documents."""
    app[NAV].append(NavItem("/docs", "Documents"))
    translator = app[TRANSLATOR]
    # Pages that embed a document (the meeting page's minutes) put these in <script id="doc-strings">.
    app[TEMPLATES].globals["doc_editor_strings"] = lambda: editor_strings(translator)
    app.router.add_get("/docs", docs_list)
    app.router.add_post("/docs", docs_create)
    app.router.add_get("/docs/{doc_id}", doc_page)
    app.router.add_get("/docs/{doc_id}/versions/{version_id}", version_page)
    app.router.add_post("/docs/{doc_id}/versions/{version_id}/restore", version_restore)
