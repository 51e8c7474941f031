"""Charts drawn by the service itself as inline SVG: no script, no CDN, readable offline.

Colours come from classes styled in ``static/admin/admin.css`` (the content security policy
allows no inline styles); every mark carries a ``<title>`` so hovering or a screen reader
gives its number, and the pages show the same numbers in a table beside the chart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from reservations.admin.stats import DayStats
from reservations.rules.projection import Projection, hhmm

WIDTH = 720
HEIGHT = 260
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 16, 36


@dataclass(frozen=True, slots=True)
class StatsLabels:
    """The words the stats chart shows, already in the reader's language."""

    title: str
    # Each channel's name in the legend, by channel name (rules.channels)
    channels: dict[str, str]
    checked_in: str
    no_shows: str


@dataclass(frozen=True, slots=True)
class ProjectionLabels:
    title: str
    people: str
    limit: str
    over: str


TICKS = 4


def nice_ceiling(value: float, ticks: int = TICKS) -> int:
    """The top of an axis at least ``value`` whose ``ticks`` steps are round whole numbers
    (1, 2, 2.5 or 5 × 10ⁿ people)."""
    wanted = max(value, 1) / ticks
    power = int(10 ** max(math.floor(math.log10(wanted)), 0))
    for factor in (1, 2, 2.5, 5):
        step = factor * power
        if step >= wanted and step == int(step):
            return int(step) * ticks
    return 10 * power * ticks


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _svg(chart_id: str, title: str, body: list[str]) -> Markup:
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
    ]
    parts.extend(body)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value inside was escaped


def _y_axis(top_value: int, y_of: Callable[[float], float], ticks: int = TICKS) -> list[str]:
    marks = []
    for index in range(ticks + 1):
        value = top_value * index / ticks
        y = y_of(value)
        marks.append(
            f'<line class="chart__grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
            f'y1="{_number(y)}" y2="{_number(y)}"/>'
            f'<text class="chart__tick" x="{LEFT - 6}" y="{_number(y + 4)}" '
            f'text-anchor="end">{_number(value)}</text>'
        )
    return marks


def chart_class(channel: str) -> str:
    """The class that colours ``channel``'s bars (``static/admin/admin.css``)."""
    return f"chart__{channel}"


def stats_chart(days: Sequence[DayStats], words: StatsLabels, chart_id: str = "stats") -> Markup:
    """Booked people per day as stacked bars (one colour per channel), with the people checked
    in and the no-shows as lines over them."""
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = max(len(days), 1)
    band = plot_width / count
    highest = max(
        [d.all_booked for d in days]
        + [d.checked_in for d in days]
        + [d.no_shows for d in days]
        + [1]
    )
    top_value = nice_ceiling(highest)

    def y_of(value: float) -> float:
        return TOP + plot_height - plot_height * value / top_value

    body = _y_axis(top_value, y_of)
    label_every = max(1, math.ceil(count / 16))
    checked_points, no_show_points = [], []
    for index, day in enumerate(days):
        x = LEFT + band * index
        bar_x, bar_width = x + band * 0.15, max(band * 0.7, 1)
        stacked = 0
        for channel, value in day.booked.items():
            css, name = chart_class(channel), words.channels.get(channel, channel)
            if value > 0:
                y_top = y_of(stacked + value)
                body.append(
                    f'<rect class="{css}" x="{_number(bar_x)}" y="{_number(y_top)}" '
                    f'width="{_number(bar_width)}" '
                    f'height="{_number(y_of(stacked) - y_top)}">'
                    f"<title>{escape(day.day.isoformat())} {escape(name)} {value}</title></rect>"
                )
            stacked += value
        centre = x + band / 2
        checked_points.append((centre, y_of(day.checked_in), day, day.checked_in))
        no_show_points.append((centre, y_of(day.no_shows), day, day.no_shows))
        if index % label_every == 0:
            body.append(
                f'<text class="chart__tick" x="{_number(centre)}" y="{HEIGHT - BOTTOM + 16}" '
                f'text-anchor="middle">{day.day.month}/{day.day.day}</text>'
            )
    for points, css, name in (
        (checked_points, "chart__checked", words.checked_in),
        (no_show_points, "chart__noshow", words.no_shows),
    ):
        if len(points) > 1:
            path = " ".join(f"{_number(x)},{_number(y)}" for x, y, _, _ in points)
            body.append(f'<polyline class="{css}" points="{path}"/>')
        for x, y, day, value in points:
            body.append(
                f'<circle class="{css}-dot" cx="{_number(x)}" cy="{_number(y)}" r="3">'
                f"<title>{escape(day.day.isoformat())} {escape(name)} {value}</title></circle>"
            )
    body.append(
        f'<line class="chart__axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
        f'y1="{_number(y_of(0))}" y2="{_number(y_of(0))}"/>'
    )
    return _svg(chart_id, words.title, body)


def projection_chart(
    projection: Projection, words: ProjectionLabels, chart_id: str = "projection"
) -> Markup:
    """People inside through the day as bars per step, the part above the instantaneous
    limit marked, and the limit as a dashed line."""
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = max(projection.closes - projection.opens, 1)
    top_value = nice_ceiling(max(projection.peak, projection.limit) * 1.1)

    def x_of(minute: int) -> float:
        return LEFT + plot_width * (minute - projection.opens) / span

    def y_of(value: float) -> float:
        return TOP + plot_height - plot_height * value / top_value

    body = _y_axis(top_value, y_of)
    ends = [step.start for step in projection.steps[1:]] + [projection.closes]
    for step, end in zip(projection.steps, ends, strict=True):
        if step.people == 0:
            continue
        x0, x1 = x_of(step.start), x_of(end)
        within = min(step.people, projection.limit)
        tip = f"{hhmm(step.start)}–{hhmm(end)} {words.people} {step.people}"
        body.append(
            f'<rect class="chart__people" x="{_number(x0)}" y="{_number(y_of(within))}" '
            f'width="{_number(x1 - x0)}" height="{_number(y_of(0) - y_of(within))}">'
            f"<title>{escape(tip)}</title></rect>"
        )
        if step.people > projection.limit:
            body.append(
                f'<rect class="chart__over" x="{_number(x0)}" y="{_number(y_of(step.people))}" '
                f'width="{_number(x1 - x0)}" '
                f'height="{_number(y_of(projection.limit) - y_of(step.people))}">'
                f"<title>{escape(words.over)} {step.people - projection.limit}</title></rect>"
            )
    limit_y = y_of(projection.limit)
    body.append(
        f'<line class="chart__limit" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
        f'y1="{_number(limit_y)}" y2="{_number(limit_y)}"/>'
        f'<text class="chart__limit-label" x="{WIDTH - RIGHT}" y="{_number(limit_y - 6)}" '
        f'text-anchor="end">{escape(words.limit)} {projection.limit}</text>'
    )
    first_hour = math.ceil(projection.opens / 60)
    for hour in range(first_hour, projection.closes // 60 + 1):
        x = x_of(hour * 60)
        body.append(
            f'<text class="chart__tick" x="{_number(x)}" y="{HEIGHT - BOTTOM + 16}" '
            f'text-anchor="middle">{hour:02d}:00</text>'
        )
    body.append(
        f'<line class="chart__axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
        f'y1="{_number(y_of(0))}" y2="{_number(y_of(0))}"/>'
    )
    return _svg(chart_id, words.title, body)
