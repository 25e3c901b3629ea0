"""Turn one user's `Collection` into a `Report` per period: pure, no I/O, no clock.

Everything time-dependent (`until`, `generated_at`) is a parameter, so the same
collection always gives the same report and tests need no frozen clock.

The rules, which deliberately differ from the reference tool where it inflates numbers:

* A pull request belongs to a period when it was *created or merged* inside its window
  (`gitbrag.periods`: both ends included; a calendar period's is fixed); being merely
  updated (a comment, an edit) does not count.
* Lines in generated and vendored files (`languages.is_generated`) count apart from the
  authored ones, which PR sizes and languages are judged on.
* Closed-unmerged pull requests are left out, as the reference tool does.
* A repository's star increase is counted once per repository, not once per pull
  request, and only from star history that reaches back to the window's start; a window
  older than the star histories (5 years) has its stars "not known" (None).
* Reviews count distinct pull requests reviewed in the window; the timeline and the previous
  period (`_over_time`) follow the same rules as the headline numbers.

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

Repositories the operator excludes (`GITBRAG_EXCLUDE`, `gitbrag.report.exclude`) are taken
out the same way, after the private ones: their pull requests and the reviews given there
count nowhere (numbers, lists, stars, languages, timeline, previous period, the years that
get a page), and `Report.excluded_by_operator` says how many there were, naming none.
Languages in `GITBRAG_EXCLUDE_LANGUAGES` are left out of the language chart (the shares
are of the other languages' lines).

Calendar periods, the calendar years with activity and the timeline's months and weeks begin
at midnight in the user's time zone (`ReportOptions.zone_for`); every timestamp stays UTC.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Literal

from gitbrag.models import (
    SIZE_CATEGORIES,
    ChangedFile,
    Collection,
    ExcludedWork,
    LanguageShare,
    Login,
    Period,
    PreviousPeriod,
    PrivateWork,
    PullRequest,
    Report,
    ReportPR,
    ReportRepository,
    RepositoryReviews,
    ReviewContribution,
    Reviews,
    SizeCategory,
    TimelinePoint,
)
from gitbrag.periods import (
    DEFAULT_TIMEZONE,
    ONE_MICROSECOND,
    ROLLING,
    PeriodSpec,
    Window,
    is_period,
    ordered,
    parse_period,
    timezone_named,
)
from gitbrag.report.exclude import exclusions_for, is_excluded
from gitbrag.report.languages import is_generated, language_for_path
from gitbrag.report.timeline import buckets

TOP_LANGUAGES = 10
# GitHub's author associations for a first contribution (to the repository; to GitHub).
FIRST_TIME_ASSOCIATIONS = frozenset({"FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER"})
# The collection's star histories reach back this far (`github.collect`): stars gained in
# windows that start earlier are not known.
STAR_WINDOW = "5_years"

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
class ReportOptions:
    """How reports are built beyond the collection: the operator's settings.

    `periods`: periods every user gets beside the rolling ones and the calendar years with
    activity (`GITBRAG_PERIODS`); `generated_paths`: globs of files that count as generated
    (`GITBRAG_GENERATED_PATHS`), beside Linguist's rules (`languages.is_generated`);
    `exclude`: `GITBRAG_EXCLUDE` entries as given (`report.exclude`); `exclude_languages`:
    language names left out of the language chart (`GITBRAG_EXCLUDE_LANGUAGES`, as reports
    spell them); `timezone`: where calendar days begin (`GITBRAG_TIMEZONE`), and
    `user_timezones` the users' own (`login@Zone` in `GITBRAG_USERS`), by lower-cased login.
    """

    periods: tuple[str, ...] = ()
    generated_paths: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    exclude_languages: tuple[str, ...] = ()
    timezone: str = DEFAULT_TIMEZONE
    user_timezones: tuple[tuple[str, str], ...] = ()

    def zone_for(self, login: str) -> str:
        """The time zone of `login`'s reports: their own, else the operator's."""
        return dict(self.user_timezones).get(Login(login), self.timezone)


@dataclass(frozen=True)
class _Lines:
    """The lines of a pull request's generated files (the rest of GitHub's totals is authored)."""

    generated_additions: int = 0
    generated_deletions: int = 0


@dataclass(frozen=True)
class _Entry:
    """Facts about one pull request that do not depend on the period."""

    pr: PullRequest
    row: ReportPR
    language_lines: dict[str, int]
    lines: _Lines


@dataclass(frozen=True)
class _Prepared:
    """A collection digested once, so building every period shares the work.

    Per-file language lookups, model construction and sorting of star timestamps
    are the expensive parts; each is done once per collection, not once per period.
    """

    collection: Collection
    entries: list[_Entry]  # what the public numbers are made of
    first_contributions: dict[str, datetime]  # repository -> the user's first pull request there
    reviews: list[ReviewContribution] | None  # those a public page may count; None: not collected
    private: list[PullRequest]  # with private_mode "counts": summed in `private_work`, nothing else
    stars_oldest_first: dict[str, list[datetime]]
    stars_refused: frozenset[str]  # GitHub refused their stargazers: stars gained not available
    zone: str  # the IANA name calendar periods and timeline buckets begin in
    # With exclusions for the user: their pull requests and reviews, counted in
    # `excluded_by_operator` only; None when nothing is excluded for the user.
    excluded: _Excluded | None


@dataclass(frozen=True)
class _Excluded:
    prs: list[PullRequest]
    reviews: list[ReviewContribution] | None


def build_report(
    collection: Collection,
    period: Period,
    *,
    until: datetime,
    generated_at: datetime,
    options: ReportOptions | None = None,
) -> Report:
    """The report of `collection` for `period`, with the window ending at `until`."""
    prepared = _prepare(collection, options or ReportOptions())
    return _build(prepared, period, until=until, generated_at=generated_at)


def build_reports(
    collection: Collection,
    *,
    until: datetime,
    generated_at: datetime,
    options: ReportOptions | None = None,
) -> dict[Period, Report]:
    """Reports for every period of the user (`report_periods`), in tab order, all from the
    same collection: more periods cost no GitHub request."""
    options = options or ReportOptions()
    prepared = _prepare(collection, options)
    return {
        period: _build(prepared, period, until=until, generated_at=generated_at)
        for period in _periods(prepared, until, options.periods)
    }


def report_periods(
    collection: Collection, now: datetime, options: ReportOptions | None = None
) -> list[Period]:
    """The periods a user's reports cover at `now`, in tab order: the rolling ones, the
    calendar years with activity (a pull request created or merged then, or a review), then
    the configured ones that have begun."""
    options = options or ReportOptions()
    return _periods(_prepare(collection, options), now, options.periods)


def _periods(prepared: _Prepared, now: datetime, configured: Iterable[str]) -> list[Period]:
    """The years are those of the user's time zone: New Year's Eve in California is December."""
    zone = timezone_named(prepared.zone)
    moments = [t for e in prepared.entries for t in (e.pr.created_at, e.pr.merged_at) if t]
    moments += [r.occurred_at for r in prepared.reviews or ()]
    years = {str(t.astimezone(zone).year) for t in moments}
    begun = [p for p in (*years, *configured) if is_period(p) and _spec(prepared, p).window(now) is not None]
    return ordered([*ROLLING, *begun])


def _spec(prepared: _Prepared, period: Period) -> PeriodSpec:
    """`period` in the user's time zone."""
    return parse_period(period, prepared.zone)


