"""Activity over time: a report's pull requests opened and merged per month (per week under six
months), the picture of it, and how the period compares with the one before.

Pure functions: `buckets` is what `report.json`'s `timeline` holds, `timeline_chart` draws it
like the other charts (`gitbrag.publish.charts`: inline SVG drawn at publish time, no script, the
numbers also as text), and `changes` says "+30% merged pull requests vs the year before".

Buckets are named by calendar month ("2025-03") or ISO week ("2025-W10"), never by the exact
start of the window, so a rolling report whose window moved a day keeps the same timeline
unless a pull request entered or left it. Months and weeks begin at midnight in the report's
time zone (`GITBRAG_TIMEZONE`), as its calendar periods do: a pull request opened on a
Californian's New Year's Eve is counted in December, not in January as UTC would have it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from markupsafe import Markup

from gitbrag.models import PreviousPeriod, Report, TimelinePoint
from gitbrag.periods import Window
from gitbrag.publish.charts import Chart
from gitbrag.publish.filters import MONTHS, count

BAR = 10  # drawing units per bar; two bars (opened, merged) and a gap per bucket
GAP = 6
HEIGHT = 100
MIN_VISIBLE = 2.0  # a non-zero count is never drawn thinner than this


@dataclass(frozen=True)
class Bucket:
    start: datetime  # a UTC instant
    month: str
    week: str | None


def bucket_starts(
    window: Window, *, weekly: bool, first: datetime | None = None, zone: tzinfo = UTC
) -> list[Bucket]:
    """The buckets covering `window` (from `first` when later: all time starts with the user's
    first pull request, not 2008), each starting at a month's first day or a Monday, midnight
    in `zone`, the first at the window's start."""
    start = (max(window.since, first) if first is not None else window.since).astimezone(zone)
    buckets = [_bucket(start, weekly)]
    boundary = _next_boundary(start, weekly)
    while boundary <= window.until:
        buckets.append(_bucket(boundary, weekly))
        boundary = _next_boundary(boundary, weekly)
    return buckets


def _bucket(local_start: datetime, weekly: bool) -> Bucket:
    """Named by the local calendar, kept as a UTC instant (what the times are compared with)."""
    start = local_start.astimezone(UTC)
    if not weekly:
        return Bucket(start, f"{local_start:%Y-%m}", None)
    year, week, _ = local_start.isocalendar()
    return Bucket(start, f"{local_start:%Y-%m}", f"{year}-W{week:02d}")


