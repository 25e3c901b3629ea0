"""Render reports into the static site and write every file atomically.

Site layout (all links between pages are relative, so `site/` works from any path
on any web server, and opened straight from disk)::

    site/index.html, index-N.html           tracked users, 100 a page (`people`), index-pages.html listing
                                            the pages, search.json for the search box
    site/404.html                           self-contained: works at any URL
    site/robots.txt, site/sitemap.xml       the sitemap only with GITBRAG_BASE_URL (it needs absolute URLs):
                                            an index of sitemap-N.xml, the pages of index page N's users
    site/assets/style.<hash>.css            content-hashed, so a new look never mixes with old pages
    site/assets/site.<hash>.js              optional enhancements; every page reads fine without it
    site/<login>/index.html                 the 1-year report
    site/<login>/feed.xml                   Atom feed of the user's recently merged pull requests
    site/<login>/generated.json             when each period was last generated, and whether a refresh runs
    site/<login>/<period>/index.html        one page per period: the rolling ones, each calendar year
                                            with activity, each GITBRAG_PERIODS entry (`gitbrag.periods`)
    site/<login>/<period>/report.json       `Report.model_dump_json()`
    site/<login>/<period>/card.svg, card-dark.svg
                                            the embeddable card (`cards`); the 1-year one also at
                                            site/<login>/card.svg
    site/<login>/social.png                 every page's og:image (`socialimage`), drawn when it changes
    site/teams/<team>/[<period>/]index.html with GITBRAG_TEAMS: the members' reports added up
    site/teams/rendered.json                what each team's pages were rendered with (`publish_teams`)
    site/<login>/team-summary.json          what team pages read of a member (`teams.MemberSummary`)
    site/<login>/<period>/brag.md           the Markdown brag document (`markdown`)
    site/<login>/<period>/repos/<owner>/<name>/index.html (page-2.html, ...)
                                            a repository's full list, when its card shows only part
    site/<login>/<period>/more/index.html (page-2.html, ...)
                                            pull requests of the repositories past the card limit

Page weight (planned in `pages`): a report page shows at most `REPORT_ROW_BUDGET` rows,
shared fairly between repositories (each gets the same cap, small ones all their rows), and
`REPO_CARD_LIMIT` repository cards; the rest of a card's rows are on the repository's own
pages, and the repositories past the card limit (a compact table on the report page) have
their pull requests on shared "more repositories" pages, at most `REPO_PAGE_ROWS` rows a
page. So a page (about 330 bytes of HTML a row) stays well under 300 KB however prolific the
user, the number of files stays proportional to the pull requests (not one folder per small
repository), every pull request is reachable by following links, and every number on the
page is still the report's.

Every file is written atomically (temporary file, fsync, rename), so a reader, or a refresh
killed at any moment, sees either the old or the new version of a file, never half of one;
and through `gitbrag.publish.safepath`, which follows no symbolic link below the site root, so
nothing is ever written, read, or deleted outside the site.

Unchanged work costs nothing: a file that already holds the bytes rendered for it is left
alone (no temporary file, fsync or rename); a report whose content did not change, whatever
the day, is published as the one on the site, with the window and day of the generation
that last changed it (`gitbrag.publish.freshness`), so its pages and report.json stay as they are;
and the "Updating" flag, like the exact time of every refresh, lives in the tiny
generated.json, the one file of the user an unchanged refresh writes (twice: the flag on,
then the new times with the flag off).

What a publish is made of lives beside this module: `templates` (the Jinja environment, and
the digests of the code and templates pages are rendered from), `assets` (the content-hashed
stylesheet and script), `published` (what is on the site, read back) and `safepath` (every
file operation, atomic writes included). What is left here is the order of a publish: settle
each report against the one on the site, render the pages that need it, write them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from markupsafe import Markup, escape

from gitbrag.clock import utcnow
from gitbrag.models import PERIOD_LABELS, PERIODS, Login, Period, Report
from gitbrag.periods import ordered
from gitbrag.publish import cards, feeds, socialimage
from gitbrag.publish.assets import Assets
from gitbrag.publish.filters import safe_url
from gitbrag.publish.freshness import FILE_NAME as FRESHNESS_FILE
from gitbrag.publish.freshness import Freshness, Stamp
from gitbrag.publish.markdown import brag_markdown
from gitbrag.publish.pages import (
    REPO_PAGE_ROWS,
    PagePlan,
    RepoGroup,
    RepoView,
    chunks,
    page_file,
    plan_page,
    summary_sentence,
)
from gitbrag.publish.people import (
    INDEX_PAGE_ROWS,
    PAGES_FILE,
    SEARCH_FILE,
    IndexEntry,
    IndexLayout,
    index_page_file,
    page_figures,
    pager_window,
    paginate,
    shared_periods,
)
from gitbrag.publish.published import SUMMARY_FILE, PublishedSite
from gitbrag.publish.safepath import TEMP_MAX_AGE_SECONDS, SiteRoot, UnsafePathError
from gitbrag.publish.templates import Templates, code_digest, search_path
from gitbrag.report import teams
from gitbrag.settings import DEFAULT_STALE_AFTER_SECONDS

log = logging.getLogger(__name__)
__all__ = ["FRONT", "IndexEntry", "Publisher", "SupersededError"]  # IndexEntry lives in `people`

BRAG_FILE = "brag.md"  # beside each period's report.json
# What each team's pages were rendered with (`Publisher.publish_teams`).
TEAMS_RECORD = "teams/rendered.json"
TEAMS_RECORD_VERSION = 1
SITEMAP_FILE = "sitemap.xml"  # the sitemap index, the file robots.txt names
SITEMAP_USERS = INDEX_PAGE_ROWS  # users a urlset at most: those of an index page, by default
SITEMAP_USER_URLS = 100  # a user's URLs in the sitemap at most (front page and 99 periods)


def sitemap_file(number: int) -> str:
    """The `number`-th urlset of the sitemap (1-based), at the site's root (a login has no ".")."""
    return f"sitemap-{number}.xml"


def _report_json(report: Report) -> bytes:
    """report.json's bytes: `Report.model_dump_json()` and a newline, serialised straight to
    bytes (5 MB for a 20,000-PR user: no str and no encoded copy of it). Compact: indenting
    made it a third larger, and there is one a period (`jq .` shows it indented)."""
    return Report.__pydantic_serializer__.to_json(report) + b"\n"


def _absolute_base(url: str | None) -> str | None:
    """A configured public URL as a prefix ending in "/", or None when unset or not http(s)."""
    checked = safe_url(url)
    return checked.rstrip("/") + "/" if checked else None


def _front(reports: dict[Period, Report]) -> Period:
    """The period of the user's front page: the past year, else the first."""
    return "1_year" if "1_year" in reports else ordered(reports)[0]


def _widest(reports: dict[Period, Report]) -> Period:
    """The period reaching back furthest (all time, when there), for what lists the newest of everything."""
    return min(reports, key=lambda p: (reports[p].since, -reports[p].until.timestamp()))


# --- what pages are rendered from ----------------------------------------------------------------

FRONT = "front/"  # the pages record's key for the user's front files (no period has a "/")


def _day(value: datetime) -> str:
    """The UTC day of `value`, what the sitemap says of a page's last change."""
    return value.astimezone(UTC).date().isoformat()


