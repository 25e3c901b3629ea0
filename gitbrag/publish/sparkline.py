"""The index's sparkline: a person's pull requests opened per month over the past year, as a
tiny inline SVG (no script, no image file) that says its numbers to a screen reader.

Like `gitbrag.publish.charts`, it is built with ElementTree (every attribute and text escaped), and
its colours come from CSS classes, so the light and dark themes restyle it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from markupsafe import Markup

from gitbrag.models import TimelinePoint
from gitbrag.report.timeline import point_label

WIDTH = 120
HEIGHT = 28
PAD = 2.0


def sparkline_text(points: Sequence[TimelinePoint]) -> str:
    """Every number the sparkline shows, as one sentence (its accessible name)."""
    if not points:
        return "No pull requests per month to show"
    per_month = ", ".join(f"{point_label(p)}: {p.opened:,}" for p in points)
    return (
        f"Pull requests opened per month, {point_label(points[0])} to {point_label(points[-1])}: {per_month}"
    )


def sparkline(points: Sequence[TimelinePoint]) -> Markup:
    """An inline `<svg role="img">` line of the points' opened counts, titled with every number."""
    svg = ET.Element(
        "svg",
        {"class": "sparkline", "viewBox": f"0 0 {WIDTH} {HEIGHT}", "width": str(WIDTH), "height": str(HEIGHT),
         "role": "img", "focusable": "false"},
    )  # fmt: skip
    text = sparkline_text(points)
    svg.set("aria-label", text)
    ET.SubElement(svg, "title").text = text
    ET.SubElement(svg, "line", {"class": "sparkline-base", "x1": "0", "x2": str(WIDTH),
                                "y1": f"{HEIGHT - PAD:g}", "y2": f"{HEIGHT - PAD:g}"})  # fmt: skip
    coords = _coordinates([p.opened for p in points])
    if coords:
        ET.SubElement(svg, "polyline", {"class": "sparkline-line", "points": " ".join(coords)})
    # Safe to mark up: ElementTree escaped every attribute and text node.
    return Markup(ET.tostring(svg, encoding="unicode", short_empty_elements=True))


def _coordinates(values: Sequence[int]) -> list[str]:
    if not values:
        return []
    top = max(values) or 1
    step = (WIDTH - 2 * PAD) / max(len(values) - 1, 1)
    return [
        f"{PAD + i * step:.1f},{HEIGHT - PAD - (HEIGHT - 2 * PAD) * v / top:.1f}"
        for i, v in enumerate(values)
    ]
