"""The embeddable card: `site/<login>/card.svg` (the 1-year report), one per period, each
in a light (`card.svg`) and a dark (`card-dark.svg`) variant, about 495×195 like the
README cards people already embed.

Where it ends up decides how it is drawn: GitHub's image proxy (camo) serves an SVG
embedded in a README as an image, with scripts stripped and nothing further fetched. So
the card is self-contained: the avatar is the person's initials on a coloured disc (no
`<image href=http…>`), no script, no `<foreignObject>`, no web font, no CSS that could
fetch. It is built with ElementTree, which escapes every attribute and text node: a
profile full of markup (the demo's `hostile-hank`) is only ever text on the card.

`Headline` is what the card shows, shared with the social image (`gitbrag.publish.socialimage`):
it holds no date, so an unchanged report draws byte-identical files day after day.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from gitbrag.models import PERIOD_LABELS, Report
from gitbrag.publish.filters import initials

Theme = Literal["light", "dark"]
THEMES: tuple[Theme, ...] = ("light", "dark")
CARD_FILES: dict[Theme, str] = {"light": "card.svg", "dark": "card-dark.svg"}
WIDTH = 495
HEIGHT = 195
TOP_LANGUAGES = 3
NAME_CHARS = 30  # longer names are cut with an ellipsis: the card has a fixed width
STARS_WHOSE = "by their repos"  # the card's stars are the repositories', never the person's own
FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Helvetica,Arial,sans-serif"

# The site's palette (templates/assets/style.css), light and dark.
PALETTES: dict[Theme, dict[str, str]] = {
    "light": {"bg": "#ffffff", "border": "#d1d9e0", "text": "#1f2328", "muted": "#59636e",
              "accent": "#0969da", "on_accent": "#ffffff", "track": "#f0f3f6"},
    "dark": {"bg": "#0d1117", "border": "#3d444d", "text": "#e6edf3", "muted": "#9198a1",
             "accent": "#4493f8", "on_accent": "#0d1117", "track": "#212830"},
}  # fmt: skip
LANGUAGE_COLORS: dict[Theme, tuple[str, ...]] = {
    "light": ("#3572a5", "#e3a008", "#2da44e"),
    "dark": ("#4f8fd0", "#e3b341", "#3fb950"),
}


@dataclass(frozen=True)
class Headline:
    """A report's headline numbers and who it is about: what the card and the social image draw."""

    login: str
    name: str
    initials: str
    period_label: str
    prs: int
    merged: int
    repos: int
    lines: int  # authored lines, added + deleted (generated files apart)
    stars: int | None  # stars gained by the repositories in the period; None: not known
    languages: tuple[tuple[str, float], ...]  # (language, percentage), most first

    @classmethod
    def from_report(cls, report: Report) -> Headline:
        profile = report.profile
        return cls(
            login=report.username,
            name=profile.name or report.username,
            initials=initials(profile.name, report.username),
            period_label=PERIOD_LABELS[report.period],
            prs=report.total_prs,
            merged=report.merged_count,
            repos=report.repo_count,
            lines=report.authored_additions + report.authored_deletions,
            stars=report.total_star_increase,
            languages=tuple((s.language, s.percentage) for s in report.languages[:TOP_LANGUAGES]),
        )

    def stats(self) -> list[tuple[str, str]]:
        """(value, label) pairs, in the order drawn."""
        return [
            (compact(self.prs), "PRs"),
            (compact(self.merged), "merged"),
            (compact(self.repos), "repos"),
            (compact(self.lines), "lines"),
            # Not the person's stars: what the repositories they worked in gained (a second line says whose).
            ("—" if self.stars is None else compact(self.stars), f"stars gained\n{STARS_WHOSE}"),
        ]

    def sentence(self) -> str:
        """Every number on the card as text: its accessible description."""
        stars = (
            "stars gained not known"
            if self.stars is None
            else f"{self.stars:,} stars gained by their repositories"
        )
        langs = ", ".join(f"{lang} {pct:.0f}%" for lang, pct in self.languages) or "no languages"
        return (
            f"{self.name} (@{self.login}), {self.period_label.lower()}: {self.prs:,} pull requests,"
            f" {self.merged:,} merged, in {self.repos:,} repositories; {self.lines:,} lines; {stars}."
            f" Top languages: {langs}."
        )


def compact(value: int) -> str:
    """1,234 → 1.2k, 2,500,000 → 2.5M: five numbers must fit side by side on the card."""
    for limit, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if abs(value) >= limit:
            text = f"{value / limit:.1f}".removesuffix(".0")
            return text + suffix
    return str(value)


