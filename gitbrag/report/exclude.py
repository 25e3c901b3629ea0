"""Repositories the operator leaves out of the reports (`GITBRAG_EXCLUDE`), and languages left
out of the language charts (`GITBRAG_EXCLUDE_LANGUAGES`).

An exclusion is `owner/repo`, a glob of that shape (`owner/*`, `*/dotfiles`, `octo-org/test-?`),
or either for one user only (`login:owner/repo`). Names are compared as GitHub compares them,
ignoring case. The collection keeps the excluded work, so a changed setting needs no new
collection: each user's next refresh (an incremental one; `--force` for all at once) builds
the reports from what is kept. The report builder leaves it out of every number, list, chart
and page, as it does private work, and counts it in `Report.excluded_by_operator`.

Each entry is checked when the settings are loaded: a pattern that is not owner/repo-shaped
(`dotfiles`, `a/b/c`, `https://github.com/a/b`) could never match and would silently publish
what the operator meant to hide.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache

from gitbrag.models import LOGIN_RE, Login
from gitbrag.report.languages import EXTENSIONS, FILENAMES

# One side of owner/repo: the characters GitHub allows in owners and repositories, and glob
# characters (`*`, `?`, `[...]`, `[!...]`).
_SIDE = r"[A-Za-z0-9._*?\[\]!-]+"
_PATTERN_RE = re.compile(rf"^{_SIDE}/{_SIDE}$")
EXCLUDE_SYNTAX = "owner/repo, owner/*, a glob such as */dotfiles, or login:owner/repo"


@dataclass(frozen=True)
class Exclusion:
    """One `GITBRAG_EXCLUDE` entry: a lower-cased glob over `owner/repo`, for one user or all."""

    pattern: str
    login: str | None = None  # lower-cased; None: every user

    def applies_to(self, login: str) -> bool:
        return self.login is None or self.login == Login(login)


def parse_exclusion(entry: str) -> Exclusion:
    """An entry parsed, or `ValueError` saying what is accepted."""
    login, sep, pattern = entry.rpartition(":")
    if sep and not LOGIN_RE.fullmatch(login):
        raise ValueError(f"{entry[:80]!r}: what comes before ':' must be a GitHub username")
    if not _PATTERN_RE.fullmatch(pattern) or pattern.count("[") != pattern.count("]"):
        raise ValueError(f"{entry[:80]!r} is not owner/repo-shaped: expected {EXCLUDE_SYNTAX}")
    return Exclusion(pattern.lower(), Login(login) if sep else None)


@lru_cache(maxsize=1024)
def exclusions_for(entries: tuple[str, ...], login: str) -> tuple[str, ...]:
    """The patterns of `entries` that apply to `login` (cached: every report of a pass asks)."""
    rules = (parse_exclusion(e) for e in entries)
    return tuple(dict.fromkeys(r.pattern for r in rules if r.applies_to(login)))


def is_excluded(repo: str, patterns: Iterable[str]) -> bool:
    """Whether `repo` (`owner/name`, any case) matches one of the lower-cased `patterns`."""
    name = repo.lower()
    return any(fnmatchcase(name, pattern) for pattern in patterns)


# --- languages ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def known_languages() -> dict[str, str]:
    """Every language name a report can show, by its lower-cased spelling."""
    return {name.lower(): name for name in (*EXTENSIONS.values(), *FILENAMES.values())}


def check_language(name: str) -> str:
    """A `GITBRAG_EXCLUDE_LANGUAGES` entry as a report spells it ("json" -> "JSON"), or
    `ValueError`: a name no report shows would silently leave the chart as it was."""
    found = known_languages().get(name.strip().lower())
    if found is None:
        raise ValueError(f"{name[:60]!r} is not a language the reports show (such as JSON or Markdown)")
    return found
