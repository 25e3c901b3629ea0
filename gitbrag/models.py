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

from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# --- periods --------------------------------------------------------------------

Period = Literal["1_year", "2_years", "5_years", "all_time"]
PERIODS: tuple[Period, ...] = ("1_year", "2_years", "5_years", "all_time")
PERIOD_LABELS: dict[str, str] = {
    "1_year": "1 year",
    "2_years": "2 years",
    "5_years": "5 years",
    "all_time": "All time",
}
# Windows end "now" and reach back a fixed number of days, as the reference tool does.
PERIOD_DAYS: dict[str, int] = {"1_year": 365, "2_years": 730, "5_years": 1825}
# "All time" starts at GitHub's launch: nothing on GitHub is older.
GITHUB_EPOCH = datetime(2008, 1, 1, tzinfo=UTC)


def period_since(period: str, until: datetime) -> datetime:
    """Start of `period`'s window ending at `until`."""
    if period == "all_time":
        return GITHUB_EPOCH
    try:
        return until - timedelta(days=PERIOD_DAYS[period])
    except KeyError:
        raise ValueError(f"unknown period {period!r}; expected one of {', '.join(PERIODS)}") from None


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


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


class ChangedFile(_Model):
    path: str
    additions: int
    deletions: int


PRState = Literal["OPEN", "CLOSED", "MERGED"]  # GitHub's GraphQL PullRequestState


class PullRequest(_Model):
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


class Collection(_Model):
    """Everything one refresh gathered about one user: it serves every period."""

    login: str  # GitHub's spelling
    profile: Profile
    pull_requests: list[PullRequest]
    repositories: dict[str, Repository]  # by nameWithOwner
    stars: dict[str, StarHistory]  # by nameWithOwner
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


# --- the report (report.json) ----------------------------------------------------

SizeCategory = Literal["One Liner", "Small", "Medium", "Large", "Huge", "Massive"]
SIZE_CATEGORIES: tuple[SizeCategory, ...] = ("One Liner", "Small", "Medium", "Large", "Huge", "Massive")
DisplayState = Literal["merged", "open", "closed"]


class LanguageShare(_Model):
    language: str
    lines: int  # additions + deletions in files of this language
    percentage: float  # share of all changed lines in files with a known language, 0..100


class ReportPR(_Model):
    number: int
    title: str
    url: str
    state: DisplayState
    created_at: datetime
    merged_at: datetime | None
    additions: int
    deletions: int
    changed_files: int
    size: SizeCategory


class ReportRepository(_Model):
    name: str  # nameWithOwner
    url: str
    description: str | None
    stars: int
    star_increase: int
    role: str  # author_association of the user's latest PR there
    pr_count: int
    merged_count: int
    open_count: int
    prs: list[ReportPR]


class PrivateWork(_Model):
    """Work in private repositories, as counts only: nothing that names or links it."""

    total_prs: int
    merged_count: int
    open_count: int
    repo_count: int
    total_additions: int
    total_deletions: int


class Report(_Model):
    username: str
    period: Period
    since: datetime
    until: datetime
    generated_at: datetime
    total_prs: int
    merged_count: int
    open_count: int
    repo_count: int
    total_additions: int
    total_deletions: int
    total_changed_files: int
    total_star_increase: int
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
    # PRs of the period with more changed files than GitHub lists (3,000): their languages
    # come from the first 3,000 files.
    prs_with_capped_files: int = 0
    # One more than the generation it replaced on the site (0: written before this field).
    # The publisher never replaces a report with one whose number is not higher: an order
    # that wall clocks, which jump, cannot give.
    generation: int = 0
