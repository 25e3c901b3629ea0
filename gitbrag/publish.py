"""Render reports into the static site and write every file atomically.

Site layout (all links between pages are relative, so `site/` works from any path
on any web server, and opened straight from disk)::

    site/index.html                         tracked users (a table; a small script sorts and filters it)
    site/404.html                           self-contained: works at any URL
    site/robots.txt, site/sitemap.xml       the sitemap only with GITBRAG_BASE_URL (it needs absolute URLs)
    site/assets/style.<hash>.css            content-hashed, so a new look never mixes with old pages
    site/assets/site.<hash>.js              optional enhancements; every page reads fine without it
    site/<login>/index.html                 the 1-year report
    site/<login>/feed.xml                   Atom feed of the user's recently merged pull requests
    site/<login>/generated.json             each period's exact generation time (the freshness script's)
    site/<login>/<period>/index.html        one page per period
    site/<login>/<period>/report.json       `Report.model_dump_json()`
    site/<login>/<period>/repos/<owner>/<name>/index.html (page-2.html, ...)
                                            a repository's full list, when its card shows only part
    site/<login>/<period>/more/index.html (page-2.html, ...)
                                            pull requests of the repositories past the card limit

Page weight (planned in `gitbrag.pages`): a report page shows at most `REPORT_ROW_BUDGET` rows, shared
fairly between repositories (each gets the same cap, small ones all their rows), and
`REPO_CARD_LIMIT` repository cards; the rest of a card's rows are on the repository's
own pages, and the repositories past the card limit (a compact table on the report
page) have their pull requests on shared "more repositories" pages, at most
`REPO_PAGE_ROWS` rows a page. So a page stays well under 300 KB however prolific the
user, the number of files stays proportional to the pull requests (not one folder per
small repository), every pull request is reachable by following links, and every number
on the page is still the report's.

Every file is written atomically (temporary file, fsync, rename), so a reader, or a refresh
killed at any moment, sees either the old or the new version of a file, never half of one;
and through `gitbrag.safepath`, which follows no symbolic link below the site root, so
nothing is ever written, read, or deleted outside the site.

Unchanged work costs little: a file that already holds the bytes rendered for it is left
alone (no temporary file, fsync or rename), and pages carry their generation day, not the
time, so an unchanged user's pages are byte-identical across a day's refreshes; only
report.json and the tiny generated.json (the exact times) change every refresh.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from pydantic import ValidationError

import gitbrag
from gitbrag import charts, feeds
from gitbrag.filters import FILTERS, finalize, iso, safe_url
from gitbrag.models import PERIOD_LABELS, PERIODS, Period, Report, ReportPR
from gitbrag.pages import (
    REPO_PAGE_ROWS,
    PagePlan,
    RepoGroup,
    RepoView,
    capped_files_note,
    chunks,
    hidden_notice,
    page_file,
    plan_page,
    private_work_line,
    summary_sentence,
)
from gitbrag.safepath import SiteRoot, UnsafePathError

log = logging.getLogger(__name__)

# GitHub's own login rule; anything else could climb out of site/ ("..", "/", "\").
LOGIN_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
ASSETS = ("style.css", "site.js")
# Page weight (see the module docstring): about 330 bytes of HTML per pull-request row.
DEFAULT_STALE_AFTER_SECONDS = 86400
# A temporary file this old belongs to no live writer (a write takes milliseconds).
TEMP_MAX_AGE_SECONDS = 600


# --- atomic writes -----------------------------------------------------------------


def atomic_write(path: Path, data: bytes | str) -> None:
    """Replace `path` with `data` so that nobody ever observes a partial file.

    `path`'s folder is taken as the caller names it (made if missing); the file itself is
    never followed: a link there is replaced (see `gitbrag.safepath.SiteRoot.write`). The
    publisher itself writes through its site root, which follows no link below the root.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    SiteRoot(path.parent).write(path.name, payload)


def sweep_temp_files(site_dir: Path, older_than_seconds: float = TEMP_MAX_AGE_SECONDS) -> int:
    """Delete temporary files of writers that died before their rename (kill -9, power
    loss). Only old ones: a younger one may belong to a writer still at work. Links are
    not followed, so nothing outside `site_dir` is ever swept."""
    return SiteRoot(site_dir).sweep_temp_files(older_than_seconds)


# --- templates ---------------------------------------------------------------------


def default_template_dirs() -> list[Path]:
    """Packaged templates: inside the wheel (force-included), else the repo's `templates/`."""
    package = Path(gitbrag.__file__).resolve().parent
    candidates = [package / "templates", package.parent / "templates"]
    return [d for d in candidates if d.is_dir()]


def _validated_login(login: str) -> str:
    if not LOGIN_RE.fullmatch(login):
        raise ValueError(f"not a valid GitHub login: {login!r}")
    return login.lower()


