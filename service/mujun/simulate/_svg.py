"""Inline SVG charts of the impact report (stage after the simulation; nothing here computes a result).

Charts are drawn in Python as SVG text so the report is one file that opens with no network and prints
sharp at any size: no script, no web font, no plotting library in the page. Every chart is an ``<svg
class="chart" data-chart=NAME>`` with a ``viewBox`` and ``width="100%"``, so it scales to the column
and the browser test can find and measure each one. All text passes through :func:`markupsafe.escape`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

__all__ = ["bars", "lines", "nice_ticks", "tornado", "BEFORE", "AFTER", "UP", "DOWN"]

BEFORE, AFTER = "#9aa5b1", "#1f6feb"
UP, DOWN = "#2e8b57", "#c0392b"
_PALETTE = ("#1f6feb", "#c0392b", "#2e8b57", "#b7791f", "#6b46c1", "#0f766e")
_DASHES = ("", "6 3", "2 3", "8 3 2 3")  # lines that coincide stay apart, and print apart in black and white
_FONT = 12
_TEXT = "#222"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``[low, high]``, 1-2-5 steps.

    >>> nice_ticks(0, 87)
    [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
    >>> nice_ticks(-3, 3)
    [-4.0, -2.0, 0.0, 2.0, 4.0]
    """
    if not math.isfinite(low) or not math.isfinite(high):
        low, high = 0.0, 1.0
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value < high + step * 0.5:
        ticks.append(round(value, 10) + 0.0)
        value += step
    if ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _number(value: float) -> str:
    """A tick or bar label: integers without decimals, large numbers with thousands separators."""
    if abs(value) >= 1000 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _open(name: str, width: int, height: int, title: str) -> list[str]:
    return [f'<svg class="chart" data-chart="{escape(name)}" role="img" aria-label="{escape(title)}" '
            f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
            f'xmlns="http://www.w3.org/2000/svg" font-size="{_FONT}" fill="{_TEXT}">',
            f"<title>{escape(title)}</title>"]


def _legend(parts: list[str], items: Sequence[tuple[str, str]], x: float, y: float) -> None:
    for name, colour in items:
        parts.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{x + 14:.1f}" y="{y:.1f}">{escape(name)}</text>')
        x += 28 + 13 * len(name)


