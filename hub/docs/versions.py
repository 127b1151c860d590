"""Named versions of documents (save, view, restore) and exports of the current text or a version."""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, tzinfo
from urllib.parse import quote

from hub.auth import policy
from hub.auth.principal import Principal
from hub.docs import catalog
from hub.docs.content import Node, doc_from_state, read_tree, replace_content
from hub.docs.export import FORMATS, to_docx, to_html, to_html_fragment, to_markdown
from hub.docs.model import DocKind, Document, Version
from hub.docs.official import Paper, Signature, official_docx, official_html
from hub.docs.service import DocumentService
from hub.docs.signoffs import DocSignoffs
from hub.errors import BadRequest, Conflict, NotFound
from hub.pdf import render_pdf

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Export:
    body: bytes
    content_type: str
    filename: str

    @property
    def disposition(self) -> str:
        """A Content-Disposition header value that keeps a Chinese file name (RFC 6266 / 5987)."""
        ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", self.filename).strip("_") or "document"
        return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(self.filename)}"


class DocumentVersions:
    """Versions and exports, on top of the DocumentService's access rules."""

    def __init__(self, documents: DocumentService, max_versions: int = 200, tz: tzinfo = UTC,
                 signoffs: DocSignoffs | None = None) -> None:
        self.documents = documents
        self.max_versions = max_versions
        self.tz = tz  # the city's: the date a paper carries
        self.signoffs = signoffs

    async def _paper(self, doc: Document, version: Version | None, title: str) -> Paper:
        """Who issues the paper (the owning unit: a meeting's organizer's) and its date: the meeting's day for
        minutes, else the version's or today's, in the city."""
        owner = await self.documents.directory.find_unit(doc.owner_unit_id)
        when = version.created_at if version is not None else self.documents.clock.now()
        if doc.meeting_id is not None:
            when = await self.documents.meetings.starts_at(doc.meeting_id) or when
        return Paper(title=title, issuer=owner.name if owner else "", day=when.astimezone(self.tz).date())

    async def _signed(self, paper: Paper, doc: Document, root: Node) -> Paper:
        """The paper with the sign-offs of exactly this text (signature, name, date), or, when the text has changed
        since the last one was signed, a notice saying which version was signed."""
        if self.signoffs is None:
            return paper
        found = await self.signoffs.compared(doc.id, root)
        valid = [s for s in found if s.current]
        images = await self.signoffs.images(doc.id, [s.id for s in valid])
        signatures = tuple(Signature(name=s.signer_name, unit=s.signer_unit, png=images[s.id],
                                     day=s.signed_at.astimezone(self.tz).date()) for s in valid if s.id in images)
        notice = ""
        if found and not valid:
            last = found[-1]
            day = last.signed_at.astimezone(self.tz).date()
            notice = (f"此稿与签批稿不一致：{last.signer_name}于{day.year}年{day.month}月{day.day}日签批的是"
                      f"“{last.version_name}”版本。")
        return replace(paper, signatures=signatures, notice=notice)

    async def save(self, principal: Principal, doc_id: str, name: str) -> Version:
        """Store the document as it is now under a name ("as approved at the meeting")."""
        doc, role = await self.documents.open(principal, doc_id)
        policy.require(policy.can_manage_doc(role), "doc_read_only", "you may only read this document")
        cleaned = " ".join(name.split())
        if not cleaned or len(cleaned) > 200:
            raise BadRequest("invalid_name", "a version needs a name of at most 200 characters", field="name")
        snapshot = await self.documents.current_state(doc_id)
        version_id = uuid.uuid4().hex
        async with self.documents.db.begin() as conn:
            if await catalog.count_versions(conn, doc_id) >= self.max_versions:
                raise Conflict("too_many_versions", f"a document keeps at most {self.max_versions} versions")
            await catalog.insert_version(conn, version_id, doc_id, cleaned, snapshot, principal.id,
                                         self.documents.clock.now())
        log.info("doc %s: version %s (%r) saved by %s", doc.id, version_id, cleaned, principal.id)
        return await self._version(doc_id, version_id)

    async def list_versions(self, principal: Principal, doc_id: str) -> list[Version]:
        await self.documents.open(principal, doc_id)
        async with self.documents.db.connect() as conn:
            return await catalog.versions_of(conn, doc_id)

    async def _version(self, doc_id: str, version_id: str) -> Version:
        return (await self._snapshot(doc_id, version_id))[0]

    async def _snapshot(self, doc_id: str, version_id: str) -> tuple[Version, bytes]:
        async with self.documents.db.connect() as conn:
            found = await catalog.get_version(conn, doc_id, version_id)
        if found is None:
            raise NotFound("version_not_found", "no such version of this document")
        return found

    async def view(self, principal: Principal, doc_id: str, version_id: str) -> tuple[Document, Version, str]:
        """A version rendered as (sanitised) HTML, read-only."""
        doc, _ = await self.documents.open(principal, doc_id)
        version, snapshot = await self._snapshot(doc_id, version_id)
        return doc, version, to_html_fragment(read_tree(doc_from_state(snapshot)))

    async def restore(self, principal: Principal, doc_id: str, version_id: str) -> bool:
        """Make the content equal to a version again, as a new change every open editor receives.

        History is kept: the restore is one more update, and it can itself be undone by restoring another version.
        """
        _, role = await self.documents.open(principal, doc_id)
        policy.require(policy.can_manage_doc(role), "doc_read_only", "you may only read this document")
        version, snapshot = await self._snapshot(doc_id, version_id)
        source = doc_from_state(snapshot)
        changed = await self.documents.apply_change(doc_id, lambda doc: replace_content(doc, source))
        log.info("doc %s: version %s restored by %s", doc_id, version.id, principal.id)
        return changed

    async def content(self, principal: Principal, doc_id: str,
                      version_id: str | None = None) -> tuple[Document, Version | None, Node]:
        """The content tree of the document now, or of one version."""
        doc, _ = await self.documents.open(principal, doc_id)
        if version_id:
            version, snapshot = await self._snapshot(doc_id, version_id)
            return doc, version, read_tree(doc_from_state(snapshot))
        return doc, None, read_tree(doc_from_state(await self.documents.current_state(doc_id)))

    async def export(self, principal: Principal, doc_id: str, fmt: str, version_id: str | None = None,
                     lang: str = "zh-CN") -> Export:
        """The document (or a version) as Markdown, HTML or Word."""
        if fmt not in FORMATS:
            raise BadRequest("invalid_format", f"format must be one of {', '.join(FORMATS)}", field="format")
        doc, version, root = await self.content(principal, doc_id, version_id)
        title = doc.title if version is None else f"{doc.title} ({version.name})"
        if fmt == "md":
            body = to_markdown(root, title).encode()
        elif fmt == "html":
            body = to_html(root, title, lang).encode()
        elif fmt == "pdf":
            paper = await self._signed(await self._paper(doc, version, title), doc, root)
            body = await render_pdf(official_html(root, paper), title=title)
        elif doc.kind == DocKind.MINUTES:
            body = official_docx(root, await self._signed(await self._paper(doc, version, title), doc, root))
        else:
            body = to_docx(root, title)
        content_type, ext = FORMATS[fmt]
        return Export(body, content_type, f"{title}.{ext}")