def _digest(*parts: object) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class _Settled:
    """A period's report as it is published: the one on the site when only its stamp
    differs (`on_site`: report.json already holds it), else the new one; `digest` is of its
    report.json (the bytes themselves are not kept: megabytes a period for a prolific user)."""

    report: Report
    digest: str
    on_site: bool

    @classmethod
    def of(cls, report: Report, payload: bytes, *, on_site: bool) -> _Settled:
        return cls(report, hashlib.blake2b(payload, digest_size=16).hexdigest(), on_site)


_PRE = re.compile(r"(<pre\b.*?</pre>)", re.DOTALL)
_INDENT = re.compile(r"\n[ \t]+")


def _unindent(html: str) -> str:
    """The templates' indentation taken out of a page (a twentieth of its bytes, on every page
    of every period): a line break and spaces render as the line break alone, except inside
    `<pre>`, which keeps its text as it is."""
    parts = _PRE.split(html)
    return "".join(part if i % 2 else _INDENT.sub("\n", part) for i, part in enumerate(parts))


def astuple_entry(entry: IndexEntry) -> tuple[object, ...]:
    """What an index row shows, for the digest of its page."""
    return (entry.login, entry.name, entry.avatar_url, entry.total_prs, entry.merged_count,
            entry.generated_at.isoformat(), entry.first_month, entry.per_month)  # fmt: skip


# --- the publisher ----------------------------------------------------------------------


class SupersededError(Exception):
    """A newer report than the one being published is already on the site."""


