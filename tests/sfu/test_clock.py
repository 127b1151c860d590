"""The SFU's fast NTP clock (sender reports, abs-send-time)."""

from __future__ import annotations


def test_ntp_clock_agrees_with_aiortc() -> None:
    from aiortc import clock

    from signaling.sfu.forwarding import ntp_now

    ours, theirs = ntp_now(), clock.current_ntp_time()
    assert abs(ours - theirs) < (1 << 32) // 100  # within 10 ms