# --- per pull request ------------------------------------------------------------


def _prepare(collection: Collection, options: ReportOptions) -> _Prepared:
    latest: dict[tuple[str, int], PullRequest] = {}
    for pr in collection.pull_requests:
        key = (pr.repo.lower(), pr.number)
        known = latest.get(key)
        # A collection split into overlapping windows may hold a PR twice: keep the freshest.
        if known is None or pr.updated_at > known.updated_at:
            latest[key] = pr
    reportable = [pr for pr in latest.values() if not _is_closed_unmerged(pr)]
    public, private = _split_private(collection, reportable)
    reviews = _countable_reviews(collection)
    patterns = exclusions_for(options.exclude, collection.login)
    excluded = None
    if patterns:
        public, left_public = _split_excluded(public, patterns)
        private, left_private = _split_excluded(private, patterns)
        reviews, left_reviews = _split_excluded_reviews(reviews, patterns)
        excluded = _Excluded([*left_public, *left_private], left_reviews)
    return _Prepared(
        collection=collection,
        entries=[_entry(pr, options) for pr in public],
        first_contributions=_first_contributions(public),
        reviews=reviews,
        private=private,
        stars_oldest_first={name: sorted(h.starred_at) for name, h in collection.stars.items()},
        stars_refused=frozenset(collection.stars_refused),
        zone=options.zone_for(collection.login),
        excluded=excluded,
    )


