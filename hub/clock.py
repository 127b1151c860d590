"""Time as a dependency, so schedulers and token checks can run on a clock tests control."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo


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


def local_time(moment: datetime | str | None, tz: tzinfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A moment (a datetime or ISO 8601 text) as the city's clock shows it (server.timezone); "" for none."""
    if not moment:
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(tz).strftime(fmt)


class Deadline:
    """Calls back once, when a clock has reached a moment (e.g. a token's expiry); moved or cancelled at will.

    The wait runs on the event loop's timer, but the clock has the last word: when the timer fires early by the
    clock (a clock that tests move, or skew), it waits again for the rest.
    """

    def __init__(self, clock: Clock, callback: Callable[[], None]) -> None:
        self._clock = clock
        self._callback = callback
        self._at: float | None = None
        self._timer: asyncio.TimerHandle | None = None

    @property
    def at(self) -> float | None:
        """The moment (seconds since the epoch), or None when none is set."""
        return self._at

    def set(self, at: float) -> None:
        """Call back at this moment instead of any earlier one."""
        self.cancel()
        self._at = at
        self._arm()

    def cancel(self) -> None:
        """Call back never."""
        self._at = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self) -> None:
        assert self._at is not None
        self._timer = asyncio.get_running_loop().call_later(max(0.0, self._at - self._clock.timestamp()), self._fire)

    def _fire(self) -> None:
        self._timer = None
        if self._at is None:
            return
        if self._clock.timestamp() < self._at:
            self._arm()
            return
        self._at = None
        self._callback()
