"""The calls settings section: defaults, environment names, refusals that name the key."""

from __future__ import annotations

import pytest

from hub.settings import SettingsError, load_settings


def test_defaults_and_environment() -> None:
    assert load_settings(environ={}).calls.ring_timeout == 30.0
    settings = load_settings(environ={"CITYHUB_CALLS_RING_TIMEOUT": "12.5", "CITYHUB_CALLS_PRESENCE_TTL": "9"})
    assert settings.calls.ring_timeout == 12.5 and settings.calls.presence_ttl == 9.0


@pytest.mark.parametrize("key", ["RING_TIMEOUT", "PRESENCE_TTL", "SWEEP_INTERVAL"])
def test_non_positive_times_are_refused_by_name(key: str) -> None:
    with pytest.raises(SettingsError, match=f"calls.{key.lower()}"):
        load_settings(environ={f"CITYHUB_CALLS_{key}": "0"})


def test_a_word_is_not_a_ring_time() -> None:
    with pytest.raises(SettingsError, match="CITYHUB_CALLS_RING_TIMEOUT"):
        load_settings(environ={"CITYHUB_CALLS_RING_TIMEOUT": "long"})