def _split_excluded(
    prs: list[PullRequest], patterns: tuple[str, ...]
) -> tuple[list[PullRequest], list[PullRequest]]:
    """(the pull requests kept, those in repositories the operator excluded)."""
    kept: list[PullRequest] = []
    left: list[PullRequest] = []
    for pr in prs:
        (left if is_excluded(pr.repo, patterns) else kept).append(pr)
    return kept, left


def _split_excluded_reviews(
    reviews: list[ReviewContribution] | None, patterns: tuple[str, ...]
) -> tuple[list[ReviewContribution] | None, list[ReviewContribution] | None]:
    if reviews is None:
        return None, None
    return (
        [r for r in reviews if not is_excluded(r.repo, patterns)],
        [r for r in reviews if is_excluded(r.repo, patterns)],
    )


def _countable_reviews(collection: Collection) -> list[ReviewContribution] | None:
    """Reviews in private repositories count only with private_mode "full", as pull requests do
    ("counts" keeps numbers of private pull requests only: reviews are not among them)."""
    if collection.reviews is None:
        return None
    if collection.private_mode == "full":
        return list(collection.reviews)
    private = _private_repositories(collection)
    return [r for r in collection.reviews if not r.private and r.repo.lower() not in private]


def _first_contributions(prs: list[PullRequest]) -> dict[str, datetime]:
    first: dict[str, datetime] = {}
    for pr in prs:
        if pr.repo not in first or pr.created_at < first[pr.repo]:
            first[pr.repo] = pr.created_at
    return first


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


def _entry(pr: PullRequest, options: ReportOptions) -> _Entry:
    """A pull request's period-independent facts; its generated files count apart and are
    left out of its size and its languages."""
    generated: list[ChangedFile] = []
    authored: list[ChangedFile] = []
    for changed in pr.files:
        (generated if is_generated(changed.path, options.generated_paths) else authored).append(changed)
    lines = _Lines(sum(f.additions for f in generated), sum(f.deletions for f in generated))
    return _Entry(pr, _row(pr, lines), _language_lines(authored, options.exclude_languages), lines)


def _row(pr: PullRequest, lines: _Lines) -> ReportPR:
    # GitHub's totals cover every file, also past the 3,000 it lists: what is not known to be
    # generated is authored, so authored + generated always adds up to GitHub's numbers.
    authored_additions = max(pr.additions - lines.generated_additions, 0)
    authored_deletions = max(pr.deletions - lines.generated_deletions, 0)
    return ReportPR(
        number=pr.number,
        title=pr.title,
        url=pr.url,
        state="merged" if _is_merged(pr) else "open",
        created_at=pr.created_at,
        merged_at=pr.merged_at,
        additions=pr.additions,
        deletions=pr.deletions,
        authored_additions=authored_additions,
        authored_deletions=authored_deletions,
        changed_files=pr.changed_files,
        size=size_category(authored_additions + authored_deletions),
        first_time=pr.author_association in FIRST_TIME_ASSOCIATIONS,
    )


def _language_lines(files: Iterable[ChangedFile], left_out: Iterable[str] = ()) -> dict[str, int]:
    """Lines per language, but for the languages `left_out` (`GITBRAG_EXCLUDE_LANGUAGES`)."""
    lines: dict[str, int] = {}
    skipped = frozenset(left_out)
    for changed in files:
        language = language_for_path(changed.path)
        if language is not None and language not in skipped:
            lines[language] = lines.get(language, 0) + changed.additions + changed.deletions
    return lines


def _in_window(pr: PullRequest, window: Window) -> bool:
    since, until = window.since, window.until  # inline: called for every PR of every period
    merged = pr.merged_at
    return since <= pr.created_at <= until or (merged is not None and since <= merged <= until)


# --- per period --------------------------------------------------------------------


def _window(period: Period, now: datetime, zone: str = DEFAULT_TIMEZONE) -> Window:
    window = parse_period(period, zone).window(now)
    if window is None:
        raise ValueError(f"period {period!r} has not begun at {now.isoformat()}")
    return window


