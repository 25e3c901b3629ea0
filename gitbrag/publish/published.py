"""What is already on the site, read back: which users and periods are published, a
user's generated.json, and the stamps and reports of their report.json files.

The site is a source of truth of its own: the publisher reads it before writing (to keep an
unchanged report as it is, to refuse to replace a newer generation), and a refresh reads it
when the store has lost or cannot give what was published. Everything is read through
`SiteRoot`, so a file reached through a symbolic link is not the site's (it may be any file
on the machine): it reads as missing, with a warning, and the next publish replaces the link.
A stamp (`Stamp`) is read instead of a whole report wherever it is enough: a prolific user's
report.json is megabytes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from gitbrag.models import Login, Period, Report, is_login
from gitbrag.periods import is_period, ordered
from gitbrag.publish.freshness import FILE_NAME as FRESHNESS_FILE
from gitbrag.publish.freshness import Freshness, Stamp
from gitbrag.publish.safepath import SiteRoot, UnsafePathError
from gitbrag.report.teams import SUMMARY_VERSION, MemberSummaries

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
SUMMARY_FILE = "team-summary.json"  # <login>/team-summary.json: what team pages read of a member


@dataclass(frozen=True)
class PublishedSite:
    """The published files below `site` (`site_dir` is the folder as configured, for messages);
    `demo`: whether the reader is a `--demo` run, whose users are the demo's pages only."""

    site: SiteRoot
    site_dir: Path
    demo: bool = False

    def logins(self) -> list[Login]:
        """Users with a published 1-year report of the reader's kind, from the site itself (the
        index's source when the store cannot be reached, and the users a store that lost its
        state tracks again). A demo's pages (`Report.demo`) are never a real run's users: their
        made-up logins may be real people on GitHub; nor are a real site's pages a demo's."""
        if not self.site.root.is_dir():
            return []
        return sorted(
            Login(d.name)
            for d in self.site.root.iterdir()
            if is_login(d.name)
            and self.site.is_file(f"{d.name}/1_year/report.json")
            and self._ours(Login(d.name))
        )

    def has(self, login: Login) -> bool:
        """Whether `login` is among `logins`, without listing the site."""
        return self.site.is_file(f"{login}/1_year/report.json") and self._ours(login)

    def _ours(self, login: Login) -> bool:
        """Whether the user's 1-year report was published by a run of the reader's kind (an
        unreadable one counts as a real run's: it was never marked as the demo's)."""
        stamp = self.stamp(login, "1_year")
        return (stamp.demo if stamp else False) == self.demo

    def periods(self, login: Login) -> list[Period]:
        """The periods of `login` on the site (a folder with its report.json), in tab order.

        Calendar years come and go with a user's activity and `GITBRAG_PERIODS`, so the site,
        not a fixed list, says which there are."""
        folder = self.site.root / login
        if not folder.is_dir():
            return []
        names = [d.name for d in folder.iterdir() if is_period(d.name)]
        return ordered(p for p in names if self.site.is_file(f"{login}/{p}/report.json"))

    def freshness(self, login: Login) -> Freshness | None:
        """The user's generated.json (see `gitbrag.publish.freshness`), or None when it is missing,
        unreadable or not the site's own file (reached through a link)."""
        relative = f"{login}/{FRESHNESS_FILE}"
        try:
            data = self.site.read_bytes(relative)
        except FileNotFoundError:
            return None
        except (UnsafePathError, OSError) as exc:
            log.warning(
                "ignoring a freshness file not stored in the site itself",
                extra={"user": login, "reason": str(exc)},
            )
            return None
        freshness = Freshness.from_json(data)
        if freshness is None:
            log.warning("ignoring an unreadable freshness file", extra={"user": login})
        return freshness

    def freshness_from_reports(self, login: Login) -> Freshness | None:
        """generated.json as the published report.json files tell it (a site written before
        that file, or one whose file was lost); None when no report is published."""
        read = {p: self.stamp(login, p) for p in self.periods(login)}
        stamps = {p: s for p, s in read.items() if s is not None}
        if not stamps:
            return None
        checked = {p: s.generated_at for p, s in stamps.items()}
        return Freshness(checked, generation=max(s.generation for s in stamps.values()))

    def generation(self, login: Login) -> int:
        """The newest generation published for the user (0 when none): the one a new
        generation must exceed. Read from the stamps and generated.json, never from whole
        reports (megabytes for a prolific user)."""
        freshness = self.freshness(login)
        stamps = (self.stamp(login, p) for p in self.periods(login))
        return max([freshness.generation if freshness else 0, *(s.generation for s in stamps if s)])

    def checked_at(self, login: Login, period: Period) -> datetime | None:
        """When the user's `period` report was last generated, changed or not (its report.json
        keeps the time of the last change): what the report's age is counted from."""
        freshness = self.freshness(login)
        if freshness is not None and period in freshness.checked:
            return freshness.checked[period]
        return self.stamp_time(login, period)

    def stamp_time(self, login: Login, period: Period) -> datetime | None:
        """When the published report.json was generated (the last change of its content)."""
        stamp = self.stamp(login, period)
        return stamp.generated_at if stamp else None

    def stamp(self, login: Login, period: Period) -> Stamp | None:
        """A published report.json's window, time and generation (`Stamp`): None when missing,
        unreadable or behind a link, as `report` answers."""
        return self._read(Stamp, login, period, quiet=True)

    def team_summaries(self, login: Login) -> MemberSummaries | None:
        """The user's `<login>/team-summary.json` (what team pages add up, `gitbrag.report.teams`),
        or None when missing, unreadable, of another version or behind a link."""
        try:
            summaries = MemberSummaries.model_validate_json(self.site.read_bytes(f"{login}/{SUMMARY_FILE}"))
        except FileNotFoundError:
            return None
        except (OSError, ValidationError) as exc:  # UnsafePathError is an OSError
            log.warning("ignoring an unreadable team summary", extra={"user": login, "reason": str(exc)})
            return None
        return summaries if summaries.version == SUMMARY_VERSION else None

    def report(self, login: Login, period: Period) -> Report | None:
        """A published report.json, or None when missing or unreadable (e.g. an older format)."""
        if not is_period(period):
            raise ValueError(f"unknown period {period!r}")
        return self._read(Report, login, period)

    def _read(self, model: type[M], login: Login, period: Period, *, quiet: bool = False) -> M | None:
        """`<login>/<period>/report.json` as `model`; None when missing, behind a link (not the
        site's own file: the next publish replaces it) or unreadable (said unless `quiet`)."""
        relative = f"{login}/{period}/report.json"
        try:
            return model.model_validate_json(self.site.read_bytes(relative))
        except FileNotFoundError:
            return None
        except UnsafePathError as exc:
            log.warning(
                "ignoring a report not stored in the site itself",
                extra={"user": login, "report": period, "reason": exc.strerror},
            )
            return None
        except ValidationError as exc:
            if not quiet:
                log.warning("ignoring unreadable %s: %s", self.site_dir / relative, exc.error_count())
            return None
