"""Render reports into the static site and write every file atomically.

Site layout (all links between pages are relative, so `site/` works from any path
on any web server, and opened straight from disk)::

    site/index.html                         tracked users
    site/404.html
    site/assets/style.<hash>.css            content-hashed, so a new look never mixes with old pages
    site/<login>/index.html                 the 1-year report
    site/<login>/<period>/index.html        one page per period
    site/<login>/<period>/report.json       `Report.model_dump_json()`

Every file goes through `atomic_write`, so a reader, or a refresh killed at any
moment, sees either the old or the new version of a file, never half of one.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from pydantic import ValidationError

import gitbrag
from gitbrag.models import PERIOD_LABELS, PERIODS, Period, Report

log = logging.getLogger(__name__)

# GitHub's own login rule; anything else could climb out of site/ ("..", "/", "\").
LOGIN_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
ASSETS = ("style.css",)
# A temporary file this old belongs to no live writer (a write takes milliseconds).
TEMP_MAX_AGE_SECONDS = 600
FILE_MODE = 0o644


# --- atomic writes -----------------------------------------------------------------


def atomic_write(path: Path, data: bytes | str) -> None:
    """Replace `path` with `data` so that nobody ever observes a partial file.

    The bytes go to a hidden temporary file in the same directory (so the final
    rename stays on one filesystem and is atomic), are fsynced, then renamed over
    the target; the directory is fsynced so the rename itself survives a crash.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_name: str | None = None
    try:
        with tempfile.NamedTemporaryFile(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
        ) as tmp:
            tmp_name = tmp.name
            tmp.write(payload)
            tmp.flush()
            os.fchmod(tmp.fileno(), FILE_MODE)
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        if tmp_name is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
        raise
    _fsync_dir(path.parent)