def _build(
    prepared: _Prepared,
    period: Period,
    *,
    until: datetime,
    generated_at: datetime,
) -> Report:
    collection = prepared.collection
    window = _window(period, until, prepared.zone)
    stars_known = _stars_known(period, window, until)
    included = [e for e in prepared.entries if _in_window(e.pr, window)]
    by_repo: dict[str, list[_Entry]] = defaultdict(list)
    for entry in included:
        by_repo[entry.pr.repo].append(entry)
    repositories = _sort_repositories(
        [_repository(prepared, name, group, period, window, stars_known) for name, group in by_repo.items()],
        period,
    )
    rows = [e.row for e in included]
    pending = any(r.stars_pending for r in repositories)
    unavailable = any(r.stars_unavailable for r in repositories)
    return Report(
        **_over_time(prepared, period, window, rows, until),
        reviews=_reviews(prepared, window),
        username=collection.login,
        period=period,
        since=window.since,
        until=window.until,
        generated_at=generated_at,
        total_prs=len(rows),
        merged_count=sum(1 for r in rows if r.state == "merged"),
        open_count=sum(1 for r in rows if r.state == "open"),
        repo_count=len(repositories),
        total_additions=sum(r.additions for r in rows),
        total_deletions=sum(r.deletions for r in rows),
        authored_additions=sum(r.authored_additions for r in rows),
        authored_deletions=sum(r.authored_deletions for r in rows),
        generated_additions=sum(r.additions - r.authored_additions for r in rows),
        generated_deletions=sum(r.deletions - r.authored_deletions for r in rows),
        total_changed_files=sum(r.changed_files for r in rows),
        total_star_increase=sum(r.star_increase or 0 for r in repositories)
        if stars_known and not pending and not unavailable
        else None,
        star_increase_uncertainty=sum(r.star_increase_uncertainty for r in repositories),
        stars_pending=pending,
        stars_unavailable=unavailable,
        languages=_languages(e.language_lines for e in included),
        size_distribution=_size_distribution(rows),
        roles=dict(Counter(r.role for r in repositories)),
        repositories=repositories,
        profile=collection.profile,
        incomplete_results=collection.incomplete_results,
        # GitHub does not say when hidden pull requests were made: every period tells of them all.
        hidden_by_github=list(collection.hidden_by_github),
        private_work=_private_work(prepared, window),
        excluded_by_operator=_excluded_work(prepared, window),
        timezone=prepared.zone,
        prs_with_capped_files=sum(1 for e in included if e.pr.changed_files > len(e.pr.files)),
    )


def _over_time(
    prepared: _Prepared, period: Period, window: Window, rows: list[ReportPR], now: datetime
) -> dict[str, Any]:
    """The report's timeline and its comparison with the previous period."""
    spec = _spec(prepared, period)
    unit: Literal["month", "week"] = "week" if spec.weekly else "month"
    zone = timezone_named(prepared.zone)
    if period == "all_time":  # from the user's first pull request, not from 2008
        first = min((r.created_at for r in rows), default=None)
        points = _timeline(window, rows, spec.weekly, first, zone) if first is not None else []
    else:
        points = _timeline(window, rows, spec.weekly, None, zone)
    return {"timeline": points, "timeline_unit": unit, "previous": _previous(prepared, period, now)}


def _timeline(
    window: Window, rows: list[ReportPR], weekly: bool, first: datetime | None, zone: tzinfo
) -> list[TimelinePoint]:
    created, merged = (r.created_at for r in rows), (r.merged_at for r in rows)
    return buckets(window, created, merged, weekly=weekly, first=first, zone=zone)


def _previous(prepared: _Prepared, period: Period, now: datetime) -> PreviousPeriod | None:
    """The previous window's headline numbers, by the report's own rules; None for all time,
    and when the user's first pull request came after that window began: a window they were
    not active throughout would flatter the comparison (every number "up")."""
    spec = _spec(prepared, period)
    window = spec.previous(now)
    first = min(prepared.first_contributions.values(), default=None)
    if window is None or first is None or window.since < first:
        return None
    inside = [e for e in prepared.entries if _in_window(e.pr, window)]
    rows = [e.row for e in inside]
    repos = {e.pr.repo for e in inside}
    stars = None
    unknown = any(_stars_pending(prepared, r, window) or r in prepared.stars_refused for r in repos)
    if _within_star_histories(window, now) and not unknown:
        stars = sum(_star_increase(prepared, repo, window) for repo in repos)
    reviews = _reviews(prepared, window)
    return PreviousPeriod(
        label=spec.previous_phrase(now),
        total_prs=len(rows),
        merged_count=sum(1 for r in rows if r.state == "merged"),
        repo_count=len(repos),
        authored_additions=sum(r.authored_additions for r in rows),
        authored_deletions=sum(r.authored_deletions for r in rows),
        total_star_increase=stars,
        reviews=reviews.total if reviews is not None else None,
    )


