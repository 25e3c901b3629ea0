"""The data that flows through the pipeline: what collection gathers from GitHub,
and the report built from it.

These models are the contract between the stages: `github.collect` produces a
`Collection`, `report.build_report` turns it into a `Report` without I/O, and
`publish` renders the `Report` (its JSON form is `report.json`). They are pydantic
models so that the store can keep a `Collection` between runs and the site can
publish a `Report` without hand-written (de)serialisation.

Times are timezone-aware UTC datetimes everywhere.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Annotated, Literal, NamedTuple

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from gitbrag.periods import GITHUB_EPOCH as GITHUB_EPOCH  # "all time" starts at GitHub's launch
from gitbrag.periods import ROLLING, ROLLING_DAYS, PeriodLabels, parse_period

# GitHub's login rule: 1-39 ASCII letters, digits and single inner hyphens. Anything else
# could climb out of site/ ("..", "/", "\\") or rewrite a search ("a author:b").
LOGIN_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")


def is_login(name: str) -> bool:
    """`name` is a GitHub login (any case)."""
    return LOGIN_RE.fullmatch(name) is not None


class InvalidLogin(ValueError):
    """A name that is not a GitHub login reached a door (its message shows no more of it)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"not a valid GitHub username: {name[:60]!r}")


class Login(str):
    """A GitHub login, parsed: valid by construction, and compared as GitHub compares
    logins, ignoring case.

    Its value is the lowercased login, the one key the store, the claims and the site use
    for a user (`mona-lisa`); `spelling` keeps the name as it was given (`Mona-Lisa`), for
    people. Each door (the CLI, the settings, the hook, the tracking functions) parses the
    names it is given into Logins, so nothing behind the doors lowercases or checks a login
    again, and no folder is ever named after a string that could leave site/.
    """

    spelling: str

    def __new__(cls, name: str) -> Login:
        if isinstance(name, Login):
            return name
        if not is_login(name):
            raise InvalidLogin(name)
        login = super().__new__(cls, name.lower())
        login.spelling = name
        return login


def logins(names: Iterable[str]) -> list[Login]:
    """`names` parsed, each login once (the first spelling given wins)."""
    return list(dict.fromkeys(map(Login, names)))  # a dict keeps the first key of equal ones


# --- periods --------------------------------------------------------------------


def _valid_period(name: str) -> str:
    parse_period(name)  # ValueError: pydantic reports it as a validation error
    return name


# A period name (`gitbrag.periods`): "1_year", "2025", "2025-H1", "2025-Q3", "2025-03-01..2025-08-31".
Period = Annotated[str, AfterValidator(_valid_period)]
# The rolling periods every user has (and the store tracks); calendar years with activity
# and `GITBRAG_PERIODS` are added per user when the reports are built.
PERIODS: tuple[Period, ...] = ROLLING
PERIOD_LABELS: Mapping[str, str] = PeriodLabels()  # any period name -> its tab's text
# Windows end "now" and reach back a fixed number of days, as the reference tool does.
PERIOD_DAYS: dict[str, int] = ROLLING_DAYS


def period_since(period: str, until: datetime) -> datetime:
    """Start of `period`'s window for a report made at `until`."""
    window = parse_period(period).window(until)
    if window is None:
        raise ValueError(f"period {period!r} has not begun at {until.isoformat()}")
    return window.since


# report.json's format version (see `Report.schema_version`).
REPORT_SCHEMA_VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# One set of field names per distinct set, shared by every instance of the `_Many` models.
_FIELDS_SETS: dict[frozenset[str], set[str]] = {}


class _Many(_Model):
    """A model with tens of thousands of instances (a 20,000-PR user's pull requests and
    report rows): each shares one `model_fields_set` with every instance given the same
    fields, instead of pydantic's own set per instance (728 bytes apiece, 30 MB of such a
    user's refresh). Safe for frozen models: no field ever changes, and pydantic copies
    the set before changing it (`model_copy`)."""

    def model_post_init(self, context: object, /) -> None:
        given = self.__pydantic_fields_set__
        object.__setattr__(self, "__pydantic_fields_set__", _FIELDS_SETS.setdefault(frozenset(given), given))


# --- collected from GitHub ------------------------------------------------------


class SocialAccount(_Model):
    provider: str
    url: str


class Profile(_Model):
    login: str  # GitHub's spelling (case preserved)
    name: str | None = None
    avatar_url: str | None = None
    html_url: str | None = None
    bio: str | None = None
    company: str | None = None
    location: str | None = None
    blog: str | None = None
    social_accounts: list[SocialAccount] = Field(default_factory=list)


class ChangedFile(NamedTuple):
    """A file a pull request changed. A tuple, not a model: a 20,000-PR user's collection
    holds 150,000 of them (a model each was 76 MB of a 110 MB collection; tuples take 14),
    and it is stored as `["path", additions, deletions]` (older `{"path": ...}` objects
    still load)."""

    path: str
    additions: int
    deletions: int


