"""Handwritten sign-off (手写签批): a leader signs a saved version of a document, the minutes first, by hand.

A sign-off keeps the strokes as drawn (points with their time and pen pressure, x and y as fractions of the pad),
an image rendered from them here (so what the papers carry is what was drawn, whatever the browser sent as a
picture), the signer, how the signer had signed in, and the SHA-256 of exactly what was signed: the version's
content as the hub renders it. It goes into the audit chain with that hash. A version never changes; the document
does, and every view compares: the current text is still the signed one, or it differs from it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from hub.auth import policy
from hub.auth.principal import Principal
from hub.docs import catalog
from hub.docs.content import Node, doc_from_state, read_tree
from hub.docs.export import to_html_fragment
from hub.docs.service import DocumentService
from hub.docs.tables import doc_signoffs, doc_versions
from hub.errors import NotFound
from hub.signatures import Point, checked, render
from hub.supervision import audit

log = logging.getLogger(__name__)

def content_hash(root: Node) -> str:
    """The SHA-256 of a document's content as the hub renders it: the same text gives the same hash, whatever
    edits led to it."""
    return hashlib.sha256(to_html_fragment(root).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SignOff:
    id: str
    doc_id: str
    version_id: str
    version_name: str
    signer_id: str
    signer_name: str
    signer_unit: str
    signed_at: datetime
    method: str
    content_sha256: str
    # whether the document's text now is still what was signed (None: not compared)
    current: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the API."""
        return {
            "id": self.id, "doc": self.doc_id, "version_id": self.version_id, "version_name": self.version_name,
            "signer": {"id": self.signer_id, "name": self.signer_name, "unit": self.signer_unit},
            "signed_at": self.signed_at.isoformat(), "method": self.method, "content_sha256": self.content_sha256,
            "image": f"/api/v1/docs/{self.doc_id}/signoffs/{self.id}/image", "current": self.current,
        }


_COLUMNS = (doc_signoffs.c.id, doc_signoffs.c.doc_id, doc_signoffs.c.version_id, doc_versions.c.name,
            doc_signoffs.c.signer_id, doc_signoffs.c.signer_name, doc_signoffs.c.signer_unit,
            doc_signoffs.c.signed_at, doc_signoffs.c.method, doc_signoffs.c.content_sha256)


def _signoff(row: Any) -> SignOff:
    return SignOff(id=row.id, doc_id=row.doc_id, version_id=row.version_id, version_name=row.name,
                   signer_id=row.signer_id, signer_name=row.signer_name, signer_unit=row.signer_unit,
                   signed_at=row.signed_at, method=row.method, content_sha256=row.content_sha256)


