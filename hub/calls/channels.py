"""Where calls talk on the bus, so every node rings, stops ringing and relays the same way.

- `calls.person.{person_id}`: followed by every phone device of a person: incoming calls, ringing stopped,
  the missed-calls count.
- `calls.device.{device_id}`: followed by one device (a /ws session): answered, ended, media signaling.
- presence group `calls.devices.{person_id}`: the person's online phone devices, each with a TTL.
"""

from __future__ import annotations


def person_channel(person_id: str) -> str:
    """Every phone device of one person listens here."""
    return f"calls.person.{person_id}"


def device_channel(device_id: str) -> str:
    """One device listens here."""
    return f"calls.device.{device_id}"


def presence_group(person_id: str) -> str:
    """The presence group of a person's online phone devices."""
    return f"calls.devices.{person_id}"
