"""The rules of shared documents: who may open, edit, rename and share them; minutes; server-side edits."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from pycrdt import Doc, YSyncMessageType, merge_updates
from sqlalchemy.exc import IntegrityError

from hub.auth import policy
from hub.auth.principal import Principal
from hub.clock import Clock
from hub.directory.model import Person
from hub.directory.service import DirectoryService
from hub.docs import catalog
from hub.docs.content import append_under_heading
from hub.docs.model import (
    DECISIONS_HEADINGS,
    DocKind,
    DocRole,
    Document,
    Grant,
    MeetingAccess,
    NoMeetings,
    SubjectKind,
)
from hub.docs.store import DocUpdateStore
from hub.docs.sync_protocol import EMPTY_UPDATE, CloseCode, Refusal, sync_message
from hub.docs.sync_room import DocAccess
from hub.docs.sync_rooms import DocRooms, DocRoomsClosed
from hub.errors import BadRequest, Forbidden, HubError, NotFound, PayloadTooLarge, Unavailable
from hub.storage.db import Database

log = logging.getLogger(__name__)

MAX_GRANTS = 200
# Presence colours: distinct, readable with white text.
PALETTE = ("#1f77b4", "#d62728", "#2e7d32", "#7b1fa2", "#8c564b", "#c2185b", "#00838f", "#ef6c00",
           "#3949ab", "#00897b", "#5d4037", "#ad1457")


def colour_of(person_id: str) -> str:
    """A person's presence colour: stable across tabs, documents and restarts."""
    digest = hashlib.sha256(person_id.encode()).digest()
    return PALETTE[int.from_bytes(digest[:4], "big") % len(PALETTE)]


@dataclass(frozen=True, slots=True)
class PersonDocAccess(DocAccess):
    """A document connection of a signed-in person (so it can be re-checked and cut off later)."""

    person_id: str = ""
    jti: str = ""


class _HubClient:
    """The hub itself as a writer in a room: server-side edits pass the same store-before-relay path."""

    access = DocAccess(can_write=True, label="hub")

    def send(self, message: bytes) -> None:
        """The hub needs nothing the room sends."""

    def close(self, code: CloseCode, reason: str) -> None:
        """Nothing to close."""


def _refusal_error(refusal: Refusal) -> HubError:
    """The HTTP error for a server-side change the room refused."""
    if refusal.code == CloseCode.UPDATE_TOO_LARGE:
        return PayloadTooLarge("change_too_large", "the change is larger than one update may be")
    if refusal.code == CloseCode.DOCUMENT_TOO_LARGE:
        return PayloadTooLarge("document_too_large", "the document would exceed its size limit")
    if refusal.code == CloseCode.GOING_AWAY:
        return Unavailable("shutting_down", "the server is shutting down; try again")
    return Unavailable("doc_unavailable", refusal.reason)


