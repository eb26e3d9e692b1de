"""A small stdlib SVG writer: cold vs warm latency distribution, and p95 per hour.

Each panel is a title, a legend row, then the plot: nothing is drawn over the legend, every axis
has ticks to read values by, and tick labels never repeat (one sample still gets a readable axis)."""
from __future__ import annotations

import bisect
import math
import time
from html import escape  # xml.sax.saxutils pulls in urllib.request (15 ms of start-up)
from typing import List, Sequence, Tuple

WIDTH, PAD = 760, 64  # PAD: the left margin, where the y tick labels go
RIGHT = 28
PANEL_H, PLOT_TOP, PLOT_H = 282, 34, 190  # a panel: title, legend row, then the plot
COLD, WARM, THRESHOLD, GRID = "#d9480f", "#1c7ed6", "#555", "#e9ecef"
HOUR_MS = 3_600_000
HourRow = Tuple[int, "float | None", int, "float | None", int]


def _text(x: float, y: float, text: str, anchor: str = "start", size: int = 11, color: str = "#333",
          cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{color}"{klass}>'
            f"{escape(text)}</text>")


def _num(value: float) -> str:
    """A tick label: thousands separated, decimals only where the value has them."""
    if value >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _legend(items: Sequence[Tuple[str, str, str]], y: float) -> List[str]:
    """A row of (kind, colour, label) entries above the plot: kind 'box' (bars), 'line', 'dash'."""
    parts, x = [], float(PAD)
    for kind, color, label in items:
        if kind == "box":
            parts.append(f'<rect class="swatch" x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{color}"/>')
        else:
            dash = ' stroke-dasharray="5,4"' if kind == "dash" else ""
            parts.append(f'<line class="swatch" x1="{x:.1f}" y1="{y - 4:.1f}" x2="{x + 18:.1f}" y2="{y - 4:.1f}" '
                         f'stroke="{color}" stroke-width="2"{dash}/>')
        swatch = 14 if kind == "box" else 22
        parts.append(_text(x + swatch, y, label, color=color if kind != "dash" else THRESHOLD, cls="legend"))
        x += swatch + 6.6 * len(label) + 18
    return parts


def _nice_step(span: float, count: int) -> float:
    """A 1-2-5 step that cuts `span` into about `count` parts."""
    raw = max(span, 1e-9) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= raw:
            return factor * power
    return 10 * power


def _linear_ticks(peak: float, count: int = 5) -> List[float]:
    """0, step, 2·step … up to the first tick at or above peak."""
    step = _nice_step(peak, count)
    ticks = [0.0]
    while ticks[-1] < peak - 1e-9:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _log_domain(lo: float, hi: float) -> Tuple[float, float]:
    """At least a factor of 4 wide, around the data: one sample gets an axis, not seven equal ticks."""
    lo, hi = max(lo, 0.1), max(hi, 0.1)
    if hi / lo < 4:
        centre = math.sqrt(lo * hi)
        lo, hi = centre / 2, centre * 2
    return lo, hi


def _log_ticks(lo: float, hi: float, min_gap: float, plot_w: float) -> List[float]:
    """1-2-5 (or, on a narrow axis, 1, 1.5, 2 … 9) × 10^k inside [lo, hi], thinned so labels stay
    `min_gap` px apart."""
    def inside(mantissas: Sequence[float]) -> List[float]:
        out = []
        for power in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
            out += [m * 10 ** power for m in mantissas if lo <= m * 10 ** power <= hi]
        return sorted(out)

    ticks = inside((1, 2, 5))
    if len(ticks) < 3:
        ticks = inside((1, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9))
    span = math.log10(hi) - math.log10(lo)
    kept: List[float] = []
    for tick in ticks:
        x = (math.log10(tick) - math.log10(lo)) / span * plot_w
        if not kept or x - (math.log10(kept[-1]) - math.log10(lo)) / span * plot_w >= min_gap:
            kept.append(tick)
    return kept


def _shares(values: Sequence[float], edges: Sequence[float]) -> List[float]:
    counts = [0] * (len(edges) - 1)
    for value in values:
        index = min(max(bisect.bisect_right(edges, value) - 1, 0), len(counts) - 1)
        counts[index] += 1
    total = len(values) or 1
    return [100.0 * c / total for c in counts]


