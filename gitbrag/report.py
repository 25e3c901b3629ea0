"""Turn one user's `Collection` into a `Report` per period: pure, no I/O, no clock.

Everything time-dependent (`until`, `generated_at`) is a parameter, so the same
collection always gives the same report and tests need no frozen clock.

The rules, which deliberately differ from the reference tool where it inflates numbers:

* A pull request belongs to a period when it was *created or merged* inside the
  window ``[period_since(period, until), until]``; being merely updated (a comment,
  an edit) does not count.
* Closed-unmerged pull requests are left out, as the reference tool does.
* A repository's star increase is counted once per repository, not once per pull
  request, and only from star history that reaches back to the window's start.

What becomes of pull requests in private repositories is the collection's own
`private_mode`, so a report can never show more than its collection was gathered for:

* ``"full"``: they count like any other (a site for the organisation itself).
* ``"off"``: they are dropped, even though the collector searches ``is:public`` only:
  a collection that carries one anyway (a changed search, a repository made private
  later) must still not publish it.
* ``"counts"``: they are left out of every public number and list, and summed up in
  `Report.private_work`, which has nothing that names or links them.

A pull request is private when its repository's entry says so; the lookup ignores
case, so "Org/Repo" and "org/repo" cannot slip a private pull request past the check.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from gitbrag.languages import language_for_path
from gitbrag.models import (
    PERIODS,
    SIZE_CATEGORIES,
    Collection,
    LanguageShare,
    Period,
    PrivateWork,
    PullRequest,
    Report,
    ReportPR,
    ReportRepository,
    SizeCategory,
    period_since,
)

TOP_LANGUAGES = 10

# Upper bounds (inclusive) of changed lines per size category; above the last is "Massive".
SIZE_LIMITS: tuple[tuple[int, SizeCategory], ...] = (
    (1, "One Liner"),
    (100, "Small"),
    (500, "Medium"),
    (1500, "Large"),
    (5000, "Huge"),
)


def size_category(changed_lines: int) -> SizeCategory:
    """The size label of a pull request that changed `changed_lines` (additions + deletions)."""
    for limit, category in SIZE_LIMITS:
        if changed_lines <= limit:
            return category
    return "Massive"


@dataclass(frozen=True)
class _Entry:
    """Facts about one pull request that do not depend on the period."""

    pr: PullRequest
    row: ReportPR
    language_lines: dict[str, int]


@dataclass(frozen=True)
class _Prepared:
    """A collection digested once, so building all four periods shares the work.

    Per-file language lookups, model construction and sorting of star timestamps
    are the expensive parts; each is done once per collection, not once per period.
    """

    collection: Collection
    entries: list[_Entry]  # what the public numbers are made of
    private: list[PullRequest]  # with private_mode "counts": summed in `private_work`, nothing else
    stars_oldest_first: dict[str, list[datetime]]


def build_report(
    collection: Collection, period: Period, *, until: datetime, generated_at: datetime
) -> Report:
    """The report of `collection` for `period`, with the window ending at `until`."""
    return _build(_prepare(collection), period, until=until, generated_at=generated_at)


def build_reports(collection: Collection, *, until: datetime, generated_at: datetime) -> dict[Period, Report]:
    """Reports for every period in `PERIODS`, all from the same collection."""
    prepared = _prepare(collection)
    return {period: _build(prepared, period, until=until, generated_at=generated_at) for period in PERIODS}


# --- per pull request ------------------------------------------------------------


def _prepare(collection: Collection) -> _Prepared:
    latest: dict[tuple[str, int], PullRequest] = {}
    for pr in collection.pull_requests:
        key = (pr.repo.lower(), pr.number)
        known = latest.get(key)
        # A collection split into overlapping windows may hold a PR twice: keep the freshest.
        if known is None or pr.updated_at > known.updated_at:
            latest[key] = pr
    reportable = [pr for pr in latest.values() if not _is_closed_unmerged(pr)]
    public, private = _split_private(collection, reportable)
    return _Prepared(
        collection=collection,
        entries=[_Entry(pr, _row(pr), _language_lines(pr)) for pr in public],
        private=private,
        stars_oldest_first={name: sorted(h.starred_at) for name, h in collection.stars.items()},
    )


def _split_private(
    collection: Collection, prs: list[PullRequest]
) -> tuple[list[PullRequest], list[PullRequest]]:
    """(the PRs the public numbers are made of, the PRs only `private_work` counts), by mode."""
    if collection.private_mode == "full":
        return prs, []
    private_repos = _private_repositories(collection)
    public = [pr for pr in prs if pr.repo.lower() not in private_repos]
    if collection.private_mode == "off":
        return public, []
    return public, [pr for pr in prs if pr.repo.lower() in private_repos]


def _private_repositories(collection: Collection) -> set[str]:
    """Lower-cased names of the collection's private repositories (a PR whose repository
    is missing from the collection counts as public: GitHub gave no reason to hide it)."""
    return {
        key.lower()
        for name, info in collection.repositories.items()
        if info.private
        for key in (name, info.name_with_owner)
    }


def _is_merged(pr: PullRequest) -> bool:
    return pr.state == "MERGED" or pr.merged_at is not None


def _is_closed_unmerged(pr: PullRequest) -> bool:
    return pr.state == "CLOSED" and pr.merged_at is None


def _row(pr: PullRequest) -> ReportPR:
    return ReportPR(
        number=pr.number,
        title=pr.title,
        url=pr.url,
        state="merged" if _is_merged(pr) else "open",
        created_at=pr.created_at,
        merged_at=pr.merged_at,
        additions=pr.additions,
        deletions=pr.deletions,
        changed_files=pr.changed_files,
        size=size_category(pr.additions + pr.deletions),
    )


def _language_lines(pr: PullRequest) -> dict[str, int]:
    lines: dict[str, int] = {}
    for changed in pr.files:
        language = language_for_path(changed.path)
        if language is not None:
            lines[language] = lines.get(language, 0) + changed.additions + changed.deletions
    return lines


def _in_window(pr: PullRequest, since: datetime, until: datetime) -> bool:
    if since <= pr.created_at <= until:
        return True
    return pr.merged_at is not None and since <= pr.merged_at <= until


# --- per period --------------------------------------------------------------------


def _build(
    prepared: _Prepared,
    period: Period,
    *,
    until: datetime,
    generated_at: datetime,
) -> Report:
    collection = prepared.collection
    since = period_since(period, until)
    included = [e for e in prepared.entries if _in_window(e.pr, since, until)]
    by_repo: dict[str, list[_Entry]] = defaultdict(list)
    for entry in included:
        by_repo[entry.pr.repo].append(entry)
    repositories = _sort_repositories(
        [_repository(prepared, name, group, period, since, until) for name, group in by_repo.items()],
        period,
    )
    rows = [e.row for e in included]
    return Report(
        username=collection.login,
        period=period,
        since=since,
        until=until,
        generated_at=generated_at,
        total_prs=len(rows),
        merged_count=sum(1 for r in rows if r.state == "merged"),
        open_count=sum(1 for r in rows if r.state == "open"),
        repo_count=len(repositories),
        total_additions=sum(r.additions for r in rows),
        total_deletions=sum(r.deletions for r in rows),
        total_changed_files=sum(r.changed_files for r in rows),
        total_star_increase=sum(r.star_increase for r in repositories),
        languages=_languages(e.language_lines for e in included),
        size_distribution=_size_distribution(rows),
        roles=dict(Counter(r.role for r in repositories)),
        repositories=repositories,
        profile=collection.profile,
        incomplete_results=collection.incomplete_results,
        # GitHub does not say when hidden pull requests were made: every period tells of them all.
        hidden_by_github=list(collection.hidden_by_github),
        private_work=_private_work(prepared, since, until),
        prs_with_capped_files=sum(1 for e in included if e.pr.changed_files > len(e.pr.files)),
    )


def _private_work(prepared: _Prepared, since: datetime, until: datetime) -> PrivateWork | None:
    """The period's private pull requests as numbers, under the public window rules; None
    unless the mode is "counts" (with "off" and "full" there is nothing to tell apart)."""
    if prepared.collection.private_mode != "counts":
        return None
    included = [pr for pr in prepared.private if _in_window(pr, since, until)]
    return PrivateWork(
        total_prs=len(included),
        merged_count=sum(1 for pr in included if _is_merged(pr)),
        open_count=sum(1 for pr in included if not _is_merged(pr)),
        repo_count=len({pr.repo.lower() for pr in included}),
        total_additions=sum(pr.additions for pr in included),
        total_deletions=sum(pr.deletions for pr in included),
    )


def _repository(
    prepared: _Prepared,
    name: str,
    group: list[_Entry],
    period: Period,
    since: datetime,
    until: datetime,
) -> ReportRepository:
    newest_first = sorted(group, key=lambda e: (e.pr.created_at, e.pr.number), reverse=True)
    info = prepared.collection.repositories.get(name)
    stars = info.stargazer_count if info else 0
    rows = [e.row for e in newest_first]
    return ReportRepository(
        name=info.name_with_owner if info else name,
        url=info.url if info else _repo_url_from_pr(newest_first[0].pr),
        description=info.description if info else None,
        stars=stars,
        star_increase=stars if period == "all_time" else _star_increase(prepared, name, since, until),
        # The user's relationship to the repository as of their most recent PR there.
        role=newest_first[0].pr.author_association,
        pr_count=len(rows),
        merged_count=sum(1 for r in rows if r.state == "merged"),
        open_count=sum(1 for r in rows if r.state == "open"),
        prs=rows,
    )


def _repo_url_from_pr(pr: PullRequest) -> str:
    """Fallback when the collection lacks the repository: PR URLs are `<repo url>/pull/<n>`."""
    head, sep, _ = pr.url.rpartition("/pull/")
    return head if sep else f"https://github.com/{pr.repo}"


def _star_increase(prepared: _Prepared, repo: str, since: datetime, until: datetime) -> int:
    """Stars gained in the window, or 0 when the history does not reach back that far.

    Undercounting is the honest failure: counting a partial history would present a
    truncated number as the whole.
    """
    history = prepared.collection.stars.get(repo)
    if history is None or history.since > since:
        return 0
    times = prepared.stars_oldest_first[repo]
    return bisect_right(times, until) - bisect_left(times, since)


def _sort_repositories(repositories: list[ReportRepository], period: Period) -> list[ReportRepository]:
    if period == "all_time":
        return sorted(repositories, key=lambda r: (-r.pr_count, r.name))
    return sorted(repositories, key=lambda r: (-r.star_increase, r.name))


def _size_distribution(rows: list[ReportPR]) -> dict[str, int]:
    counts = Counter(r.size for r in rows)
    return {category: counts.get(category, 0) for category in SIZE_CATEGORIES}


def _languages(per_pr: Iterable[dict[str, int]]) -> list[LanguageShare]:
    """Top languages by changed lines; shares are of all lines in files of a known language."""
    totals: dict[str, int] = {}
    for lines in per_pr:
        for language, n in lines.items():
            totals[language] = totals.get(language, 0) + n
    all_lines = sum(totals.values())
    if all_lines == 0:
        return []
    ranked = sorted(((n, lang) for lang, n in totals.items() if n > 0), key=lambda t: (-t[0], t[1]))
    return [
        LanguageShare(language=lang, lines=n, percentage=round(100 * n / all_lines, 1))
        for n, lang in ranked[:TOP_LANGUAGES]
    ]