def sweep_temp_files(site_dir: Path, older_than_seconds: float = TEMP_MAX_AGE_SECONDS) -> int:
    """Delete temporary files of writers that died before their rename (kill -9, power
    loss). Only old ones: a younger one may belong to a writer still at work."""
    cutoff = time.time() - older_than_seconds
    removed = 0
    for path in site_dir.rglob(".*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
    return removed


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # some platforms cannot open directories; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --- template filters ----------------------------------------------------------------

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
ROLE_LABELS = {
    "OWNER": "Owner",
    "MEMBER": "Member",
    "COLLABORATOR": "Collaborator",
    "CONTRIBUTOR": "Contributor",
    "FIRST_TIME_CONTRIBUTOR": "First-time contributor",
    "FIRST_TIMER": "First-timer",
    "MANNEQUIN": "Mannequin",
    "NONE": "Outside contributor",
}
# A bare host as people type it into GitHub's "website" field: "example.com/blog".
_BARE_HOST_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.[A-Za-z]{2,}(?::\d+)?(?:/\S*)?$")


def format_date(value: datetime | None) -> str:
    """12 Mar 2025 (no locale involved, so pages do not depend on the host's settings)."""
    if value is None:
        return ""
    value = _utc(value)
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def format_datetime(value: datetime) -> str:
    """12 Mar 2025, 14:05 UTC."""
    value = _utc(value)
    return f"{format_date(value)}, {value:%H:%M} UTC"


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo is not None else value


def format_number(value: int | float) -> str:
    return f"{value:,}"


def safe_url(value: str | None) -> str | None:
    """`value` if it is an absolute http(s) URL, else None: keeps `javascript:` and the like out of hrefs."""
    if not value:
        return None
    url = value.strip()
    if any(ch.isspace() or ord(ch) < 0x20 for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def blog_url(value: str | None) -> str | None:
    """A profile's website as a safe link; GitHub lets people omit the scheme, so add https."""
    if value and _BARE_HOST_RE.fullmatch(value.strip()):
        return safe_url("https://" + value.strip())
    return safe_url(value)


def url_host(value: str | None) -> str:
    """The host of a URL, for link text such as a generic social account."""
    return urlsplit(value).netloc if value else ""


def role_label(role: str) -> str:
    return ROLE_LABELS.get(role, role.replace("_", " ").capitalize())


def slug(value: str) -> str:
    """CSS-class-safe form of a fixed label ("One Liner" -> "one-liner")."""
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")


FILTERS: dict[str, Any] = {
    "date": format_date,
    "datetime": format_datetime,
    "number": format_number,
    "safe_url": safe_url,
    "blog_url": blog_url,
    "url_host": url_host,
    "role_label": role_label,
    "slug": slug,
}


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
    """

    def __init__(self, site_dir: Path, *, templates_dir: Path | None = None, base_url: str | None = None):
        self.site_dir = Path(site_dir)
        self.search_path = ([Path(templates_dir)] if templates_dir else []) + default_template_dirs()
        if not self.search_path:
            raise FileNotFoundError("gitbrag templates not found (neither packaged nor in the repository)")
        self.base_url = base_url.rstrip("/") + "/" if base_url else None
        self.env = Environment(
            loader=FileSystemLoader([str(d) for d in self.search_path]),
            autoescape=select_autoescape(["html", "xml"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.env.filters.update(FILTERS)
        self._assets = {name: self._hashed_name(name) for name in ASSETS}
        self.env.globals["asset_path"] = lambda name: "assets/" + self._assets[name]

    # --- public API --------------------------------------------------------------

    def publish_user(self, reports: dict[Period, Report], *, updating: bool = False) -> list[Path]:
        """Write a user's pages and report.json files; returns the paths written.

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
        written: list[Path] = []
        for period in periods:
            report = reports[period]
            json_path = self._write(
                self.site_dir / login / period / "report.json", report.model_dump_json(indent=2) + "\n"
            )
            written += [
                json_path,
                self._write_report_page(report, periods, f"{login}/{period}/index.html", updating),
            ]
        front = reports["1_year"] if "1_year" in reports else reports[periods[0]]
        written.append(self._write_report_page(front, periods, f"{login}/index.html", updating))
        return written

    def _refuse_older(self, login: str, reports: dict[Period, Report]) -> None:
        """Fencing: a generation that lost its claim (paused past its lease, say) must not
        replace what a newer generation already published."""
        for period, report in reports.items():
            current = self.read_report(login, period)
            if current is not None and current.generated_at > report.generated_at:
                raise SupersededError(
                    f"{login}/{period} generated at {current.generated_at.isoformat()} is newer"
                )

    def set_updating(self, login: str, updating: bool) -> bool:
        """Re-render a user's published pages with (or without) the "being updated" notice;
        False when nothing is published yet."""
        reports = {p: r for p in PERIODS if (r := self.read_report(login, p)) is not None}
        if not reports:
            return False
        self.publish_user(reports, updating=updating)
        return True

    def publish_index(self, entries: list[IndexEntry]) -> Path:
        """Write site/index.html listing `entries` by login."""
        for entry in entries:
            _validated_login(entry.login)
        ordered = sorted(entries, key=lambda e: e.login.lower())
        html = self._render("index.html", page="index.html", entries=ordered, title="Contribution reports")
        return self._write(self.site_dir / "index.html", html)

    def publish_static(self) -> None:
        """Write site/assets/ (content-hashed names) and site/404.html, and sweep what
        killed writers left behind."""
        sweep_temp_files(self.site_dir)
        for name, hashed in self._assets.items():
            self._write(self.site_dir / "assets" / hashed, self._asset_source(name).read_bytes())
        # Served for any missing URL, so relative links cannot work there: use base_url when known.
        self._write(self.site_dir / "404.html", self._render("404.html", page="404.html", absolute=True))

    def read_report(self, login: str, period: Period) -> Report | None:
        """A published report.json, or None when missing or unreadable (e.g. an older format)."""
        if period not in PERIODS:
            raise ValueError(f"unknown period {period!r}")
        path = self.site_dir / _validated_login(login) / period / "report.json"
        try:
            return Report.model_validate_json(path.read_bytes())
        except FileNotFoundError:
            return None
        except ValidationError as exc:
            log.warning("ignoring unreadable %s: %s", path, exc.error_count())
            return None

    # --- rendering ---------------------------------------------------------------

    def _write_report_page(self, report: Report, periods: list[Period], page: str, updating: bool) -> Path:
        """Render one report page; `page` is either `<login>/<period>/index.html` or `<login>/index.html`."""
        on_period_page = page.count("/") == 2
        tab_prefix = "../" if on_period_page else ""
        tabs = [
            {
                "label": PERIOD_LABELS[p],
                "href": f"{tab_prefix}{p}/index.html",
                "current": p == report.period,
            }
            for p in periods
        ]
        label = PERIOD_LABELS[report.period]
        html = self._render(
            "report.html",
            page=page,
            report=report,
            tabs=tabs,
            json_href="report.json" if on_period_page else f"{report.period}/report.json",
            period_label=label,
            updating=updating,
            title=f"{report.profile.name or report.username} (@{report.username}) · {label}",
        )
        return self._write(self.site_dir / page, html)

    def _render(self, template: str, *, page: str, absolute: bool = False, **context: Any) -> str:
        """Render `template` for the page at `page` (a path relative to site/).

        Links are made relative to the page (`root` is "../" per level) unless
        `absolute`, for pages served at arbitrary URLs such as 404.html.
        """
        root = (self.base_url or "") if absolute else "../" * page.count("/")
        canonical = self.base_url + page.removesuffix("index.html") if self.base_url else None
        return self.env.get_template(template).render(root=root, canonical=canonical, **context)

    def _write(self, path: Path, data: bytes | str) -> Path:
        atomic_write(path, data)
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