def _next_boundary(moment: datetime, weekly: bool) -> datetime:
    """The next local midnight that begins a week or a month (wall-clock arithmetic in
    `moment`'s zone: the days of a daylight-saving change are 23 or 25 hours long)."""
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0, fold=0)
    if weekly:
        return midnight + timedelta(days=7 - midnight.weekday())
    first = midnight.replace(day=1)
    return first.replace(year=first.year + first.month // 12, month=first.month % 12 + 1)


def buckets(
    window: Window,
    created: Iterable[datetime],
    merged: Iterable[datetime | None],
    *,
    weekly: bool,
    first: datetime | None = None,
    zone: tzinfo = UTC,
) -> list[TimelinePoint]:
    """Pull requests created and merged inside `window`, counted per bucket (`zone`'s months or weeks)."""
    starts = bucket_starts(window, weekly=weekly, first=first, zone=zone)
    times = [b.start for b in starts]
    opened = [0] * len(starts)
    merges = [0] * len(starts)
    for moment in created:
        if window.contains(moment) and moment >= times[0]:
            opened[bisect_right(times, moment) - 1] += 1
    for maybe in merged:
        if maybe is not None and window.contains(maybe) and maybe >= times[0]:
            merges[bisect_right(times, maybe) - 1] += 1
    return [
        TimelinePoint(month=b.month, week=b.week, opened=o, merged=m)
        for b, o, m in zip(starts, opened, merges, strict=True)
    ]


# --- the picture ----------------------------------------------------------------------------


def point_label(point: TimelinePoint) -> str:
    """A bucket as people say it: "Mar 2025", or "Week 10 of 2025" for a weekly one."""
    if point.week is not None:
        year, week = point.week.split("-W")
        return f"Week {int(week)} of {year}"
    year, month = point.month.split("-")
    return f"{MONTHS[int(month) - 1]} {year}"


def axis_top(largest: int) -> int:
    """The top of the chart's scale: the smallest even "round" number (2, 4, 10, 20, 40,
    100...) at or above `largest`, so the scale's middle line is a whole number too."""
    top = 2
    while top < largest:
        top = _next_round(top)
    return top


def _next_round(top: int) -> int:
    """2 → 4 → 10 → 20 → 40 → 100 ... (each ×2, ×2.5, ×2, the halves whole numbers)."""
    digits = str(top)
    return top * 5 // 2 if digits.startswith("4") else top * 2


def timeline_scale(points: Sequence[TimelinePoint]) -> list[int]:
    """The values of the chart's horizontal lines, top first: its top, half, and 0."""
    top = axis_top(max((max(p.opened, p.merged) for p in points), default=0))
    return [top, top // 2, 0]


def timeline_labels(points: Sequence[TimelinePoint]) -> list[tuple[str, str, str]]:
    """What to write under the chart, left to right: (where its bucket starts, as a
    percentage of the chart's width; the month's short name; the year, under the first
    bucket and every January, else ""). A weekly timeline: its first and last week only,
    the last as "end" (set against the right edge)."""
    step = 2 * BAR + GAP
    width = max(len(points) * step - GAP, 1)
    if points and points[0].week is not None:
        ends = [("0", point_label(points[0]), "")]
        return ends + ([("end", point_label(points[-1]), "")] if len(points) > 1 else [])
    found = []
    for i, point in enumerate(points):
        year, month = point.month.split("-")
        first = i == 0 or month == "01"
        found.append((f"{100 * i * step / width:.2f}", MONTHS[int(month) - 1], year if first else ""))
    return found


def timeline_chart(points: Sequence[TimelinePoint], unit: str) -> Chart:
    """Two columns per bucket (opened, merged), heights on the scale of `timeline_scale`
    (its top a round number at or above the busiest bucket), with its lines drawn."""
    parts = [f"{point_label(p)}: {p.opened:,} opened, {p.merged:,} merged" for p in points]
    text = f"Pull requests opened and merged per {unit}: " + "; ".join(parts) + "."
    step = 2 * BAR + GAP
    svg = ET.Element(
        "svg",
        {
            "class": "chart chart-timeline",
            "viewBox": f"0 0 {max(len(points) * step - GAP, 1)} {HEIGHT}",
            "preserveAspectRatio": "none",
            "role": "img",
            "focusable": "false",
        },
    )
    ET.SubElement(svg, "title").text = text
    largest = timeline_scale(points)[0]
    width = str(max(len(points) * step - GAP, 1))
    for value in timeline_scale(points):  # the scale's lines, a drawing unit thick (about a pixel)
        y = f"{min(HEIGHT - HEIGHT * value / largest, HEIGHT - 1):.2f}"
        attrs = {"class": "chart-grid", "x": "0", "y": y, "width": width, "height": "1"}
        ET.SubElement(svg, "rect", attrs)
    for i, point in enumerate(points):
        for offset, value, css in (
            (0, point.opened, "timeline-opened"),
            (BAR, point.merged, "timeline-merged"),
        ):
            if value and largest:
                height = max(HEIGHT * value / largest, MIN_VISIBLE)
                attrs = {
                    "class": css,
                    "x": str(i * step + offset),
                    "y": f"{HEIGHT - height:.2f}",
                    "width": str(BAR),
                    "height": f"{height:.2f}",
                }
                ET.SubElement(svg, "rect", attrs)
    # Safe to mark up: ElementTree escaped every attribute and text node.
    return Chart(Markup(ET.tostring(svg, encoding="unicode", short_empty_elements=True)), text)


# --- against the previous period --------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    what: str  # "merged pull requests"
    current: int
    previous: int
    text: str  # "+30% merged pull requests vs the year before"


def _change(what: str, current: int, previous: int, against: str) -> Change | None:
    if current == previous == 0:
        return None
    if previous == 0:
        singular = "repository" if what == "repositories" else what.removesuffix("s")
        return Change(what, current, previous, f"{count(current, singular, what)}, none in {against}")
    percent = round(100 * (current - previous) / previous)
    if percent == 0:
        text = f"as many {what} as {against} ({current:,})"
    else:
        sign = "+" if percent > 0 else "−"
        text = f"{sign}{abs(percent):,}% {what} vs {against} ({current:,}, was {previous:,})"
    return Change(what, current, previous, text)


def changes(report: Report) -> list[Change]:
    """How the report's headline numbers compare with the previous period's; empty without one."""
    previous = report.previous
    if previous is None:
        return []
    against = previous.label
    pairs = [
        ("merged pull requests", report.merged_count, previous.merged_count),
        ("pull requests", report.total_prs, previous.total_prs),
        ("authored lines", report.authored_additions + report.authored_deletions, _lines(previous)),
        ("repositories", report.repo_count, previous.repo_count),
    ]
    if report.reviews is not None and previous.reviews is not None:
        pairs.append(("reviews", report.reviews.total, previous.reviews))
    found = [_change(what, now, before, against) for what, now, before in pairs]
    return [c for c in found if c is not None]


def _lines(previous: PreviousPeriod) -> int:
    return previous.authored_additions + previous.authored_deletions