def _reviews(prepared: _Prepared, window: Window) -> Reviews | None:
    """Distinct pull requests reviewed in the window (GitHub lists a pull request once per
    calendar year it was reviewed in), in total and per repository, most first."""
    if prepared.reviews is None:
        return None
    reviewed: dict[tuple[str, int], str] = {}
    for review in prepared.reviews:
        if window.contains(review.occurred_at):
            reviewed.setdefault((review.repo.lower(), review.number), review.repo)
    spelling: dict[str, str] = {}
    per_repo: Counter[str] = Counter()
    for (key, _), name in reviewed.items():
        spelling.setdefault(key, name)
        per_repo[key] += 1
    ranked = sorted(per_repo.items(), key=lambda kv: (-kv[1], kv[0]))
    return Reviews(
        total=len(reviewed),
        repositories=[RepositoryReviews(name=spelling[key], count=n) for key, n in ranked],
    )


def _private_work(prepared: _Prepared, window: Window) -> PrivateWork | None:
    """The period's private pull requests as numbers, under the public window rules; None
    unless the mode is "counts" (with "off" and "full" there is nothing to tell apart)."""
    if prepared.collection.private_mode != "counts":
        return None
    included = [pr for pr in prepared.private if _in_window(pr, window)]
    return PrivateWork(
        total_prs=len(included),
        merged_count=sum(1 for pr in included if _is_merged(pr)),
        open_count=sum(1 for pr in included if not _is_merged(pr)),
        repo_count=len({pr.repo.lower() for pr in included}),
        total_additions=sum(pr.additions for pr in included),
        total_deletions=sum(pr.deletions for pr in included),
    )


def _excluded_work(prepared: _Prepared, window: Window) -> ExcludedWork | None:
    """The period's work in excluded repositories, under the report's window rules; None
    when nothing is excluded for the user."""
    excluded = prepared.excluded
    if excluded is None:
        return None
    included = [pr for pr in excluded.prs if _in_window(pr, window)]
    reviews = None
    if excluded.reviews is not None:
        inside = (r for r in excluded.reviews if window.contains(r.occurred_at))
        reviews = len({(r.repo.lower(), r.number) for r in inside})
    return ExcludedWork(
        pull_requests=len(included), repositories=len({pr.repo.lower() for pr in included}), reviews=reviews
    )


def _repository(
    prepared: _Prepared,
    name: str,
    group: list[_Entry],
    period: Period,
    window: Window,
    stars_known: bool,
) -> ReportRepository:
    newest_first = sorted(group, key=lambda e: (e.pr.created_at, e.pr.number), reverse=True)
    info = prepared.collection.repositories.get(name)
    stars = info.stargazer_count if info else 0
    rows = [e.row for e in newest_first]
    pending = stars_known and period != "all_time" and _stars_pending(prepared, name, window)
    unavailable = stars_known and period != "all_time" and name in prepared.stars_refused
    counted = stars_known and not pending and not unavailable
    return ReportRepository(
        name=info.name_with_owner if info else name,
        url=info.url if info else _repo_url_from_pr(newest_first[0].pr),
        description=info.description if info else None,
        stars=stars,
        star_increase=_repository_stars(prepared, name, stars, period, window) if counted else None,
        star_increase_uncertainty=_uncertainty(prepared, name, period) if counted else 0,
        stars_pending=pending,
        stars_unavailable=unavailable,
        # The user's relationship to the repository as of their most recent PR there.
        role=newest_first[0].pr.author_association,
        first_contribution_at=prepared.first_contributions[name],
        pr_count=len(rows),
        merged_count=sum(1 for r in rows if r.state == "merged"),
        open_count=sum(1 for r in rows if r.state == "open"),
        prs=rows,
    )


