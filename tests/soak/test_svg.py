"""The SVG chart's structure, read back from the SVG as a viewer would draw it: legends clear of
the bars, distinct tick labels, y ticks to read values by, every series named. (The rendered PNGs
were also looked at for the sample, a 72 h soak, one sample and all-cold data.)"""
from __future__ import annotations

import random
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import pytest

from cutover.soak import svg

HOUR = 3_600_000
T0 = 1764288000000
NUMBER = re.compile(r"^\d[\d,]*(?:\.\d+)?%?$")


@dataclass
class Box:
    x0: float
    y0: float
    x1: float
    y1: float
    text: str = ""

    def overlaps(self, other: Box) -> bool:
        return self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1


def _tag(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def text_boxes(root: ET.Element) -> List[Box]:
    """Each <text> as the box a renderer gives it (glyphs ~0.6 em wide, cap height ~0.75 em above y)."""
    boxes = []
    for element in root.iter():
        if _tag(element) != "text":
            continue
        content = "".join(element.itertext())
        size = float(element.get("font-size", "11"))
        x, y = float(element.get("x", "0")), float(element.get("y", "0"))
        width = 0.6 * size * len(content)
        anchor = element.get("text-anchor", "start")
        x0 = x - width if anchor == "end" else x - width / 2 if anchor == "middle" else x
        boxes.append(Box(x0, y - 0.8 * size, x0 + width, y + 0.2 * size, content))
    return boxes


def bars(root: ET.Element) -> List[Box]:
    """Histogram bars: filled rects in the series colours (legend swatches excluded)."""
    found = []
    for element in root.iter():
        if _tag(element) == "rect" and element.get("fill") in (svg.COLD, svg.WARM) and "swatch" not in element.get("class", ""):
            x, y = float(element.get("x", "0")), float(element.get("y", "0"))
            found.append(Box(x, y, x + float(element.get("width", "0")), y + float(element.get("height", "0"))))
    return found


def panel_top(root: ET.Element, title_start: str) -> float:
    return next(b.y0 for b in text_boxes(root) if b.text.startswith(title_start))


def rows_of_labels(boxes: Sequence[Box], pattern: re.Pattern) -> Dict[float, List[str]]:  # type: ignore[type-arg]
    rows: Dict[float, List[str]] = {}
    for box in boxes:
        if pattern.match(box.text):
            rows.setdefault(round(box.y1, 1), []).append(box.text)
    return rows


def lognormal(n: int, median: float, seed: int) -> List[float]:
    rnd = random.Random(seed)
    return sorted(rnd.lognormvariate(0, 0.35) * median for _ in range(n))


def hourly_rows(hours: int, cold_median: float, warm_median: float) -> List[Tuple[int, float | None, int, float | None, int]]:
    rnd = random.Random(hours)
    return [(T0 + h * HOUR, cold_median * rnd.uniform(0.8, 1.3), 5, warm_median * rnd.uniform(0.8, 1.2), 30) for h in range(hours)]


CASES = {
    # the drill's sample: the tallest cold bar sits at the right edge, where the legend was
    "sample": (lognormal(44, 1200, 1)[:-1] + [1323.0], lognormal(436, 120, 2), hourly_rows(13, 1250, 200), 1500.0),
    "72h": (lognormal(360, 900, 3), lognormal(1800, 120, 4), hourly_rows(72, 1300, 150), 1500.0),
    "one sample": ([746.0], [], [(T0, 746.0, 1, None, 0)], 1500.0),
    "all cold": (lognormal(60, 800, 5), [], hourly_rows(5, 1300, 0)[:0] + [(T0 + h * HOUR, 1300.0, 12, None, 0) for h in range(5)], 1500.0),
    "no baseline": (lognormal(30, 800, 6), lognormal(30, 100, 7), hourly_rows(3, 900, 100), None),
}


def draw(case: str) -> ET.Element:
    cold, warm, hourly, threshold = CASES[case]
    return ET.fromstring(svg.chart(cold, warm, hourly, f"Soak: {case}", threshold))


@pytest.mark.parametrize("case", sorted(CASES))
def test_legend_and_labels_are_clear_of_the_bars(case: str) -> None:
    root = draw(case)
    labels = [b for b in text_boxes(root) if not NUMBER.match(b.text)]
    legend = [b for b in labels if b.text.startswith(("cold", "warm"))]
    assert any(b.text.startswith("cold n=") for b in legend)
    for bar in bars(root):
        hit = [label.text for label in labels if label.overlaps(bar)]
        assert not hit, (bar, hit)


@pytest.mark.parametrize("case", sorted(CASES))
def test_tick_labels_are_distinct(case: str) -> None:
    root = draw(case)
    boxes = text_boxes(root)
    for row in rows_of_labels(boxes, NUMBER).values():
        assert len(row) == len(set(row)), row
    for row in rows_of_labels(boxes, re.compile(r"^\d\d-\d\d \d\d:\d\d$")).values():
        assert len(row) == len(set(row)), row
    # and no two labels print on top of each other
    ticks = [b for b in boxes if NUMBER.match(b.text) or re.match(r"^\d\d-\d\d", b.text)]
    for i, a in enumerate(ticks):
        for b in ticks[i + 1:]:
            assert not a.overlaps(b), (a, b)


def test_one_sample_has_a_readable_axis_around_it() -> None:
    root = draw("one sample")
    top = panel_top(root, "P95 per hour")
    x_labels = [b.text for b in text_boxes(root) if NUMBER.match(b.text) and b.y0 < top and b.y0 > panel_top(root, "Latency")]
    numeric = {float(t.replace(",", "").rstrip("%")) for t in x_labels}
    assert len(numeric) >= 3  # several distinct values, not "746" seven times


@pytest.mark.parametrize("case", ["sample", "72h", "all cold"])
def test_hourly_panel_has_a_legend_and_y_ticks(case: str) -> None:
    root = draw(case)
    top = panel_top(root, "P95 per hour")
    below = [b for b in text_boxes(root) if b.y0 > top]
    texts = [b.text for b in below]
    assert any(t.startswith("cold p95") for t in texts)
    cold, warm, hourly, threshold = CASES[case]
    if warm:
        assert any(t.startswith("warm p95") for t in texts)
    assert any("threshold" in t and "1,500" in t for t in texts)
    y_ticks = {b.text for b in below if NUMBER.match(b.text) and b.x1 <= svg.PAD}
    assert len(y_ticks - {"0"}) >= 3, y_ticks
    x_ticks = [b.text for b in below if re.match(r"^\d\d-\d\d \d\d:\d\d$", b.text)]
    assert len(x_ticks) >= (3 if len(hourly) > 3 else 1)


def test_everything_inside_the_canvas() -> None:
    for case in CASES:
        root = draw(case)
        width, height = float(root.get("width", "0")), float(root.get("height", "0"))
        for box in text_boxes(root):
            assert box.x0 >= 0 and box.x1 <= width and box.y0 >= 0 and box.y1 <= height, (case, box)
