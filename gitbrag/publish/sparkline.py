"""The index's sparkline: a person's pull requests opened per month over the past year, as a
tiny inline SVG (no script, no image file) that says its numbers to a screen reader.

Its only text, the title, is escaped, and its colours come from the stylesheet, so the light and
dark themes restyle it.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from gitbrag.models import TimelinePoint
from gitbrag.publish.filters import MONTHS
from gitbrag.report.timeline import point_label

WIDTH = 120
HEIGHT = 28
PAD = 2.0


def sparkline_text(points: Sequence[TimelinePoint]) -> str:
    """Every number the sparkline shows, as one sentence (its accessible name): the months
    it spans, then each month's count in order (short: the index has a sparkline a row)."""
    if not points:
        return _text("", "", [])
    return _text(point_label(points[0]), point_label(points[-1]), [p.opened for p in points])


def _text(first: str, last: str, values: Sequence[int]) -> str:
    if not values:
        return "No pull requests per month to show"
    return f"Pull requests opened per month, {first} to {last}: {', '.join(f'{v:,}' for v in values)}"


def sparkline(points: Sequence[TimelinePoint]) -> Markup:
    """An inline `<svg role="img">` line of the points' opened counts, named by its `<title>`
    with every number (see `month_sparkline`)."""
    if not points:
        return _svg("", "", [])
    return _svg(point_label(points[0]), point_label(points[-1]), [p.opened for p in points])


def month_sparkline(first_month: str | None, values: Sequence[int]) -> Markup:
    """The sparkline of monthly counts from `first_month` ("2025-12"), as the index keeps
    them (no `TimelinePoint` made: the index draws one a person)."""
    if first_month is None or not values:
        return _svg("", "", [])
    year, month = (int(part) for part in first_month.split("-"))
    last_year, last_month = divmod(month - 1 + len(values) - 1, 12)
    return _svg(_month(year, month - 1), _month(year + last_year, last_month), values)


def _month(year: int, index: int) -> str:
    return f"{MONTHS[index]} {year}"


def _svg(first: str, last: str, values: Sequence[int]) -> Markup:
    """The baseline is the element's CSS border, its size the stylesheet's (fixed, so nothing
    moves as the page loads); written as text, its one text, the title, escaped."""
    coords = _coordinates(values)
    line = f'<polyline points="{" ".join(coords)}"/>' if coords else ""
    return Markup(
        f'<svg class="sparkline" viewBox="0 0 {WIDTH} {HEIGHT}" role="img">'
        f"<title>{escape(_text(first, last, values))}</title>{line}</svg>"
    )


def _coordinates(values: Sequence[int]) -> list[str]:
    """Whole pixels: a 120×28 line needs no more, and the index draws 100 of them a page."""
    if not values:
        return []
    top = max(values) or 1
    step = (WIDTH - 2 * PAD) / max(len(values) - 1, 1)
    scale = (HEIGHT - 2 * PAD) / top
    return [f"{round(PAD + i * step)},{round(HEIGHT - PAD - scale * v)}" for i, v in enumerate(values)]