PRState = Literal["OPEN", "CLOSED", "MERGED"]  # GitHub's GraphQL PullRequestState


class PullRequest(_Many):
    repo: str  # nameWithOwner, e.g. "octo-org/hello-world"
    number: int
    title: str
    url: str
    state: PRState
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    merged_at: datetime | None = None
    additions: int
    deletions: int
    changed_files: int
    # GitHub's CommentAuthorAssociation: OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR,
    # FIRST_TIME_CONTRIBUTOR, FIRST_TIMER, MANNEQUIN, NONE.
    author_association: str
    files: list[ChangedFile] = Field(default_factory=list)


class Repository(_Model):
    name_with_owner: str
    url: str
    description: str | None = None
    stargazer_count: int
    primary_language: str | None = None
    private: bool = False  # GitHub's isPrivate: never named on a public page (see PrivateMode)


# What becomes of work in private repositories (`GITBRAG_PRIVATE`): "off" leaves it out
# (GitHub is searched with `is:public`), "counts" adds it as numbers only (no repository
# name, title or link anywhere on the site), "full" shows it like public work (internal sites).
PrivateMode = Literal["off", "counts", "full"]
PRIVATE_MODES: tuple[PrivateMode, ...] = ("off", "counts", "full")

# Why GitHub left nodes out of an answer: "saml" (an organisation enforces SAML single
# sign-on and the token is not authorised for it), "forbidden" (any other FORBIDDEN).
HiddenReason = Literal["saml", "forbidden"]


class HiddenNodes(_Model):
    """Pull requests GitHub answered as null, with an error saying why: counted, not shown."""

    reason: HiddenReason
    count: int


class StarCheckpoint(_Model):
    """The end of one page of stargazers, newest first: its last star's time and cursor."""

    at: datetime
    cursor: str


class StarCount(_Model):
    """How many current stargazers starred at or after `at` and before the history's `since`,
    read from GitHub's REST stargazer list (`github.starprobe`) instead of walked: at a star
    time of a page read there, or at the history's `since` (0). `dense`: no star lies between
    the count before this one in the history and this one (both from pages read side by
    side), or before this one at all when it is the first, so a moment in between has this
    count too."""

    at: datetime
    stars: int
    dense: bool = False


class Reconciliation(_Model):
    """A re-read of a history in progress, stretch by stretch over several refreshes."""

    below: datetime | None = None  # continue with the stretches under this checkpoint; None: from the top
    revealed: int = 0  # unstars revealed since this re-read began (it cannot have located them)
    at: datetime  # when it last read a stretch


class StarHistory(_Model):
    """When a repository's current stargazers starred it, newest first, complete back to `since`.

    Stars older than `since` were not walked; a report may only count stars within
    windows that start at or after `since` (all-time reports use `stargazer_count`).
    """

    repo: str
    since: datetime
    starred_at: list[datetime] = Field(default_factory=list)
    # The repository's stargazerCount read with the newest page: the next refresh extends
    # the history from it, and a count that does not add up reveals unstars. None: unknown.
    stargazer_count: int | None = None
    # Where GitHub's pages of this history ended, newest first: keyset cursors that later
    # re-read a stretch of it exactly (`stars.reconcile`), 100 stars or fewer apart.
    checkpoints: list[StarCheckpoint] = Field(default_factory=list)
    # Unstars the counts revealed but no re-read has located yet: each may be one of
    # `starred_at` (counted though gone) or older than `since` (harmless). A bound, not a count.
    unlocated: int = 0
    reconcile: Reconciliation | None = None
    # A walk a pass's point budget stopped (GITBRAG_BUDGET_POINTS): the cursor its next page
    # starts from; `since` is then the oldest star read, not the window start. None: complete.
    resume_cursor: str | None = None
    # Window boundaries older than `since`, counted instead of walked (`github.starprobe`),
    # oldest first: a report counts the stars of a window from `at` as `stars` plus every
    # star of `starred_at`. Empty: a walked history.
    counted: list[StarCount] = Field(default_factory=list)

    def counted_from(self, moment: datetime) -> int | None:
        """Current stargazers who starred at or after `moment` (older than `since`), from the
        counts (None: no count reaches it; never a guess between counts)."""
        i = bisect.bisect_left(self.counted, moment, key=lambda c: c.at)
        if i == len(self.counted):
            return None
        found = self.counted[i]
        if found.at == moment or (found.dense and (i == 0 or self.counted[i - 1].at < moment)):
            return found.stars + len(self.starred_at)
        return None