def _repo_url_from_pr(pr: PullRequest) -> str:
    """Fallback when the collection lacks the repository: PR URLs are `<repo url>/pull/<n>`."""
    head, sep, _ = pr.url.rpartition("/pull/")
    return head if sep else f"https://github.com/{pr.repo}"


def _stars_known(period: Period, window: Window, now: datetime) -> bool:
    """Whether stars gained in `window` can be told: all time reads the stargazer count, other
    windows need the star histories, which reach back `STAR_WINDOW` (5 years) from `now` and
    no further (walking further would cost GitHub points for every older period)."""
    return period == "all_time" or _within_star_histories(window, now)


def _within_star_histories(window: Window, now: datetime) -> bool:
    return window.since >= _window(STAR_WINDOW, now).since


def _repository_stars(prepared: _Prepared, name: str, stars: int, period: Period, window: Window) -> int:
    return stars if period == "all_time" else _star_increase(prepared, name, window)


def _uncertainty(prepared: _Prepared, repo: str, period: Period) -> int:
    """Unstars of the repository not yet located (all time reads the exact stargazer count)."""
    history = prepared.collection.stars.get(repo)
    return 0 if period == "all_time" or history is None else history.unlocated


def _stars_pending(prepared: _Prepared, repo: str, window: Window) -> bool:
    """Whether the repository's star walk, stopped by a pass's point budget, has not yet
    reached back to the window's start, or a boundary of the window was not counted (a
    counted history asked for a window its refresh did not know of, after a change of
    settings): its stars there are still being counted."""
    history = prepared.collection.stars.get(repo)
    if history is None:
        return False
    if history.counted:
        since, after = _stars_from(prepared, repo, window.since), _stars_after(prepared, repo, window)
        return since is None or after is None
    return history.resume_cursor is not None and history.since > window.since


def _star_increase(prepared: _Prepared, repo: str, window: Window) -> int:
    """Stars gained in the window, or 0 when the history does not reach back that far.

    Undercounting is the honest failure: counting a partial history would present a
    truncated number as the whole. A window that ended counts the stars given in it (the
    histories keep every current stargazer's time, so the past is there too).
    """
    history = prepared.collection.stars.get(repo)
    if history is None or (history.since > window.since and not history.counted):
        return 0
    since, after = _stars_from(prepared, repo, window.since), _stars_after(prepared, repo, window)
    return 0 if since is None or after is None else since - after


def _stars_after(prepared: _Prepared, repo: str, window: Window) -> int | None:
    return _stars_from(prepared, repo, window.until + ONE_MICROSECOND)


def _stars_from(prepared: _Prepared, repo: str, moment: datetime) -> int | None:
    """Current stargazers who starred at or after `moment`: from the star times when the
    history reaches back that far, else from the boundary counted there (None: not counted)."""
    history = prepared.collection.stars[repo]
    times = prepared.stars_oldest_first[repo]
    if moment >= history.since:
        return len(times) - bisect_left(times, moment)
    return history.counted_from(moment)


def star_moments(now: datetime, zone: str, configured: Iterable[str] = ()) -> list[datetime]:
    """Every window boundary whose stars the reports of `now` may count, oldest first: the
    starts, and the moments just after the ends, of the windows `_star_increase` is asked
    for (every period that can have a report, in `zone`, and the previous windows they are
    compared with), as far back as the star histories reach. A counted star history
    (`github.starprobe`) counts the stars there instead of walking to them."""
    oldest = _window(STAR_WINDOW, now).since
    years = range(oldest.year - 1, now.year + 1)
    moments: set[datetime] = set()
    for period in (*ROLLING, *(str(y) for y in years), *configured):
        if not is_period(period):
            continue
        spec = parse_period(period, zone)
        for window in (spec.window(now), spec.previous(now)):
            if window is None or window.since < oldest:
                continue
            moments.add(window.since)
            if window.until < now:
                moments.add(window.until + ONE_MICROSECOND)
    return sorted(moments)


def _sort_repositories(repositories: list[ReportRepository], period: Period) -> list[ReportRepository]:
    """By stars gained (the report's story); by pull requests for all time, or when the
    period's stars are not known."""
    if period == "all_time" or any(r.star_increase is None for r in repositories):
        return sorted(repositories, key=lambda r: (-r.pr_count, r.name))
    return sorted(repositories, key=lambda r: (-(r.star_increase or 0), r.name))


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
