"""How pages write sizes and times: a 39-byte attachment is "39 B", not "0.0 KB"; times are the city's."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hub.clock import local_time
from web.pages import filesize


def test_file_sizes_read_as_people_read_them() -> None:
    assert [filesize(n) for n in (0, 39, 1023, 1024, 12_800, 3_355_443)] == [
        "0 B", "39 B", "1023 B", "1.0 KB", "12.5 KB", "3.2 MB"]


def test_times_are_the_citys() -> None:
    moment = datetime(2026, 12, 4, 16, 30, tzinfo=UTC)
    shanghai = ZoneInfo("Asia/Shanghai")
    assert local_time(moment, shanghai) == "2026-12-05 00:30"
    assert local_time(moment.isoformat(), shanghai, "%H:%M") == "00:30"
    assert local_time(None, shanghai) == "" and local_time("", shanghai) == ""