class ReviewContribution(_Model):
    """A pull request the user reviewed, as GitHub's contributions data gives it: the latest
    review the user submitted on it within one calendar year (a pull request reviewed in two
    years appears once per year; reports count distinct pull requests)."""

    repo: str  # nameWithOwner of the reviewed pull request's repository
    number: int
    occurred_at: datetime
    private: bool = False  # in a private repository: shown only with GITBRAG_PRIVATE=full


class Collection(_Model):
    """Everything one refresh gathered about one user: it serves every period."""

    login: str  # GitHub's spelling
    profile: Profile
    pull_requests: list[PullRequest]
    repositories: dict[str, Repository]  # by nameWithOwner
    stars: dict[str, StarHistory]  # by nameWithOwner
    # Repositories whose list of stargazers GitHub refused to the token (since its 2026-06-30
    # changelog, admins and collaborators only): no history in `stars`; stars gained there
    # are not available (never 0). Asked again by every refresh.
    stars_refused: list[str] = Field(default_factory=list)
    collected_at: datetime
    # True when GitHub itself said a search was incomplete (results may be missing).
    incomplete_results: bool = False
    # When the last full (not incremental) collection ran; None for collections older
    # than incremental refresh. Incremental refreshes carry it forward.
    full_collected_at: datetime | None = None
    # The `GITBRAG_PRIVATE` mode this was collected under: it decides what the reports
    # built from it show of private repositories (and an increment needs the same mode).
    private_mode: PrivateMode = "off"
    # Pull requests GitHub hid from the searches (SAML, FORBIDDEN), by reason.
    hidden_by_github: list[HiddenNodes] = Field(default_factory=list)
    # The search page size GitHub last answered without a timeout, for this user (it
    # starts the next collection, so a user whose pages time out at 100 starts smaller).
    search_page_size: int = 100
    # Pull requests the user reviewed, over every calendar year up to `reviews_collected_at`
    # (`github.reviews`); None when not collected (collections older than reviews).
    reviews: list[ReviewContribution] | None = None
    reviews_collected_at: datetime | None = None


# --- the report (report.json) ----------------------------------------------------

SizeCategory = Literal["One Liner", "Small", "Medium", "Large", "Huge", "Massive"]
SIZE_CATEGORIES: tuple[SizeCategory, ...] = ("One Liner", "Small", "Medium", "Large", "Huge", "Massive")
DisplayState = Literal["merged", "open", "closed"]


class LanguageShare(_Model):
    language: str
    lines: int  # additions + deletions in files of this language
    percentage: float  # share of all changed lines in files with a known language, 0..100


class ReportPR(_Many):
    number: int
    title: str
    url: str
    state: DisplayState
    created_at: datetime
    merged_at: datetime | None
    additions: int  # as GitHub counts them
    deletions: int
    # Lines outside generated and vendored files (`languages.is_generated`): what the
    # size is judged on. Lines of files GitHub did not list (past 3,000) count as authored.
    authored_additions: int
    authored_deletions: int
    changed_files: int
    size: SizeCategory
    # GitHub marked the author a first-time contributor (to the repository, or to GitHub).
    first_time: bool


class ReportRepository(_Many):
    name: str  # nameWithOwner
    url: str
    description: str | None
    stars: int
    # Stars gained in the period; None when the period starts before the star histories do
    # (5 years back): all time reads the stargazer count instead.
    star_increase: int | None
    # How far `star_increase` may be too high: unstars GitHub's counts revealed that no
    # re-read has located yet (`github.reconcile`); 0 means exact.
    star_increase_uncertainty: int = 0
    # The repository's star history is still being walked (a budgeted pass stopped it): the
    # period's stars are not known yet, so `star_increase` is None rather than a wrong number.
    stars_pending: bool = False
    # GitHub refused the repository's list of stargazers to the token (since its 2026-06-30
    # changelog, admins and collaborators only): the period's stars gained are not available,
    # so `star_increase` is None, never 0 or a guess; `stars` (the stargazer count) stays.
    stars_unavailable: bool = False
    role: str  # author_association of the user's latest PR there
    # The user's first (open or merged) pull request there, in any period: inside the
    # window, the repository is one they contributed to for the first time.
    first_contribution_at: datetime
    pr_count: int
    merged_count: int
    open_count: int
    prs: list[ReportPR]


class TimelinePoint(_Model):
    """One month (or, for periods under six months, one week) of the report's window: its pull
    requests opened and merged then. The first and last may be partial (the window's ends)."""

    month: str  # "2025-03": the month the bucket starts in (within the window)
    week: str | None = None  # "2025-W10" (ISO week) in weekly timelines, else None
    opened: int  # the report's pull requests created in it
    merged: int  # the report's pull requests merged in it


class PreviousPeriod(_Model):
    """The headline numbers of the window of the same length just before the report's, by the
    same rules (a running calendar period: the same stretch of the one before it)."""

    label: str  # what it is called: "the year before", "2024", "the same days of 2025"
    total_prs: int
    merged_count: int
    repo_count: int
    authored_additions: int
    authored_deletions: int
    total_star_increase: int | None  # None when not known (older than the star histories)
    reviews: int | None  # None when reviews were not collected


