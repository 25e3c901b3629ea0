"""The Jinja environment pages are rendered with, and the digests that tell whether a page
rendered earlier would come out the same.

Templates are looked up first in the operator's folder (`GITBRAG_TEMPLATES_DIR`), then in
the packaged defaults, so an override may replace any single template or asset and inherit
the rest. Output is autoescaped and an undefined name is an error, so a template can neither
inject markup by accident nor show a blank where a number belongs.

Jinja is told not to check every template's mtime at every render (a fifteenth of an
unchanged pass's CPU): `Templates.digest` looks once per publish instead, and an edit found
then makes Jinja forget what it compiled.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

import gitbrag
from gitbrag.models import ReportPR
from gitbrag.periods import DEFAULT_TIMEZONE
from gitbrag.publish import charts
from gitbrag.publish.filters import FILTERS, finalize
from gitbrag.publish.pages import (
    capped_files_note,
    excluded_work_line,
    hidden_notice,
    private_work_line,
    stat_changes,
)
from gitbrag.publish.people import row_html
from gitbrag.publish.sparkline import sparkline
from gitbrag.report import timeline


def default_template_dirs() -> list[Path]:
    """Packaged templates: inside the wheel (force-included), else the repo's `templates/`."""
    package = Path(gitbrag.__file__).resolve().parent
    candidates = [package / "templates", package.parent / "templates"]
    return [d for d in candidates if d.is_dir()]


def search_path(templates_dir: Path | None) -> list[Path]:
    """Where templates and assets are looked up, the operator's folder first."""
    found = ([Path(templates_dir)] if templates_dir else []) + default_template_dirs()
    if not found:
        raise FileNotFoundError("gitbrag templates not found (neither packaged nor in the repository)")
    return found


@functools.cache
def code_digest() -> str:
    """The code pages are rendered with (every module of the package): an upgrade renders
    every page once, as its output may differ."""
    digest = hashlib.blake2b(digest_size=16)
    package = Path(gitbrag.__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _files_digest(search_path: Sequence[Path]) -> str:
    """The templates and assets as they are on disk now (name, size, change time): an
    operator's edit to GITBRAG_TEMPLATES_DIR counts at the next publish."""
    digest = hashlib.blake2b(digest_size=16)
    for directory in search_path:
        for path in sorted(directory.rglob("*")):
            with contextlib.suppress(OSError):
                info = path.stat()
                digest.update(repr((path.as_posix(), info.st_size, info.st_mtime_ns)).encode())
    return digest.hexdigest()


class Templates:
    """The templates of `search_path`, with gitbrag's filters and the helpers they call;
    `page_globals` adds what depends on the publisher (where the assets are, say)."""

    def __init__(self, search_path: Sequence[Path], page_globals: Mapping[str, Any]):
        self._search_path = list(search_path)
        self._env = Environment(
            loader=FileSystemLoader([str(d) for d in self._search_path]),
            autoescape=select_autoescape(["html", "xml"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            finalize=finalize,
            auto_reload=False,  # `digest` looks once per publish instead (module docstring)
        )
        self._seen = ""
        self._env.filters.update(FILTERS)
        # A pull request's row is the same on every page that lists it: rendered once per user,
        # its dates the days of the user's time zone (`forget_rows`).
        self._rows: dict[ReportPR, Markup] = {}
        self._zone = DEFAULT_TIMEZONE
        self._env.globals.update(
            language_bar=charts.language_bar,
            size_columns=charts.size_columns,
            timeline_chart=timeline.timeline_chart,
            point_label=timeline.point_label,
            timeline_scale=timeline.timeline_scale,
            timeline_labels=timeline.timeline_labels,
            changes=timeline.changes,
            color_class=charts.color_class,
            pr_row=self._pr_row,
            # What a report says of the pull requests it cannot list (see gitbrag.publish.pages).
            hidden_notice=hidden_notice,
            private_work_line=private_work_line,
            excluded_work_line=excluded_work_line,
            capped_files_note=capped_files_note,
            stat_changes=stat_changes,
            sparkline=sparkline,
            index_row=row_html,
            **page_globals,
        )

    def digest(self) -> str:
        """The templates' digest now; when it changed, Jinja forgets what it compiled, so an
        operator's edit is rendered from the next publish on."""
        digest = _files_digest(self._search_path)
        if digest != self._seen:
            if self._env.cache is not None:
                self._env.cache.clear()
            self._seen = digest
        return digest

    def render(self, template: str, **context: Any) -> str:
        return self._env.get_template(template).render(**context)

    def forget_rows(self, zone: str = DEFAULT_TIMEZONE) -> None:
        """Drop the rendered rows: they are kept for one user's pages only, so memory stays
        bounded and a template edited since is not served from an old row. The next rows show
        dates in `zone` (the next user's `Report.timezone`)."""
        self._rows.clear()
        self._zone = zone

    def _pr_row(self, pr: ReportPR) -> Markup:
        row = self._rows.get(pr)
        if row is None:
            macro = self._env.get_template("components/pr_table.html").module.row_markup  # type: ignore[attr-defined]
            row = self._rows[pr] = Markup(macro(pr, self._zone))
        return row
