"""The meeting's media task tells a selection round's new slots together, each participant only its newest."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from signaling.hosted_media import HostedMedia
from signaling.participants import direct_channel
from signaling.sfu.events import SlotContent, SlotsChanged


class SlowBus:
    """A bus whose publishes all wait for `release`: what is published together is seen waiting together."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.waiting: list[tuple[str, dict[str, Any]]] = []
        self.published: list[tuple[str, dict[str, Any]]] = []

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        self.waiting.append((channel, message))
        await self.release.wait()
        self.published.append((channel, message))


class QuietRoom:
    forwarders: dict[str, Any] = {}

    async def stop(self) -> None:
        pass


def slots_of(participant_id: str, mid: str) -> SlotsChanged:
    return SlotsChanged("m1", participant_id, (SlotContent(f"{participant_id}-v0", mid, "video", None),))


def told(entry: tuple[str, dict[str, Any]]) -> tuple[str, str]:
    channel, message = entry
    return channel, message["data"]["slots"][0]["mid"]


async def until(check: Any) -> None:
    for _ in range(200):
        if check():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("not reached")


async def test_a_rounds_slots_are_told_together_and_only_the_newest() -> None:
    bus = SlowBus()
    media = HostedMedia("m1", cast(Any, QuietRoom()), cast(Any, None), cast(Any, None), cast(Any, bus), None,
                        on_closed=lambda media: asyncio.sleep(0))
    done_in_order: list[str] = []

    async def work_after_the_round() -> None:
        done_in_order.append(f"work after {len(bus.published)} published")

    # one round: a re-pointed twice, b once; then other work; then the next round's c
    for event in (slots_of("a", "1"), slots_of("b", "2"), slots_of("a", "3"), work_after_the_round, slots_of("c", "4")):
        media.on_sfu_event(cast(Any, event))
    await until(lambda: len(bus.waiting) == 2)
    await asyncio.sleep(0.02)
    # both of the round's tellings are under way at once, a's older slots never told; the work waits for them
    assert sorted(told(e) for e in bus.waiting) == [(direct_channel("m1", "a"), "3"), (direct_channel("m1", "b"), "2")]
    assert done_in_order == []
    bus.release.set()
    await until(lambda: len(bus.published) == 3)
    assert done_in_order == ["work after 2 published"]
    assert told(bus.published[-1]) == (direct_channel("m1", "c"), "4")
    await media.stop()
