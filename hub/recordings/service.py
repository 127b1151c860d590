"""Recordings: the chair starts and stops them, the node holding the meeting's media writes them, an archive job
composes them, retention deletes them; everyone the meeting concerns can watch them.

The live part of a recording happens on the node that holds the meeting's media (signaling/recorder.py): it hears
of a start or stop as the meeting's `recording.started` / `recording.stopped` events, writes the files, shows it is
alive (`seen_at`), and hands the recording back here when its files are closed. A recording whose node went silent
(killed, say) is archived from what it wrote; so is an archive job whose node went silent.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError

from hub.auth import policy
from hub.auth.principal import Principal
from hub.clock import Clock
from hub.errors import Conflict, Forbidden, NotFound, Unavailable
from hub.meetings.attendance import MeetingAttendance
from hub.meetings.model import Meeting, MeetingStatus
from hub.meetings.service import MeetingService
from hub.recordings import journal, store
from hub.recordings.archive import ArchiveFailed, ArchiveJobs
from hub.recordings.model import Recording, RecordingStatus
from hub.settings import RecordingSettings
from hub.storage.db import Database
from hub.supervision import audit
from hub.ticker import Ticker

log = logging.getLogger(__name__)

HasDecisions = Callable[[str], Awaitable[bool]]


class RecordingService:
    """The one place that decides who may record, watch and download, and what a recording's state is."""

    def __init__(self, db: Database, meetings: MeetingService, attendance: MeetingAttendance, clock: Clock,
                 settings: RecordingSettings, root: Path, jobs: ArchiveJobs) -> None:
        self.db = db
        self.meetings = meetings
        self.attendance = attendance
        self.clock = clock
        self.settings = settings
        self.root = root
        self.jobs = jobs
        self._has_decisions: HasDecisions | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def use_decisions(self, has_decisions: HasDecisions) -> None:
        """How to tell whether supervision items came from a meeting (their supervisors may watch it)."""
        self._has_decisions = has_decisions

    def folder(self, recording: Recording) -> Path:
        """Where a recording's files are."""
        return journal.folder(self.root, recording.meeting_id, recording.id)

    # --- starting and stopping ----------------------------------------------------------------------------

    async def start(self, principal: Principal, meeting_id: str) -> Recording:
        """The chair starts recording a live meeting; everybody in it is told."""
        meeting = await self.meetings.moderated(principal, meeting_id)
        recording = await self._begin(meeting, principal.id)
        if recording is None:
            raise Conflict("already_recording", "this meeting is being recorded already")
        return recording

    async def record_from_start(self, meeting_id: str) -> Recording | None:
        """A meeting set to be recorded from the start is live with its media: its first recording starts (None: not
        set to, not live, or recorded already — a recording the chair stopped is not started again)."""
        meeting = await self.meetings.find(meeting_id)
        if meeting is None or not meeting.record or meeting.status is not MeetingStatus.LIVE:
            return None
        async with self.db.connect() as conn:
            if await store.of_meeting(conn, meeting_id):
                return None
        return await self._begin(meeting, None)

    async def _begin(self, meeting: Meeting, by: str | None) -> Recording | None:
        if meeting.status is not MeetingStatus.LIVE:
            raise Conflict("meeting_not_live", "a meeting is recorded while it takes place")
        now = self.clock.now()
        recording = Recording(id=secrets.token_hex(8), meeting_id=meeting.id, status=RecordingStatus.RECORDING,
                              started_at=now, started_by=by, seen_at=now)
        if await self.live(meeting.id) is not None:
            return None
        try:
            await asyncio.to_thread(self.folder(recording).mkdir, parents=True, exist_ok=True)
        except OSError as exc:
            log.error("meeting %s: cannot record into %s: %s", meeting.id, self.root, exc)
            raise Unavailable("recording_storage_unavailable",
                              "the recordings storage cannot be written to; tell the computer center") from exc
        try:
            async with self.db.begin() as conn:
                await store.insert(conn, recording)
        except IntegrityError:
            return None  # another start came first (uq_recordings_live: one under way per meeting)
        await self.meetings.publish(meeting.id, "recording.started", {"recording": recording.to_dict(), "by": by})
        log.info("meeting %s: recording %s started by %s", meeting.id, recording.id, by or "the meeting's setting")
        return recording

    async def stop(self, principal: Principal, meeting_id: str) -> Recording:
        """The chair stops the recording; its node closes the files and the archive is composed."""
        await self.meetings.moderated(principal, meeting_id)
        async with self.db.connect() as conn:
            live = await store.live_of(conn, meeting_id)
        if live is None:
            raise Conflict("not_recording", "this meeting is not being recorded")
        stopped = await self._stopped(live, "chair", by=principal.id)
        return stopped or live

    async def live(self, meeting_id: str) -> Recording | None:
        """The meeting's recording under way, if any."""
        async with self.db.connect() as conn:
            return await store.live_of(conn, meeting_id)

    async def alive(self, recording_id: str) -> bool:
        """The recording node's sign of life; False once the recording is no longer under way."""
        async with self.db.begin() as conn:
            return await store.update(conn, recording_id, (RecordingStatus.RECORDING,), seen_at=self.clock.now())

    async def ended(self, recording: Recording, reason: str, error: str | None = None) -> None:
        """The recording node closed the recording's files (stopped, the meeting ended, the disk filled up):
        it is archived."""
        current = await self._stopped(recording, reason, error=error)
        if current is None:  # stopped before: by the chair (archived here, now that the files are closed), or
            async with self.db.connect() as conn:  # taken over by a sweep as interrupted (archived by its node)
                current = await store.get(conn, recording.id)
            if current is None or current.stop_reason != "chair":
                return
        if current.status is RecordingStatus.COMPOSING:
            self._spawn(self.archive(current))

    async def _stopped(self, recording: Recording, reason: str, *, by: str | None = None,
                       error: str | None = None) -> Recording | None:
        now = self.clock.now()
        duration = max(0.0, (now - recording.started_at).total_seconds())
        async with self.db.begin() as conn:
            changed = await store.update(
                conn, recording.id, (RecordingStatus.RECORDING,), status=RecordingStatus.COMPOSING, stopped_at=now,
                stopped_by=by, stop_reason=reason, duration=duration, error=error, seen_at=now, progress=0.0)
            current = await store.get(conn, recording.id)
        if not changed or current is None:
            return None
        await self.meetings.publish(recording.meeting_id, "recording.stopped",
                                    {"recording": current.to_dict(), "by": by, "reason": reason})
        log.info("meeting %s: recording %s stopped (%s%s)", recording.meeting_id, recording.id, reason,
                 f": {error}" if error else "")
        return current

    # --- the archive -----------------------------------------------------------------------------------------

    async def archive(self, recording: Recording) -> Recording | None:
        """Compose the recording's archive here (in a worker process); the recording as it ends up."""
        where = self.folder(recording)
        entries = await asyncio.to_thread(journal.read, where)
        manifest = journal.manifest(where, entries, recording.duration)

        async def progress(share: float) -> None:
            async with self.db.begin() as conn:
                await store.update(conn, recording.id, (RecordingStatus.COMPOSING,), progress=share)

        async def alive() -> None:  # (a job whose node goes silent is taken up by another node's sweep)
            async with self.db.begin() as conn:
                await store.update(conn, recording.id, (RecordingStatus.COMPOSING,), seen_at=self.clock.now())

        log.info("recording %s: composing the archive (%d tracks, %.0f s)", recording.id, len(manifest["tracks"]),
                 recording.duration)
        heartbeat = Ticker(f"archive-{recording.id}", self.settings.heartbeat, alive)
        heartbeat.start()
        try:
            size = await self.jobs.compose(where, manifest, progress)
        except (ArchiveFailed, OSError) as exc:
            log.warning("recording %s: the archive failed: %s", recording.id, exc)
            values: dict[str, Any] = {"status": RecordingStatus.FAILED, "error": str(exc)[:500]}
        else:
            log.info("recording %s: archive ready (%d bytes)", recording.id, size)
            values = {"status": RecordingStatus.READY, "progress": 1.0, "archive_bytes": size, "error": None}
        finally:
            await heartbeat.stop()
        async with self.db.begin() as conn:
            await store.update(conn, recording.id, (RecordingStatus.COMPOSING,), seen_at=self.clock.now(), **values)
            done = await store.get(conn, recording.id)
        if done is not None:
            await self.meetings.publish(recording.meeting_id, "recording.archived", {"recording": done.to_dict()})
        return done

    async def retry(self, principal: Principal, recording_id: str) -> Recording:
        """Compose a failed archive again (the chair, admins)."""
        recording = await self._find(recording_id)
        await self.meetings.moderated(principal, recording.meeting_id)
        async with self.db.begin() as conn:
            if not await store.update(conn, recording.id, (RecordingStatus.FAILED,), status=RecordingStatus.COMPOSING,
                                      progress=0.0, error=None, seen_at=self.clock.now()):
                raise Conflict("recording_not_failed", f"recording {recording_id!r} is {recording.status.value}")
            current = await store.get(conn, recording.id)
        assert current is not None
        self._spawn(self.archive(current))
        return current

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop_jobs(self) -> None:
        """End this node's archive work (another node, or this one restarted, takes it up again)."""
        await self.jobs.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- sweeping: lost nodes, retention -----------------------------------------------------------------------

    async def sweep(self) -> None:
        """Archive recordings whose node went silent, take up archive jobs whose node did, delete expired ones."""
        now = self.clock.now()
        silent = now - timedelta(seconds=3 * self.settings.heartbeat)
        async with self.db.connect() as conn:
            lost = await store.with_status(conn, RecordingStatus.RECORDING, seen_before=silent)
            stalled = await store.with_status(conn, RecordingStatus.COMPOSING, seen_before=silent)
        for recording in lost:
            log.warning("recording %s: its node went silent; archiving what it recorded", recording.id)
            seen = recording.seen_at or recording.started_at
            async with self.db.begin() as conn:
                taken = await store.update(
                    conn, recording.id, (RecordingStatus.RECORDING,), status=RecordingStatus.COMPOSING,
                    stopped_at=seen, stop_reason="interrupted",
                    duration=max(0.0, (seen - recording.started_at).total_seconds()), seen_at=now)
                current = await store.get(conn, recording.id)
            if taken and current is not None:
                await self.meetings.publish(recording.meeting_id, "recording.stopped",
                                            {"recording": current.to_dict(), "by": None, "reason": "interrupted"})
                self._spawn(self.archive(current))
        for recording in stalled:
            async with self.db.begin() as conn:
                taken = await store.update(conn, recording.id, (RecordingStatus.COMPOSING,), seen=recording.seen_at,
                                           seen_at=now)
            if taken:
                log.warning("recording %s: its archive job went silent; composing it again", recording.id)
                self._spawn(self.archive(recording))
        if self.settings.retention_days > 0:
            await self.expire()

    async def expire(self) -> list[str]:
        """Delete the recordings kept longer than `retention_days`; each deletion is in the audit chain."""
        before = self.clock.now() - timedelta(days=self.settings.retention_days)
        deleted = []
        async with self.db.connect() as conn:
            old = [r for status in (RecordingStatus.READY, RecordingStatus.FAILED)
                   for r in await store.with_status(conn, status, stopped_before=before)]
        for recording in old:
            now = self.clock.now()
            async with self.db.begin() as conn:
                await audit.lock(conn)
                if not await store.update(conn, recording.id, (recording.status,), status=RecordingStatus.DELETED):
                    continue
                await audit.append(conn, at=now, actor=None, item_id=None, action="recording.deleted", data={
                    "recording_id": recording.id, "meeting_id": recording.meeting_id,
                    "started_at": recording.started_at.isoformat(),
                    "stopped_at": recording.stopped_at.isoformat() if recording.stopped_at else None,
                    "reason": f"retention: {self.settings.retention_days} days"})
            await asyncio.to_thread(shutil.rmtree, self.folder(recording), True)
            log.info("recording %s of meeting %s deleted (retention)", recording.id, recording.meeting_id)
            deleted.append(recording.id)
        return deleted

    # --- watching ----------------------------------------------------------------------------------------------

    async def _find(self, recording_id: str) -> Recording:
        async with self.db.connect() as conn:
            recording = await store.get(conn, recording_id)
        if recording is None or recording.status is RecordingStatus.DELETED:
            raise NotFound("recording_not_found", f"no recording {recording_id!r}")
        return recording

    async def _may_watch(self, principal: Principal, meeting: Meeting) -> bool:
        units = {p.org_unit_id for p in (await self.meetings.directory.people(
            [pid for pid in (meeting.chair_id, meeting.secretary_id) if pid])).values()}
        return policy.can_watch_recording(
            principal, meeting, leader_units=units,
            attended=await self.attendance.attended(meeting.id, principal.id),
            has_items=self._has_decisions is not None and await self._has_decisions(meeting.id))

    async def _watchable(self, principal: Principal, meeting_id: str) -> Meeting:
        meeting = await self.meetings.find(meeting_id)
        if meeting is None:
            raise NotFound("meeting_not_found", f"no meeting {meeting_id!r}")
        if not await self._may_watch(principal, meeting):
            log.info("recordings of meeting %s: %s may not watch them", meeting_id, principal.id)
            raise Forbidden("recording_forbidden", "recordings are for the meeting's participants, the chair's and "
                                                   "the secretary's units and the supervisors of its decisions")
        return meeting

    async def of_meeting(self, principal: Principal, meeting_id: str) -> list[Recording]:
        """A meeting's recordings, for those who may watch them."""
        await self._watchable(principal, meeting_id)
        return await self.listed(meeting_id)

    async def get(self, principal: Principal, recording_id: str) -> tuple[Recording, Meeting]:
        """One recording and its meeting, for those who may watch it."""
        recording = await self._find(recording_id)
        return recording, await self._watchable(principal, recording.meeting_id)

    async def detail(self, principal: Principal, recording_id: str) -> dict[str, Any]:
        """A recording with its tracks and chapters, for those who may watch it."""
        recording, meeting = await self.get(principal, recording_id)
        return await self.describe(principal, recording, meeting)

    async def describe(self, principal: Principal, recording: Recording, meeting: Meeting) -> dict[str, Any]:
        """A recording with its tracks and chapters (the journal its node wrote)."""
        entries = await asyncio.to_thread(journal.read, self.folder(recording))
        duration = recording.duration or (self.clock.now() - recording.started_at).total_seconds()
        tracks = [{k: v for k, v in t.items() if k != "file"} for t in journal.tracks(entries, duration)]
        return {**recording.to_dict(), "meeting_title": meeting.title, "tracks": tracks,
                "chapters": journal.chapters(entries),
                "may_download": policy.can_download_recording(principal, meeting)}

    async def media(self, principal: Principal, recording_id: str, *, download: bool) -> tuple[Recording, Path]:
        """The archive file, for those who may watch (and, to keep a copy, download) it; logged either way."""
        recording, meeting = await self.get(principal, recording_id)
        if download:
            policy.require(policy.can_download_recording(principal, meeting), "download_forbidden",
                           "downloading a recording is for the meeting's chair, secretary and organizer")
        if recording.status is not RecordingStatus.READY:
            raise Conflict("archive_not_ready", f"the archive of recording {recording_id!r} is "
                                                f"{recording.status.value}, not ready")
        path = self.folder(recording) / journal.ARCHIVE
        if not path.is_file():
            raise NotFound("archive_missing", f"the archive file of recording {recording_id!r} is missing")
        if download:
            await self.accessed(principal, recording, "recording.downloaded")
        return recording, path

    async def accessed(self, principal: Principal, recording: Recording, action: str) -> None:
        """Who watched or downloaded a recording, in the audit chain (tamper-evident, like every other record)."""
        async with self.db.begin() as conn:
            await audit.lock(conn)
            await audit.append(conn, at=self.clock.now(), actor=principal.id, item_id=None, action=action,
                               data={"recording_id": recording.id, "meeting_id": recording.meeting_id})
        log.info("recording %s: %s by %s", recording.id, action, principal.id)

    async def listed(self, meeting_id: str) -> list[Recording]:
        """The meeting's recordings that are not deleted, for the links of its pages (each page that plays one
        checks access itself)."""
        async with self.db.connect() as conn:
            return [r for r in await store.of_meeting(conn, meeting_id) if r.status is not RecordingStatus.DELETED]

    async def moment(self, meeting_id: str, at: datetime) -> dict[str, Any] | None:
        """Where in the meeting's recording a moment of it is (a decision taken then): None if it was not
        recorded. (Whoever may see the decision follows the link; the playback page checks access itself.)"""
        return moment_in(await self.listed(meeting_id), at)


def moment_in(recordings: list[Recording], at: datetime) -> dict[str, Any] | None:
    """The link to `at` in whichever of a meeting's recordings ran then (None: none did)."""
    return next((link for recording in recordings if (link := recording.moment(at)) is not None), None)
