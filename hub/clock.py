"""Time as a dependency, so schedulers and token checks can run on a clock tests control."""

from __future__ import annotations

import time
from datetime import UTC, datetime


class Clock:
    """The wall clock."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        return datetime.now(UTC)

    def timestamp(self) -> float:
        """Seconds since the epoch."""
        return time.time()


class ManualClock(Clock):
    """A clock that moves only when told: for tests and simulations."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def timestamp(self) -> float:
        return self._now.timestamp()

    def advance(self, seconds: float) -> None:
        """Move forward by some seconds."""
        from datetime import timedelta

        self._now += timedelta(seconds=seconds)
