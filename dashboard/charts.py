"""Charts drawn on the server as SVG: no script, no request leaving the site,
readable without colour (every bar and point has its exact value as a
tooltip, and the table of numbers is under each chart).

Values are integers (minor units or counts); only pixel positions are
computed with floats. Axis labels use the shop's money format (Babel)."""

from __future__ import annotations

from datetime import date

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from core.money import currency_exponent, format_money

from .figures import Chart
from .periods import MONTH_NAMES

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 96, 16, 30, 48
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
TICKS = 5
MAX_X_LABELS = 12


def nice_step(span: int, count: int, minimum: int) -> int:
    """A round step (1, 2 or 5 times a power of ten, at least `minimum`) that
    covers `span` in about `count` steps."""
    raw = max(-(-span // count), 1)
    magnitude = 10 ** (len(str(raw)) - 1)
    for factor in (1, 2, 5, 10):
        step = factor * magnitude
        if step >= raw:
            break
    return max(step, minimum)


def y_ticks(values: list[int], minimum: int) -> list[int]:
    lo, hi = min([0, *values]), max([0, *values])
    if lo == hi == 0:
        hi = minimum * TICKS
    step = nice_step(hi - lo, TICKS, minimum)
    first = (lo // step) * step
    last = -((-hi) // step) * step
    return list(range(first, last + step, step))


def _value_label(chart: Chart, value: int) -> str:
    if chart.unit == "money":
        return format_money(value, chart.currency)
    return f"{value:,}"


def _x_label(chart: Chart, day: date, index: int) -> list[str]:
    """One or two lines under a column: the year only where it changes."""
    if chart.x_unit == "month":
        lines = [MONTH_NAMES[day.month - 1][:3]]
        if index == 0 or day.month == 1:
            lines.append(str(day.year))
        return lines
    lines = [str(day.day)]
    if index == 0 or day.day == 1:
        lines.append(f"{MONTH_NAMES[day.month - 1][:3]} {day.year}")
    return lines


def _x_title(chart: Chart, day: date) -> str:
    if chart.x_unit == "month":
        return f"{MONTH_NAMES[day.month - 1]} {day.year}"
    return f"{day.day} {MONTH_NAMES[day.month - 1]} {day.year}"


def render_chart(chart: Chart) -> SafeString:
    n = len(chart.x)
    values = [v for series in chart.series for v in series.values]
    minimum = 10 ** currency_exponent(chart.currency) if chart.unit == "money" else 1
    ticks = y_ticks(values, minimum)
    lo, hi = ticks[0], ticks[-1]

    def y(value: int) -> float:
        return TOP + PLOT_H - (value - lo) * PLOT_H / (hi - lo)

    slot = PLOT_W / max(n, 1)
    out = [
        f'<svg class="chart chart-{escape(chart.kind)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(chart.title)}" data-chart="{escape(chart.key)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(chart.title)}</title><desc>{escape(chart.description)}</desc>",
    ]
    # Y axis: grid lines and labels, and what the values are.
    unit_title = f"{chart.currency.upper()}, VAT included" if chart.unit == "money" else "Number"
    out.append(f'<text class="axis-title" x="{LEFT}" y="{TOP - 12}" text-anchor="start">{escape(unit_title)}</text>')
    for tick in ticks:
        ty = y(tick)
        zero = " zero" if tick == 0 else ""
        out.append(f'<line class="grid{zero}" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}"/>')
        out.append(f'<text class="tick" x="{LEFT - 8}" y="{ty + 4:.1f}" text-anchor="end">'
                   f"{escape(_value_label(chart, tick))}</text>")
    # X axis labels, thinned so they never overlap.
    every = max(1, -(-n // MAX_X_LABELS))
    for i, day in enumerate(chart.x):
        if i % every:
            continue
        cx = LEFT + slot * (i + 0.5)
        lines = _x_label(chart, day, i)
        spans = "".join(f'<tspan x="{cx:.1f}" dy="{0 if j == 0 else 13}">{escape(text)}</tspan>'
                        for j, text in enumerate(lines))
        out.append(f'<text class="tick x" x="{cx:.1f}" y="{TOP + PLOT_H + 16}" text-anchor="middle">{spans}</text>')
    x_title = "Month" if chart.x_unit == "month" else "Day"
    out.append(f'<text class="axis-title" x="{WIDTH - RIGHT}" y="{HEIGHT - 4}" text-anchor="end">{x_title}</text>')

    # The data.
    for i, day in enumerate(chart.x):
        parts = []
        tooltip = "; ".join(f"{s.name}: {_value_label(chart, s.values[i])}" for s in chart.series)
        title = escape(f"{_x_title(chart, day)} · {tooltip}")
        x0 = LEFT + slot * i
        if chart.kind == "bar":
            width = slot * 0.8 / len(chart.series)
            for k, series in enumerate(chart.series):
                value = series.values[i]
                top, bottom = sorted((y(value), y(0)))
                sign = "negative" if value < 0 else "positive"
                parts.append(f'<rect class="bar {escape(series.tone)} {sign}" x="{x0 + slot * 0.1 + k * width:.1f}" '
                             f'y="{top:.1f}" width="{max(width - 1, 1):.1f}" height="{max(bottom - top, 0):.1f}"/>')
        # Hovering (or clicking) anywhere in the column shows its numbers.
        hit = (f'<rect class="hit" x="{x0:.1f}" y="{TOP}" width="{slot:.1f}" height="{PLOT_H}">'
               f"<title>{title}</title></rect>")
        column = "".join(parts) + hit
        if chart.links:
            period = escape(chart.links[i])
            out.append(f'<a class="column" href="?period={period}" data-period="{period}" '
                       f'aria-label="{title}">{column}</a>')
        else:
            out.append(f'<g class="column" data-x="{day.isoformat()}">{column}</g>')
    if chart.kind == "line":
        for series in chart.series:
            points = " ".join(f"{LEFT + slot * (i + 0.5):.1f},{y(v):.1f}" for i, v in enumerate(series.values))
            out.append(f'<polyline class="line {escape(series.tone)}" points="{points}"/>')
            if n <= 60:
                for i, v in enumerate(series.values):
                    out.append(f'<circle class="point {escape(series.tone)}" cx="{LEFT + slot * (i + 0.5):.1f}" '
                               f'cy="{y(v):.1f}" r="3"/>')
    out.append("</svg>")
    return mark_safe("".join(out))
