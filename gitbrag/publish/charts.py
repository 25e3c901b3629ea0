"""Small inline SVG charts, drawn once at publish time: no script, no image files, no fonts.

Each chart is a `Chart`: the picture and a sentence that says everything the picture
shows (its text equivalent, also the picture's accessible name). The pictures carry
no text of their own: they stretch to any width (`preserveAspectRatio="none"`), and the
labels and numbers next to them are HTML, so they stay readable on a phone and
selectable everywhere. Colours come from CSS classes, so the light and dark themes
restyle the charts too.

The SVG is built with ElementTree, which escapes every attribute and text, so nothing
here can inject markup even if a label were to come from GitHub.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from gitbrag.models import LanguageShare

# Drawing units; the charts scale to their container, so only the proportions matter.
BAR_WIDTH = 1000
BAR_HEIGHT = 24
COLUMN_WIDTH = 100
COLUMN_HEIGHT = 100
COLUMN_GAP = 24
MIN_VISIBLE = 0.6  # a non-zero value is never drawn thinner than this (in drawing units, per 100)
PALETTE_SIZE = 10  # CSS classes .chart-c0 ... .chart-c9


@dataclass(frozen=True)
class Chart:
    svg: Markup  # the picture: an inline <svg role="img"> titled with `text`
    text: str  # every number the picture shows, as a sentence


def _svg(width: int, height: int, text: str, css_class: str) -> ET.Element:
    svg = ET.Element(
        "svg",
        {
            "class": f"chart {css_class}",
            "viewBox": f"0 0 {width} {height}",
            "preserveAspectRatio": "none",
            "role": "img",
            "focusable": "false",
        },
    )
    ET.SubElement(svg, "title").text = text
    return svg


def _markup(svg: ET.Element) -> Markup:
    # Safe to mark up: ElementTree escaped every attribute and text node.
    return Markup(ET.tostring(svg, encoding="unicode", short_empty_elements=True))


def _number(value: float) -> str:
    return f"{value:,.1f}".rstrip("0").rstrip(".")


def color_class(rank: int) -> str:
    """The palette class of the `rank`-th series (legends use it to match the picture)."""
    return f"chart-c{rank % PALETTE_SIZE}"


def language_bar(languages: Sequence[LanguageShare]) -> Chart:
    """One bar split by language share, like GitHub's language bar; `languages` in rank order."""
    if not languages:
        text = "No changed lines in files of a recognised language."
    else:
        parts = [f"{lang.language} {_number(lang.percentage)}%" for lang in languages]
        text = "Share of changed lines by language: " + ", ".join(parts) + "."
    svg = _svg(BAR_WIDTH, BAR_HEIGHT, text, "chart-bar")
    total = sum(lang.percentage for lang in languages) or 1.0
    x = 0.0
    for rank, lang in enumerate(languages):
        width = max(BAR_WIDTH * lang.percentage / total, BAR_WIDTH * MIN_VISIBLE / 100)
        width = min(width, BAR_WIDTH - x)
        if width <= 0:
            break
        ET.SubElement(
            svg,
            "rect",
            {"class": color_class(rank), "x": _number(x), "y": "0", "width": _number(width), "height": "24"},
        )
        x += width
    return Chart(_markup(svg), text)


def size_columns(distribution: Mapping[str, int]) -> Chart:
    """One column per size category, heights relative to the largest; the categories in order."""
    total = sum(distribution.values())
    parts = [f"{size} {count:,}" for size, count in distribution.items()]
    noun = "pull request" if total == 1 else "pull requests"
    text = f"Sizes of {total:,} {noun}: " + ", ".join(parts) + "."
    n = len(distribution)
    width = n * COLUMN_WIDTH + max(n - 1, 0) * COLUMN_GAP
    svg = _svg(width, COLUMN_HEIGHT, text, "chart-columns")
    largest = max(distribution.values(), default=0)
    for i, count in enumerate(distribution.values()):
        x = i * (COLUMN_WIDTH + COLUMN_GAP)
        ET.SubElement(
            svg,
            "rect",
            {"class": "chart-track", "x": str(x), "y": "0", "width": str(COLUMN_WIDTH), "height": "100"},
        )
        if count and largest:
            height = max(COLUMN_HEIGHT * count / largest, MIN_VISIBLE * 4)
            attrs = {
                "class": f"chart-size-{i}",
                "x": str(x),
                "y": _number(COLUMN_HEIGHT - height),
                "width": str(COLUMN_WIDTH),
                "height": _number(height),
            }
            ET.SubElement(svg, "rect", attrs)
    return Chart(_markup(svg), text)