class DocumentService:
    """Shared documents: metadata and access in the database, content in Yjs rooms and the update store."""

    def __init__(self, db: Database, store: DocUpdateStore, rooms: DocRooms, directory: DirectoryService,
                 clock: Clock, meetings: MeetingAccess | None = None) -> None:
        self.db = db
        self.store = store
        self.rooms = rooms
        self.directory = directory
        self.clock = clock
        self.meetings: MeetingAccess = meetings or NoMeetings()
        # Documents that had person connections; pruned when their room is gone (for re-checks).
        self._connected_docs: set[str] = set()

    def use_meetings(self, meetings: MeetingAccess) -> None:
        """Wire the meetings domain in (it is built after this service, and needs it for minutes)."""
        self.meetings = meetings

    # ---- creating ---------------------------------------------------------------------------------------

    async def create(self, principal: Principal, title: str, *, owner_unit: str | None = None,
                     unit_role: DocRole | None = DocRole.EDITOR, grants: Sequence[Grant] = ()) -> Document:
        """A standalone document of an org unit; the creator edits it, the unit gets ``unit_role``."""
        unit_id = owner_unit or principal.org_unit.id
        policy.require(policy.can_create_doc_for(principal, unit_id), "doc_create_forbidden",
                       "you may only create documents for your own org unit")
        await self.directory.unit(unit_id)
        all_grants = list(grants)
        if unit_role is not None:
            all_grants.append(Grant(SubjectKind.UNIT, unit_id, unit_role))
        checked = await self._checked_grants(all_grants)
        now = self.clock.now()
        doc = Document(id=uuid.uuid4().hex, title=_title(title), kind=DocKind.DOCUMENT, owner_unit_id=unit_id,
                       created_by=principal.id, created_at=now, updated_at=now)
        async with self.db.begin() as conn:
            await catalog.insert_document(conn, doc, checked)
        log.info("doc %s: created by %s for %s", doc.id, principal.id, unit_id)
        return doc

    async def create_minutes(self, meeting_id: str, title: str, owner_unit: str,
                             created_by: str | None = None) -> str:
        """The minutes document of a meeting (its participants edit, its observers read); idempotent."""
        await self.directory.unit(owner_unit)
        now = self.clock.now()
        doc = Document(id=uuid.uuid4().hex, title=_title(title), kind=DocKind.MINUTES, owner_unit_id=owner_unit,
                       created_by=created_by, created_at=now, updated_at=now, meeting_id=meeting_id)
        try:
            async with self.db.begin() as conn:
                existing = await catalog.document_of_meeting(conn, meeting_id)
                if existing is not None:
                    return existing.id
                await catalog.insert_document(conn, doc, [])
        except IntegrityError:
            # Created at the same moment by another request or node (meeting_id is unique).
            again = await self.minutes_of(meeting_id)
            if again is None:
                raise
            return again.id
        log.info("doc %s: minutes of meeting %s created", doc.id, meeting_id)
        return doc.id

    async def minutes_of(self, meeting_id: str) -> Document | None:
        """The minutes document of a meeting, if it has one."""
        async with self.db.connect() as conn:
            return await catalog.document_of_meeting(conn, meeting_id)

    # ---- access -----------------------------------------------------------------------------------------

    async def role_of(self, person: Person, doc: Document, grants: Iterable[Grant] | None = None) -> DocRole | None:
        """What ``person`` may do with ``doc`` right now (None: nothing)."""
        if not person.active:
            return None
        if grants is None:
            async with self.db.connect() as conn:
                grants = await catalog.grants_of(conn, doc.id)
        attendance = None
        if doc.meeting_id is not None:
            attendance = await self.meetings.attendance(doc.meeting_id, person.id)
        return policy.doc_role(person.id, person.org_unit_id, created_by=doc.created_by, grants=grants,
                               attendance=attendance)

    async def document(self, doc_id: str) -> Document:
        """A document's metadata, or NotFound."""
        async with self.db.connect() as conn:
            doc = await catalog.get_document(conn, doc_id)
        if doc is None:
            raise NotFound("doc_not_found", "no such document")
        return doc

    async def open(self, principal: Principal, doc_id: str) -> tuple[Document, DocRole]:
        """The document and the caller's role; 404 when it does not exist, 403 when not shared with them."""
        doc = await self.document(doc_id)
        role = await self.role_of(principal.person, doc)
        if role is None:
            raise Forbidden("doc_forbidden", "this document is not shared with you")
        return doc, role

    async def _managed(self, principal: Principal, doc_id: str) -> Document:
        doc, role = await self.open(principal, doc_id)
        policy.require(policy.can_manage_doc(role), "doc_read_only", "you may only read this document")
        return doc

    async def connection_access(self, principal: Principal, doc_id: str,
                                valid_until: float | None = None) -> PersonDocAccess:
        """What a WebSocket of ``principal`` may do in the document, until ``valid_until`` (raises like ``open``)."""
        _, role = await self.open(principal, doc_id)
        person = principal.person
        self._connected_docs.add(doc_id)
        return PersonDocAccess(can_write=role is DocRole.EDITOR,
                               user={"name": person.name, "color": colour_of(person.id)},
                               label=person.id, valid_until=valid_until, person_id=person.id, jti=principal.jti)

    async def list_docs(self, principal: Principal, scope: str, meeting_id: str | None = None, *,
                        my_meetings: Iterable[str] | None = None) -> list[tuple[Document, DocRole]]:
        """Documents the caller may open: ``mine`` (with the minutes of my meetings: ``my_meetings`` when the
        caller looked them up already), ``unit`` (my unit's) or one ``meeting``'s."""
        if scope == "meeting" and not meeting_id:
            raise BadRequest("invalid_parameter", "meeting is required for scope=meeting", field="meeting")
        if scope != "mine":
            my_meetings = ()
        elif my_meetings is None:
            my_meetings = await self.meetings.meetings_of(principal)
        async with self.db.connect() as conn:
            docs = await catalog.visible_documents(conn, person_id=principal.id, unit_id=principal.org_unit.id,
                                                   scope=scope, meeting_id=meeting_id,
                                                   my_meetings=list(my_meetings))
        found = []
        for doc in docs:
            role = await self.role_of(principal.person, doc)
            if role is not None:
                found.append((doc, role))
        return found

    async def grants(self, principal: Principal, doc_id: str) -> list[Grant]:
        """A document's explicit grants (for anyone who may open it)."""
        await self.open(principal, doc_id)
        async with self.db.connect() as conn:
            return await catalog.grants_of(conn, doc_id)

    async def rename(self, principal: Principal, doc_id: str, title: str) -> Document:
        await self._managed(principal, doc_id)
        async with self.db.begin() as conn:
            await catalog.rename(conn, doc_id, _title(title), self.clock.now())
        log.info("doc %s: renamed by %s", doc_id, principal.id)
        return await self.document(doc_id)

    async def share(self, principal: Principal, doc_id: str, grants: Sequence[Grant]) -> list[Grant]:
        """Replace the document's grants; connections that lost access (or editing) are closed with 4401."""
        doc = await self._managed(principal, doc_id)
        checked = await self._checked_grants(grants)
        async with self.db.begin() as conn:
            await catalog.set_grants(conn, doc_id, checked)
            await catalog.touch(conn, doc_id, self.clock.now())
        log.info("doc %s: shared by %s with %d grants", doc_id, principal.id, len(checked))
        await self._recheck_connections(doc, checked)
        return checked

    async def _checked_grants(self, grants: Sequence[Grant]) -> list[Grant]:
        if len(grants) > MAX_GRANTS:
            raise BadRequest("too_many_grants", f"at most {MAX_GRANTS} people or units per document")
        merged: dict[tuple[SubjectKind, str], DocRole] = {}
        for grant in grants:
            key = (grant.kind, grant.subject_id)
            if merged.get(key) is not DocRole.EDITOR:
                merged[key] = grant.role
        people = await self.directory.people([sid for kind, sid in merged if kind is SubjectKind.PERSON])
        units = {u.id for u in await self.directory.units()}
        for kind, sid in merged:
            if (kind is SubjectKind.PERSON and sid not in people) or (kind is SubjectKind.UNIT and sid not in units):
                raise BadRequest("unknown_subject", f"no {kind.value} {sid!r} in the directory", field="grants")
        return [Grant(kind, sid, role) for (kind, sid), role in sorted(merged.items())]

    async def _recheck_connections(self, doc: Document, grants: list[Grant] | None = None) -> None:
        room = self.rooms.get(doc.id)
        if room is None:
            return
        ids = {c.access.person_id for c in room.clients if isinstance(c.access, PersonDocAccess)}
        people = await self.directory.people(sorted(ids))
        roles = {}
        for person_id in ids:
            person = people.get(person_id)
            roles[person_id] = await self.role_of(person, doc, grants) if person is not None else None

        def lost(access: DocAccess) -> bool:
            if not isinstance(access, PersonDocAccess) or access.person_id not in roles:
                return False
            role = roles[access.person_id]
            return role is None or (access.can_write and role is not DocRole.EDITOR)

        cut = self.rooms.disconnect(lost, "your access to this document changed", doc_id=doc.id)
        if cut:
            log.info("doc %s: closed %d connections after an access change", doc.id, cut)

    async def recheck_people(self, person_ids: Iterable[str]) -> None:
        """Re-decide the open connections of these people (the directory changed them)."""
        wanted = set(person_ids)
        for doc_id in sorted(self._connected_docs):
            room = self.rooms.get(doc_id)
            if room is None:
                self._connected_docs.discard(doc_id)
                continue
            if any(isinstance(c.access, PersonDocAccess) and c.access.person_id in wanted for c in room.clients):
                try:
                    await self._recheck_connections(await self.document(doc_id))
                except NotFound:
                    continue

    async def minutes_final(self, meeting_id: str) -> None:
        """The meeting's minutes became final: open connections that may no longer edit are closed."""
        doc = await self.minutes_of(meeting_id)
        if doc is not None:
            await self._recheck_connections(doc)

    def revoke_token(self, jti: str) -> int:
        """Close every document connection opened with a revoked token."""
        return self.rooms.disconnect(lambda a: isinstance(a, PersonDocAccess) and a.jti == jti, "token revoked")

    # ---- content ----------------------------------------------------------------------------------------

    async def current_state(self, doc_id: str) -> bytes:
        """The whole stored document as one update (the store holds everything any room has applied)."""
        loaded = await self.store.load(doc_id)
        parts = ([loaded.snapshot] if loaded.snapshot else []) + loaded.updates
        if not parts:
            return EMPTY_UPDATE
        return merge_updates(*parts) if len(parts) > 1 else parts[0]

    async def apply_change(self, doc_id: str, change: Callable[[Doc], None]) -> bool:
        """Edit the document on the server: through its room, stored before any editor receives it.

        The room is opened for the edit when nobody has the document open. False when nothing changed.
        """
        client = _HubClient()
        try:
            room = await self.rooms.join(doc_id, client)
        except DocRoomsClosed:
            raise Unavailable("shutting_down", "the server is shutting down; try again") from None
        try:
            local: Doc = Doc()
            local.apply_update(room.doc.get_update())
            before = local.get_state()
            change(local)
            update = local.get_update(before)
            if update == EMPTY_UPDATE:
                return False
            try:
                await room.receive(client, sync_message(YSyncMessageType.SYNC_UPDATE, update))
            except Refusal as refusal:
                log.warning("doc %s: a server-side change was refused: %s", doc_id, refusal.reason)
                raise _refusal_error(refusal) from None
        finally:
            self.rooms.leave(room, client)
        async with self.db.begin() as conn:
            await catalog.touch(conn, doc_id, self.clock.now())
        return True

    async def append_to_section(self, doc_id: str, heading: str | Sequence[str], paragraph_text: str) -> None:
        """Append a paragraph (one per line of ``paragraph_text``) under a heading, created when missing, in
        one change that everyone who has the document open sees at once.

        ``heading`` may name alternatives (e.g. ``DECISIONS_HEADINGS``); the first is used when creating it.
        """
        await self.document(doc_id)
        names = (heading,) if isinstance(heading, str) else tuple(heading) or DECISIONS_HEADINGS
        texts = [line.strip() for line in paragraph_text.splitlines() if line.strip()]
        if not texts:
            raise BadRequest("empty_paragraph", "the paragraph has no text")
        await self.apply_change(doc_id, lambda doc: append_under_heading(doc, names, texts))
        log.info("doc %s: appended a paragraph under %r", doc_id, names[0])


def _title(title: str) -> str:
    cleaned = " ".join(title.split())
    if not cleaned:
        raise BadRequest("invalid_title", "a document needs a title", field="title")
    if len(cleaned) > 200:
        raise BadRequest("invalid_title", "titles are at most 200 characters", field="title")
    return cleaned
