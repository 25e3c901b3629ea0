"""The index of tracked people, laid out to stay small however many there are.

One page listing everyone grows with them (1,008 people made a 1.84 MB `index.html`; 100,000
would make ~180 MB), so the index is pages of `INDEX_PAGE_ROWS` people in login order:
`index.html` (the first, with the totals and the teams), then `index-2.html`, `index-3.html`...
at the site's root (a login has no ".", so no user's folder can take these names, and links
between them are plain file names: they work under any path prefix and from disk). Each page
links the previous and next pages and a few around it, and `index-pages.html` lists every page
with the logins it holds, so every person is reached without script. `search.json` holds one
compact row per person (login, name, two figures, the page), which the pages' script loads
only when the reader types in the search box: anyone is found from the first page.

The rows come from `IndexEntry`, a few hundred bytes per person that the publisher keeps in
each user's `generated.json` (`IndexEntry.to_row`), so rebuilding the index reads those small
files, never the users' report.json (megabytes for a prolific user). A row also names the
user's published periods, so the sitemap (`Publisher.publish_index`) lists their pages without
looking at their folders.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from markupsafe import Markup, escape

from gitbrag.models import Login, Report, TimelinePoint
from gitbrag.periods import is_period, ordered
from gitbrag.publish.filters import format_date, initials, iso_date, safe_url
from gitbrag.publish.sparkline import month_sparkline

INDEX_PAGE_ROWS = 100  # people per index page: the first page stays ~60 KB
SEARCH_FILE = "search.json"
PAGES_FILE = "index-pages.html"  # every index page, with the logins on it
AROUND = 2  # pages linked on either side of the current one
SEARCH_VERSION = 1


def index_page_file(number: int) -> str:
    """The `number`-th index page (1-based), a file at the site's root."""
    return "index.html" if number == 1 else f"index-{number}.html"


@dataclass(frozen=True)
class IndexEntry:
    """One tracked user as listed on the index: small and flat (no report, no model objects),
    as 100,000 of them are held at once when the index is rebuilt."""

    login: str
    name: str | None
    avatar_url: str | None
    total_prs: int  # over the past year
    merged_count: int
    generated_at: datetime
    # Pull requests opened per month over the past year (the 1-year report's timeline), the
    # sparkline: its first month ("2025-12") and the counts from there.
    first_month: str | None = None
    per_month: tuple[int, ...] = ()
    authored_lines: int = 0  # authored additions + deletions over the past year, for the totals
    # The user's published periods in tab order, as the publish that wrote the row left them
    # (one tuple shared by every row naming the same ones); () when not known (a row kept
    # before they were, or made from a report): the sitemap then looks at the user's folder.
    periods: tuple[str, ...] = ()

    @classmethod
    def from_report(cls, report: Report) -> IndexEntry:
        return cls(
            login=report.username,
            name=report.profile.name,
            avatar_url=report.profile.avatar_url,
            total_prs=report.total_prs,
            merged_count=report.merged_count,
            generated_at=report.generated_at,
            first_month=report.timeline[0].month if report.timeline else None,
            per_month=tuple(p.opened for p in report.timeline),
            authored_lines=report.authored_additions + report.authored_deletions,
        )

    @property
    def slug(self) -> Login:
        """The user's folder under site/."""
        return Login(self.login)

    @property
    def timeline(self) -> list[TimelinePoint]:
        """The sparkline's points, made when a row is rendered (never kept for everyone)."""
        if self.first_month is None:
            return []
        year, month = (int(part) for part in self.first_month.split("-"))
        points = []
        for offset, opened in enumerate(self.per_month):
            y, m = divmod(month - 1 + offset, 12)
            points.append(TimelinePoint(month=f"{year + y:04d}-{m + 1:02d}", opened=opened, merged=0))
        return points

    def to_row(self) -> dict[str, Any]:
        """The entry as kept in the user's generated.json."""
        return {
            "login": self.login, "name": self.name, "avatar_url": self.avatar_url,
            "total_prs": self.total_prs, "merged_count": self.merged_count,
            "generated_at": self.generated_at.isoformat(), "first_month": self.first_month,
            "per_month": list(self.per_month), "authored_lines": self.authored_lines,
            "periods": list(self.periods),
        }  # fmt: skip

    @classmethod
    def from_row(cls, row: object) -> IndexEntry | None:
        """An entry kept by `to_row`, or None when `row` is not one (then the index reads the
        user's 1-year report.json instead)."""
        if not isinstance(row, dict):
            return None
        try:
            at = datetime.fromisoformat(row["generated_at"])
            entry = cls(
                login=str(Login(row["login"]).spelling),
                name=_text(row.get("name")),
                avatar_url=_text(row.get("avatar_url")),
                total_prs=_count(row["total_prs"]),
                merged_count=_count(row["merged_count"]),
                generated_at=at,
                first_month=_text(row.get("first_month")),
                per_month=tuple(_count(n) for n in row.get("per_month") or ()),
                authored_lines=_count(row.get("authored_lines", 0)),
                periods=_periods(row.get("periods") or ()),
            )
        except (KeyError, TypeError, ValueError):
            return None
        return entry if at.tzinfo is not None else None


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise TypeError("not a string")


def _periods(value: object) -> tuple[str, ...]:
    """Period names kept in a row (they become sitemap URLs: only period names pass)."""
    if not isinstance(value, list | tuple) or not all(isinstance(p, str) for p in value):
        raise TypeError("not periods")
    return shared_periods(tuple(value))