def bars(name: str, title: str, categories: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *,
         colours: Sequence[str] = (BEFORE, AFTER), y_label: str = "", width: int = 720, height: int = 260) -> Markup:
    """Grouped vertical bars: one group per category, one bar per series (a histogram is bins × before/after)."""
    left, right, top, bottom = 64, 12, 26, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, vs in series for v in vs] or [0.0]
    ticks = nice_ticks(min(0.0, min(values)), max(values) if max(values) > 0 else 1.0)
    lo, hi = ticks[0], ticks[-1]
    y = lambda v: top + plot_h * (hi - v) / (hi - lo)  # noqa: E731 - a scale, read as one
    parts = _open(name, width, height, title)
    for t in ticks:
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#e3e6ea"/>'
                     f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{_number(t)}</text>')
    if y_label:
        parts.append(f'<text x="{left - 6}" y="{top - 10}" text-anchor="end">{escape(y_label)}</text>')
    group_w = plot_w / max(len(categories), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    step = max(1, math.ceil(len(categories) * 7 * max((len(c) for c in categories), default=1) / plot_w))
    for i, category in enumerate(categories):
        x0 = left + i * group_w + group_w * 0.1
        for j, (series_name, vs) in enumerate(series):
            v = vs[i]
            top_y, base = sorted((y(v), y(0)))
            parts.append(f'<rect class="bar" x="{x0 + j * bar_w:.1f}" y="{top_y:.1f}" width="{bar_w * 0.92:.1f}" '
                         f'height="{max(base - top_y, 0.5):.1f}" fill="{colours[j % len(colours)]}">'
                         f"<title>{escape(category)} · {escape(series_name)}: {_number(v)}</title></rect>")
        if i % step == 0:
            parts.append(f'<text x="{left + (i + 0.5) * group_w:.1f}" y="{height - bottom + 16}" '
                         f'text-anchor="middle">{escape(category)}</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#555"/>')
    _legend(parts, [(n, colours[j % len(colours)]) for j, (n, _) in enumerate(series)], left, height - 6)
    parts.append("</svg>")
    return Markup("".join(parts))


def tornado(name: str, title: str, rows: Sequence[tuple[str, float, float]], *, low_label: str, high_label: str,
            width: int = 720) -> Markup:
    """Tornado: one row per parameter, tier changes at −10 % drawn left of the axis and at +10 % right,
    widest first (the caller sorts)."""
    label_w, row_h, top = 250, 22, 30
    height = top + row_h * max(len(rows), 1) + 10
    gutter = 44  # room for the numbers beside the widest bars
    half = (width - label_w - 2 * gutter) / 2
    axis = label_w + gutter + half
    peak = max([max(low, high) for _, low, high in rows] + [1.0])
    parts = _open(name, width, height, title)
    parts.append(f'<text x="{axis - 6:.1f}" y="16" text-anchor="end" fill="{DOWN}">← {escape(low_label)}</text>'
                 f'<text x="{axis + 6:.1f}" y="16" fill="{UP}">{escape(high_label)} →</text>')
    for i, (label, low, high) in enumerate(rows):
        y0 = top + i * row_h
        short = label if len(label) <= 19 else label[:18] + "…"
        parts.append(f'<text x="{label_w - 8}" y="{y0 + 15}" text-anchor="end">{escape(short)}'
                     f"<title>{escape(label)}</title></text>")
        for value, colour, sign in ((low, DOWN, -1), (high, UP, 1)):
            w = max(half * value / peak, 0.5)
            x = axis - w if sign < 0 else axis
            parts.append(f'<rect class="bar" x="{x:.1f}" y="{y0 + 3}" width="{w:.1f}" height="{row_h - 6}" '
                         f'fill="{colour}"><title>{escape(label)}: {_number(value)}</title></rect>')
            tx, anchor = (x - 4, "end") if sign < 0 else (x + w + 4, "start")
            parts.append(f'<text x="{tx:.1f}" y="{y0 + 15}" text-anchor="{anchor}">{_number(value)}</text>')
    parts.append(f'<line x1="{axis:.1f}" x2="{axis:.1f}" y1="{top - 4}" y2="{height - 6}" stroke="#555"/></svg>')
    return Markup("".join(parts))


def lines(name: str, title: str, x: Sequence[float], series: Sequence[tuple[str, Sequence[float]]], *,
          x_label: str, y_label: str = "", width: int = 720, height: int = 260) -> Markup:
    """Line chart with a marker on every point (a sweep has few values; each is a run)."""
    left, right, top, bottom = 72, 16, 26, 58
    plot_w, plot_h = width - left - right, height - top - bottom
    ys = [v for _, vs in series for v in vs] or [0.0]
    yt = nice_ticks(min(0.0, min(ys)), max(0.0, max(ys)) or 1.0)
    xt = list(x) if len(x) <= 12 else nice_ticks(min(x), max(x))
    x_lo, x_hi = (min(x), max(x)) if len(x) > 1 and max(x) > min(x) else (min(x, default=0) - 1, max(x, default=0) + 1)
    sx = lambda v: left + plot_w * (v - x_lo) / (x_hi - x_lo)  # noqa: E731
    sy = lambda v: top + plot_h * (yt[-1] - v) / (yt[-1] - yt[0])  # noqa: E731
    parts = _open(name, width, height, title)
    for t in yt:
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" stroke="#e3e6ea"/>'
                     f'<text x="{left - 6}" y="{sy(t) + 4:.1f}" text-anchor="end">{_number(t)}</text>')
    for t in xt:
        parts.append(f'<text x="{sx(t):.1f}" y="{height - bottom + 16}" text-anchor="middle">{_number(t)}</text>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - bottom + 33}" text-anchor="middle">'
                 f"{escape(x_label)}</text>")
    if y_label:
        parts.append(f'<text x="{left - 6}" y="{top - 10}" text-anchor="end">{escape(y_label)}</text>')
    colours = []
    for j, (series_name, vs) in enumerate(series):
        colour = _PALETTE[j % len(_PALETTE)]
        colours.append((series_name, colour))
        points = " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b in zip(x, vs))
        dash = _DASHES[j % len(_DASHES)]
        parts.append(f'<polyline class="line" points="{points}" fill="none" stroke="{colour}" stroke-width="2"'
                     + (f' stroke-dasharray="{dash}"/>' if dash else "/>"))
        for a, b in zip(x, vs):
            parts.append(f'<circle cx="{sx(a):.1f}" cy="{sy(b):.1f}" r="3" fill="{colour}">'
                         f"<title>{escape(series_name)} @ {_number(a)}: {_number(b)}</title></circle>")
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{sy(0):.1f}" y2="{sy(0):.1f}" stroke="#555"/>')
    _legend(parts, colours, left, height - 6)
    parts.append("</svg>")
    return Markup("".join(parts))