class Publisher:
    """Renders pages with Jinja2 (autoescaped) and writes them into `site_dir`.

    Templates are looked up first in `templates_dir` (the operator's
    `GITBRAG_TEMPLATES_DIR`), then in the packaged defaults, so an override may
    replace any single template or asset and inherit the rest.

    `base_url` (the site's public URL) enables canonical links, absolute social-preview
    URLs and the sitemap; `hook_public_url` shows a "Refresh now" button that POSTs to
    the hook; `stale_after_seconds` is when a page's script starts saying how old it is.
    `rewrite_unchanged` writes every file even when its bytes are already on disk (the
    behaviour before unchanged files were skipped: the benchmark's baseline).
    `files_written` and `files_unchanged` count, since construction, the files written and
    the ones left alone because they already held the same bytes.
    """

    def __init__(
        self,
        site_dir: Path,
        *,
        templates_dir: Path | None = None,
        base_url: str | None = None,
        hook_public_url: str | None = None,
        stale_after_seconds: int = DEFAULT_STALE_AFTER_SECONDS,
        rewrite_unchanged: bool = False,
        teams: Mapping[str, Sequence[str]] | None = None,
        demo: bool = False,
        index_page_rows: int = INDEX_PAGE_ROWS,
    ):
        self.site_dir = Path(site_dir)
        # Resolved once: the root may be a link; below it, nothing is followed (gitbrag.publish.safepath).
        # It marks this process as a writer of the site until `close`: see `publish_static`'s sweep.
        self._site = SiteRoot(self.site_dir, marks_writers=True)
        # `--demo`: every report.json it writes says so, and it reads as the site's users only the
        # pages of its own kind (`PublishedSite.logins`): demo users never become a real site's.
        self.demo = demo
        self._published = PublishedSite(self._site, self.site_dir, demo=demo)
        self.rewrite_unchanged = rewrite_unchanged
        if index_page_rows < 1:
            raise ValueError("index_page_rows must be at least 1")
        self.index_page_rows = index_page_rows
        # What each index page was last rendered from (this process): an unchanged page is not
        # rendered again when one user's row changed elsewhere.
        self._index_pages: dict[str, str] = {}
        self._sitemaps: dict[str, str] = {}  # the same for the sitemap's files (`_write_sitemap`)
        self.stale_after_seconds = stale_after_seconds
        self.files_written = 0
        self.files_unchanged = 0
        found = search_path(templates_dir)
        self.base_url = _absolute_base(base_url)
        hook = safe_url(hook_public_url)
        self.hook_public_url = hook.rstrip("/") if hook else None
        # GITBRAG_TEAMS (gitbrag.report.teams): team name -> member logins, for team pages and links.
        self.teams = {name: list(members) for name, members in (teams or {}).items()}
        # Users published since the team pages were last published: their teams are rendered
        # next (`publish_teams`), whichever door refreshed them (a pass, the hook between passes).
        self._teams_due: set[Login] = set()
        # What else shapes the reports (GITBRAG_PERIODS, GITBRAG_EXCLUDE, GITBRAG_TIMEZONE...), as
        # the refresher says: part of `rendered_with`, so a change renders every page again.
        self.report_settings = ""
        self._assets = Assets(found)
        self._templates = Templates(
            found, {"asset_path": self._assets.path, "stale_after_seconds": stale_after_seconds}
        )

    # --- public API -------------------------------------------------------------------

    def close(self) -> None:
        """This process is done writing the site: its writer's mark at the site's root is
        removed (a later write makes another). Without it, the mark goes when the publisher
        is collected or the interpreter exits; a killed process leaves it, and the next sweep
        then walks the whole site (`SiteRoot.sweep_due`)."""
        self._site.close()

    def publish_user(self, reports: dict[Period, Report], *, updating: bool = False) -> list[Path]:
        """Write a user's pages, report.json files, feed and generated.json; returns their
        paths, written or (already holding the same bytes) left as they were.

        A report whose content is the published one's but for its window and times (the
        same numbers, a day later) is published as the one on the site, stamp and all
        (`gitbrag.publish.freshness`): its pages and report.json stay as they are, and only
        generated.json records the new time. Such a period is not even rendered when the
        record in generated.json says its pages were rendered from these very inputs (the
        report, the code and templates, the settings) and its files are still the ones
        written then (`SiteRoot.snapshot`). `updating` is that file's flag (a refresh of
        the user still runs). `site/<login>/index.html` shows the 1-year report (or the
        first period given).
        """
        if not reports:
            raise ValueError("no reports to publish")
        users = {r.login for r in reports.values()}  # InvalidLogin (a ValueError) for a bad name
        if len(users) != 1:
            raise ValueError("reports of several users passed to publish_user")
        login = users.pop()
        if self.demo:
            reports = {p: r.model_copy(update={"demo": True}) for p, r in reports.items()}
        recorded = (self._published.freshness(login) or Freshness()).pages
        stamps = self._refuse_older(login, reports)
        settled = {p: self._settle(reports[p], stamps.get(p), login) for p in ordered(reports)}
        self._templates.forget_rows(zone=next(iter(reports.values())).timezone)  # the user's dates
        written: list[Path] = []
        pages: dict[str, str] = {}
        shown = {p: s.report for p, s in settled.items()}
        inputs = self._page_inputs(settled, shown)
        written += self._write_team_summaries(login, shown, inputs)
        for group, key in inputs.items():
            paths = self._group_paths(login, group, shown)
            # A period whose report.json is rewritten is rendered: its record cannot hold.
            may_keep = group == FRONT or settled[group].on_site
            kept = self._still_rendered(recorded.get(group), key, paths) if may_keep else None
            if kept is None:
                written += (
                    self._write_front(shown)
                    if group == FRONT
                    else self._publish_period(settled[group], shown)
                )
                kept = self._site.snapshot(paths)
            else:
                self.files_unchanged += len(kept[1])
                written += [self.site_dir / file for file in kept[1]]
            pages[group] = f"{key}:{kept[0]}"
        self._remove_retired_periods(login, reports)
        row = self._index_row(shown)
        written.append(self._write_freshness(login, reports, updating=updating, pages=pages, row=row))
        self._templates.forget_rows()
        self._teams_due.add(login)
        return written

    @staticmethod
    def _index_row(shown: dict[Period, Report]) -> dict[str, Any] | None:
        """The user's index row for generated.json, naming the periods now published (the
        sitemap's, `_sitemap_urls`); None without a 1-year report (the user is not listed)."""
        if "1_year" not in shown:
            return None
        periods = shared_periods(tuple(ordered(shown)))
        return replace(IndexEntry.from_report(shown["1_year"]), periods=periods).to_row()

    def set_updating(self, login: Login, updating: bool) -> bool:
        """Say in the user's generated.json whether a refresh of theirs is running (the
        pages' script shows "Updating" then); False when nothing is published yet. Only
        that tiny file is written: the pages stay as they are, so a refresh that finds
        nothing new rewrites no page, notice included."""
        login = Login(login)  # free for a Login; refuses an untyped caller's bad name
        freshness = self._published.freshness(login) or self._published.freshness_from_reports(login)
        if freshness is None:
            return False
        self._write(self.site_dir / login / FRESHNESS_FILE, replace(freshness, updating=updating).to_json())
        return True

    def publish_index(self, entries: Iterable[IndexEntry]) -> Path:
        """Write the index (`gitbrag.publish.people`): `index.html` and `index-N.html`, pages of
        `index_page_rows` people in login order, `index-pages.html` listing them, `search.json`
        for the search box, and the sitemap when the base URL is known. Returns index.html.

        A page whose rows and surroundings are what this publisher last rendered there is not
        rendered again (and a page's unchanged bytes are never written), so one user's new row
        costs its own page, the first page's totals and search.json."""
        ordered = sorted(entries, key=lambda e: e.slug)  # InvalidLogin for a bad name
        pages = paginate(ordered, self.index_page_rows)
        count = len(pages)
        shared = self._index_shared(count)
        layout = IndexLayout.of(pages, shared)
        totals = layout.totals()  # from the page figures, as `update_index` counts them
        for number, rows in enumerate(pages, start=1):
            self._write_index_page(number, count, rows, totals if number == 1 else None, shared)
        self._write(self.site_dir / SEARCH_FILE, layout.to_json())
        if count > 1:
            self._write_index_list(pages)
        else:
            self._site.unlink(PAGES_FILE)
        number = count + 1
        while self._site.is_file(index_page_file(number)):  # fewer people: later pages go
            self._site.unlink(index_page_file(number))
            self._index_pages.pop(index_page_file(number), None)
            number += 1
        self._write_sitemap(ordered)
        return self.site_dir / "index.html"

    def _index_shared(self, count: int) -> str:
        """What every index page is rendered with besides its rows: the code, the templates,
        the base URL, the people a page and the number of pages."""
        return _digest(code_digest(), self._templates.digest(), self.base_url, self.index_page_rows, count)

    def update_index(self, logins: Iterable[Login]) -> bool:
        """Publish the new index rows of `logins`, tracked users the index already lists, from
        the index on disk (`search.json`'s layout): only their pages are rendered, from the
        rows of those pages' people, the first page's totals from the other pages' figures,
        and their sitemap files; search.json is rewritten with their rows. So a refresh of one
        user costs the same with 100,000 people listed as with 1,000 (`publish_index` reads
        every user's row). False, nothing written, when the index on disk cannot say: none,
        rendered otherwise (code, templates, base URL), a login it does not list, a row gone,
        or sitemap files that are not its pages: `publish_index` then."""
        layout = self._index_layout()
        pages = self._pages_of(layout, logins) if layout is not None else None
        if layout is None or pages is None:
            return False
        fresh = {e.login: e for rows in pages.values() for e in rows}
        for person in layout.people:
            if (entry := fresh.get(person[0])) is not None:
                person[1:4] = [entry.name or "", entry.total_prs, entry.merged_count]
        for number, rows in pages.items():
            layout.pages[number - 1] = page_figures(rows)
        totals, count = layout.totals(), len(layout.pages)
        for number, rows in sorted(pages.items()):
            self._write_index_page(number, count, rows, totals if number == 1 else None, layout.shared)
        self._write(self.site_dir / SEARCH_FILE, layout.to_json())
        self._update_sitemap(layout, pages)
        return True

    def _index_layout(self) -> IndexLayout | None:
        """The layout of the index on disk, if it was rendered as this publisher renders it."""
        try:
            layout = IndexLayout.parse(self._site.read_bytes(SEARCH_FILE))
        except OSError:
            return None
        if layout is None or self.index_page_rows > SITEMAP_USERS:  # sitemap files != pages
            return None
        return layout if layout.shared == self._index_shared(len(layout.pages)) else None

    def _pages_of(self, layout: IndexLayout, logins: Iterable[Login]) -> dict[int, list[IndexEntry]] | None:
        """The rows of the pages `logins` are on, and of the first (its totals); None when one
        of them is not listed, or a row of those pages is gone."""
        where = {person[0]: person[4] for person in layout.people}
        wanted = {Login(login) for login in logins}
        if any(login not in where for login in wanted):
            return None
        members = {number: layout.members(number) for number in {1, *(where[login] for login in wanted)}}
        pages = {number: list(self.index_entries(map(Login, logins))) for number, logins in members.items()}
        whole = all(len(rows) == len(members[number]) for number, rows in pages.items())
        return pages if whole else None

    def _write_index_page(
        self,
        number: int,
        count: int,
        rows: Sequence[IndexEntry],
        totals: dict[str, object] | None,
        shared: str,
    ) -> None:
        """One index page; the first (`totals` given) also has the totals and the teams."""
        page = index_page_file(number)
        teams = sorted(self.teams) if number == 1 else []
        key = _digest(shared, number, [astuple_entry(e) for e in rows], totals, teams)
        known = self._index_pages.get(page) == key and self._site.is_file(page)
        if known or self._index_page_holds(page, key):
            self._index_pages[page] = key
            self.files_unchanged += 1
            return
        title = "Contribution reports" + (f", page {number:,} of {count:,}" if number > 1 else "")
        html = self._render(
            "index.html", page=page, entries=rows, teams=teams, title=title, totals=totals,
            page_number=number, page_count=count, search_href=SEARCH_FILE, rendered_from=key,
            pages_href=PAGES_FILE if count > 1 else None,
            pager=[(n, index_page_file(n) if n else None) for n in pager_window(number, count)],
            previous_href=index_page_file(number - 1) if number > 1 else None,
            next_href=index_page_file(number + 1) if number < count else None,
        )  # fmt: skip
        self._write(self.site_dir / page, html)
        self._index_pages[page] = key

    def _index_page_holds(self, page: str, key: str) -> bool:
        """Whether the index page on disk says it was rendered from `key` (its head carries
        it): a new process (each cron pass) then renders no unchanged page either."""
        return not self.rewrite_unchanged and self._holds_marker(
            page, f"gitbrag index page, rendered from {key}"
        )

    def _holds_marker(self, relative: str, marker: str) -> bool:
        """Whether the file's head has the comment `<!-- marker -->`."""
        try:
            head = self._site.read_bytes(relative)[:2048]
        except OSError:  # missing, or not the site's own file: rendered anew
            return False
        return f"<!-- {marker} -->".encode() in head

    def _write_index_list(self, pages: Sequence[Sequence[IndexEntry]]) -> None:
        """`index-pages.html`: every index page with the first and last login on it, the way
        to anyone without script in two clicks."""
        listed = [
            {"href": index_page_file(n), "number": n, "first": rows[0].login, "last": rows[-1].login}
            for n, rows in enumerate(pages, start=1)
        ]
        html = self._render("index_pages.html", page=PAGES_FILE, pages=listed, title="Every index page")
        self._write(self.site_dir / PAGES_FILE, html)

    def publish_static(self) -> None:
        """Write site/assets/ (content-hashed names), 404.html and robots.txt, and sweep what
        killed writers left behind: the whole site when a writer died (or the site was never
        swept so), else the folders this publisher wrote into (`SiteRoot.sweep_due`)."""
        self._site.sweep_due(TEMP_MAX_AGE_SECONDS)
        for relative, data in self._assets.files():
            self._write(self.site_dir / relative, data)
        # Served for any missing URL, so relative links cannot work there: the stylesheet is
        # inlined and links are absolute, from the base URL; without one, from the server's
        # root, right only for a site served at the root (not under GitHub Pages' `/REPO/`).
        css = Markup(self._assets.source("style.css").read_text(encoding="utf-8"))  # our own asset
        html = self._render("404.html", page="404.html", absolute=True, inline_css=css)
        self._write(self.site_dir / "404.html", html)
        sitemap_url = self.base_url + SITEMAP_FILE if self.base_url else None
        self._write(self.site_dir / "robots.txt", feeds.robots_txt(sitemap_url))

    # --- what is on the site, for the refresher (gitbrag.publish.published) -----------

    # They take a `Login`; a str from an untyped caller (a script) is parsed, so a name
    # that is not a login is refused (InvalidLogin) before it can name a path.

    def read_report(self, login: Login, period: Period) -> Report | None:
        """A published report.json, or None when missing, unreadable (an older format, say)
        or reached through a symbolic link (`PublishedSite.report`)."""
        return self._published.report(Login(login), period)

    def index_entry(self, login: Login) -> IndexEntry | None:
        """The user's index row: kept in generated.json by every publish (a few hundred bytes),
        else, on a site published before it was kept there, from the 1-year report.json."""
        login = Login(login)
        freshness = self._published.freshness(login)
        entry = IndexEntry.from_row(freshness.row) if freshness is not None else None
        if entry is not None and entry.slug == login:
            return entry
        report = self._published.report(login, "1_year")
        return IndexEntry.from_report(report) if report is not None else None

    def index_entries(self, logins: Iterable[Login]) -> Iterator[IndexEntry]:
        """The index rows of `logins` that have a published report (`index_entry`), for
        `publish_index`: no report.json is read where generated.json has the row."""
        for login in logins:
            if (entry := self.index_entry(login)) is not None:
                yield entry

    def published_logins(self) -> list[Login]:
        """Users with a published 1-year report (`PublishedSite.logins`)."""
        return self._published.logins()

    def is_published(self, login: Login) -> bool:
        """Whether `login` is one of `published_logins`, asked of one user (a stat and a stamp)."""
        return self._published.has(Login(login))

    def site_mark(self) -> str:
        """The site folder's identity and last change of its own entries (device, inode, mtime):
        a pass that finds it as the last one left it skips looking for users whose folder went
        missing (issue 29). Emptied, replaced, a user's folder removed or added: it changes."""
        try:
            info = self.site_dir.stat()
        except OSError:
            return "none"
        return f"{info.st_dev}:{info.st_ino}:{info.st_mtime_ns}"

    def settings_mark(self) -> str:
        """A digest of every setting `rendered_with` depends on, for all users at once: while it
        is the one the last pass saw, no user's pages can have been made with other settings
        by this deployment, and the refresher need not read every user's generated.json."""
        shaping = sorted((name, sorted(members)) for name, members in self.teams.items())
        return _digest(
            self.base_url, self.hook_public_url, self.stale_after_seconds, shaping, self.report_settings
        )

    def published_periods(self, login: Login) -> list[Period]:
        """The user's periods on the site, in tab order (`PublishedSite.periods`)."""
        return self._published.periods(Login(login))

    def published_generation(self, login: Login) -> int:
        """The generation a new one must exceed (`PublishedSite.generation`)."""
        return self._published.generation(Login(login))

    def checked_at(self, login: Login, period: Period) -> datetime | None:
        """When the report was last generated, changed or not (`PublishedSite.checked_at`)."""
        return self._published.checked_at(Login(login), period)

    # --- settings the pages were made with, and forgetting a user (issue 27) ----------

    def rendered_with(self, login: Login) -> str:
        """A digest of the settings that shape the user's pages and reports: the base URL, the
        hook's public URL, the stale age, the user's teams, and the report settings. Recorded
        in generated.json; when it no longer matches, the refresher renders the user's pages
        again from the kept collection (no GitHub request), due or not."""
        return _digest(
            self.base_url, self.hook_public_url, self.stale_after_seconds,
            teams.teams_of(login, self.teams), self.report_settings,
        )  # fmt: skip

    def renders_stale(self, login: Login) -> bool:
        """Whether the user's published pages were made with other settings than today's (or
        before they were recorded)."""
        freshness = self._published.freshness(Login(login))
        return freshness is not None and freshness.settings != self.rendered_with(Login(login))

    def remove_user(self, login: Login, spellings: Sequence[str] = ()) -> None:
        """Delete the user's folder (pages, report.json files, feed, cards) and the folders of
        its spelling redirects (`spellings`), through `SiteRoot` (no link below the root is
        followed). Each file goes on its own: call it after the index and the team pages were
        written without the user, so no page links to what is gone."""
        for name in {Login(login), *(s for s in spellings if Login(s) == Login(login))}:
            self._site.remove_tree(name)

    # --- settling each report against the site ----------------------------------------

    def _refuse_older(self, login: Login, reports: dict[Period, Report]) -> dict[Period, Stamp]:
        """Fencing: a generation that lost its claim (paused past its lease, say) must not
        replace what a newer generation already published. Returns the stamps of the
        reports on the site (read without the rest of them).

        Newer means a higher `generation` (each is one more than the one it found on the
        site), never a later `generated_at`: wall clocks jump, and a report written while
        the clock was a day ahead would otherwise freeze the page for a day, `--force`
        or not. Two generations that started from the same page carry the same number:
        the first to publish wins. The published number is the newest of the report.json
        files' and generated.json's (an unchanged report keeps the report.json of the
        generation that last changed it). Unnumbered reports (0: older files, direct
        callers) replace each other freely."""
        freshness = self._published.freshness(login)
        recorded = freshness.generation if freshness else 0
        stamps: dict[Period, Stamp] = {}
        for period, report in reports.items():
            stamp = self._published.stamp(login, period)
            current = max(recorded, stamp.generation if stamp else 0)
            if current > report.generation or current == report.generation > 0:
                raise SupersededError(
                    f"{login}/{period} generation {current} is already published"
                    f" (this is {report.generation})"
                )
            if stamp is None:
                continue
            stamps[period] = stamp
            if stamp.generated_at > report.generated_at:
                log.warning(
                    "replacing a report dated in the future (the clock was ahead when it was made)",
                    extra={"user": login, "report": period, "dated": stamp.generated_at.isoformat()},
                )
        return stamps

    def _settle(self, report: Report, stamp: Stamp | None, login: Login) -> _Settled:
        """The published report, when `report` is it but for the stamp: the same content
        over a window moved by the clock alone. Judged on the very bytes of report.json
        (`report` with the published stamp must serialise to them), so any other change, a
        newer format included, counts as a change. A report dated after `report` (the
        clock was ahead) is never kept: its page would show a day still to come."""
        if stamp is not None and not self.rewrite_unchanged and stamp.generated_at <= report.generated_at:
            kept = report.model_copy(update=stamp.fields())
            payload = _report_json(kept)
            if self._site.holds(f"{login}/{report.period}/report.json", payload):
                return _Settled.of(kept, payload, on_site=True)
            del payload  # megabytes: not alive beside the new report's bytes
        return _Settled.of(report, _report_json(report), on_site=False)

    def _page_inputs(self, settled: dict[Period, _Settled], shown: dict[Period, Report]) -> dict[str, str]:
        """Per period, and for the front files (`FRONT`), a digest of everything their pages
        are rendered from: the report, what every page shows of the others (the tabs), the
        user's teams, the code, the templates and the publisher's settings."""
        periods = list(settled)
        report = settled[periods[0]].report
        shared = _digest(
            code_digest(), self._templates.digest(), self.base_url, self.hook_public_url,
            self.stale_after_seconds, report.username, teams.teams_of(report.username, self.teams),
            [(p, s.report.total_prs) for p, s in settled.items()],
        )  # fmt: skip
        inputs = {p: _digest(shared, p, s.digest) for p, s in settled.items()}
        front, widest = _front(shown), _widest(shown)
        inputs[FRONT] = _digest(shared, FRONT, settled[front].digest, settled[widest].digest)
        return inputs

    def _group_paths(self, login: Login, group: str, shown: dict[Period, Report]) -> list[str]:
        """What a group's pages are: a period's folder, or the user's front files (and the
        folder of the spelling redirects)."""
        if group != FRONT:
            return [f"{login}/{group}"]
        username = shown[_front(shown)].username
        names = ("index.html", *cards.CARD_FILES.values(), "feed.xml", socialimage.FILE_NAME)
        front = [f"{login}/{name}" for name in names]
        return front + ([username] if username != login else [])

    def _still_rendered(
        self, recorded: str | None, key: str, paths: list[str]
    ) -> tuple[str, list[str]] | None:
        """The snapshot of a group's files when the record says they were rendered from
        `key` and they are still the files written then; None when they must be rendered."""
        if recorded is None or self.rewrite_unchanged or not recorded.startswith(key + ":"):
            return None
        state = self._site.snapshot(paths)
        return state if recorded == f"{key}:{state[0]}" else None

    # --- one user's files -------------------------------------------------------------

    def _publish_period(self, settled: _Settled, shown: dict[Period, Report]) -> list[Path]:
        """A period's files: report.json and the repositories' own pages (before the report
        page links to them), then the report page, its cards and social image."""
        report = settled.report
        folder = f"{report.login}/{report.period}/"
        path = self.site_dir / folder / "report.json"
        if settled.on_site:
            self.files_unchanged += 1
        else:
            self._write(path, _report_json(report))
        written = [path, self._write_brag(report, folder)]
        plan = plan_page(report)
        for view in plan.own_pages:
            written += self._write_repo_pages(report, view, folder + view.folder)
        for number, groups in enumerate(plan.more_pages, start=1):
            written.append(self._write_more_page(report, groups, number, len(plan.more_pages), folder))
        for leftovers in ("repos", "more"):
            self._remove_unlisted(self.site_dir / folder / leftovers, set(written))
        written.append(self._write_report_page(report, plan, shown, folder + "index.html"))
        self._site.unlink(folder + socialimage.FILE_NAME)  # one image a user now, in the user's folder
        return [*written, *self._write_cards(cards.Headline.from_report(report), folder)]

    def _write_brag(self, report: Report, folder: str) -> Path:
        """`<period>/brag.md`, the report as a Markdown brag document (`markdown`); its
        cut lists link to the report page with GITBRAG_BASE_URL only: the document is pasted
        elsewhere, where a relative link leads nowhere."""
        page_url = self._absolute(folder)
        return self._write(self.site_dir / folder / BRAG_FILE, brag_markdown(report, page_url=page_url))

    def _write_front(self, shown: dict[Period, Report]) -> list[Path]:
        """The user's front page (the 1-year report, else the first), the cards a README
        embeds (`<login>/card.svg`), the link preview of every page (`<login>/social.png`),
        the feed and the spelling redirects."""
        report = shown[_front(shown)]
        login = report.login
        written = [self._write_report_page(report, plan_page(report), shown, f"{login}/index.html")]
        headline = cards.Headline.from_report(report)
        written += self._write_cards(headline, f"{login}/")
        written.append(self._write_social_image(headline, f"{login}/"))  # every page's og:image
        # The widest period has every merge the feed could list.
        written.append(self._write_feed(login, shown[_widest(shown)]))
        return written + self._write_spelling_redirects(login, ordered(shown))

    def _write_report_page(
        self, report: Report, plan: PagePlan, shown: dict[Period, Report], page: str
    ) -> Path:
        """Render one report page; `page` is either `<login>/<period>/index.html` or `<login>/index.html`.

        The tabs link every period of `shown` with its number of pull requests, so an empty
        page points only to a period that has some, never to another empty page."""
        on_period_page = page.count("/") == 2
        prefix = "" if on_period_page else f"{report.period}/"
        tabs = [
            {"label": PERIOD_LABELS[p], "href": f"{'../' if on_period_page else ''}{p}/index.html",
             "current": p == report.period, "prs": shown[p].total_prs, "calendar": p not in PERIODS}
            for p in ordered(shown)
        ]  # fmt: skip
        login = report.login
        label = PERIOD_LABELS[report.period]
        html = self._render(
            "report.html",
            page=page,
            # The 1-year report is at two addresses; search engines should know the front one.
            canonical_page=f"{login}/" if report.period == "1_year" else f"{login}/{report.period}/",
            report=report,
            plan=plan,
            tabs=tabs,
            period_prefix=prefix,
            json_href=prefix + "report.json",
            brag_href=prefix + BRAG_FILE,
            feed_href="../feed.xml" if on_period_page else "feed.xml",
            freshness_href="../generated.json" if on_period_page else "generated.json",
            period_label=label,
            refresh_url=self._refresh_url(report),
            description=summary_sentence(report),
            title=f"{report.profile.name or report.username} (@{report.username}) · {label}",
            sharing=self._sharing(report, prefix),
            member_teams=self._member_teams(report),
        )
        return self._write(self.site_dir / page, html)

    def _write_spelling_redirects(self, login: Login, periods: list[Period]) -> list[Path]:
        """`site/Mona-Lisa/index.html` (and one per period) sending readers to `mona-lisa/`:
        people type a login as GitHub spells it, and the site keys users in lower case.
        Written like every page (atomically, no link followed). On a case-insensitive
        filesystem the two spellings are one folder, which already holds the report: skipped."""
        username = login.spelling
        if username == login or self._site.is_file(f"{username}/{periods[0]}/report.json"):
            return []
        pages = [(f"{username}/index.html", f"{login}/")]
        pages += [(f"{username}/{p}/index.html", f"{login}/{p}/") for p in periods]
        written = []
        for page, folder in pages:
            target = "../" * page.count("/") + folder + "index.html"
            html = self._render(
                "redirect.html", page=page, canonical_page=folder, target=target, username=username,
                title=f"Report of {username}",
            )  # fmt: skip
            written.append(self._write(self.site_dir / page, html))
        return written

    def _write_repo_pages(self, report: Report, view: RepoView, folder: str) -> list[Path]:
        pages = chunks(view.repo.prs)
        written = []
        for number, prs in enumerate(pages, start=1):
            page = folder + page_file(number)
            html = self._render(
                "repo_page.html",
                page=page,
                report=report,
                repo=view.repo,
                prs=prs,
                first_row=(number - 1) * REPO_PAGE_ROWS + 1,
                page_number=number,
                page_count=len(pages),
                page_files=[page_file(n) for n in range(1, len(pages) + 1)],
                report_href="../" * view.folder.count("/") + "index.html",
                period_label=PERIOD_LABELS[report.period],
                title=f"{view.repo.name} · {report.profile.name or report.username} (@{report.username})",
            )
            written.append(self._write(self.site_dir / page, html))
        return written

    def _write_more_page(
        self, report: Report, groups: list[RepoGroup], number: int, count: int, folder: str
    ) -> Path:
        page = f"{folder}more/{page_file(number)}"
        html = self._render(
            "more_page.html",
            page=page,
            report=report,
            groups=groups,
            page_number=number,
            page_count=count,
            page_files=[page_file(n) for n in range(1, count + 1)],
            report_href="../index.html",
            period_label=PERIOD_LABELS[report.period],
            title=f"More repositories · {report.profile.name or report.username} (@{report.username})",
        )
        return self._write(self.site_dir / page, html)

    def _write_feed(self, login: Login, report: Report) -> Path:
        page = f"{login}/feed.xml"
        profile_url = safe_url(report.profile.html_url) or f"https://github.com/{login}"
        data = feeds.atom_feed(
            report,
            feed_id=self._absolute(page) or profile_url,
            self_href=self._absolute(page) or "feed.xml",
            page_href=self._absolute(f"{login}/") or "index.html",
            safe_url=safe_url,
        )
        return self._write(self.site_dir / page, data)

    def _write_freshness(
        self,
        login: Login,
        reports: dict[Period, Report],
        *,
        updating: bool,
        pages: dict[str, str],
        row: dict[str, object] | None,
    ) -> Path:
        """`<login>/generated.json` (see `gitbrag.publish.freshness`): when each published period was
        generated (now, also for a report kept as it was), the `updating` flag, the newest
        generation, and the record of what the pages were rendered from. Periods not being
        published keep the times already recorded."""
        old = self._published.freshness(login) or self._published.freshness_from_reports(login) or Freshness()
        checked = {p: r.generated_at for p, r in reports.items()}
        for period in self._published.periods(login):  # retired periods are gone by now
            if period not in checked and (
                at := old.checked.get(period) or self._published.stamp_time(login, period)
            ):
                checked[period] = at
        generation = max([old.generation, *(r.generation for r in reports.values())])
        fresh = Freshness(
            checked, updating=updating, generation=generation, pages=pages,
            settings=self.rendered_with(login), row=row if row is not None else old.row,
        )  # fmt: skip
        return self._write(self.site_dir / login / FRESHNESS_FILE, fresh.to_json())

    def _refresh_url(self, report: Report) -> str | None:
        if not self.hook_public_url:
            return None
        # The hook takes every period the site publishes (a refresh makes them all).
        return f"{self.hook_public_url}/refresh/{quote(report.username)}?period={quote(report.period)}"

    def _remove_retired_periods(self, login: Login, reports: dict[Period, Report]) -> None:
        """Drop the folders of periods a whole publish no longer has (a year whose only pull
        request is gone, an entry taken out of GITBRAG_PERIODS), so no page is left unlinked.
        Only after a whole publish: one of a few periods (tests, tools) leaves the rest alone."""
        if not set(PERIODS) <= set(reports):
            return
        for period in self._published.periods(login):
            if period not in reports:
                self._site.prune(f"{login}/{period}", set())
                with contextlib.suppress(OSError), self._site.folder([login], create=False) as user_fd:
                    os.rmdir(period, dir_fd=user_fd)  # emptied: no link is followed, nothing else goes
                log.info("removed a period no longer published", extra={"user": login, "report": period})

    def _remove_unlisted(self, folder: Path, keep: set[Path]) -> None:
        """Drop repository pages an earlier generation wrote and this one did not (the
        repository left the period, or now fits on the report page). Links are removed
        themselves, never followed (see gitbrag.publish.safepath)."""
        kept = {PurePosixPath(p.relative_to(self.site_dir).as_posix()) for p in keep}
        self._site.prune(folder.relative_to(self.site_dir).as_posix(), kept)

    # --- sharing: cards, social images, teams -----------------------------------------

    def _write_cards(self, headline: cards.Headline, folder: str) -> list[Path]:
        return [
            self._write(self.site_dir / (folder + name), cards.card_svg(headline, theme))
            for theme, name in cards.CARD_FILES.items()
        ]

    def _write_social_image(self, headline: cards.Headline, folder: str) -> Path:
        """Drawn only when its inputs changed: the published PNG carries their hash."""
        relative = folder + socialimage.FILE_NAME
        try:
            published = self._site.read_bytes(relative)
        except OSError:  # missing, or not the site's own file (UnsafePathError): drawn anew
            published = b""
        if published and socialimage.embedded_hash(published) == socialimage.inputs_hash(headline):
            return self._write(self.site_dir / relative, published)
        log.debug("drawing a social image", extra={"user": headline.login, "file": relative})
        return self._write(self.site_dir / relative, socialimage.render(headline))

    def _sharing(self, report: Report, prefix: str) -> dict[str, str]:
        """What a report page needs to be shared: its og:image and the card snippets to embed
        (absolute addresses with GITBRAG_BASE_URL, else relative to the page)."""
        login = report.login
        card_folder = "" if report.period == "1_year" else f"{report.period}/"
        page_folder = f"{login}/" if report.period == "1_year" else f"{login}/{report.period}/"
        # Without the site's address, paths from it (`login/card.svg`), to be put after it: a
        # path from the server's root ("/login/...") is wrong for a site under a path prefix
        # (GitHub Pages' `/REPO/`). The same text on both pages of a report.
        base = self.base_url or ""
        card = f"{base}{login}/{card_folder}card.svg"
        dark = f"{base}{login}/{card_folder}card-dark.svg"
        page = base + page_folder
        alt = f"GitHub contributions of @{report.username}"  # a login: no Markdown or HTML in it
        image = socialimage.FILE_NAME  # the user's one image (`_write_front`), beside the front page
        return {
            "image": self._absolute(f"{login}/{image}") or ("../" if prefix == "" else "") + image,
            "image_type": socialimage.MEDIA_TYPE,
            "image_width": str(socialimage.WIDTH),
            "image_height": str(socialimage.HEIGHT),
            "card": card,
            "markdown": f"[![{alt}]({card})]({page})",
            "html": (
                f'<a href="{escape(page)}"><picture><source media="(prefers-color-scheme: dark)"'
                f' srcset="{escape(dark)}"><img src="{escape(card)}" alt="{escape(alt)}"'
                f' width="{cards.WIDTH}" height="{cards.HEIGHT}"></picture></a>'
            ),
            "absolute": "yes" if self.base_url else "",
        }

    def _member_teams(self, report: Report) -> list[dict[str, str]]:
        """The teams the user is in, each with its page for this period (site-root relative)."""
        period = report.period if report.period in PERIODS and report.period != "1_year" else ""
        return [
            {"name": name, "path": f"teams/{name}/{period + '/' if period else ''}index.html"}
            for name in teams.teams_of(report.username, self.teams)
        ]

    def publish_teams(self, refreshed: Iterable[str] | None = None) -> list[Path]:
        """`site/teams/<team>/index.html` (the past year) and `site/teams/<team>/<period>/index.html`
        for each rolling period, added up from the members' summaries (`_member_summaries`); the
        pages of teams no longer configured are removed. Returns the pages written.

        `refreshed` None renders every team (the behaviour before pages were rendered by what
        changed). Otherwise only the teams that changed are: those holding a user of
        `refreshed` or one this publisher published since its last team publish
        (`publish_user` records them), those whose members, code, templates or settings differ
        from what `teams/rendered.json` records their pages were rendered with (GITBRAG_TEAMS
        edited, an organization's members changed), and those never rendered. So a user's
        refresh costs its teams' members' summaries, whatever the number of teams."""
        due = set(self._teams_due)  # publish_user may add more meanwhile (the hook): kept for next time
        keys = self._team_keys()
        record = {} if refreshed is None else self._teams_record()
        members_due = due | {Login(login) for login in refreshed or ()}
        holding = {
            name for name, logins in self.teams.items() if not members_due.isdisjoint(map(Login, logins))
        }
        render = [name for name in self.teams if name in holding or record.get(name) != keys[name]]
        written: list[Path] = []
        for name in render:
            written += self._publish_team(name, self.teams[name])
        self._write_teams_record(keys, record, everything=len(render) == len(self.teams), written=written)
        self._teams_due -= due
        (log.info if render else log.debug)(  # a pass that changed nothing says nothing
            "team pages published",
            extra={"teams": len(render), "of": len(self.teams), "users": len(members_due)},
        )
        return written

    def _publish_team(self, name: str, members: Sequence[str]) -> list[Path]:
        """One team's pages, every rolling period, its members read once each (their
        summaries added up as they are read: memory holds the team's totals, not its members)."""
        totals = {period: teams.TeamTotals(name, period) for period in PERIODS}
        for member in members:
            summaries = self._member_summaries(Login(member))
            for period, total in totals.items():
                total.add(member, summaries.get(period))
        written: list[Path] = []
        for period, total in totals.items():
            team = total.report()
            pages = [f"teams/{name}/{period}/index.html"]
            if period == "1_year":
                pages.append(f"teams/{name}/index.html")
            written += [self._write_team_page(team, page) for page in pages]
        return written

    def _member_summaries(self, login: Login) -> dict[str, teams.MemberSummary]:
        """A member's summaries by period: from its team-summary.json, each period's when
        generated.json records its pages as rendered from the report it was made from (the
        publish that wrote it is whole), else from the published report.json (a site published
        before the summaries, a publish cut short); a period with neither is not published yet."""
        found = self._published.team_summaries(login)
        rendered = (self._published.freshness(login) or Freshness()).pages if found is not None else {}
        periods: dict[str, teams.MemberSummary] = {}
        for period in PERIODS:
            key = found.inputs.get(period) if found is not None else None
            if found is not None and key and rendered.get(period, "").startswith(key + ":"):
                periods[period] = found.periods[period]
            elif (report := self._published.report(login, period)) is not None:
                periods[period] = teams.member_summary(report)
        return periods

    def _write_team_summaries(
        self, login: Login, shown: dict[Period, Report], inputs: dict[str, str]
    ) -> list[Path]:
        """`<login>/team-summary.json`, what team pages read of the user (`teams.MemberSummary`,
        per rolling period), for a user in a team; removed for a user in none (it would go stale
        unread). Written before the report.json files, with the key of each period's pages that
        generated.json records at the end of the publish (`_page_inputs`): until it does, team
        pages read the report.json files instead. The same reports write the same bytes: an
        unchanged refresh does not write it."""
        relative = f"{login}/{SUMMARY_FILE}"
        if not teams.teams_of(login, self.teams):
            with contextlib.suppress(UnsafePathError):  # the user's folder a link: replaced by the writes
                self._site.unlink(relative)
            return []
        periods = [p for p in PERIODS if p in shown]
        summaries = teams.MemberSummaries(
            inputs={p: inputs[p] for p in periods},
            periods={p: teams.member_summary(shown[p]) for p in periods},
        )
        return [self._write(self.site_dir / relative, summaries.model_dump_json().encode() + b"\n")]

    def _team_keys(self) -> dict[str, str]:
        """Per team, a digest of what its pages are rendered from besides the members' reports:
        its members (in order: the not yet published are listed so), the code, the templates
        and the publisher's settings."""
        shared = _digest(
            code_digest(),
            self._templates.digest(),
            self.base_url,
            self.hook_public_url,
            self.stale_after_seconds,
        )
        return {name: _digest(shared, name, list(members)) for name, members in self.teams.items()}

    def _teams_record(self) -> dict[str, str]:
        """`teams/rendered.json`: the key (`_team_keys`) each team's pages were last rendered
        with; empty when missing or unreadable (every team is rendered then)."""
        try:
            record = json.loads(self._site.read_bytes(TEAMS_RECORD))
        except (OSError, ValueError):  # missing, a link, not JSON
            return {}
        found = record.get("teams") if isinstance(record, dict) else None
        if not isinstance(found, dict) or record.get("version") != TEAMS_RECORD_VERSION:
            return {}
        return {str(name): str(key) for name, key in found.items()}

    def _write_teams_record(
        self, keys: dict[str, str], record: dict[str, str], *, everything: bool, written: list[Path]
    ) -> None:
        """Record what the teams' pages were rendered with (after writing them: a publish cut
        short renders them again), and remove the pages of teams no longer configured: every
        file below teams/ not written now, when every team was rendered; else the folders of
        the teams the record has and the setting no longer does."""
        path = self.site_dir / TEAMS_RECORD
        if keys:
            self._write(path, json.dumps({"version": TEAMS_RECORD_VERSION, "teams": keys}, sort_keys=True))
        if everything:
            self._remove_unlisted(self.site_dir / "teams", set(written) | ({path} if keys else set()))
            return
        for name in sorted(set(record) - set(keys)):
            if teams.TEAM_RE.fullmatch(name):  # the record's names become paths: only team names
                self._site.remove_tree(f"teams/{name}")

    def _write_team_page(self, team: teams.TeamReport, page: str) -> Path:
        on_period_page = page.count("/") == 3
        tabs = [
            {"label": PERIOD_LABELS[p], "href": f"{'../' if on_period_page else ''}{p}/index.html",
             "current": p == team.period, "prs": 1, "calendar": False}
            for p in PERIODS
        ]  # fmt: skip
        label = PERIOD_LABELS[team.period]
        html = self._render(
            "team.html",
            page=page,
            canonical_page=f"teams/{team.team}/" if team.period == "1_year" else None,
            team=team,
            tabs=tabs,
            period_label=label,
            title=f"Team {team.team} · {label}",
            description=f"{team.team}: {team.total_prs:,} pull requests by {len(team.members):,} people",
        )
        return self._write(self.site_dir / page, html)

    # --- site-wide files --------------------------------------------------------------

    def _write_sitemap(self, entries: Sequence[IndexEntry]) -> None:
        """`sitemap.xml`, a sitemap index (always one, however small the site: one format for
        crawlers and for this code, and robots.txt names the same file), listing `sitemap-N.xml`,
        each a urlset of the pages of `SITEMAP_USERS` users (those of index page N, by default)
        and, in the first, the site's root. A file holds at most `SITEMAP_USERS` x
        `SITEMAP_USER_URLS` + 1 = 10,001 URLs, each under 2,048 characters (the protocol's
        limit for a URL; ~2,120 bytes with its tags): ~21 MB at worst, ~1 MB in practice,
        against the protocol's 50,000 URLs and 50 MB (`feeds.SITEMAP_MAX_URLS`, `_BYTES`).

        A urlset is rendered only when what it lists changed (`_sitemap_key`: its users' rows
        name their periods, so no user's folder is looked at), and the key is kept in the file,
        so a new process skips it too: one user's change rewrites its urlset and the index.
        Later urlsets of a site that lost people are removed after the index stops listing
        them. Without a base URL there is no sitemap file at all: one of another address would
        mislead crawlers. (The index itself may list 50,000 urlsets: 5 million users.)"""
        if not self.base_url:
            self._site.unlink(SITEMAP_FILE)
            self._remove_sitemaps(1)
            return
        chunks = paginate(entries, min(self.index_page_rows, SITEMAP_USERS))
        newest = max((e.generated_at for e in entries), default=utcnow())
        days = [max((e.generated_at for e in rows), default=newest) for rows in chunks]
        self._write_sitemap_files(dict(enumerate(chunks, start=1)), days)
        self._remove_sitemaps(len(chunks) + 1)

    def _update_sitemap(self, layout: IndexLayout, pages: dict[int, list[IndexEntry]]) -> None:
        """The sitemap files of the index pages `pages` (their rows given) and the sitemap
        index, the others' days of last change from the layout's page figures (`update_index`)."""
        if self.base_url:
            days = [datetime.fromisoformat(page[3]) if page[3] else utcnow() for page in layout.pages]
            self._write_sitemap_files(pages, days)

    def _write_sitemap_files(self, chunks: Mapping[int, Sequence[IndexEntry]], days: list[datetime]) -> None:
        """The urlsets `chunks` (by number; the others are as they were) and the sitemap index
        of all of them, each dated by `days` (its newest row), the first, with the site's root,
        as new as anyone."""
        assert self.base_url is not None
        newest = max(days)
        for number, rows in sorted(chunks.items()):
            self._write_sitemap_chunk(number, rows, newest if number == 1 else None)
        listed = [(self.base_url + sitemap_file(n), day) for n, day in enumerate(days, start=1)]
        listed[0] = (listed[0][0], newest)
        self._write(self.site_dir / SITEMAP_FILE, feeds.sitemap_index(listed))

    def _remove_sitemaps(self, first: int) -> None:
        """`sitemap-<first>.xml` and the ones after it (written in order, so they end at the
        first missing one)."""
        number = first
        while self._site.is_file(sitemap_file(number)):
            self._site.unlink(sitemap_file(number))
            self._sitemaps.pop(sitemap_file(number), None)
            number += 1

    def _write_sitemap_chunk(self, number: int, rows: Sequence[IndexEntry], root: datetime | None) -> None:
        """`sitemap-<number>.xml`, unless it holds what these rows list (`_sitemap_key`)."""
        name = sitemap_file(number)
        key = self._sitemap_key(number, rows, root)
        marker = f"gitbrag sitemap, rendered from {key}" if key is not None else ""
        if key is not None and not self.rewrite_unchanged:
            known = self._sitemaps.get(name) == key and self._site.is_file(name)
            if known or self._holds_marker(name, marker):
                self._sitemaps[name] = key
                self.files_unchanged += 1
                return
        self._write(self.site_dir / name, feeds.sitemap(self._sitemap_urls(rows, root), marker))
        if key is not None:
            self._sitemaps[name] = key

    def _sitemap_key(self, number: int, rows: Sequence[IndexEntry], root: datetime | None) -> str | None:
        """A digest of everything a urlset lists: the code, the base URL, its users' logins,
        periods and days of last change, and the root's day in the first. None when a row does
        not name its periods (kept before rows did): its folder is looked at, every time."""
        if any(not e.periods for e in rows):
            return None
        listed = [(e.login, e.periods, _day(e.generated_at)) for e in rows]
        return _digest(code_digest(), self.base_url, number, _day(root) if root else None, listed)

    def _sitemap_urls(
        self, rows: Sequence[IndexEntry], root: datetime | None
    ) -> Iterator[tuple[str, datetime]]:
        """The URLs of a urlset: the root (in the first), each user's front page and the pages
        of its other periods, at most `SITEMAP_USER_URLS` a user (in tab order: rolling
        periods, then the newest)."""
        assert self.base_url is not None
        if root is not None:
            yield self.base_url, root
        for entry in rows:
            yield f"{self.base_url}{entry.slug}/", entry.generated_at
            periods = entry.periods or self._listed_periods(entry.slug)
            others = [p for p in periods if p != "1_year"][: SITEMAP_USER_URLS - 1]
            for period in others:
                yield f"{self.base_url}{entry.slug}/{period}/", entry.generated_at

    def _listed_periods(self, login: Login) -> list[Period]:
        """A user's periods as the site shows them, for a row that does not name them."""
        periods = self._published.periods(login)
        return [p for p in periods if self._site.is_file(f"{login}/{p}/index.html")]

    # --- rendering and writing --------------------------------------------------------

    def _render(
        self,
        template: str,
        *,
        page: str,
        absolute: bool = False,
        canonical_page: str | None = None,
        **context: Any,
    ) -> str:
        """Render `template` for the page at `page` (a path relative to site/).

        Links are made relative to the page (`root` is "../" per level) unless
        `absolute`, for pages served at arbitrary URLs such as 404.html.
        """
        root = (self.base_url or "/") if absolute else "../" * page.count("/")
        canonical_path = page.removesuffix("index.html") if canonical_page is None else canonical_page
        canonical = self._absolute(canonical_path)
        return _unindent(self._templates.render(template, root=root, canonical=canonical, **context))

    def _absolute(self, path: str) -> str | None:
        return self.base_url + path if self.base_url else None

    def _write(self, path: Path, data: bytes | str) -> Path:
        """Write a file below the site root (`path` is under `site_dir`), following no link,
        unless it already holds these bytes (see `rewrite_unchanged`): a refresh that
        changed nothing on a page then costs no fsync, no rename and no disk write."""
        relative = path.relative_to(self.site_dir).as_posix()
        if self._site.write_if_changed(relative, data, force=self.rewrite_unchanged):
            self.files_written += 1
        else:
            self.files_unchanged += 1
        return path