@lru_cache(maxsize=4096)
def shared_periods(periods: tuple[str, ...]) -> tuple[str, ...]:
    """`periods` checked (ValueError for a name that is not a period) and in tab order, as one
    tuple for every row naming the same ones: 100,000 rows share a few hundred, and each set is
    parsed once."""
    if not all(is_period(p) for p in periods):
        raise ValueError("not a period")
    return tuple(ordered(periods))


def _count(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ValueError("not a count")


def paginate(entries: Sequence[IndexEntry], size: int = INDEX_PAGE_ROWS) -> list[Sequence[IndexEntry]]:
    """The index's pages: `size` people each, in the order given; at least one page."""
    return [entries[i : i + size] for i in range(0, len(entries), size)] or [[]]


def pager_window(number: int, count: int, around: int = AROUND) -> list[int | None]:
    """The page numbers a page links to: the first, the last, and `around` either side of
    `number`; None where numbers are left out (shown as "…"). Bounded, so a page's size does
    not grow with the number of pages."""
    shown = sorted({1, count, *range(max(1, number - around), min(count, number + around) + 1)})
    window: list[int | None] = []
    for page in shown:
        if window and page - (window[-1] or 0) > 1:
            window.append(None)
        window.append(page)
    return window


SEARCH_FIELDS = ["login", "name", "prs", "merged", "page"]
PAGE_FIELDS = ["prs", "merged", "lines", "newest"]


@dataclass
class IndexLayout:
    """What `search.json` holds: per person `[login, name, pull requests, merged, page]` (name
    "" when there is none) in index order, and per page its figures `[pull requests, merged,
    authored lines, newest generation]`, which the first page's totals add up; `shared` names
    what every page was rendered with (`Publisher.publish_index`).

    Why the pages' figures: so that one user's new row is published by reading only the rows
    of that user's page (`Publisher.update_index`), not every user's, the totals coming from the
    other pages' figures as they were."""

    people: list[list[Any]]
    pages: list[list[Any]]
    shared: str

    @classmethod
    def of(cls, pages: Sequence[Sequence[IndexEntry]], shared: str) -> IndexLayout:
        people = [
            [e.login, e.name or "", e.total_prs, e.merged_count, number]
            for number, page in enumerate(pages, start=1)
            for e in page
        ]
        return cls(people, [page_figures(rows) for rows in pages], shared)

    @classmethod
    def parse(cls, data: bytes) -> IndexLayout | None:
        """The layout `to_json` wrote, or None for anything else (an older search.json, a
        damaged one): the index is then rebuilt from everyone's rows."""
        try:
            body = json.loads(data)
            layout = cls(list(body["people"]), list(body["pages"]), str(body["shared"]))
            valid = body["version"] == SEARCH_VERSION and body["fields"] == SEARCH_FIELDS
            pages = {int(person[4]) for person in layout.people}
        except (ValueError, KeyError, TypeError, IndexError):
            return None
        return layout if valid and pages <= set(range(1, len(layout.pages) + 1)) else None

    def to_json(self) -> bytes:
        body = {"version": SEARCH_VERSION, "fields": SEARCH_FIELDS, "people": self.people,
                "page_fields": PAGE_FIELDS, "pages": self.pages, "shared": self.shared}  # fmt: skip
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"

    def members(self, number: int) -> list[str]:
        """The logins on page `number`, in order."""
        return [person[0] for person in self.people if person[4] == number]

    def totals(self) -> dict[str, object]:
        """The first page's figures over everyone: how many, and their pages' figures added up."""
        newest = [datetime.fromisoformat(page[3]) for page in self.pages if page[3]]
        return {
            "people": len(self.people),
            "prs": sum(int(page[0]) for page in self.pages),
            "merged": sum(int(page[1]) for page in self.pages),
            "lines": sum(int(page[2]) for page in self.pages),
            "newest": max(newest, default=None),
        }


def page_figures(rows: Sequence[IndexEntry]) -> list[Any]:
    """A page's `[pull requests, merged, authored lines, newest generation]`."""
    newest = max((e.generated_at for e in rows), default=None)
    return [
        sum(e.total_prs for e in rows),
        sum(e.merged_count for e in rows),
        sum(e.authored_lines for e in rows),
        newest.isoformat() if newest else None,
    ]


def row_html(entry: IndexEntry) -> Markup:
    """One person's row on an index page. Built here with format strings, not a Jinja macro:
    a macro a row costs ~0.5 ms, 50 s for 100,000 people, this some 50 µs. Every text and
    address from GitHub is escaped (`escape`), the avatar's address checked (`safe_url`);
    the avatar is decorative (the name beside it is the link), its initials underneath."""
    src = safe_url(entry.avatar_url)
    letters = escape(initials(entry.name, entry.login))
    # A failed image is covered by its initials (`img::after`), never a broken-image icon.
    image = f'<img src="{escape(src)}" alt="" width="40" height="40" loading="lazy"'
    image += f' data-initials="{letters}">'
    login = escape(entry.login)
    return Markup(
        f'<tr><td><div class="person"><span class="avatar avatar-40" aria-hidden="true">'
        f"{letters}{image if src else ''}</span>"
        f'<div class="person-text"><a class="person-link" href="{escape(Login(entry.login))}/index.html">'
        f"{escape(entry.name) if entry.name else login}</a>"
        f'<span class="muted small">@{login}</span></div></div></td>'
        f'<td class="num">{entry.total_prs:,}</td><td class="num">{entry.merged_count:,}</td>'
        f'<td class="spark">{month_sparkline(entry.first_month, entry.per_month)}</td><td class="updated">'
        f'<time datetime="{iso_date(entry.generated_at)}">{format_date(entry.generated_at)}</time>'
        "</td></tr>\n"
    )
