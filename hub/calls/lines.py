"""Who is on a line: one call at a time per person, across every node (the call_lines primary key decides)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from hub.calls import store
from hub.calls.model import CallState
from hub.storage.db import Database

# A line held by a call that never got stored (its node died mid-dial) is freed after this long.
STALE_LINE = timedelta(seconds=60)


class Lines:
    """Take and release people's lines; lines of finished calls are freed on the way."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def take(self, person_id: str, call_id: str, now: datetime) -> bool:
        """Put a person on this call's line; False when they are on another live call."""
        for _ in range(2):
            try:
                async with self.db.begin() as conn:
                    await store.take_line(conn, person_id, call_id, now)
                return True
            except IntegrityError:
                async with self.db.begin() as conn:
                    holder = await store.line_of(conn, person_id)
                    if holder is None:
                        continue
                    held = await store.get_call(conn, holder[0])
                    stale = held.state is CallState.ENDED if held else now - holder[1] > STALE_LINE
                    if not stale:
                        return False
                    await store.release_line(conn, person_id, holder[0])
        return False

    async def release(self, call_id: str, person_id: str | None = None) -> None:
        """Free every line of a call (or one person's)."""
        async with self.db.begin() as conn:
            if person_id is None:
                await store.release_lines(conn, call_id)
            else:
                await store.release_line(conn, person_id, call_id)
