"""A small stdlib SVG writer: cold vs warm latency distribution, and p95 per hour."""
from __future__ import annotations

import math
from html import escape  # xml.sax.saxutils pulls in urllib.request (15 ms of start-up)
from typing import List, Sequence, Tuple

WIDTH, PANEL_H, PAD = 760, 260, 48
COLD, WARM = "#d9480f", "#1c7ed6"


def _log_bins(lo: float, hi: float, count: int) -> List[float]:
    lo = max(lo, 0.1)
    hi = max(hi, lo * 1.0001)
    step = (math.log10(hi) - math.log10(lo)) / count
    return [10 ** (math.log10(lo) + i * step) for i in range(count + 1)]


def _shares(values: Sequence[float], edges: Sequence[float]) -> List[float]:
    import bisect

    counts = [0] * (len(edges) - 1)
    for value in values:
        index = min(max(bisect.bisect_right(edges, value) - 1, 0), len(counts) - 1)
        counts[index] += 1
    total = len(values) or 1
    return [100.0 * c / total for c in counts]


def _text(x: float, y: float, text: str, anchor: str = "start", size: int = 11, color: str = "#333") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{color}">{escape(text)}</text>'


def _sample(values: Sequence[float], limit: int = 20000) -> Sequence[float]:
    """Histogram shares from an even sample of a sorted array: same shape, bounded work."""
    if len(values) <= limit:
        return values
    step = len(values) / limit
    return [values[int(i * step)] for i in range(limit)]


def distribution_panel(cold: Sequence[float], warm: Sequence[float], top: float, bins: int = 30) -> List[str]:
    parts = [_text(PAD, top - 10, "Latency distribution (share of samples per bin, log ms)", size=13)]
    everything = [v for v in (cold[:1] + warm[:1]) if v > 0] + list(cold[-1:]) + list(warm[-1:])
    if not everything:
        parts.append(_text(WIDTH / 2, top + PANEL_H / 2, "no cmd_timing samples", "middle"))
        return parts
    lo = min(v for v in everything if v > 0) if any(v > 0 for v in everything) else 0.1
    hi = max(everything)
    edges = _log_bins(lo, hi, bins)
    cold_s, warm_s = _shares(_sample(cold), edges), _shares(_sample(warm), edges)
    peak = max(cold_s + warm_s + [1.0])
    plot_w = WIDTH - 2 * PAD
    bar_w = plot_w / bins
    base = top + PANEL_H - PAD
    scale = (PANEL_H - PAD - 10) / peak
    parts.append(f'<line x1="{PAD}" y1="{base}" x2="{WIDTH - PAD}" y2="{base}" stroke="#999"/>')
    for i in range(bins):
        x = PAD + i * bar_w
        for share, color, offset in ((warm_s[i], WARM, 0.0), (cold_s[i], COLD, bar_w / 2)):
            if share > 0:
                h = share * scale
                parts.append(f'<rect x="{x + offset:.1f}" y="{base - h:.1f}" width="{bar_w / 2 - 1:.1f}" height="{h:.1f}" fill="{color}"/>')
    for i in range(0, bins + 1, max(1, bins // 6)):
        parts.append(_text(PAD + i * bar_w, base + 14, f"{edges[i]:.0f}", "middle", 10))
    parts.append(_text(WIDTH - PAD, top + 4, f"warm n={len(warm)}", "end", color=WARM))
    parts.append(_text(WIDTH - PAD, top + 18, f"cold n={len(cold)}", "end", color=COLD))
    return parts


def hourly_panel(rows: Sequence[Tuple[int, float | None, int, float | None, int]], top: float,
                 threshold_ms: float | None = None) -> List[str]:
    parts = [_text(PAD, top - 10, "P95 per hour (ms, UTC)", size=13)]
    if not rows:
        parts.append(_text(WIDTH / 2, top + PANEL_H / 2, "no timestamps to bucket by hour", "middle"))
        return parts
    first, last = rows[0][0], rows[-1][0]
    span = max(last - first, 3_600_000)
    peak = max([r[1] or 0 for r in rows] + [r[3] or 0 for r in rows] + [threshold_ms or 0, 1.0])
    plot_w = WIDTH - 2 * PAD
    base = top + PANEL_H - PAD
    scale = (PANEL_H - PAD - 10) / peak
    if threshold_ms is not None:
        y = base - threshold_ms * scale
        parts.append(f'<line x1="{PAD}" y1="{y:.1f}" x2="{WIDTH - PAD}" y2="{y:.1f}" stroke="#555" stroke-dasharray="5,4"/>')
        parts.append(_text(WIDTH - PAD, y - 4, f"gate threshold {threshold_ms:.0f} ms", "end", 10, "#555"))

    def xy(hour: int, value: float) -> str:
        return f"{PAD + (hour - first) / span * plot_w:.1f},{base - value * scale:.1f}"

    parts.append(f'<line x1="{PAD}" y1="{base}" x2="{WIDTH - PAD}" y2="{base}" stroke="#999"/>')
    for index, color in ((3, WARM), (1, COLD)):
        points = [xy(r[0], r[index]) for r in rows if r[index] is not None]  # type: ignore[arg-type]
        if points:
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{" ".join(points)}"/>')
            for point in points:
                x, y = point.split(",")
                parts.append(f'<circle cx="{x}" cy="{y}" r="2" fill="{color}"/>')
    parts.append(_text(PAD - 4, base - peak * scale + 4, f"{peak:.0f}", "end", 10))
    parts.append(_text(PAD - 4, base + 4, "0", "end", 10))
    import time

    for hour in (first, last):
        label = time.strftime("%m-%d %H:00", time.gmtime(hour / 1000))
        parts.append(_text(PAD + (hour - first) / span * plot_w, base + 14, label, "middle", 10))
    return parts


def chart(cold: Sequence[float], warm: Sequence[float], hourly: Sequence[Tuple[int, float | None, int, float | None, int]],
          title: str, threshold_ms: float | None = None) -> str:
    """The whole SVG document (sorted cold and warm durations; hourly rows from analyze)."""
    height = 2 * PANEL_H + 3 * PAD
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        _text(PAD, 22, title, size=15, color="#111"),
    ]
    parts += distribution_panel(cold, warm, PAD + 24)
    parts += hourly_panel(hourly, PAD + 24 + PANEL_H + PAD, threshold_ms)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