def _absolute_base(url: str | None) -> str | None:
    """A configured public URL as a prefix ending in "/", or None when unset or not http(s)."""
    checked = safe_url(url)
    return checked.rstrip("/") + "/" if checked else None


# --- the publisher ----------------------------------------------------------------------


@dataclass(frozen=True)
class IndexEntry:
    """One tracked user as listed on the site's front page."""

    login: str
    name: str | None
    avatar_url: str | None
    total_prs: int  # over the past year
    merged_count: int
    generated_at: datetime

    @classmethod
    def from_report(cls, report: Report) -> IndexEntry:
        return cls(
            login=report.username,
            name=report.profile.name,
            avatar_url=report.profile.avatar_url,
            total_prs=report.total_prs,
            merged_count=report.merged_count,
            generated_at=report.generated_at,
        )

    @property
    def slug(self) -> str:
        """The user's folder under site/."""
        return self.login.lower()


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
    ):
        self.site_dir = Path(site_dir)
        # Resolved once: the root may be a link; below it, nothing is followed (gitbrag.safepath).
        self._site = SiteRoot(self.site_dir)
        self.rewrite_unchanged = rewrite_unchanged
        self.files_written = 0
        self.files_unchanged = 0
        self.search_path = ([Path(templates_dir)] if templates_dir else []) + default_template_dirs()
        if not self.search_path:
            raise FileNotFoundError("gitbrag templates not found (neither packaged nor in the repository)")
        self.base_url = _absolute_base(base_url)
        hook = safe_url(hook_public_url)
        self.hook_public_url = hook.rstrip("/") if hook else None
        self.env = Environment(
            loader=FileSystemLoader([str(d) for d in self.search_path]),
            autoescape=select_autoescape(["html", "xml"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            finalize=finalize,
        )
        self.env.filters.update(FILTERS)
        self._assets = {name: self._hashed_name(name) for name in ASSETS}
        # A pull request's row is the same on every page that lists it: rendered once per user.
        self._rows: dict[ReportPR, Markup] = {}
        self.env.globals.update(
            asset_path=lambda name: "assets/" + self._assets[name],
            stale_after_seconds=stale_after_seconds,
            language_bar=charts.language_bar,
            size_columns=charts.size_columns,
            color_class=charts.color_class,
            pr_row=self._pr_row,
            # What a report says of the pull requests it cannot list (see gitbrag.pages).
            hidden_notice=hidden_notice,
            private_work_line=private_work_line,
            capped_files_note=capped_files_note,
        )

    # --- public API --------------------------------------------------------------

    def publish_user(self, reports: dict[Period, Report], *, updating: bool = False) -> list[Path]:
        """Write a user's pages, report.json files, feed and generated.json; returns their
        paths, written or (already holding the same bytes) left as they were.

        `site/<login>/index.html` shows the 1-year report (or the first period given).
        """
        if not reports:
            raise ValueError("no reports to publish")
        usernames = {r.username.lower() for r in reports.values()}
        if len(usernames) != 1:
            raise ValueError("reports of several users passed to publish_user")
        login = _validated_login(next(iter(reports.values())).username)
        self._refuse_older(login, reports)
        periods = [p for p in PERIODS if p in reports]
        self._rows.clear()
        written: list[Path] = []
        for period in periods:
            written += self._publish_period(reports[period], updating=updating)
        written += self._write_report_pages(reports, updating)
        # The widest period has every merge the feed could list.
        written.append(self._write_feed(login, reports[periods[-1]]))
        written.append(self._write_freshness(login, reports))
        self._rows.clear()
        return written

    def _refuse_older(self, login: str, reports: dict[Period, Report]) -> None:
        """Fencing: a generation that lost its claim (paused past its lease, say) must not
        replace what a newer generation already published.

        Newer means a higher `generation` (each is one more than the one it found on the
        site), never a later `generated_at`: wall clocks jump, and a report written while
        the clock was a day ahead would otherwise freeze the page for a day, `--force`
        or not. Two generations that started from the same page carry the same number:
        the first to publish wins. Unnumbered reports (0: older files, direct callers)
        replace each other freely."""
        for period, report in reports.items():
            current = self.read_report(login, period)
            if current is None:
                continue
            if current.generation > report.generation or current.generation == report.generation > 0:
                raise SupersededError(
                    f"{login}/{period} generation {current.generation} is already published"
                    f" (this is {report.generation})"
                )
            if current.generated_at > report.generated_at:
                log.warning(
                    "replacing a report dated in the future (the clock was ahead when it was made)",
                    extra={"user": login, "report": period, "dated": current.generated_at.isoformat()},
                )

    def set_updating(self, login: str, updating: bool) -> bool:
        """Re-render a user's report pages with (or without) the "being updated" notice;
        False when nothing is published yet. Only the report pages carry the notice, so
        the rest (report.json, repository pages, feed) is left as it is."""
        reports = {p: r for p in PERIODS if (r := self.read_report(login, p)) is not None}
        if not reports:
            return False
        self._rows.clear()
        self._write_report_pages(reports, updating)
        self._rows.clear()
        return True

    def publish_index(self, entries: list[IndexEntry]) -> Path:
        """Write site/index.html listing `entries` by login, and the sitemap when the base URL is known."""
        for entry in entries:
            _validated_login(entry.login)
        ordered = sorted(entries, key=lambda e: e.login.lower())
        html = self._render("index.html", page="index.html", entries=ordered, title="Contribution reports")
        path = self._write(self.site_dir / "index.html", html)
        self._write_sitemap(ordered)
        return path

    def publish_static(self) -> None:
        """Write site/assets/ (content-hashed names), 404.html and robots.txt, and sweep what
        killed writers left behind."""
        self._site.sweep_temp_files(TEMP_MAX_AGE_SECONDS)
        for name, hashed in self._assets.items():
            self._write(self.site_dir / "assets" / hashed, self._asset_source(name).read_bytes())
        # Served for any missing URL, so relative links cannot work there: the stylesheet is
        # inlined and links are absolute (from the base URL, else from the server's root).
        css = Markup(self._asset_source("style.css").read_text(encoding="utf-8"))  # our own asset
        html = self._render("404.html", page="404.html", absolute=True, inline_css=css)
        self._write(self.site_dir / "404.html", html)
        sitemap_url = self.base_url + "sitemap.xml" if self.base_url else None
        self._write(self.site_dir / "robots.txt", feeds.robots_txt(sitemap_url))

    def published_logins(self) -> list[str]:
        """Users with a published 1-year report, from the site itself (the index's source
        when the store cannot be reached)."""
        if not self._site.root.is_dir():
            return []
        return sorted(
            d.name
            for d in self._site.root.iterdir()
            if LOGIN_RE.fullmatch(d.name) and self._site.is_file(f"{d.name}/1_year/report.json")
        )

    def read_report(self, login: str, period: Period) -> Report | None:
        """A published report.json, or None when missing or unreadable (e.g. an older format).

        One reached through a symbolic link is not the site's (it may be any file on the
        machine): it is ignored, and the next publish replaces the link."""
        if period not in PERIODS:
            raise ValueError(f"unknown period {period!r}")
        path = self.site_dir / _validated_login(login) / period / "report.json"
        try:
            return Report.model_validate_json(self._site.read_bytes(f"{login.lower()}/{period}/report.json"))
        except FileNotFoundError:
            return None
        except UnsafePathError as exc:
            log.warning(
                "ignoring a report not stored in the site itself",
                extra={"user": login.lower(), "report": period, "reason": exc.strerror},
            )
            return None
        except ValidationError as exc:
            log.warning("ignoring unreadable %s: %s", path, exc.error_count())
            return None

    # --- one user's files ----------------------------------------------------------

    def _publish_period(self, report: Report, *, updating: bool) -> list[Path]:
        """report.json and the repositories' own pages (before the report page links to them)."""
        folder = f"{report.username.lower()}/{report.period}/"
        json_text = report.model_dump_json(indent=2) + "\n"
        written = [self._write(self.site_dir / folder / "report.json", json_text)]
        plan = plan_page(report)
        for view in plan.own_pages:
            written += self._write_repo_pages(report, view, folder + view.folder)
        for number, groups in enumerate(plan.more_pages, start=1):
            written.append(self._write_more_page(report, groups, number, len(plan.more_pages), folder))
        for leftovers in ("repos", "more"):
            self._remove_unlisted(self.site_dir / folder / leftovers, set(written))
        return written

    def _write_report_pages(self, reports: dict[Period, Report], updating: bool) -> list[Path]:
        """One page per period, and the user's front page (the 1-year report, else the first)."""
        periods = [p for p in PERIODS if p in reports]
        login = reports[periods[0]].username.lower()
        plans = {p: plan_page(reports[p]) for p in periods}
        written = [
            self._write_report_page(reports[p], plans[p], periods, f"{login}/{p}/index.html", updating)
            for p in periods
        ]
        first = "1_year" if "1_year" in reports else periods[0]
        page = f"{login}/index.html"
        return [*written, self._write_report_page(reports[first], plans[first], periods, page, updating)]

    def _write_report_page(
        self, report: Report, plan: PagePlan, periods: list[Period], page: str, updating: bool
    ) -> Path:
        """Render one report page; `page` is either `<login>/<period>/index.html` or `<login>/index.html`."""
        on_period_page = page.count("/") == 2
        prefix = "" if on_period_page else f"{report.period}/"
        tabs = [
            {"label": PERIOD_LABELS[p], "href": f"{'../' if on_period_page else ''}{p}/index.html",
             "current": p == report.period}
            for p in periods
        ]  # fmt: skip
        login = report.username.lower()
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
            feed_href="../feed.xml" if on_period_page else "feed.xml",
            freshness_href="../generated.json" if on_period_page else "generated.json",
            period_label=label,
            updating=updating,
            refresh_url=self._refresh_url(report),
            description=summary_sentence(report),
            title=f"{report.profile.name or report.username} (@{report.username}) · {label}",
        )
        return self._write(self.site_dir / page, html)

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

    def _write_feed(self, login: str, report: Report) -> Path:
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

    def _write_freshness(self, login: str, reports: dict[Period, Report]) -> Path:
        """`<login>/generated.json`: each published period's exact generation time, for the
        freshness script. The pages show only the day, so that they stay byte-identical
        across a day's refreshes; this small file is the one rewritten instead (report.json
        has the time too, but is up to megabytes, too heavy to fetch for a label). Periods
        not being published keep the time of the report on the site."""
        times = {}
        for period in PERIODS:
            report = reports.get(period) or self.read_report(login, period)
            if report is not None:
                times[period] = iso(report.generated_at)
        return self._write(self.site_dir / login / "generated.json", json.dumps(times, indent=1) + "\n")

    def _refresh_url(self, report: Report) -> str | None:
        if not self.hook_public_url:
            return None
        return f"{self.hook_public_url}/refresh/{quote(report.username)}?period={report.period}"

    def _remove_unlisted(self, folder: Path, keep: set[Path]) -> None:
        """Drop repository pages an earlier generation wrote and this one did not (the
        repository left the period, or now fits on the report page). Links are removed
        themselves, never followed (see gitbrag.safepath)."""
        kept = {PurePosixPath(p.relative_to(self.site_dir).as_posix()) for p in keep}
        self._site.prune(folder.relative_to(self.site_dir).as_posix(), kept)

    # --- site-wide files -------------------------------------------------------------

    def _write_sitemap(self, entries: list[IndexEntry]) -> None:
        path = self.site_dir / "sitemap.xml"
        if not self.base_url:
            self._site.unlink("sitemap.xml")  # a sitemap of another address would mislead crawlers
            return
        self._write(path, feeds.sitemap(self._sitemap_pages(entries)))

    def _sitemap_pages(self, entries: list[IndexEntry]) -> Iterator[tuple[str, datetime]]:
        assert self.base_url is not None
        newest = max((e.generated_at for e in entries), default=datetime.now(UTC))
        yield self.base_url, newest
        for entry in entries:
            yield f"{self.base_url}{entry.slug}/", entry.generated_at
            for period in PERIODS[1:]:
                if self._site.is_file(f"{entry.slug}/{period}/index.html"):
                    yield f"{self.base_url}{entry.slug}/{period}/", entry.generated_at

    # --- rendering ---------------------------------------------------------------

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
        return self.env.get_template(template).render(
            root=root, canonical=self._absolute(canonical_path), **context
        )

    def _pr_row(self, pr: ReportPR) -> Markup:
        row = self._rows.get(pr)
        if row is None:
            macro = self.env.get_template("components/pr_table.html").module.row_markup  # type: ignore[attr-defined]
            row = self._rows[pr] = Markup(macro(pr))
        return row

    def _absolute(self, path: str) -> str | None:
        return self.base_url + path if self.base_url else None

    def _write(self, path: Path, data: bytes | str) -> Path:
        """Write a file below the site root (`path` is under `site_dir`), following no link,
        unless it already holds these bytes (see `rewrite_unchanged`): a refresh that
        changed nothing on a page then costs no fsync, no rename and no disk write."""
        payload = data.encode("utf-8") if isinstance(data, str) else data
        relative = path.relative_to(self.site_dir).as_posix()
        if self.rewrite_unchanged:
            self._site.write(relative, payload)
            changed = True
        else:
            changed = self._site.write_if_changed(relative, payload)
        if changed:
            self.files_written += 1
        else:
            self.files_unchanged += 1
        return path

    # --- assets ------------------------------------------------------------------

    def _asset_source(self, name: str) -> Path:
        for directory in self.search_path:
            candidate = directory / "assets" / name
            if candidate.is_file():
                return candidate
        raise FileNotFoundError(f"template asset {name!r} not found in {self.search_path}")

    def _hashed_name(self, name: str) -> str:
        digest = hashlib.sha256(self._asset_source(name).read_bytes()).hexdigest()[:10]
        stem, dot, ext = name.rpartition(".")
        return f"{stem}.{digest}{dot}{ext}"