class DocSignoffs:
    """Sign-offs of document versions, on top of the DocumentService's access rules."""

    def __init__(self, documents: DocumentService, certificate_actions: tuple[str, ...] = ()) -> None:
        self.documents = documents
        self.certificate_actions = certificate_actions  # server.certificate_actions

    async def sign(self, principal: Principal, doc_id: str, version_id: str, strokes: list[list[Point]]) -> SignOff:
        """The principal signs a version by hand: stored with the hash of its content, and in the audit chain."""
        await self.documents.open(principal, doc_id)
        policy.require(policy.can_sign_off(principal), "signoff_forbidden",
                       "sign-off is for leaders (the chair role in the directory)")
        policy.require_certificate_for(principal, "signoff", self.certificate_actions)
        drawn = checked(strokes)
        async with self.documents.db.connect() as conn:
            found = await catalog.get_version(conn, doc_id, version_id)
        if found is None:
            raise NotFound("version_not_found", "no such version of this document")
        signed = content_hash(read_tree(doc_from_state(found[1])))
        image = await asyncio.to_thread(render, drawn)  # off the event loop, which forwards media
        signoff_id, now = secrets.token_hex(8), self.documents.clock.now()
        method = principal.signed_in_with
        async with self.documents.db.begin() as conn:
            await audit.lock(conn)
            await conn.execute(sa.insert(doc_signoffs).values(
                id=signoff_id, doc_id=doc_id, version_id=version_id, signer_id=principal.id,
                signer_name=principal.person.name, signer_unit=principal.org_unit.name, signed_at=now, method=method,
                content_sha256=signed, strokes=[[list(point) for point in stroke] for stroke in drawn],
                image=image))
            await audit.append(conn, at=now, actor=principal.id, item_id=None, action="doc.signed", data={
                "doc_id": doc_id, "version_id": version_id, "signoff_id": signoff_id, "content_sha256": signed,
                "method": method, "points": sum(len(s) for s in drawn)})
        log.info("doc %s: version %s signed by %s (%s)", doc_id, version_id, principal.id, method)
        return replace((await self._load(doc_id, signoff_id))[0], current=True)

    async def _load(self, doc_id: str, signoff_id: str | None = None) -> list[SignOff]:
        query = (sa.select(*_COLUMNS).join(doc_versions, doc_versions.c.id == doc_signoffs.c.version_id)
                 .where(doc_signoffs.c.doc_id == doc_id).order_by(doc_signoffs.c.signed_at))
        if signoff_id is not None:
            query = query.where(doc_signoffs.c.id == signoff_id)
        async with self.documents.db.connect() as conn:
            return [_signoff(row) for row in (await conn.execute(query)).all()]

    async def of_doc(self, principal: Principal, doc_id: str) -> list[SignOff]:
        """A document's sign-offs, each saying whether the text now is still what was signed."""
        await self.documents.open(principal, doc_id)
        return await self.compared(doc_id)

    async def compared(self, doc_id: str, root: Node | None = None) -> list[SignOff]:
        """The sign-offs, compared with the document's content now (`root`, if the caller has it; a document
        nobody signed is not read at all)."""
        found = await self._load(doc_id)
        return await self._compare(doc_id, found, root) if found else []

    async def _compare(self, doc_id: str, found: list[SignOff], root: Node | None = None) -> list[SignOff]:
        if root is None:
            root = read_tree(doc_from_state(await self.documents.current_state(doc_id)))
        current = content_hash(root)
        return [replace(s, current=s.content_sha256 == current) for s in found]

    async def strokes(self, principal: Principal, doc_id: str, signoff_id: str) -> tuple[SignOff, list[Any]]:
        """One sign-off, compared with the text now as the list is, and its strokes as drawn."""
        signoff, strokes, _ = await self._one(principal, doc_id, signoff_id)
        return (await self._compare(doc_id, [signoff]))[0], strokes

    async def image(self, principal: Principal, doc_id: str, signoff_id: str) -> bytes:
        """One sign-off's signature as a PNG."""
        return (await self._one(principal, doc_id, signoff_id))[2]

    async def _one(self, principal: Principal, doc_id: str, signoff_id: str) -> tuple[SignOff, list[Any], bytes]:
        """One sign-off and its strokes and image, for those who may read the document."""
        await self.documents.open(principal, doc_id)
        async with self.documents.db.connect() as conn:
            row = (await conn.execute(sa.select(doc_signoffs.c.strokes, doc_signoffs.c.image).where(
                doc_signoffs.c.doc_id == doc_id, doc_signoffs.c.id == signoff_id))).first()
        found = await self._load(doc_id, signoff_id)
        if row is None or not found:
            raise NotFound("signoff_not_found", "no such sign-off of this document")
        return found[0], list(row.strokes), bytes(row.image)

    async def images(self, doc_id: str, signoff_ids: list[str]) -> dict[str, bytes]:
        """The rendered images of some sign-offs (for a paper)."""
        if not signoff_ids:
            return {}
        async with self.documents.db.connect() as conn:
            rows = (await conn.execute(sa.select(doc_signoffs.c.id, doc_signoffs.c.image).where(
                doc_signoffs.c.doc_id == doc_id, doc_signoffs.c.id.in_(signoff_ids)))).all()
        return {row.id: bytes(row.image) for row in rows}