class RepositoryReviews(_Model):
    name: str  # nameWithOwner
    count: int  # distinct pull requests the user reviewed there


class Reviews(_Model):
    """Pull requests the user reviewed in the period (each counted once), from GitHub's
    contributions data: in total and per repository, most first."""

    total: int
    repositories: list[RepositoryReviews]


class PrivateWork(_Model):
    """Work in private repositories, as counts only: nothing that names or links it."""

    total_prs: int
    merged_count: int
    open_count: int
    repo_count: int
    total_additions: int
    total_deletions: int


class ExcludedWork(_Model):
    """The period's work in repositories the operator left out (`GITBRAG_EXCLUDE`): counts
    only, nothing that names them. Counted by the report's own rules (a pull request created
    or merged in the window, reviews as distinct pull requests), among the work the report
    could otherwise show (private work left out by `GITBRAG_PRIVATE=off` is not counted)."""

    pull_requests: int
    repositories: int  # distinct repositories those pull requests were made in
    reviews: int | None  # distinct pull requests reviewed there; None when reviews were not collected


class Report(_Model):
    # The version of report.json's format (docs/report.schema.json): raised when a field changes
    # meaning or goes away, so a reader can tell which format a file is in.
    schema_version: int = REPORT_SCHEMA_VERSION
    username: str
    period: Period
    since: datetime
    until: datetime
    generated_at: datetime
    total_prs: int
    merged_count: int
    open_count: int
    repo_count: int
    total_additions: int  # as GitHub counts them
    total_deletions: int
    # The same lines split: written by hand (the headline) and in generated or vendored
    # files (lockfiles, minified, vendor/, GITBRAG_GENERATED_PATHS); authored + generated = total.
    authored_additions: int
    authored_deletions: int
    generated_additions: int
    generated_deletions: int
    total_changed_files: int
    # Stars gained, summed over distinct repositories; None when not known (see ReportRepository).
    total_star_increase: int | None
    # The repositories' `star_increase_uncertainty` summed: the total is exact within it.
    star_increase_uncertainty: int = 0
    # Some repository's stars are still being counted (see ReportRepository.stars_pending):
    # `total_star_increase` is then None, and the page says so.
    stars_pending: bool = False
    # Some repository's stars gained are not available (see ReportRepository.stars_unavailable):
    # `total_star_increase` is then None, and the page says so.
    stars_unavailable: bool = False
    languages: list[LanguageShare]
    size_distribution: dict[str, int]  # every SIZE_CATEGORIES key, in that order
    roles: dict[str, int]  # repositories per role
    repositories: list[ReportRepository]
    profile: Profile
    incomplete_results: bool = False
    # Pull requests GitHub would not show (null nodes with FORBIDDEN errors), by reason;
    # counted over the whole collection, as GitHub does not say when they were made.
    hidden_by_github: list[HiddenNodes] = Field(default_factory=list)
    # With GITBRAG_PRIVATE=counts: the period's work in private repositories, as numbers only.
    private_work: PrivateWork | None = None
    # With GITBRAG_EXCLUDE set (for this user): the period's work left out by the operator's
    # choice, as numbers only; None when nothing is excluded for the user.
    excluded_by_operator: ExcludedWork | None = None
    # The IANA time zone the calendar periods and the timeline's months and weeks begin in
    # (GITBRAG_TIMEZONE, or the user's own from GITBRAG_USERS); timestamps stay UTC.
    timezone: str = "UTC"
    # PRs of the period with more changed files than GitHub lists (3,000): their languages
    # come from the first 3,000 files.
    prs_with_capped_files: int = 0
    # Activity over time: pull requests opened and merged per month (per week under six months).
    timeline: list[TimelinePoint]
    timeline_unit: Literal["month", "week"]
    # The headline numbers of the previous window of the same length; None for all time, or
    # when that window starts before the user's first pull request (nothing to compare with).
    previous: PreviousPeriod | None
    # Pull requests reviewed in the period; None when the collection has no reviews data.
    reviews: Reviews | None
    # One more than the generation it replaced on the site (0: written before this field).
    # The publisher never replaces a report with one whose number is not higher: an order
    # that wall clocks, which jump, cannot give.
    generation: int = 0
    # Published by `gitbrag-refresh --demo` (made-up users of the built-in fake GitHub): a real
    # run never tracks users from such pages (`PublishedSite.logins`). Written only when true, so
    # a real report.json is byte for byte what it was before this field.
    demo: bool = Field(default=False, exclude_if=lambda demo: not demo)

    @property
    def login(self) -> Login:
        """The user's key and folder under site/: `username` (GitHub's spelling) parsed."""
        return Login(self.username)