def _sample(values: Sequence[float], limit: int = 20000) -> Sequence[float]:
    """Histogram shares from an even sample of a sorted array: same shape, bounded work."""
    if len(values) <= limit:
        return values
    step = len(values) / limit
    return [values[int(i * step)] for i in range(limit)]


def _y_axis(ticks: Sequence[float], base: float, scale: float, suffix: str = "") -> List[str]:
    parts = []
    for tick in ticks:
        y = base - tick * scale
        if tick > 0:
            parts.append(f'<line x1="{PAD}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(_text(PAD - 6, y + 3.5, _num(tick) + suffix, "end", 10, cls="ytick"))
    return parts


def _x_label(x: float, y: float, text: str) -> str:
    """A tick label, kept inside the canvas at both ends."""
    half = 3.0 * len(text)
    anchor = "start" if x - half < 2 else "end" if x + half > WIDTH - 2 else "middle"
    return _text(x, y, text, anchor, 10, cls="xtick")


def distribution_panel(cold: Sequence[float], warm: Sequence[float], top: float, bins: int = 30,
                       threshold_ms: float | None = None) -> List[str]:
    parts = [_text(PAD, top, "Latency distribution (share of samples per bin; ms, log scale)", size=13)]
    legend = [("box", WARM, f"warm n={len(warm):,}"), ("box", COLD, f"cold n={len(cold):,}")]
    positive = [v for v in (list(cold[:1]) + list(warm[:1]) + list(cold[-1:]) + list(warm[-1:])) if v > 0]
    if not positive:
        parts += _legend(legend, top + 18)
        parts.append(_text(WIDTH / 2, top + PLOT_TOP + PLOT_H / 2, "no cmd_timing samples", "middle"))
        return parts
    lo, hi = min(positive), max(positive)
    if threshold_ms is not None and threshold_ms > 0:  # the gate's line is always on the axis
        lo, hi = min(lo, threshold_ms / 1.25), max(hi, threshold_ms * 1.25)
        legend.append(("dash", THRESHOLD, f"gate threshold {_num(threshold_ms)} ms"))
    parts += _legend(legend, top + 18)
    lo, hi = _log_domain(lo, hi)
    step = (math.log10(hi) - math.log10(lo)) / bins
    edges = [10 ** (math.log10(lo) + i * step) for i in range(bins + 1)]
    cold_s, warm_s = _shares(_sample(cold), edges), _shares(_sample(warm), edges)
    plot_w = WIDTH - PAD - RIGHT
    base = top + PLOT_TOP + PLOT_H
    y_ticks = _linear_ticks(max(cold_s + warm_s + [1.0]), 4)
    scale = PLOT_H / y_ticks[-1]
    parts += _y_axis(y_ticks, base, scale, "%")
    bar_w = plot_w / bins
    for i in range(bins):
        x = PAD + i * bar_w
        for share, color, offset, cls in ((warm_s[i], WARM, 0.0, "bar warm"), (cold_s[i], COLD, bar_w / 2, "bar cold")):
            if share > 0:
                h = share * scale
                parts.append(f'<rect class="{cls}" x="{x + offset:.1f}" y="{base - h:.1f}" width="{bar_w / 2 - 1:.1f}" '
                             f'height="{h:.1f}" fill="{color}"/>')

    def x_of(value: float) -> float:
        return PAD + (math.log10(value) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * plot_w

    if threshold_ms is not None and threshold_ms > 0:
        x = x_of(threshold_ms)
        parts.append(f'<line x1="{x:.1f}" y1="{base - PLOT_H:.1f}" x2="{x:.1f}" y2="{base}" stroke="{THRESHOLD}" '
                     f'stroke-dasharray="5,4"/>')
    parts.append(f'<line x1="{PAD}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" stroke="#999"/>')
    for tick in _log_ticks(lo, hi, 44, plot_w):
        x = x_of(tick)
        parts.append(f'<line x1="{x:.1f}" y1="{base}" x2="{x:.1f}" y2="{base + 4}" stroke="#999"/>')
        parts.append(_x_label(x, base + 15, _num(tick)))
    return parts


def _hour_ticks(first: int, last: int, max_labels: int = 7) -> List[int]:
    """UTC hours on a round step (1, 2, 3, 6, 12 h, 1, 2, 7 days) so that at most max_labels show."""
    for hours in (1, 2, 3, 6, 12, 24, 48, 168, 336, 720):
        step = hours * HOUR_MS
        ticks = list(range(first + (-first) % step, last + 1, step))
        if len(ticks) <= max_labels:
            return ticks or [first]
    return [first, last]


def _segments(rows: Sequence[HourRow], index: int) -> List[List[Tuple[int, float]]]:
    """Runs of consecutive hours that have a value: a missing hour breaks the line."""
    runs: List[List[Tuple[int, float]]] = []
    previous = None
    for row in rows:
        value = row[index]
        if value is None:
            previous = None
            continue
        if previous is None or row[0] - previous > HOUR_MS:
            runs.append([])
        runs[-1].append((row[0], float(value)))  # type: ignore[arg-type]
        previous = row[0]
    return runs


def hourly_panel(rows: Sequence[HourRow], top: float, threshold_ms: float | None = None) -> List[str]:
    parts = [_text(PAD, top, "P95 per hour (ms, UTC)", size=13)]
    if not rows:
        parts.append(_text(WIDTH / 2, top + PLOT_TOP + PLOT_H / 2, "no timestamps to bucket by hour", "middle"))
        return parts
    legend = [("line", color, label) for index, color, label in ((1, COLD, "cold p95"), (3, WARM, "warm p95"))
              if any(r[index] is not None for r in rows)]
    if threshold_ms is not None:
        legend.append(("dash", THRESHOLD, f"gate threshold {_num(threshold_ms)} ms"))
    parts += _legend(legend, top + 18)
    # each hour sits in the middle of its slot: one hour is drawn in the middle, not on an edge
    first, last = rows[0][0], rows[-1][0]
    start, span = first - HOUR_MS / 2, last - first + HOUR_MS
    plot_w = WIDTH - PAD - RIGHT
    base = top + PLOT_TOP + PLOT_H
    y_ticks = _linear_ticks(max([r[1] or 0 for r in rows] + [r[3] or 0 for r in rows] + [threshold_ms or 0, 1.0]), 5)
    scale = PLOT_H / y_ticks[-1]
    parts += _y_axis(y_ticks, base, scale)

    def x_of(hour: int) -> float:
        return PAD + (hour - start) / span * plot_w

    if threshold_ms is not None:
        y = base - threshold_ms * scale
        parts.append(f'<line x1="{PAD}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{THRESHOLD}" '
                     f'stroke-dasharray="5,4"/>')
    parts.append(f'<line x1="{PAD}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" stroke="#999"/>')
    for index, color in ((3, WARM), (1, COLD)):
        for run in _segments(rows, index):
            points = " ".join(f"{x_of(h):.1f},{base - v * scale:.1f}" for h, v in run)
            if len(run) > 1:
                parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{points}"/>')
            for h, v in run:
                parts.append(f'<circle cx="{x_of(h):.1f}" cy="{base - v * scale:.1f}" r="2.2" fill="{color}"/>')
    for hour in _hour_ticks(first, last):
        x = x_of(hour)
        parts.append(f'<line x1="{x:.1f}" y1="{base}" x2="{x:.1f}" y2="{base + 4}" stroke="#999"/>')
        parts.append(_x_label(x, base + 15, time.strftime("%m-%d %H:%M", time.gmtime(hour / 1000))))
    return parts


def chart(cold: Sequence[float], warm: Sequence[float], hourly: Sequence[HourRow],
          title: str, threshold_ms: float | None = None) -> str:
    """The whole SVG document (sorted cold and warm durations; hourly rows from analyze)."""
    height = 40 + 2 * PANEL_H + 6
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
        f'font-family="sans-serif">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        _text(PAD, 24, title, size=15, color="#111"),
    ]
    parts += distribution_panel(cold, warm, 58, threshold_ms=threshold_ms)
    parts += hourly_panel(hourly, 58 + PANEL_H, threshold_ms)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
