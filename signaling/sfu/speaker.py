"""Active speaker from the RFC 6464 audio levels publishers put in their RTP headers."""

from __future__ import annotations

from dataclasses import dataclass

# Level in the header is -dBov, 0 (loudest) .. 127 (silence).
SILENCE_LEVEL = 127
# Louder than -50 dBov, smoothed, counts as speaking.
SPEAKING_LOUDNESS = SILENCE_LEVEL - 50
# A challenger must be this much louder (dB) than the current speaker ...
SWITCH_MARGIN = 6.0
# ... for this many consecutive ticks.
SWITCH_TICKS = 2
SMOOTHING = 0.5


@dataclass
class _Level:
    total: int = 0
    count: int = 0
    smoothed: float = 0.0


class ActiveSpeakerDetector:
    """Feed levels per packet with `add`, call `tick` periodically; `tick` returns a new speaker or None."""

    def __init__(self) -> None:
        self._levels: dict[str, _Level] = {}
        self.current: str | None = None
        self._challenger: str | None = None
        self._challenger_ticks = 0

    def add(self, participant_id: str, level: int) -> None:
        """Record one packet's level (-dBov) for `participant_id`."""
        entry = self._levels.get(participant_id)
        if entry is None:
            entry = self._levels[participant_id] = _Level()
        entry.total += SILENCE_LEVEL - min(max(level, 0), SILENCE_LEVEL)
        entry.count += 1

    def remove(self, participant_id: str) -> bool:
        """Forget a participant; True if they were the active speaker (now nobody)."""
        self._levels.pop(participant_id, None)
        if self._challenger == participant_id:
            self._challenger = None
            self._challenger_ticks = 0
        if self.current == participant_id:
            self.current = None
            return True
        return False

    def loudness(self, participant_id: str) -> float:
        """Smoothed loudness (127 + dBov) of a participant."""
        entry = self._levels.get(participant_id)
        return entry.smoothed if entry else 0.0

    def tick(self) -> str | None:
        """Close the current window; return the participant who just became active speaker, if any."""
        for entry in self._levels.values():
            window = entry.total / entry.count if entry.count else 0.0
            entry.smoothed = SMOOTHING * entry.smoothed + (1 - SMOOTHING) * window
            entry.total = entry.count = 0
        speaking = {p: e.smoothed for p, e in self._levels.items() if e.smoothed >= SPEAKING_LOUDNESS}
        if not speaking:
            self._challenger, self._challenger_ticks = None, 0
            return None
        loudest = max(speaking, key=lambda p: speaking[p])
        if loudest == self.current:
            self._challenger, self._challenger_ticks = None, 0
            return None
        current_loudness = self.loudness(self.current) if self.current else 0.0
        if self.current is not None and speaking[loudest] < current_loudness + SWITCH_MARGIN:
            self._challenger, self._challenger_ticks = None, 0
            return None
        if loudest != self._challenger:
            self._challenger, self._challenger_ticks = loudest, 0
        self._challenger_ticks += 1
        if self._challenger_ticks < SWITCH_TICKS:
            return None
        self.current = loudest
        self._challenger, self._challenger_ticks = None, 0
        return loudest
