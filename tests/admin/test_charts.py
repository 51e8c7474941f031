"""The charts the service draws itself: well-formed SVG, escaped words, round axes."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

from reservations.admin.charts import (
    ProjectionLabels,
    StatsLabels,
    nice_ceiling,
    projection_chart,
    stats_chart,
)
from reservations.admin.stats import DayStats
from reservations.rules.projection import project
from tests.rules.test_projection import museum

SVG = "{http://www.w3.org/2000/svg}"


def test_axes_end_on_round_numbers_in_whole_steps() -> None:
    for value, top in ((0, 4), (5, 8), (350, 400), (700, 800), (1300, 2000)):
        assert nice_ceiling(value) == top
        assert nice_ceiling(value) % 4 == 0


def test_stats_chart_is_well_formed_and_escapes_its_words() -> None:
    days = [
        DayStats(date(2026, 3, 10) + timedelta(days=n),
                 booked={"individual": 10 * n, "team": 5, "walk_in": 2 if n % 2 else 0},
                 checked_in=7 * n, no_shows=n, cancelled=1)
        for n in range(30)
    ]  # fmt: skip
    names = {"individual": "个人 & co", "team": "团队", "walk_in": "现场"}
    words = StatsLabels("<b>每日</b>", names, "已入馆", "未到馆")
    svg = ET.fromstring(str(stats_chart(days, words)))
    assert svg.find(f"{SVG}title").text == "<b>每日</b>"  # type: ignore[union-attr]
    bars = svg.findall(f"{SVG}rect")
    # day 0 has no individual bar; every other day a walk-in bar
    assert len(bars) == 29 * 2 + 1 + 15
    classes = {bar.get("class") for bar in bars}
    assert classes == {"chart__individual", "chart__team", "chart__walk_in"}
    assert "个人 & co 290" in "".join(bar.findtext(f"{SVG}title") or "" for bar in bars)
    ticks = [text.text for text in svg.findall(f"{SVG}text")]
    assert "3/10" in ticks and all("." not in (tick or "") for tick in ticks)


def test_projection_chart_marks_the_part_above_the_limit() -> None:
    words = ProjectionLabels("预计在馆", "在馆", "瞬时上限", "超出")
    svg = ET.fromstring(
        str(projection_chart(project(museum(occupancy={"typical_visit_minutes": 150})), words))
    )
    over = [rect for rect in svg.findall(f"{SVG}rect") if rect.get("class") == "chart__over"]
    assert len(over) == 3  # 11:00, 13:00 and 15:00
    # 700 booked ahead in two slots at once, and the day's 50 walk-in places
    assert all(rect.findtext(f"{SVG}title") == "超出 150" for rect in over)
