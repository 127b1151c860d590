"""The on-time chart stays readable on a phone: drawn so that its smallest text is at least 13 px when the
chart is 330 px wide (a 390 px screen less the page's and the panel's padding), and long names are cut."""

from __future__ import annotations

import re

from hub.supervision.reports import bar_chart

PHONE_CHART_WIDTH = 330


def test_chart_text_is_readable_on_a_phone() -> None:
    units = [{"unit_id": "u1", "unit_name": "市南区应急管理办公室综合协调科", "on_time_rate": 0.75},
             {"unit_id": "u2", "unit_name": "市公用事业局", "on_time_rate": None}]
    svg = bar_chart(units, title="各单位按时办结率", no_data="暂无")
    width = float(re.search(r'viewBox="0 0 ([\d.]+) ', svg).group(1))  # type: ignore[union-attr]
    smallest = min(float(size) for size in re.findall(r'font-size="([\d.]+)"', svg))
    assert smallest * PHONE_CHART_WIDTH / width >= 13
    assert "市南区应急管理办…" in svg and "<title>市南区应急管理办公室综合协调科 75%</title>" in svg
    assert ">市公用事业局<" in svg and "—" in svg