def shorten(text: str, limit: int) -> str:
    """`text` cut to `limit` characters with an ellipsis: card text has no wrapping."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def card_svg(headline: Headline, theme: Theme) -> str:
    """The card as an SVG document (UTF-8 text, XML declaration included)."""
    colors = PALETTES[theme]
    svg = ET.Element(
        "svg",
        {"xmlns": "http://www.w3.org/2000/svg", "width": str(WIDTH), "height": str(HEIGHT),
         "viewBox": f"0 0 {WIDTH} {HEIGHT}", "role": "img", "aria-labelledby": "title desc",
         "font-family": FONT},
    )  # fmt: skip
    ET.SubElement(svg, "title", {"id": "title"}).text = f"GitHub contributions of {headline.name}"
    ET.SubElement(svg, "desc", {"id": "desc"}).text = headline.sentence()
    ET.SubElement(
        svg, "rect",
        {"x": "0.5", "y": "0.5", "width": str(WIDTH - 1), "height": str(HEIGHT - 1), "rx": "10",
         "fill": colors["bg"], "stroke": colors["border"]},
    )  # fmt: skip
    _draw_person(svg, headline, colors)
    _draw_stats(svg, headline.stats(), colors)
    _draw_languages(svg, headline.languages, colors, LANGUAGE_COLORS[theme])
    body = ET.tostring(svg, encoding="unicode", short_empty_elements=True)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _text(parent: ET.Element, x: float, y: float, text: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, "text", {"x": f"{x:g}", "y": f"{y:g}", **attrs})
    element.text = text
    return element


def _draw_person(svg: ET.Element, headline: Headline, colors: dict[str, str]) -> None:
    ET.SubElement(svg, "circle", {"cx": "46", "cy": "46", "r": "24", "fill": colors["accent"]})
    _text(svg, 46, 52, headline.initials, fill=colors["on_accent"], **{
        "font-size": "17", "font-weight": "700", "text-anchor": "middle"})  # fmt: skip
    _text(svg, 82, 42, shorten(headline.name, NAME_CHARS), fill=colors["text"], **{
        "font-size": "18", "font-weight": "700"})  # fmt: skip
    _text(svg, 82, 62, f"@{shorten(headline.login, 40)} · {headline.period_label}", fill=colors["muted"],
          **{"font-size": "13"})  # fmt: skip


def _draw_stats(svg: ET.Element, stats: Sequence[tuple[str, str]], colors: dict[str, str]) -> None:
    column = (WIDTH - 40) / len(stats)
    for index, (value, label) in enumerate(stats):
        x = 20 + column * index + column / 2
        _text(svg, x, 108, value, fill=colors["text"], **{
            "font-size": "22", "font-weight": "700", "text-anchor": "middle"})  # fmt: skip
        first, _, second = label.partition("\n")
        _text(svg, x, 126, first, fill=colors["muted"], **{"font-size": "12", "text-anchor": "middle"})
        if second:
            _text(svg, x, 139, second, fill=colors["muted"], **{"font-size": "10.5", "text-anchor": "middle"})


def _draw_languages(
    svg: ET.Element, languages: Sequence[tuple[str, float]], colors: dict[str, str], palette: Sequence[str]
) -> None:
    left, width, y = 20.0, WIDTH - 40.0, 152.0
    ET.SubElement(svg, "rect", {"x": f"{left:g}", "y": f"{y:g}", "width": f"{width:g}", "height": "8",
                                "rx": "4", "fill": colors["track"]})  # fmt: skip
    x = left
    for (_, pct), color in zip(languages, palette, strict=False):
        share = width * max(0.0, min(pct, 100.0)) / 100
        ET.SubElement(svg, "rect", {"x": f"{x:.1f}", "y": f"{y:g}", "width": f"{share:.1f}", "height": "8",
                                    "fill": color})  # fmt: skip
        x += share
    if not languages:
        _text(svg, left, 180, "No language data for this period", fill=colors["muted"], **{"font-size": "12"})
        return
    step = width / TOP_LANGUAGES
    for index, ((lang, pct), color) in enumerate(zip(languages, palette, strict=False)):
        lx = left + step * index
        ET.SubElement(svg, "circle", {"cx": f"{lx + 5:g}", "cy": "177", "r": "5", "fill": color})
        _text(
            svg, lx + 15, 181, f"{shorten(lang, 16)} {pct:.0f}%", fill=colors["text"], **{"font-size": "12"}
        )
