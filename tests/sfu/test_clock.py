"""The SFU's fast NTP clock (sender reports, abs-send-time)."""

from __future__ import annotations


def test_ntp_clock_agrees_with_aiortc() -> None:
    import time

    from aiortc import clock

    from signaling.sfu.forwarding import ntp_of

    ours, theirs = ntp_of(time.time()), clock.current_ntp_time()
    assert abs(ours - theirs) < (1 << 32) // 100  # within 10 ms
