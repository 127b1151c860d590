"""HTTP endpoints of shared documents: create, list, metadata, rename, share, versions, export."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field

from hub import keys
from hub.api import ApiModel, ApiRoutes, json_response, read_body, read_query
from hub.auth.http import principal_of
from hub.docs import responses
from hub.docs.export import FORMATS
from hub.docs.model import DocRole, Document, Grant, SubjectKind, Version
from hub.docs.service import colour_of
from hub.signatures import STROKES_FIELD, Strokes, as_json, points

routes = ApiRoutes("documents")

ID = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")


class Grantee(ApiModel):
    """A person or an org unit a document is shared with."""

    kind: Literal["person", "unit"]
    id: str = ID


class CreateRequest(ApiModel):
    title: str = Field(min_length=1, max_length=200)
    owner_unit: str | None = Field(None, max_length=64)
    # What the owner unit's members may do: edit (default), read, or nothing (only the people shared with).
    unit_access: Literal["editor", "reader", "none"] = "editor"
    editors: list[Grantee] = Field(default_factory=list, max_length=200)
    readers: list[Grantee] = Field(default_factory=list, max_length=200)


class ListQuery(BaseModel):
    scope: Literal["mine", "unit", "meeting"] = "mine"
    meeting: str | None = Field(None, max_length=64)


class RenameRequest(ApiModel):
    title: str = Field(min_length=1, max_length=200)


class ShareRequest(ApiModel):
    editors: list[Grantee] = Field(default_factory=list, max_length=200)
    readers: list[Grantee] = Field(default_factory=list, max_length=200)


class VersionRequest(ApiModel):
    name: str = Field(min_length=1, max_length=200)


class ExportQuery(BaseModel):
    format: Literal["md", "html", "docx", "pdf"] = "md"
    version: str | None = Field(None, max_length=64)


def _grants(editors: list[Grantee], readers: list[Grantee]) -> list[Grant]:
    return [Grant(SubjectKind(s.kind), s.id, DocRole.EDITOR) for s in editors] + [
        Grant(SubjectKind(s.kind), s.id, DocRole.READER) for s in readers]


def _doc_json(doc: Document, role: DocRole, **extra: Any) -> dict[str, Any]:
    return {**doc.to_dict(), "role": role.value, **extra}


def _version_json(version: Version) -> dict[str, Any]:
    return version.to_dict()


@routes.post("/api/v1/docs", summary="Create a document of your org unit", body=CreateRequest, status=201,
             response=responses.DocumentCreated)
async def create_doc(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    body = await read_body(request, CreateRequest)
    unit_role = None if body.unit_access == "none" else DocRole(body.unit_access)
    doc = await request.app[keys.DOCS].create(principal, body.title, owner_unit=body.owner_unit,
                                              unit_role=unit_role, grants=_grants(body.editors, body.readers))
    return json_response(_doc_json(doc, DocRole.EDITOR, url=f"/docs/{doc.id}"), status=201)


@routes.get("/api/v1/docs", summary="Documents you may open: mine, my unit's, or a meeting's", query=ListQuery,
            response=responses.DocumentList)
async def list_docs(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    query = read_query(request, ListQuery)
    found = await request.app[keys.DOCS].list_docs(principal, query.scope, query.meeting)
    return json_response({"documents": [_doc_json(doc, role) for doc, role in found]})


@routes.get("/api/v1/docs/{doc_id}", summary="A document's metadata, your role and its grants",
            response=responses.DocumentDetail)
async def get_doc(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    service = request.app[keys.DOCS]
    doc, role = await service.open(principal, request.match_info["doc_id"])
    grants = await service.grants(principal, doc.id)
    return json_response(_doc_json(doc, role, grants=[g.to_dict() for g in grants],
                                   me={"name": principal.person.name, "color": colour_of(principal.id)}))


@routes.patch("/api/v1/docs/{doc_id}", summary="Rename a document (editors)", body=RenameRequest,
              response=responses.Document)
async def rename_doc(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    body = await read_body(request, RenameRequest)
    doc = await request.app[keys.DOCS].rename(principal, request.match_info["doc_id"], body.title)
    return json_response(_doc_json(doc, DocRole.EDITOR))


@routes.put("/api/v1/docs/{doc_id}/access",
            summary="Share: replace the people and org units who edit or read the document (editors)",
            body=ShareRequest, response=responses.DocGrantList)
async def share_doc(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    body = await read_body(request, ShareRequest)
    grants = await request.app[keys.DOCS].share(principal, request.match_info["doc_id"],
                                                _grants(body.editors, body.readers))
    return json_response({"grants": [g.to_dict() for g in grants]})


@routes.get("/api/v1/docs/{doc_id}/versions", summary="The named versions of a document, newest first",
            response=responses.DocVersionList)
async def list_versions(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    versions = await request.app[keys.DOC_VERSIONS].list_versions(principal, request.match_info["doc_id"])
    return json_response({"versions": [_version_json(v) for v in versions]})


@routes.post("/api/v1/docs/{doc_id}/versions", summary="Save the document as it is now under a name (editors)",
             body=VersionRequest, status=201, response=responses.DocVersion)
async def save_version(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    body = await read_body(request, VersionRequest)
    version = await request.app[keys.DOC_VERSIONS].save(principal, request.match_info["doc_id"], body.name)
    return json_response(_version_json(version), status=201)


@routes.get("/api/v1/docs/{doc_id}/versions/{version_id}", summary="A version and its content as HTML",
            response=responses.DocVersionContent)
async def get_version(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    _, version, fragment = await request.app[keys.DOC_VERSIONS].view(
        principal, request.match_info["doc_id"], request.match_info["version_id"])
    return json_response({**_version_json(version), "html": fragment})


@routes.post("/api/v1/docs/{doc_id}/versions/{version_id}/restore",
             summary="Make the content equal to a version again, as a new change (editors)",
             response=responses.DocRestored)
async def restore_version(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    changed = await request.app[keys.DOC_VERSIONS].restore(
        principal, request.match_info["doc_id"], request.match_info["version_id"])
    return json_response({"restored": True, "changed": changed})


@routes.get("/api/v1/docs/{doc_id}/export",
            summary="Download the document or a version as md, html, docx or pdf (minutes: the official layout)",
            query=ExportQuery, content_type=tuple(media.split(";")[0] for media, _ in FORMATS.values()))
async def export_doc(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    query = read_query(request, ExportQuery)
    lang = "en" if request.cookies.get("cityhub_lang") == "en" else "zh-CN"
    export = await request.app[keys.DOC_VERSIONS].export(principal, request.match_info["doc_id"], query.format,
                                                         query.version, lang)
    return web.Response(body=export.body, headers={
        "Content-Type": export.content_type,
        "Content-Disposition": export.disposition,
        "Cache-Control": "no-store",
        # An exported HTML file opened from here must not run anything, whatever it contains.
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    })


# --- handwritten sign-off ---------------------------------------------------------------------------------------
class SignOffRequest(ApiModel):
    version_id: str = Field(min_length=1, max_length=64)
    strokes: Strokes = STROKES_FIELD


@routes.post("/api/v1/docs/{doc_id}/signoffs", body=SignOffRequest, status=201, response=responses.DocSignOff,
             summary="Sign a version by hand (leaders: the chair role): strokes kept, image rendered, the "
                     "version's content hash in the audit chain")
async def sign_off(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    body = await read_body(request, SignOffRequest)
    signoff = await request.app[keys.DOC_SIGNOFFS].sign(principal, request.match_info["doc_id"], body.version_id,
                                                        points(body.strokes))
    return json_response(signoff.to_dict(), status=201)


@routes.get("/api/v1/docs/{doc_id}/signoffs",
            summary="A document's sign-offs; `current`: whether its text now is still the signed version's",
            response=responses.DocSignOffList)
async def list_signoffs(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    found = await request.app[keys.DOC_SIGNOFFS].of_doc(principal, request.match_info["doc_id"])
    return json_response({"signoffs": [s.to_dict() for s in found]})


@routes.get("/api/v1/docs/{doc_id}/signoffs/{signoff_id}", summary="One sign-off with its strokes as drawn",
            response=responses.DocSignOffStrokes)
async def get_signoff(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    signoff, strokes = await request.app[keys.DOC_SIGNOFFS].strokes(
        principal, request.match_info["doc_id"], request.match_info["signoff_id"])
    return json_response({**signoff.to_dict(), "strokes": as_json(strokes)})


@routes.get("/api/v1/docs/{doc_id}/signoffs/{signoff_id}/image", content_type="image/png",
            summary="A sign-off's signature as a PNG (rendered by the hub from the strokes)")
async def signoff_image(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    image = await request.app[keys.DOC_SIGNOFFS].image(
        principal, request.match_info["doc_id"], request.match_info["signoff_id"])
    return web.Response(body=image, content_type="image/png", headers={"Cache-Control": "private, max-age=3600"})
