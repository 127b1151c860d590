"""The JSON bodies the document endpoints answer with, as the OpenAPI document gives them."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from hub.api import ApiModel
from hub.docs.model import DocKind, DocRole, SubjectKind
from hub.signatures import StrokePoint


class DocumentInfo(ApiModel):
    """A document's metadata (`Document.to_dict`): the base of the bodies below and of search's hits."""

    id: str
    title: str
    kind: DocKind = Field(description="`minutes`: a meeting's minutes, created with the meeting")
    owner_unit: str = Field(description="the org unit that owns it")
    meeting: str | None = Field(description="the meeting whose minutes it is")
    created_by: str | None = Field(description="the creator's person id (null: minutes the hub created)")
    created_at: datetime
    updated_at: datetime


class Document(DocumentInfo):
    role: DocRole = Field(description="what the caller may do with it")


class DocumentCreated(Document):
    url: str = Field(description="the editor page")


class DocGrant(ApiModel):
    """Access given to one person or to every member of one org unit."""

    kind: SubjectKind
    id: str = Field(description="the person's or the org unit's id")
    role: DocRole


class DocViewer(ApiModel):
    """The caller as the other editors see them."""

    name: str
    color: str = Field(description="the caller's presence colour (CSS), the same in every tab and document")


class DocumentDetail(Document):
    grants: list[DocGrant] = Field(description="the explicit grants (the owner unit's access is not among them)")
    me: DocViewer


class DocumentList(ApiModel):
    documents: list[Document]


class DocGrantList(ApiModel):
    grants: list[DocGrant] = Field(description="the grants as they are now")


class DocVersion(ApiModel):
    """A named snapshot of a document."""

    id: str
    doc: str = Field(description="the document's id")
    name: str
    created_by: str | None = Field(description="the person id of who saved it")
    created_at: datetime
    size: int = Field(description="the snapshot's size in bytes")


class DocVersionList(ApiModel):
    versions: list[DocVersion] = Field(description="newest first")


class DocVersionContent(DocVersion):
    html: str = Field(description="the version's content as sanitised HTML")


class DocRestored(ApiModel):
    restored: bool
    changed: bool = Field(description="false when the content already was the version's")


class DocSigner(ApiModel):
    id: str
    name: str
    unit: str = Field(description="the signer's org unit's name when signing")


class DocSignOff(ApiModel):
    """A version signed by hand."""

    id: str
    doc: str = Field(description="the document's id")
    version_id: str
    version_name: str
    signer: DocSigner
    signed_at: datetime
    method: str = Field(description="how the signer had signed in: `certificate`, `session` or `token`")
    content_sha256: str = Field(description="the hash of the signed version's content")
    image: str = Field(description="the URL of the signature's PNG")
    current: bool | None = Field(
        description="whether the document's text now is still the signed version's (null: not compared here)")


class DocSignOffList(ApiModel):
    signoffs: list[DocSignOff] = Field(description="oldest first")


class DocSignOffStrokes(DocSignOff):
    strokes: list[list[StrokePoint]] = Field(description="the pen's strokes as drawn, each its points in order")
